/* test_broker_fault.c: nothing is acknowledged before it is durable, checked by killing a
 * real broker process at the two moments that matter (GANQ_BROKER_FAULT, broker/broker.h):
 *   exit-before-commit:1  the broker dies inside the Submit's transaction: the client never
 *                         got a reply, and after a restart the job does not exist;
 *   exit-after-commit:1   the broker dies after COMMIT but before replying: the client got no
 *                         reply, yet after a restart the job exists (queued, all tasks).
 * The broker runs in a forked child over ipc:// in the test's scratch directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/helpers/tmpdir.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"

static char dir[512];
static atomic_int child_stop;

static void on_term(int sig)
{
    (void)sig;
    atomic_store(&child_stop, 1);
}

static pid_t spawn_broker(const char *db, const char *cep, const char *wep, const char *fault)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (fault)
            setenv("GANQ_BROKER_FAULT", fault, 1);
        else
            unsetenv("GANQ_BROKER_FAULT");
        signal(SIGTERM, on_term);
        broker_config c;
        broker_config_init(&c);
        c.db_path = db;
        c.clients_ep = cep;
        c.workers_ep = wep;
        c.stop = &child_stop;
        gq_error e;
        gq_error_clear(&e);
        int rc = broker_run(&c, &e);
        if (rc < 0)
            fprintf(stderr, "child broker: %s\n", e.msg);
        _exit(rc < 0 ? 1 : 0);
    }
    return pid;
}

/* One request/reply over a fresh DEALER; NULL when no reply came within timeout_ms. */
static Ganq__V1__Envelope *request(const char *cep, Ganq__V1__Envelope *env, int timeout_ms)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(s, cep), 0);
    gq_error e;
    gq_error_clear(&e);
    if (wire_send(s, NULL, 0, env, 0, &e) != 0)
        fail_msg("send: %s", e.msg);
    Ganq__V1__Envelope *r = NULL;
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) > 0) {
        wire_msg m;
        wire_msg_init(&m);
        if (wire_recv(s, 0, 0, &m, &e) == 0) {
            r = m.env;
            m.env = NULL;
        }
        wire_msg_release(&m);
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return r;
}

static Ganq__V1__Envelope *submit(const char *cep, int timeout_ms)
{
    Ganq__V1__JobSpec sp = GANQ__V1__JOB_SPEC__INIT;
    sp.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    sp.model = "testcard";
    sp.count = 20;
    sp.task_size = 5;
    sp.out_dir = dir;
    Ganq__V1__Submit sub = GANQ__V1__SUBMIT__INIT;
    sub.spec = &sp;
    Ganq__V1__Envelope env;
    wire_env_init(&env, 7);
    env.body_case = GANQ__V1__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    return request(cep, &env, timeout_ms);
}

static Ganq__V1__Envelope *list_jobs(const char *cep)
{
    Ganq__V1__List l = GANQ__V1__LIST__INIT;
    Ganq__V1__Envelope env;
    wire_env_init(&env, 8);
    env.body_case = GANQ__V1__ENVELOPE__BODY_LIST;
    env.list = &l;
    Ganq__V1__Envelope *r = request(cep, &env, 5000);
    assert_non_null(r);
    assert_int_equal(r->body_case, GANQ__V1__ENVELOPE__BODY_JOB_LIST);
    return r;
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    int64_t end = gq_mono_ms() + timeout_ms;
    int st;
    while (gq_mono_ms() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        gq_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static void run_case(const char *name, const char *fault, int want_exit, size_t want_jobs)
{
    char db[600], cep[600], wep[600];
    snprintf(db, sizeof db, "%s/%s.db", dir, name);
    snprintf(cep, sizeof cep, "ipc://%s/%s-c.sock", dir, name);
    snprintf(wep, sizeof wep, "ipc://%s/%s-w.sock", dir, name);
    pid_t pid = spawn_broker(db, cep, wep, fault);
    Ganq__V1__Envelope *r = submit(cep, 1500);
    assert_null(r);   /* it died before answering */
    assert_int_equal(wait_exit(pid, 5000), want_exit);
    /* restart without the fault: what the client was never told may or may not exist, but
     * it is all or nothing */
    pid = spawn_broker(db, cep, wep, NULL);
    r = list_jobs(cep);
    assert_int_equal(r->job_list->n_jobs, want_jobs);
    if (want_jobs) {
        Ganq__V1__JobInfo *j = r->job_list->jobs[0];
        assert_int_equal(j->state, GANQ__V1__JOB_STATE__JOB_QUEUED);
        assert_int_equal(j->total, 20);
        assert_int_equal(j->tasks_total, 4);
    }
    wire_free(r);
    /* and the restarted broker accepts new work */
    r = submit(cep, 5000);
    assert_non_null(r);
    assert_int_equal(r->body_case, GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY);
    assert_int_equal(r->request_id, 7);
    wire_free(r);
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid, 5000), 0);
}

static void test_exit_before_commit(void **state)
{
    (void)state;
    run_case("before", "exit-before-commit:1", 70, 0);
}

static void test_exit_after_commit(void **state)
{
    (void)state;
    run_case("after", "exit-after-commit:1", 71, 1);
}

static int setup(void **state)
{
    (void)state;
    return test_tmpdir_make(dir, sizeof dir, "fault");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_before_commit),
        cmocka_unit_test(test_exit_after_commit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
