/* test_sched.c: the scheduling rule as a pure function: model matching (name and sha256),
 * priority, fair share between owners, age. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "broker/sched.h"

static const sched_model tc[] = {{"testcard", "aaaa"}};
static const sched_model both[] = {{"testcard", "aaaa"}, {"deep128", "bbbb"}};

static sched_job job(const char *model, const char *sha, const char *owner, int prio,
                     uint32_t leased, int64_t seq)
{
    sched_job j = {model, sha, owner, prio, leased, seq, 5};
    return j;
}

static void test_model_matching(void **state)
{
    (void)state;
    sched_job js[] = {job("deep128", "bbbb", "a", 0, 0, 1), job("testcard", "zzzz", "a", 0, 0, 2),
                      job("testcard", "aaaa", "a", 0, 0, 3)};
    /* worker with only testcard/aaaa: job 0 (other model) and 1 (other sha) do not fit */
    assert_int_equal(sched_pick(js, 3, tc, 1), 2);
    assert_int_equal(sched_pick(js, 2, tc, 1), -1);
    assert_int_equal(sched_pick(js, 3, both, 2), 0);
    assert_int_equal(sched_pick(js, 3, NULL, 0), -1);
    /* empty sha256 in a job matches any file of that name */
    sched_job any = job("testcard", "", "a", 0, 0, 1);
    assert_int_equal(sched_pick(&any, 1, tc, 1), 0);
    assert_true(sched_worker_has(&any, tc, 1));
}

static void test_priority_first(void **state)
{
    (void)state;
    sched_job js[] = {job("testcard", "", "a", 0, 0, 1), job("testcard", "", "b", 5, 100, 9),
                      job("testcard", "", "c", -3, 0, 0)};
    /* priority beats both fair share (b has 100 leased) and age */
    assert_int_equal(sched_pick(js, 3, tc, 1), 1);
    js[1].pending = 0;   /* nothing left to lease: skipped */
    assert_int_equal(sched_pick(js, 3, tc, 1), 0);
}

static void test_fair_share_then_age(void **state)
{
    (void)state;
    sched_job js[] = {job("testcard", "", "alice", 0, 3, 1), job("testcard", "", "bob", 0, 1, 2),
                      job("testcard", "", "carol", 0, 1, 3)};
    /* bob and carol have fewer leased tasks than alice; bob's job is older */
    assert_int_equal(sched_pick(js, 3, tc, 1), 1);
    /* simulate the caller: bob gets one more lease -> carol is next */
    js[1].owner_leased++;
    assert_int_equal(sched_pick(js, 3, tc, 1), 2);
    js[2].owner_leased += 5;
    js[1].owner_leased += 5;
    assert_int_equal(sched_pick(js, 3, tc, 1), 0);
    /* equal everything: the oldest wins */
    sched_job eq[] = {job("testcard", "", "x", 0, 0, 7), job("testcard", "", "y", 0, 0, 4)};
    assert_int_equal(sched_pick(eq, 2, tc, 1), 1);
    assert_true(sched_compare(&eq[1], &eq[0]) < 0);
    assert_int_equal(sched_compare(&eq[0], &eq[0]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_matching),
        cmocka_unit_test(test_priority_first),
        cmocka_unit_test(test_fair_share_then_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
