/* test_engine_model.c: the CPU forward passes on small crafted models (both families, with
 * attention): deterministic per thread count, one-hot class vectors equal class ids, a batch
 * split gives the same images, outputs in [-1, 1] and varying with z and class, u8
 * conversion, and truncation checked against standing statistics. (Numerical parity with
 * the PyTorch reference is tests/reference/test_parity_*.) */
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

static char g_path[2][300];

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("GANQ_TMP");
    const char *fam[2] = { "biggan-deep", "biggan" };
    const char *arch[2] = { EF_ARCH_DEEP128, EF_ARCH_BIGGAN64A };
    for (int i = 0; i < 2; i++) {
        snprintf(g_path[i], sizeof g_path[i], "%s/engine-model-%d-%d.safetensors", tmp ? tmp : "/tmp", (int)getpid(), i);
        char *h;
        uint8_t *d, *img;
        size_t dl, len;
        if (ef_build(fam[i], arch[i], "F32", 3 + (uint32_t)i, &h, &d, &dl)) return -1;
        img = ef_image(h, d, dl, &len);
        int rc = img ? ef_write(g_path[i], img, len) : -1;
        free(h); free(d); free(img);
        if (rc) return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_path[0]);
    unlink(g_path[1]);
    return 0;
}

static void run_family(int which)
{
    engine *e1, *e2;
    gq_error err;
    engine_options o1 = { "cpu", 1, 0 }, o2 = { "cpu", 2, 0 };
    gq_error_clear(&err);
    assert_int_equal(engine_open(g_path[which], &o1, &e1, &err), 0);
    assert_int_equal(engine_open(g_path[which], &o2, &e2, &err), 0);
    const engine_arch *a = engine_get_arch(e1);
    enum { B = 3 };
    const int zd = a->z_dim, nc = a->num_classes, R = a->resolution;
    const size_t P = 3 * (size_t)R * R;
    float *z = malloc(sizeof(float) * B * (size_t)zd);
    engine_noise(11, 0, B, zd, 0.6, z);
    int32_t ids[B] = { 0, 3, 3 };
    memcpy(z + 2 * zd, z + zd, sizeof(float) * (size_t)zd);
    z[2 * zd + zd - 1] += 0.5f;    /* image 2 = image 1 but for the last z dimension */
    float *y = calloc((size_t)B * nc, sizeof(float));
    for (int i = 0; i < B; i++) y[i * nc + ids[i]] = 1.0f;
    float *o = malloc(sizeof(float) * B * P), *p = malloc(sizeof(float) * B * P), *q = malloc(sizeof(float) * B * P);
    engine_batch b = { B, z, ids, NULL, 0.6 };
    assert_int_equal(engine_generate_f32(e1, &b, o, &err), 0);
    assert_int_equal(engine_generate_f32(e1, &b, p, &err), 0);
    assert_memory_equal(o, p, sizeof(float) * B * P);              /* deterministic */
    engine_batch bv = { B, z, NULL, y, 0.6 };
    assert_int_equal(engine_generate_f32(e1, &bv, p, &err), 0);
    assert_memory_equal(o, p, sizeof(float) * B * P);              /* one-hot == ids */
    for (size_t i = 0; i < B * P; i++) assert_true(o[i] >= -1.0f && o[i] <= 1.0f);
    double d01 = 0, d12 = 0;
    for (size_t i = 0; i < P; i++) { d01 += fabs(o[i] - o[P + i]); d12 += fabs(o[P + i] - o[2 * P + i]); }
    if (!(d01 > 1e-4 * P && d12 > 0)) fail_msg("d01 %g d12 %g", d01 / P, d12 / P); /* class and z matter */
    /* batch and thread invariance (ops.c, "Batch invariance"): two threads, and the batch
     * split 1 + 2, give the same bits; any split of a job over workers relies on it */
    assert_int_equal(engine_generate_f32(e2, &b, q, &err), 0);
    assert_memory_equal(o, q, sizeof(float) * B * P);
    engine_batch b1 = { 1, z, ids, NULL, 0.6 }, b2 = { 2, z + zd, ids + 1, NULL, 0.6 };
    assert_int_equal(engine_generate_f32(e2, &b1, q, &err), 0);
    assert_int_equal(engine_generate_f32(e2, &b2, q + P, &err), 0);
    assert_memory_equal(o, q, sizeof(float) * B * P);
    /* deterministic for a given thread count, also with 2 */
    assert_int_equal(engine_generate_f32(e2, &b, p, &err), 0);
    assert_int_equal(engine_generate_f32(e2, &b, q, &err), 0);
    assert_memory_equal(p, q, sizeof(float) * B * P);
    /* u8 */
    uint8_t *u = malloc(B * P);
    assert_int_equal(engine_generate_u8(e1, &b, u, &err), 0);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < R * R; k++) {
                float v = floorf(128.0f * (o[i * P + (size_t)c * R * R + k] + 1.0f));
                int want = v < 0 ? 0 : v > 255 ? 255 : (int)v;
                assert_int_equal(u[i * P + (size_t)k * 3 + c], want);
            }
    /* truncation */
    engine_batch bt = { 1, z, ids, NULL, 1.5 };
    gq_error_clear(&err);
    int rc = engine_generate_f32(e1, &bt, p, &err);
    if (a->standing_stats) {
        assert_int_equal(rc, GQ_EINVAL);
        assert_non_null(strstr(err.msg, "truncation"));
        bt.truncation = 1.0;     /* the last row of standing statistics */
        assert_int_equal(engine_generate_f32(e1, &bt, p, &err), 0);
    } else {
        assert_int_equal(rc, 0);
    }
    int32_t badid = nc;
    engine_batch bb = { 1, z, &badid, NULL, 0.5 };
    assert_int_equal(engine_generate_f32(e1, &bb, p, NULL), GQ_EINVAL);
    free(u); free(z); free(y); free(o); free(p); free(q);
    engine_free(e1);
    engine_free(e2);
}

static void test_deep(void **state) { (void)state; run_family(0); }
static void test_biggan(void **state) { (void)state; run_family(1); }

static void test_info(void **state)
{
    (void)state;
    engine *e;
    assert_int_equal(engine_open(g_path[0], NULL, &e, NULL), 0);
    const engine_arch *a = engine_get_arch(e);
    assert_string_equal(a->family_name, "biggan-deep");
    assert_int_equal(a->resolution, 128);
    assert_int_equal(a->z_dim, 16);
    assert_int_equal(a->num_classes, 5);
    assert_int_equal(a->standing_stats, 1);
    assert_int_equal((int)strlen(a->sha256), 64);
    assert_true(a->num_params > 0);
    assert_true(engine_max_batch(e) >= 1);
    engine_free(e);
    engine_options cuda = { "cuda", 0, 0 };
    gq_error err;
    gq_error_clear(&err);
    assert_int_equal(engine_open(g_path[0], &cuda, &e, &err), GQ_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "CUDA backend not built in this version"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_biggan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
