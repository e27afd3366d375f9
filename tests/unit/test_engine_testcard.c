/* test_engine_testcard.c: engine_open dispatch and the built-in testcard: arch, fixed sha256,
 * determinism, dependence on z and class, soft classes, u8 conversion, batch validation,
 * and the CUDA refusal. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/engine/engine.h"
#include "proto/base/gq_sha256.h"

static engine *open_tc(const char *name)
{
    engine *e = NULL;
    gq_error err;
    gq_error_clear(&err);
    assert_int_equal(engine_open(name, NULL, &e, &err), 0);
    assert_non_null(e);
    return e;
}

static void test_arch(void **state)
{
    (void)state;
    engine *e = open_tc("testcard");
    const engine_arch *a = engine_get_arch(e);
    assert_int_equal(a->family, ENGINE_FAMILY_TESTCARD);
    assert_string_equal(a->family_name, "testcard");
    assert_int_equal(a->resolution, 32);
    assert_int_equal(a->z_dim, 128);
    assert_int_equal(a->num_classes, 10);
    assert_string_equal(a->class_names[0], "class0");
    assert_string_equal(a->class_names[9], "class9");
    char hex[65];
    gq_sha256_hex("testcard-v1", 11, hex);
    assert_string_equal(a->sha256, hex);
    assert_true(engine_max_batch(e) >= 1);
    engine_free(e);
    e = open_tc("testcard:64");
    assert_int_equal(engine_get_arch(e)->resolution, 64);
    assert_string_not_equal(engine_get_arch(e)->sha256, hex);
    engine_free(e);
}

static void test_sha256_vectors(void **state)
{
    (void)state;
    char hex[65];
    gq_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    gq_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    gq_sha256_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_deterministic_and_varied(void **state)
{
    (void)state;
    engine *e = open_tc("testcard");
    enum { B = 4, P = 3 * 32 * 32 };
    float z[B * 128];
    engine_noise(5, 0, B, 128, 1.0, z);
    int32_t ids[B] = { 0, 0, 3, 9 };
    memcpy(z + 128, z, 128 * sizeof(float)); /* image 1 = image 0's z; image 0 != 1 only... */
    z[128] += 1.0f;                           /* ...by one z value */
    static float o1[B * P], o2[B * P];
    engine_batch b = { B, z, ids, NULL, 1.0 };
    gq_error err;
    gq_error_clear(&err);
    assert_int_equal(engine_generate_f32(e, &b, o1, &err), 0);
    assert_int_equal(engine_generate_f32(e, &b, o2, &err), 0);
    assert_memory_equal(o1, o2, sizeof o1);
    for (int i = 0; i < B * P; i++) assert_true(o1[i] >= -1.0f && o1[i] <= 1.0f);
    assert_true(memcmp(o1, o1 + P, P * sizeof(float)) != 0);          /* z matters */
    assert_true(memcmp(o1 + 2 * P, o1 + 3 * P, P * sizeof(float)) != 0);
    /* class matters: the top-left pixel of class 0 is white, of class 3 green. */
    assert_true(o1[0] > 0.9f && o1[2 * P] < -0.9f);
    /* a one-hot class vector equals the class id */
    float y[B * 10] = { 0 };
    for (int i = 0; i < B; i++) y[i * 10 + ids[i]] = 1.0f;
    engine_batch bv = { B, z, NULL, y, 1.0 };
    assert_int_equal(engine_generate_f32(e, &bv, o2, &err), 0);
    assert_memory_equal(o1, o2, sizeof o1);
    /* u8 matches the documented conversion */
    static uint8_t u[B * P];
    assert_int_equal(engine_generate_u8(e, &b, u, &err), 0);
    for (int i = 0; i < B; i++)
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 1024; p++) {
                float x = o1[i * P + c * 1024 + p];
                float v = floorf(128.0f * (x + 1.0f));
                int want = v < 0 ? 0 : v > 255 ? 255 : (int)v;
                assert_int_equal(u[i * P + p * 3 + c], want);
            }
    engine_free(e);
}

static void test_bad_batches(void **state)
{
    (void)state;
    engine *e = open_tc("testcard");
    float z[128] = { 0 };
    float out[3 * 32 * 32];
    int32_t bad = 10;
    gq_error err;
    engine_batch b = { 1, z, &bad, NULL, 1.0 };
    gq_error_clear(&err);
    assert_int_equal(engine_generate_f32(e, &b, out, &err), GQ_EINVAL);
    assert_non_null(strstr(err.msg, "class_ids[0]"));
    int32_t ok = 1;
    engine_batch b2 = { 1, z, &ok, NULL, NAN };
    gq_error_clear(&err);
    assert_int_equal(engine_generate_f32(e, &b2, out, &err), GQ_EINVAL);
    assert_non_null(strstr(err.msg, "truncation"));
    engine_batch b3 = { 0, z, &ok, NULL, 1.0 };
    assert_int_equal(engine_generate_f32(e, &b3, out, NULL), GQ_EINVAL);
    float y[10] = { 0 };
    engine_batch b4 = { 1, z, &ok, y, 1.0 };
    assert_int_equal(engine_generate_f32(e, &b4, out, NULL), GQ_EINVAL);
    z[5] = INFINITY;
    engine_batch b5 = { 1, z, &ok, NULL, 1.0 };
    assert_int_equal(engine_generate_f32(e, &b5, out, NULL), GQ_EINVAL);
    engine_free(e);
}

static void test_open_errors(void **state)
{
    (void)state;
    engine *e = (engine *)1;
    gq_error err;
    engine_options cuda = { "cuda:0", 0, 0 };
    gq_error_clear(&err);
    assert_int_equal(engine_open("testcard", &cuda, &e, &err), GQ_EUNSUPPORTED);
    assert_null(e);
    assert_non_null(strstr(err.msg, "CUDA backend not built"));
    engine_options weird = { "tpu", 0, 0 };
    assert_int_equal(engine_open("testcard", &weird, &e, NULL), GQ_EINVAL);
    assert_int_equal(engine_open("testcard:33", NULL, &e, NULL), GQ_ENOTFOUND);
    assert_int_equal(engine_open("", NULL, &e, NULL), GQ_EINVAL);
    assert_int_equal(engine_open("/nonexistent/x.safetensors", NULL, &e, NULL) < 0, 1);
    engine_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arch),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_deterministic_and_varied),
        cmocka_unit_test(test_bad_batches),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
