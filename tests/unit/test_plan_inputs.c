/* test_plan_inputs.c: plan_fill_inputs against engine_noise: generate z is noise(seed, i)
 * scaled; a sweep reuses the same draws at every value (z / t identical); interpolation
 * reproduces both endpoints exactly and mixes class vectors that sum to 1. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/plan/plan.h"
#include "worker/engine/engine.h"

enum { ZD = 16, NC = 5 };
static int32_t ids[2] = {4, 1};
static double tr[3] = {0.25, 0.5, 1.0};

static plan *mk(Ganq__V1__JobSpec *s)
{
    plan_model m = {NC, NULL, ZD, 1};
    plan *p = NULL;
    gq_error e;
    gq_error_clear(&e);
    if (plan_init(s, &m, &p, &e) != 0)
        fail_msg("plan_init: %s", e.msg);
    return p;
}

static Ganq__V1__JobSpec base(int kind)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    s.kind = kind;
    s.seed = 1234;
    s.class_ids = ids;
    s.n_class_ids = 2;
    s.count = 6;
    s.truncations = tr;
    s.n_truncations = 1;
    s.out_dir = "/tmp/none";
    return s;
}

static void test_generate_z(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = base(GANQ__V1__JOB_KIND__KIND_GENERATE);
    plan *p = mk(&s);
    uint64_t idx[3] = {1, 2, 5};
    float z[3 * ZD], want[ZD];
    int32_t cls[3];
    plan_fill_inputs(p, idx, 3, z, cls, NULL);
    for (int k = 0; k < 3; k++) {
        engine_noise(1234, idx[k], 1, ZD, 0.25, want);
        assert_memory_equal(z + k * ZD, want, sizeof want);
        assert_int_equal(cls[k], ids[idx[k] % 2]);
    }
    plan_free(p);
}

static void test_sweep_same_draws(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = base(GANQ__V1__JOB_KIND__KIND_SWEEP);
    s.n_truncations = 3;
    s.per_value = 4;
    plan *p = mk(&s);
    float a[ZD], b[ZD], u[ZD];
    int32_t c1, c2;
    uint64_t i1 = 2, i2 = 2 + 2 * 4;   /* sample 2 at 0.25 and at 1.0 */
    plan_fill_inputs(p, &i1, 1, a, &c1, NULL);
    plan_fill_inputs(p, &i2, 1, b, &c2, NULL);
    engine_noise(1234, 2, 1, ZD, 1.0, u);
    assert_memory_equal(b, u, sizeof u);
    for (int d = 0; d < ZD; d++)
        assert_true(fabsf(a[d] - 0.25f * b[d]) <= 1e-6f * fabsf(b[d]) + 1e-7f);
    assert_int_equal(c1, c2);
    plan_free(p);
}

static void test_interpolate(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = base(GANQ__V1__JOB_KIND__KIND_INTERPOLATE);
    s.class_a = 0;
    s.class_b = 3;
    s.seed_a = 5;
    s.seed_b = 6;
    s.steps = 3;
    tr[0] = 0.5;
    plan *p = mk(&s);
    uint64_t idx[3] = {0, 1, 2};
    float z[3 * ZD], za[ZD], zb[ZD], cv[3 * NC];
    assert_true(plan_uses_class_vectors(p));
    plan_fill_inputs(p, idx, 3, z, NULL, cv);
    engine_noise(5, 0, 1, ZD, 0.5, za);
    engine_noise(6, 0, 1, ZD, 0.5, zb);
    assert_memory_equal(z, za, sizeof za);
    assert_memory_equal(z + 2 * ZD, zb, sizeof zb);
    for (int d = 0; d < ZD; d++)
        assert_true(fabsf(z[ZD + d] - 0.5f * (za[d] + zb[d])) < 1e-6f);
    for (int k = 0; k < 3; k++) {
        float sum = 0;
        for (int c = 0; c < NC; c++)
            sum += cv[k * NC + c];
        assert_true(fabsf(sum - 1.0f) < 1e-6f);
    }
    assert_true(cv[0] == 1.0f && cv[3] == 0.0f);
    assert_true(cv[NC + 0] == 0.5f && cv[NC + 3] == 0.5f);
    assert_true(cv[2 * NC + 3] == 1.0f);
    plan_free(p);
    tr[0] = 0.25;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_z),
        cmocka_unit_test(test_sweep_same_draws),
        cmocka_unit_test(test_interpolate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
