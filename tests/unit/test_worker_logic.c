/* test_worker_logic.c: the worker's pure logic: batching by truncation (wk_batch), the
 * reconnect backoff schedule (wk_backoff), credit accounting (wk_credit) and the protocol
 * messages it builds and parses (wk_msg, over proto/wire). No sockets, no engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/wk_backoff.h"
#include "worker/wk_batch.h"
#include "worker/wk_credit.h"
#include "proto/wire/wire.h"
#include "worker/wk_msg.h"

/* ---- batching ---- */

static void test_batch_single_truncation_in_order(void **st)
{
    (void)st;
    double t[10];
    size_t order[10];
    for (int i = 0; i < 10; i++) t[i] = 0.5;
    wk_batch *b;
    size_t nb;
    assert_int_equal(wk_batch_plan(t, 10, 4, order, &b, &nb), 0);
    assert_int_equal(nb, 3);
    assert_int_equal(b[0].n, 4);
    assert_int_equal(b[1].n, 4);
    assert_int_equal(b[2].n, 2);
    for (size_t i = 0; i < 10; i++) assert_int_equal(order[i], i);
    for (size_t k = 0; k < nb; k++) assert_true(b[k].truncation == 0.5);
    free(b);
}

static void test_batch_groups_by_truncation(void **st)
{
    (void)st;
    /* positions:     0    1    2    3    4    5    6    7 */
    double t[8] = { 1.0, 0.4, 1.0, 0.4, 0.4, 1.0, 0.7, 0.4 };
    size_t order[8];
    wk_batch *b;
    size_t nb;
    assert_int_equal(wk_batch_plan(t, 8, 3, order, &b, &nb), 0);
    /* 1.0: {0,2,5}; 0.4: {1,3,4}, {7}; 0.7: {6}; ordered by first position */
    assert_int_equal(nb, 4);
    size_t want_first[4] = { 0, 1, 6, 7 };
    size_t want_n[4] = { 3, 3, 1, 1 };
    double want_t[4] = { 1.0, 0.4, 0.7, 0.4 };
    size_t seen[8] = { 0 };
    for (size_t k = 0; k < nb; k++) {
        assert_int_equal(order[b[k].first], want_first[k]);
        assert_int_equal(b[k].n, want_n[k]);
        assert_true(b[k].truncation == want_t[k]);
        for (size_t j = 0; j < b[k].n; j++) {
            size_t pos = order[b[k].first + j];
            assert_true(t[pos] == b[k].truncation);         /* one truncation per batch */
            if (j) assert_true(order[b[k].first + j - 1] < pos); /* ascending in a batch */
            seen[pos]++;
        }
    }
    for (int i = 0; i < 8; i++) assert_int_equal(seen[i], 1);   /* every image exactly once */
    free(b);
}

static void test_batch_edge_cases(void **st)
{
    (void)st;
    double t[3] = { 0.1, 0.2, 0.3 };
    size_t order[3];
    wk_batch *b = (wk_batch *)1;
    size_t nb = 99;
    assert_int_equal(wk_batch_plan(t, 0, 4, order, &b, &nb), 0);
    assert_null(b);
    assert_int_equal(nb, 0);
    assert_int_equal(wk_batch_plan(t, 3, 0, order, &b, &nb), -1);   /* GQ_EINVAL */
    assert_int_equal(wk_batch_plan(t, 3, 1, order, &b, &nb), 0);
    assert_int_equal(nb, 3);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(b[k].n, 1);
        assert_int_equal(order[b[k].first], k);
    }
    free(b);
}

/* ---- backoff ---- */

static void test_backoff_schedule(void **st)
{
    (void)st;
    wk_backoff b;
    wk_backoff_init(&b, WK_BACKOFF_MIN_MS, WK_BACKOFF_MAX_MS);
    int64_t want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(wk_backoff_next(&b), want[i]);
    assert_int_equal(b.attempts, 9);
    wk_backoff_reset(&b);
    assert_int_equal(b.attempts, 0);
    assert_int_equal(wk_backoff_next(&b), 100);
    wk_backoff_init(&b, 3, 10);
    assert_int_equal(wk_backoff_next(&b), 3);
    assert_int_equal(wk_backoff_next(&b), 6);
    assert_int_equal(wk_backoff_next(&b), 10);
}

/* ---- credits ---- */

static void test_credit_accounting(void **st)
{
    (void)st;
    wk_credit c;
    wk_credit_init(&c, 2);
    assert_int_equal(wk_credit_due(&c), 2);       /* nothing advertised yet */
    wk_credit_sent(&c, 2);
    assert_int_equal(wk_credit_due(&c), -1);
    wk_credit_task_in(&c);                         /* broker's view: 1; ours: 1 */
    assert_int_equal(wk_credit_due(&c), -1);
    wk_credit_task_in(&c);
    assert_int_equal(wk_credit_free(&c), 0);
    assert_int_equal(wk_credit_due(&c), -1);
    wk_credit_task_out(&c);                        /* room again: re-advertise 1 */
    assert_int_equal(wk_credit_due(&c), 1);
    wk_credit_sent(&c, 1);
    assert_int_equal(wk_credit_due(&c), -1);
    wk_credit_forget(&c);                          /* after a re-HELLO */
    assert_int_equal(wk_credit_due(&c), 1);
    wk_credit_sent(&c, 1);
    wk_credit_task_in(&c);                         /* over-sent by the broker: held 2 */
    wk_credit_task_in(&c);                         /* held 3 > capacity */
    assert_int_equal(wk_credit_free(&c), 0);
    wk_credit_task_out(&c);                        /* held 2: still full */
    assert_int_equal(wk_credit_due(&c), -1);
    wk_credit_task_out(&c);
    assert_int_equal(wk_credit_due(&c), 1);
    wk_credit_sent(&c, 1);
    wk_credit_stop(&c);                            /* stopping: room 0 must be said */
    assert_int_equal(wk_credit_due(&c), 0);
    wk_credit_sent(&c, 0);
    wk_credit_task_out(&c);
    assert_int_equal(wk_credit_due(&c), -1);
}

/* ---- messages ---- */

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static Ganq__V1__Envelope *roundtrip(wk_bytes *b)
{
    Ganq__V1__Envelope *env = NULL;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wk_msg_unpack(b->data, b->len, &env, &e), 0);
    wk_bytes_release(b);
    assert_non_null(env);
    assert_int_equal(env->version, 1);
    return env;
}

static void test_msg_hello(void **st)
{
    (void)st;
    Ganq__V1__ModelInfo mi = GANQ__V1__MODEL_INFO__INIT;
    char *names[2] = { "cat", "dog" };
    mi.name = "testcard";
    mi.sha256 = SHA_A;
    mi.family = "testcard";
    mi.resolution = 64;
    mi.num_classes = 2;
    mi.n_class_names = 2;
    mi.class_names = names;
    Ganq__V1__ModelInfo *models[1] = { &mi };
    wk_running r[2] = { { "job-1", 7, 2, 40 }, { "job-2", 9, 1, 0 } };
    wk_bytes b = { 0 };
    assert_int_equal(wk_msg_hello("w1", "cpu", models, 1, 16, r, 2, &b), 0);
    Ganq__V1__Envelope *env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_HELLO);
    const Ganq__V1__Hello *h = env->hello;
    assert_string_equal(h->name, "w1");
    assert_int_equal(h->n_devices, 1);
    assert_string_equal(h->devices[0], "cpu");
    assert_string_equal(h->backends[0], "cpu");
    assert_int_equal(h->max_batch, 16);
    assert_int_equal(h->n_models, 1);
    assert_string_equal(h->models[0]->name, "testcard");
    assert_int_equal(h->models[0]->n_class_names, 2);
    assert_string_equal(h->models[0]->class_names[1], "dog");
    assert_int_equal(h->n_running, 2);
    assert_string_equal(h->running[0]->job_id, "job-1");
    assert_int_equal(h->running[0]->task_id, 7);
    assert_int_equal(h->running[0]->attempt, 2);
    assert_int_equal(h->running[0]->images_done, 40);
    assert_string_equal(h->running[1]->job_id, "job-2");
    assert_string_equal(wk_msg_name(env), "hello");
    wk_msg_free(env);
}

static void test_msg_task_messages(void **st)
{
    (void)st;
    wk_bytes b = { 0 };
    Ganq__V1__Envelope *env;

    assert_int_equal(wk_msg_progress("j", 3, 1, 12, &b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_PROGRESS);
    assert_string_equal(env->progress->job_id, "j");
    assert_int_equal(env->progress->task_id, 3);
    assert_int_equal(env->progress->attempt, 1);
    assert_int_equal(env->progress->images_done, 12);
    wk_msg_free(env);

    Ganq__V1__OutputRecord r = GANQ__V1__OUTPUT_RECORD__INIT;
    r.path = "000001.png";
    r.images = 1;
    r.bytes = 321;
    r.sha256 = SHA_A;
    r.first_index = 1;
    Ganq__V1__OutputRecord *rp[1] = { &r };
    assert_int_equal(wk_msg_done("j", 3, 2, rp, 1, &b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_DONE);
    assert_int_equal(env->done->attempt, 2);
    assert_int_equal(env->done->n_outputs, 1);
    assert_string_equal(env->done->outputs[0]->path, "000001.png");
    assert_int_equal(env->done->outputs[0]->bytes, 321);
    wk_msg_free(env);

    assert_int_equal(wk_msg_failed("j", 4, 1, "cancelled", 0, &b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_FAILED);
    assert_string_equal(env->failed->reason, "cancelled");
    assert_false(env->failed->retryable);
    wk_msg_free(env);

    assert_int_equal(wk_msg_credit(2, &b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_CREDIT);
    assert_int_equal(env->credit->credits, 2);
    wk_msg_free(env);

    assert_int_equal(wk_msg_heartbeat(&b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_HEARTBEAT);
    wk_msg_free(env);

    wk_running ret[1] = { { "j", 5, 1, 8 } };
    assert_int_equal(wk_msg_goodbye(ret, 1, &b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->body_case, GANQ__V1__ENVELOPE__BODY_GOODBYE);
    assert_int_equal(env->goodbye->n_returned, 1);
    assert_int_equal(env->goodbye->returned[0]->task_id, 5);
    assert_int_equal(env->goodbye->returned[0]->images_done, 8);
    wk_msg_free(env);

    assert_int_equal(wk_msg_error(GANQ__V1__ERROR_CODE__ERR_VERSION, "version", "no", &b), 0);
    env = roundtrip(&b);
    assert_int_equal(env->error->code, GANQ__V1__ERROR_CODE__ERR_VERSION);
    assert_string_equal(env->error->field, "version");
    wk_msg_free(env);
}

static void test_msg_unpack_rejects(void **st)
{
    (void)st;
    Ganq__V1__Envelope *env = (Ganq__V1__Envelope *)1;
    gq_error e;
    gq_error_clear(&e);
    const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    assert_int_equal(wk_msg_unpack(junk, sizeof junk, &env, &e), -5);   /* GQ_EFORMAT */
    assert_null(env);
    assert_true(e.msg[0] != 0);

    /* a version-2 heartbeat: decoded, but flagged so the caller can answer ERR_VERSION */
    Ganq__V1__Heartbeat h = GANQ__V1__HEARTBEAT__INIT;
    Ganq__V1__Envelope out = GANQ__V1__ENVELOPE__INIT;
    out.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
    out.heartbeat = &h;
    out.version = 2;
    uint8_t *buf;
    size_t n;
    assert_int_equal(wire_encode_raw(&out, &buf, &n), 0);
    gq_error_clear(&e);
    assert_int_equal(wk_msg_unpack(buf, n, &env, &e), -13);             /* GQ_EVERSION */
    assert_null(env);
    assert_non_null(strstr(e.msg, "version"));
    free(buf);

    /* version 1 but no body */
    Ganq__V1__Envelope empty = GANQ__V1__ENVELOPE__INIT;
    empty.version = 1;
    assert_int_equal(wire_encode_raw(&empty, &buf, &n), 0);
    gq_error_clear(&e);
    assert_true(wk_msg_unpack(buf, n, &env, &e) < 0);
    assert_null(env);
    free(buf);

    /* a Task whose range is out of the protocol's limits never reaches the executor */
    Ganq__V1__Task t = GANQ__V1__TASK__INIT;
    Ganq__V1__Envelope te = GANQ__V1__ENVELOPE__INIT;
    te.version = 1;
    te.body_case = GANQ__V1__ENVELOPE__BODY_TASK;
    te.task = &t;
    t.job_id = "";
    assert_int_equal(wire_encode_raw(&te, &buf, &n), 0);
    gq_error_clear(&e);
    assert_true(wk_msg_unpack(buf, n, &env, &e) < 0);
    assert_null(env);
    assert_non_null(strstr(e.msg, "task"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_single_truncation_in_order),
        cmocka_unit_test(test_batch_groups_by_truncation),
        cmocka_unit_test(test_batch_edge_cases),
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_credit_accounting),
        cmocka_unit_test(test_msg_hello),
        cmocka_unit_test(test_msg_task_messages),
        cmocka_unit_test(test_msg_unpack_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
