/* test_badfiles.c: the model loader on files crafted here: a good file of each family and
 * dtype loads (values converted exactly), and ~30 kinds of damage are each rejected with
 * GQ_EFORMAT (or the documented code) and a message naming the tensor or field. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/unit/helpers/engine_files.h"
#include "worker/engine/engine.h"
#include "worker/engine/model/model.h"
#include "worker/engine/model/safetensors.h"

static char *g_hdr;
static uint8_t *g_data;
static size_t g_dlen;

static int setup(void **state)
{
    (void)state;
    return ef_build("biggan", EF_ARCH_BIGGAN32, "F32", 1, &g_hdr, &g_data, &g_dlen);
}

static int teardown(void **state)
{
    (void)state;
    free(g_hdr);
    free(g_data);
    return 0;
}

/* Load header+data; expect rc and (if rc) a message containing `needle`. */
static void expect_load(const char *hdr, const uint8_t *data, size_t dlen, int want, const char *needle)
{
    size_t len;
    uint8_t *img = ef_image(hdr, data, dlen, &len);
    assert_non_null(img);
    model *m = NULL;
    gq_error err;
    gq_error_clear(&err);
    int rc = model_open_mem(img, len, "t", &m, &err);
    if (rc != want || (needle && !strstr(err.msg, needle)))
        fail_msg("want %d '%s', got %d '%s'", want, needle ? needle : "", rc, err.msg);
    if (rc == 0) {
        assert_non_null(m);
        model_free(m);
    } else {
        assert_null(m);
    }
    free(img);
}

static void damage(const char *from, const char *to, const char *needle)
{
    char *h = ef_replace(g_hdr, from, to);
    if (!h) fail_msg("pattern '%s' not in header", from);
    expect_load(h, g_data, g_dlen, GQ_EFORMAT, needle);
    free(h);
}

static void test_good(void **state)
{
    (void)state;
    expect_load(g_hdr, g_data, g_dlen, 0, NULL);
}

static void test_good_dtypes_and_scalar_gamma(void **state)
{
    (void)state;
    const char *dts[3] = { "F32", "F16", "BF16" };
    float *ref = NULL;
    size_t nref = 0;
    for (int d = 0; d < 3; d++) {
        char *h;
        uint8_t *data;
        size_t dlen, len;
        assert_int_equal(ef_build("biggan", EF_ARCH_BIGGAN64A, dts[d], 7, &h, &data, &dlen), 0);
        /* BR stores gamma as a 0-dim tensor: the loader takes [] as well as [1]. */
        char *h2 = strdup(h);
        assert_non_null(h2);
        char *pos = strstr(h2, "\"blocks.2.1.gamma\"");
        assert_non_null(pos);
        char *sh = strstr(pos, "\"shape\":[1]");
        assert_non_null(sh);
        memmove(sh + 9, sh + 10, strlen(sh + 10) + 1);   /* [1] -> []: still 1 element, same bytes */
        uint8_t *img = ef_image(h2, data, dlen, &len);
        model *m;
        gq_error err;
        gq_error_clear(&err);
        assert_int_equal(model_open_mem(img, len, "x", &m, &err), 0);
        engine_arch a;
        model_describe(m, &a);
        assert_string_equal(a.dtype, dts[d]);
        assert_string_equal(a.family_name, "biggan");
        assert_int_equal(a.num_classes, 7);
        assert_string_equal(a.class_names[6], "6");    /* no ganq.class_names: ids as text */
        const float *w = model_tensor(m, "blocks.0.0.conv1.weight");
        size_t n = 2 * 16 * 2 * 16 * 9 / 4;            /* a prefix is enough */
        if (d == 0) {
            ref = malloc(n * sizeof *ref);
            memcpy(ref, w, n * sizeof *ref);
            nref = n;
        } else {
            /* F16 keeps 11 significant bits, BF16 8: relative error bounded accordingly. */
            double tol = d == 1 ? 1.0 / 1024 : 1.0 / 128;
            for (size_t i = 0; i < nref; i++) {
                double e = ref[i] - w[i], r = ref[i] < 0 ? -ref[i] : ref[i];
                if (e < 0) e = -e;
                /* (the test's own F16 writer flushes F16 subnormals to zero: < 6.2e-5) */
                if (e > tol * r + (d == 1 ? 6.2e-5 : 1e-7)) fail_msg("%s[%zu]: %g vs %g", dts[d], i, (double)w[i], (double)ref[i]);
            }
        }
        assert_true(model_tensor(m, "blocks.2.1.gamma")[0] == 0.5f);
        model_free(m);
        free(img);
        free(h2);
        free(h);
        free(data);
    }
    free(ref);
}

static void test_half_conversion(void **state)
{
    (void)state;
    const uint16_t h[8] = { 0x0001, 0x03ff, 0x3c00, 0xc000, 0x7c00, 0x7bff, 0x8000, 0x3555 };
    const float want[8] = { 0x1p-24f, 0x3ffp-24f, 1.0f, -2.0f, INFINITY, 65504.0f, -0.0f, 0x1.554p-2f };
    uint8_t bytes[16];
    for (int i = 0; i < 8; i++) { bytes[2 * i] = (uint8_t)h[i]; bytes[2 * i + 1] = (uint8_t)(h[i] >> 8); }
    st_tensor t = { "x", ST_F16, 1, { 8 }, 8, bytes };
    float out[8];
    st_to_f32(&t, out);
    for (int i = 0; i < 8; i++) assert_memory_equal(&out[i], &want[i], 4);
    /* BF16: the top half of an fp32 */
    const uint16_t b[2] = { 0x3f80, 0xc0a0 };
    for (int i = 0; i < 2; i++) { bytes[2 * i] = (uint8_t)b[i]; bytes[2 * i + 1] = (uint8_t)(b[i] >> 8); }
    st_tensor tb = { "y", ST_BF16, 1, { 2 }, 2, bytes };
    st_to_f32(&tb, out);
    assert_true(out[0] == 1.0f && out[1] == -5.0f);
}

static void test_container_damage(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = ef_image(g_hdr, g_data, g_dlen, &len);
    st_file *f;
    gq_error err;
    /* 1 empty, 2 shorter than the length field */
    gq_error_clear(&err);
    assert_int_equal(st_parse(img, 0, &f, &err), GQ_EFORMAT);
    assert_non_null(strstr(err.msg, "8-byte"));
    assert_int_equal(st_parse(img, 5, &f, NULL), GQ_EFORMAT);
    /* 3 truncated in the header, 4 truncated in the data */
    gq_error_clear(&err);
    assert_int_equal(st_parse(img, 8 + strlen(g_hdr) / 2, &f, &err), GQ_EFORMAT);
    assert_non_null(strstr(err.msg, "header length"));
    gq_error_clear(&err);
    assert_int_equal(st_parse(img, len - 16, &f, &err), GQ_EFORMAT);
    assert_non_null(strstr(err.msg, "beyond the data"));
    /* 5 huge header length */
    uint8_t *big = malloc(len);
    memcpy(big, img, len);
    big[5] = 0x10;    /* 2^44 */
    gq_error_clear(&err);
    assert_int_equal(st_parse(big, len, &f, &err), GQ_EFORMAT);
    assert_non_null(strstr(err.msg, "above"));
    memcpy(big, img, len);
    big[0] = 0xff; big[1] = 0xff; big[2] = 0xff; big[3] = 0xff; big[4] = 0xff; big[5] = 0xff; big[6] = 0xff; big[7] = 0xff;
    assert_int_equal(st_parse(big, len, &f, NULL), GQ_EFORMAT);
    free(big);
    free(img);
    /* 6 header not JSON, 7 not an object, 8 trailing garbage */
    expect_load("{\"a\": nope}", g_data, g_dlen, GQ_EFORMAT, "json");
    expect_load("[1, 2, 3]", g_data, g_dlen, GQ_EFORMAT, "not a JSON object");
    char *h = malloc(strlen(g_hdr) + 3);
    sprintf(h, "%s x", g_hdr);
    expect_load(h, g_data, g_dlen, GQ_EFORMAT, "trailing");
    free(h);
}

static void test_tensor_damage(void **state)
{
    (void)state;
    /* 9 unsupported dtype */
    damage("\"dtype\":\"F32\"", "\"dtype\":\"I8\"", "dtype 'I8'");
    /* 10 negative dimension, 11 fractional dimension, 12 too many dimensions */
    damage("\"shape\":[10,16]", "\"shape\":[-10,16]", "shape[0]");
    damage("\"shape\":[10,16]", "\"shape\":[10.5,16]", "shape[0]");
    damage("\"shape\":[10,16]", "\"shape\":[10,16,1,1,1,1,1,1,1]", "at most 8");
    /* 13 byte count does not match shape x dtype */
    damage("\"shape\":[10,16]", "\"shape\":[10,15]", "bytes at data_offsets");
    /* 14 begin > end, 15 offsets not integers, 16 offsets out of the file */
    damage("\"data_offsets\":[0,640]", "\"data_offsets\":[640,0]", "data_offsets");
    damage("\"data_offsets\":[0,640]", "\"data_offsets\":[0,\"640\"]", "data_offsets");
    damage("\"data_offsets\":[0,640]", "\"data_offsets\":[99999999640,100000000280]", "beyond the data");
    /* 17 overlapping tensors: the second tensor moved onto the first */
    char *second = strstr(g_hdr, "\"data_offsets\":[640,");
    assert_non_null(second);
    char from[64], to[64];
    int e2;
    assert_int_equal(sscanf(second, "\"data_offsets\":[640,%d]", &e2), 1);
    snprintf(from, sizeof from, "\"data_offsets\":[640,%d]", e2);
    snprintf(to, sizeof to, "\"data_offsets\":[0,%d]", e2 - 640);
    damage(from, to, "overlaps");
    /* 18 extra field in a tensor entry, 19 entry not an object, 20 missing field */
    damage("\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"x\":1", "exactly dtype");
    damage("{\"dtype\":\"F32\",\"shape\":[10,16],\"data_offsets\":[0,640]}", "7", "not an object");
    damage("\"dtype\":\"F32\",", "", "exactly dtype");
    /* 21 duplicate key */
    damage("\"__metadata__\"", "\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"linear.bias\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"__metadata__\"", "duplicate key");
}

static void test_model_damage(void **state)
{
    (void)state;
    /* 22 missing tensor (renamed: also unexpected, but missing is found first) */
    damage("\"shared.weight\"", "\"shared.weights\"", "tensor 'shared.weight': missing");
    /* 23 unexpected tensor */
    damage("\"__metadata__\"", "\"extra.weight\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},\"__metadata__\"",
           "tensor 'extra.weight': unexpected");
    /* 24 wrong shape (transposed) with consistent bytes */
    damage("\"shape\":[10,16]", "\"shape\":[16,10]", "tensor 'shared.weight': shape [16, 10], the architecture needs [10, 16]");
    /* 25 metadata: missing, value not a string, wrong version, unknown family */
    damage("\"__metadata__\"", "\"__metadata_x\"", "tensor '__metadata_x'");
    damage("\"ganq.format_version\":\"1\"", "\"ganq.format_version\":1", "not a string");
    damage("\"ganq.format_version\":\"1\"", "\"ganq.format_version\":\"2\"", "ganq.format_version");
    damage("\"ganq.format_version\":\"1\",", "", "ganq.format_version missing");
    damage("\"ganq.family\":\"biggan\"", "\"ganq.family\":\"stylegan\"", "ganq.family");
    /* 26 arch: bad JSON, bad resolution, z_dim not a multiple of the slots, attn_res absent */
    damage("\\\"resolution\\\":32", "\\\"resolution\\\":", "ganq.arch");
    damage("\\\"resolution\\\":32", "\\\"resolution\\\":48", "ganq.arch.resolution");
    damage("\\\"z_dim\\\":32", "\\\"z_dim\\\":30", "ganq.arch.z_dim");
    damage("\\\"attn_res\\\":0", "\\\"attn_res\\\":7", "ganq.arch.attn_res");
    damage("\\\"hier\\\":true", "\\\"hier\\\":false", "ganq.arch.hier");
    /* 27 class names: wrong count, not strings */
    damage("\"ganq.family\"", "\"ganq.class_names\":\"[\\\"a\\\",\\\"b\\\"]\",\"ganq.family\"", "ganq.class_names");
    damage("\"ganq.family\"", "\"ganq.class_names\":\"[1,2,3,4,5,6,7,8,9,10]\",\"ganq.family\"", "ganq.class_names[0]");
    /* 28 unknown ganq.* key */
    damage("\"ganq.family\"", "\"ganq.colour\":\"x\",\"ganq.family\"", "ganq.colour");
}

static void test_files_on_disk(void **state)
{
    (void)state;
    const char *tmp = getenv("GANQ_TMP");
    char dir[256], path[300];
    snprintf(dir, sizeof dir, "%s", tmp ? tmp : "/tmp");
    snprintf(path, sizeof path, "%s/badfiles-%d.safetensors", dir, (int)getpid());
    size_t len;
    uint8_t *img = ef_image(g_hdr, g_data, g_dlen, &len);
    gq_error err;
    engine *e;
    assert_int_equal(ef_write(path, img, len), 0);
    gq_error_clear(&err);
    assert_int_equal(engine_open(path, NULL, &e, &err), 0);
    assert_non_null(strstr(engine_get_arch(e)->name, "badfiles-"));
    assert_null(strstr(engine_get_arch(e)->name, ".safetensors"));
    assert_int_equal(engine_get_arch(e)->resolution, 32);
    engine_free(e);
    /* truncated on disk: the message names the path and the tensor */
    assert_int_equal(ef_write(path, img, len - 100), 0);
    gq_error_clear(&err);
    assert_int_equal(engine_open(path, NULL, &e, &err), GQ_EFORMAT);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "tensor '"));
    unlink(path);
    gq_error_clear(&err);
    assert_int_equal(engine_open(path, NULL, &e, &err), GQ_ENOTFOUND);
    assert_int_equal(engine_open(dir, NULL, &e, NULL), GQ_EIO);     /* a directory */
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_good_dtypes_and_scalar_gamma),
        cmocka_unit_test(test_half_conversion),
        cmocka_unit_test(test_container_damage),
        cmocka_unit_test(test_tensor_damage),
        cmocka_unit_test(test_model_damage),
        cmocka_unit_test(test_files_on_disk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
