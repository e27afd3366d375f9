/* test_states.c: every job and task transition, legal and illegal, against a table written
 * out here independently of storage/db/states.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "storage/db/states.h"

enum { Q = STORE_JOB_QUEUED, R = STORE_JOB_RUNNING, D = STORE_JOB_DONE, F = STORE_JOB_FAILED,
       C = STORE_JOB_CANCELLED };
enum { TP = STORE_TASK_PENDING, TL = STORE_TASK_LEASED, TD = STORE_TASK_DONE,
       TF = STORE_TASK_FAILED, TC = STORE_TASK_CANCELLED };

static int job_legal(int a, int b)
{
    static const int ok[][2] = {{Q, R}, {Q, C}, {Q, F}, {R, D}, {R, F}, {R, C}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i][0] == a && ok[i][1] == b)
            return 1;
    return 0;
}

static int task_legal(int a, int b)
{
    static const int ok[][2] = {{TP, TL}, {TP, TC}, {TP, TD}, {TL, TP}, {TL, TD}, {TL, TF},
                                {TL, TC}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i][0] == a && ok[i][1] == b)
            return 1;
    return 0;
}

static void test_job_transitions(void **state)
{
    (void)state;
    int legal = 0;
    for (int a = Q; a <= C; a++)
        for (int b = Q; b <= C; b++) {
            gq_error e;
            gq_error_clear(&e);
            int rc = store_job_transition_check(a, b, &e);
            if (job_legal(a, b)) {
                assert_int_equal(rc, GQ_OK);
                legal++;
            } else {
                assert_int_equal(rc, GQ_ESTATE);
                assert_non_null(strstr(e.msg, store_job_state_name(a)));
                assert_non_null(strstr(e.msg, store_job_state_name(b)));
            }
        }
    assert_int_equal(legal, 6);
    /* nothing leaves a terminal state */
    for (int b = Q; b <= C; b++) {
        assert_int_equal(store_job_transition_check(D, b, NULL), GQ_ESTATE);
        assert_int_equal(store_job_transition_check(F, b, NULL), GQ_ESTATE);
        assert_int_equal(store_job_transition_check(C, b, NULL), GQ_ESTATE);
    }
}

static void test_task_transitions(void **state)
{
    (void)state;
    int legal = 0;
    for (int a = TP; a <= TC; a++)
        for (int b = TP; b <= TC; b++) {
            gq_error e;
            gq_error_clear(&e);
            int rc = store_task_transition_check(a, b, &e);
            if (task_legal(a, b)) {
                assert_int_equal(rc, GQ_OK);
                legal++;
            } else {
                assert_int_equal(rc, GQ_ESTATE);
                assert_true(e.msg[0] != '\0');
            }
        }
    assert_int_equal(legal, 7);
}

static void test_invalid_values(void **state)
{
    (void)state;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(store_job_transition_check(0, Q, &e), GQ_EINVAL);
    assert_int_equal(store_job_transition_check(Q, 6, NULL), GQ_EINVAL);
    assert_int_equal(store_job_transition_check(-1, 99, NULL), GQ_EINVAL);
    assert_int_equal(store_task_transition_check(0, TP, NULL), GQ_EINVAL);
    assert_int_equal(store_task_transition_check(TP, 42, NULL), GQ_EINVAL);
    assert_string_equal(store_job_state_name(77), "?");
    assert_string_equal(store_task_state_name(0), "?");
    assert_string_equal(store_job_state_name(R), "running");
    assert_string_equal(store_task_state_name(TL), "leased");
    assert_true(store_job_state_terminal(D) && store_job_state_terminal(F) &&
                store_job_state_terminal(C));
    assert_false(store_job_state_terminal(Q) || store_job_state_terminal(R));
    assert_true(store_task_state_terminal(TD) && !store_task_state_terminal(TL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_transitions),
        cmocka_unit_test(test_task_transitions),
        cmocka_unit_test(test_invalid_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
