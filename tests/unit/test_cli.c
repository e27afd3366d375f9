/* test_cli.c: units of the ganq client: value parsers (numbers, lists, START:STOP:STEP
 * ranges, choices, absolute path normalisation), the option walker, job flags -> JobSpec
 * for every kind, and the connection against a fake broker ROUTER in a thread (reply
 * matching by request_id with a stale reply first, Error replies as statuses, the
 * "broker not reachable" timeout, and the watch loop up to a terminal state), and how events
 * are shown (JSON object and human line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "client/cli.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "client/cli_show.h"
#include "client/cli_spec.h"
#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"

static void test_parse_numbers(void **state)
{
    uint64_t u;
    int64_t i;
    double d;
    assert_int_equal(cli_parse_u64("t", "count", "12", 1, 100, &u), 0);
    assert_int_equal(u, 12);
    assert_int_equal(cli_parse_u64("t", "count", "0", 1, 100, &u), -1);
    assert_int_equal(cli_parse_u64("t", "count", "-3", 0, 100, &u), -1);
    assert_int_equal(cli_parse_u64("t", "count", "12x", 0, 100, &u), -1);
    assert_int_equal(cli_parse_u64("t", "count", "", 0, 100, &u), -1);
    assert_int_equal(cli_parse_u64("t", "count", "99999999999999999999999", 0, UINT64_MAX, &u),
                     -1);
    assert_int_equal(cli_parse_i64("t", "priority", "-100", -100, 100, &i), 0);
    assert_int_equal(i, -100);
    assert_int_equal(cli_parse_i64("t", "priority", "101", -100, 100, &i), -1);
    assert_int_equal(cli_parse_double("t", "f", "0.25", &d), 0);
    assert_true(d == 0.25);
    assert_int_equal(cli_parse_double("t", "f", "nan", &d), -1);
    assert_int_equal(cli_parse_double("t", "f", "inf", &d), -1);
    assert_int_equal(cli_parse_double("t", "f", "1e", &d), -1);
}

static void test_parse_lists(void **state)
{
    double *v;
    size_t n;
    assert_int_equal(cli_parse_doubles("t", "truncations", "0.1:1.0:0.1", 1, &v, &n), 0);
    assert_int_equal(n, 10);   /* 1.0 included despite rounding */
    assert_true(v[0] == 0.1);
    assert_true(v[2] == 0.3);  /* rounded to 1e-9: not 0.30000000000000004 */
    assert_true(v[9] == 1.0);
    free(v);
    assert_int_equal(cli_parse_doubles("t", "t", "0.25,0.5,1", 0, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_true(v[1] == 0.5);
    free(v);
    assert_int_equal(cli_parse_doubles("t", "t", "0.5", 0, &v, &n), 0);
    assert_int_equal(n, 1);
    free(v);
    assert_int_equal(cli_parse_doubles("t", "t", "0.1:1.0:0.1", 0, &v, &n), -1);  /* no ranges */
    assert_int_equal(cli_parse_doubles("t", "t", "1:0.1:0.1", 1, &v, &n), -1);    /* stop<start */
    assert_int_equal(cli_parse_doubles("t", "t", "0.1:1:0", 1, &v, &n), -1);      /* step 0 */
    assert_int_equal(cli_parse_doubles("t", "t", "0.1:1", 1, &v, &n), -1);
    assert_int_equal(cli_parse_doubles("t", "t", "0.1:1:0.1:3", 1, &v, &n), -1);
    assert_int_equal(cli_parse_doubles("t", "t", "0:1:1e-9", 1, &v, &n), -1);     /* too many */
    assert_int_equal(cli_parse_doubles("t", "t", "0.5,x", 0, &v, &n), -1);
    assert_int_equal(cli_parse_doubles("t", "t", ",", 0, &v, &n), -1);

    static const char *const names[] = {"a", "bb", NULL};
    int k;
    assert_int_equal(cli_parse_choice("t", "f", "bb", names, &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(cli_parse_choice("t", "f", "c", names, &k), -1);
}

static void test_abs_path(void **state)
{
    char *p;
    assert_int_equal(cli_abs_path("t", "out", "/a/./b//c/../d/", &p), 0);
    assert_string_equal(p, "/a/b/d");
    free(p);
    assert_int_equal(cli_abs_path("t", "out", "/../..", &p), 0);
    assert_string_equal(p, "/");
    free(p);
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(cli_abs_path("t", "out", "x/../y", &p), 0);
    char want[4200];
    snprintf(want, sizeof want, "%s/y", strcmp(cwd, "/") ? cwd : "");
    assert_string_equal(p, want);
    free(p);
    assert_int_equal(cli_abs_path("t", "out", "", &p), -1);
}

static int parse_spec(cli_spec *s, int kind, const char **args)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "x";
    for (; *args; args++)
        argv[argc++] = (char *)*args;
    const cli_opt *tabs[] = {cli_spec_opts(kind), NULL};
    cli_parser p;
    cli_parser_init(&p, "t", argc, argv, 1);
    cli_spec_init(s, kind);
    const cli_opt *o;
    const char *v;
    int r;
    while ((r = cli_next(&p, tabs, &o, &v)) != CLI_NEXT_END) {
        if (r != CLI_NEXT_OPT)
            return -1;
        if (cli_spec_apply(s, "t", o, v))
            return -1;
    }
    return cli_spec_finish(s, "t");
}

static void test_spec_generate(void **state)
{
    cli_spec s;
    const char *a[] = {"--model", "testcard", "--count=20", "--classes", "0-9", "--seed", "7",
                       "--format", "jpeg", "--out", "/tmp/o", "--truncation", "0.4,0.8",
                       "--priority", "-3", "--owner", "bob", "--task-size", "5", "--sheet",
                       "--png-level", "0", "--jpeg-quality", "80", "--name", "n1", "--json",
                       NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, a), 0);
    const Ganq__V1__JobSpec *p = &s.spec;
    assert_int_equal(p->kind, GANQ__V1__JOB_KIND__KIND_GENERATE);
    assert_string_equal(p->model, "testcard");
    assert_int_equal(p->count, 20);
    assert_string_equal(p->classes, "0-9");
    assert_int_equal(p->seed, 7);
    assert_int_equal(p->format, GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG);
    assert_string_equal(p->out_dir, "/tmp/o");
    assert_int_equal(p->n_truncations, 2);
    assert_true(p->truncations[1] == 0.8);
    assert_int_equal(p->priority, -3);
    assert_string_equal(p->owner, "bob");
    assert_int_equal(p->task_size, 5);
    assert_true(p->sheet);
    assert_int_equal(p->png_level, -1);   /* level 0 = store, -1 on the wire */
    assert_int_equal(p->jpeg_quality, 80);
    assert_string_equal(p->name, "n1");
    assert_true(s.json);
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_validate_spec(p, 1, "submit.spec", &e), 0);
    cli_spec_release(&s);

    const char *missing_count[] = {"--model", "testcard", "--out", "/tmp/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, missing_count), -1);
    cli_spec_release(&s);
    const char *missing_out[] = {"--model", "testcard", "--count", "3", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, missing_out), -1);
    cli_spec_release(&s);
    const char *bad_trunc[] = {"--model", "m", "--count", "3", "--out", "/o", "--truncation",
                               "0", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, bad_trunc), -1);
    cli_spec_release(&s);
    const char *flag_for_other_kind[] = {"--model", "m", "--count", "3", "--out", "/o",
                                         "--per-class", "3", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, flag_for_other_kind), -1);
    cli_spec_release(&s);
    const char *flag_value[] = {"--model", "m", "--count", "3", "--out", "/o", "--sheet=1",
                                NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, flag_value), -1);
    cli_spec_release(&s);
    const char *no_value[] = {"--model", "m", "--out", "/o", "--count", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_GENERATE, no_value), -1);
    cli_spec_release(&s);
}

static void test_spec_other_kinds(void **state)
{
    cli_spec s;
    gq_error e;
    const char *syn[] = {"--model", "m", "--per-class", "4", "--classes", "0-2",
                         "--val-fraction", "0.25", "--layout", "wds", "--shard-size", "8",
                         "--format", "jpeg", "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_SYNTHESIZE, syn), 0);
    assert_int_equal(s.spec.per_class, 4);
    assert_true(s.spec.val_fraction == 0.25);
    assert_int_equal(s.spec.layout, GANQ__V1__LAYOUT__LAYOUT_WDS);
    assert_int_equal(s.spec.format, GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS);
    assert_int_equal(s.spec.wds_image, GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG);
    assert_int_equal(s.spec.shard_size, 8);
    gq_error_clear(&e);
    assert_int_equal(wire_validate_spec(&s.spec, 1, "s", &e), 0);
    cli_spec_release(&s);
    const char *syn_if[] = {"--model", "m", "--per-class", "4", "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_SYNTHESIZE, syn_if), 0);
    assert_int_equal(s.spec.layout, GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER);
    assert_int_equal(s.spec.format, GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG);
    cli_spec_release(&s);

    const char *sw[] = {"--model", "m", "--truncations", "0.2:1.0:0.2", "--per-value", "3",
                        "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_SWEEP, sw), 0);
    assert_int_equal(s.spec.n_truncations, 5);
    assert_true(s.spec.truncations[4] == 1.0);
    assert_int_equal(s.spec.per_value, 3);
    gq_error_clear(&e);
    assert_int_equal(wire_validate_spec(&s.spec, 1, "s", &e), 0);
    cli_spec_release(&s);
    const char *sw_missing[] = {"--model", "m", "--per-value", "3", "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_SWEEP, sw_missing), -1);
    cli_spec_release(&s);

    const char *in[] = {"--model", "m", "--from", "3:11", "--to", "tiger shark:12", "--steps",
                        "8", "--mode", "z", "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_INTERPOLATE, in), 0);
    assert_int_equal(s.spec.class_a, 3);
    assert_int_equal(s.spec.seed_a, 11);
    assert_null(s.spec.class_a_name);
    assert_string_equal(s.spec.class_b_name, "tiger shark");
    assert_int_equal(s.spec.seed_b, 12);
    assert_int_equal(s.spec.steps, 8);
    assert_int_equal(s.spec.interp, GANQ__V1__INTERP_MODE__INTERP_Z);
    gq_error_clear(&e);
    assert_int_equal(wire_validate_spec(&s.spec, 1, "s", &e), 0);
    cli_spec_release(&s);
    const char *in_zero[] = {"--model", "m", "--from", "0:0", "--to", "1:0", "--steps", "2",
                             "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_INTERPOLATE, in_zero), 0);
    cli_spec_release(&s);
    const char *in_bad[] = {"--model", "m", "--from", "3", "--to", "1:0", "--steps", "2",
                            "--out", "/o", NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_INTERPOLATE, in_bad), -1);
    cli_spec_release(&s);
    const char *in_noto[] = {"--model", "m", "--from", "3:1", "--steps", "2", "--out", "/o",
                             NULL};
    assert_int_equal(parse_spec(&s, GANQ__V1__JOB_KIND__KIND_INTERPOLATE, in_noto), -1);
    cli_spec_release(&s);
}

/* ---- a fake broker ---- */

typedef struct fake {
    void       *ctx;
    const char *ep;
    int         mode;      /* 0: stale reply then reply; 1: Error; 2: silent; 3: watch stream */
    int         ready;
} fake;

static void reply_job(void *r, wire_msg *m, uint64_t rid, int state, uint64_t done)
{
    Ganq__V1__Envelope env;
    Ganq__V1__JobInfo ji = GANQ__V1__JOB_INFO__INIT;
    wire_env_init(&env, rid);
    ji.job_id = "j1";
    ji.state = state;
    ji.total = 10;
    ji.done = done;
    ji.rate = 5;
    env.body_case = GANQ__V1__ENVELOPE__BODY_JOB_INFO;
    env.job_info = &ji;
    assert_int_equal(wire_send(r, m->identity, m->identity_len, &env, 0, NULL), 0);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    void *r = zmq_socket(f->ctx, ZMQ_ROUTER);
    int linger = 2000, tmo = 3000;   /* linger: the replies must leave before close */
    zmq_setsockopt(r, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(r, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    assert_int_equal(zmq_bind(r, f->ep), 0);
    __atomic_store_n(&f->ready, 1, __ATOMIC_SEQ_CST);
    wire_msg m;
    wire_msg_init(&m);
    if (wire_recv(r, 1, 0, &m, NULL) == 0) {
        if (f->mode == 0) {
            reply_job(r, &m, m.request_id - 1, GANQ__V1__JOB_STATE__JOB_RUNNING, 1); /* stale */
            reply_job(r, &m, m.request_id, GANQ__V1__JOB_STATE__JOB_RUNNING, 4);
        } else if (f->mode == 1) {
            gq_error c;
            gq_error_clear(&c);
            gq_fail(&c, GQ_ENOTFOUND, "status.job_id: no job \"j1\"");
            wire_send_error(r, m.identity, m.identity_len, m.request_id, GQ_ENOTFOUND, &c, NULL);
        } else if (f->mode == 3) {
            for (uint64_t d = 0; d <= 10; d += 2) {
                reply_job(r, &m, m.request_id, d == 10 ? GANQ__V1__JOB_STATE__JOB_DONE
                                                       : GANQ__V1__JOB_STATE__JOB_RUNNING, d);
                gq_sleep_ms(20);
            }
        }
        if (f->mode == 2)
            gq_sleep_ms(600);
    }
    wire_msg_release(&m);
    zmq_close(r);
    return NULL;
}

static void run_fake(fake *f, pthread_t *t)
{
    assert_int_equal(pthread_create(t, NULL, fake_main, f), 0);
    while (!__atomic_load_n(&f->ready, __ATOMIC_SEQ_CST))
        gq_sleep_ms(1);
}

static void status_env(Ganq__V1__Envelope *env, Ganq__V1__Status *st)
{
    wire_env_init(env, 0);
    ganq__v1__status__init(st);
    st->job_id = "j1";
    env->body_case = GANQ__V1__ENVELOPE__BODY_STATUS;
    env->status = st;
}

static void test_conn_request(void **state)
{
    void *ctx = zmq_ctx_new();
    for (int mode = 0; mode <= 2; mode++) {
        /* a fresh endpoint each time: a closed socket's inproc name is freed asynchronously */
        static const char *const eps[] = {"inproc://fake-broker-0", "inproc://fake-broker-1",
                                          "inproc://fake-broker-2"};
        fake f = {ctx, eps[mode], mode, 0};
        pthread_t t;
        run_fake(&f, &t);
        cli_conn *c;
        gq_error e;
        gq_error_clear(&e);
        assert_int_equal(cli_conn_open(f.ep, mode == 2 ? 300 : 3000, ctx, &c, &e), 0);
        Ganq__V1__Envelope env, *reply;
        Ganq__V1__Status st;
        status_env(&env, &st);
        int rc = cli_request(c, &env, &reply, &e);
        if (mode == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(reply->job_info->done, 4);   /* the stale reply was skipped */
            wire_free(reply);
        } else if (mode == 1) {
            assert_int_equal(rc, GQ_ENOTFOUND);
            assert_null(reply);
            assert_string_equal(e.msg, "status.job_id: no job \"j1\"");
            assert_int_equal(cli_exit_of_status(rc), CLI_EXIT_FAILED);
        } else {
            int64_t t0 = gq_mono_ms();
            assert_int_equal(rc, GQ_ETIMEOUT);
            (void)t0;
            assert_string_equal(e.msg, "broker not reachable at inproc://fake-broker-2 (no "
                                       "reply within 0.3 s)");
            assert_int_equal(cli_exit_of_status(rc), CLI_EXIT_UNREACHABLE);
        }
        cli_conn_free(c);
        pthread_join(t, NULL);
    }
    zmq_ctx_term(ctx);
}

static void test_conn_watch(void **state)
{
    void *ctx = zmq_ctx_new();
    fake f = {ctx, "inproc://fake-watch", 3, 0};
    pthread_t t;
    run_fake(&f, &t);
    cli_conn *c;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(cli_conn_open(f.ep, 3000, ctx, &c, &e), 0);
    int final = -1;
    assert_int_equal(cli_watch_job(c, "j1", 10, &final, &e), 0);
    assert_int_equal(final, GANQ__V1__JOB_STATE__JOB_DONE);
    cli_conn_free(c);
    pthread_join(t, NULL);

    /* nobody there: watch gives up after the timeout twice (once re-subscribing) */
    assert_int_equal(cli_conn_open("inproc://nobody", 200, ctx, &c, &e), 0);
    gq_error_clear(&e);
    int64_t t0 = gq_mono_ms();
    assert_int_equal(cli_watch_job(c, "j1", 10, &final, &e), GQ_ETIMEOUT);
    int64_t took = gq_mono_ms() - t0;
    assert_true(took >= 350 && took < 3000);
    assert_non_null(strstr(e.msg, "broker not reachable at inproc://nobody"));
    cli_conn_free(c);
    zmq_ctx_term(ctx);
}

static void test_json_job(void **state)
{
    Ganq__V1__JobInfo ji = GANQ__V1__JOB_INFO__INIT;
    Ganq__V1__JobSpec sp = GANQ__V1__JOB_SPEC__INIT;
    Ganq__V1__OutputRecord o = GANQ__V1__OUTPUT_RECORD__INIT;
    Ganq__V1__OutputRecord *op[2] = {&o, &o};
    sp.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    sp.model = "testcard";
    sp.out_dir = "/o";
    ji.job_id = "j\"1";
    ji.state = GANQ__V1__JOB_STATE__JOB_RUNNING;
    ji.spec = &sp;
    ji.total = 10;
    ji.done = 5;
    ji.rate = 2.5;
    o.images = 3;
    o.bytes = 100;
    ji.outputs = op;
    ji.n_outputs = 2;
    gq_buf b;
    gq_buf_init(&b);
    cli_json_job(&b, &ji, 1);
    assert_true(gq_buf_ok(&b));
    assert_non_null(strstr(b.data, "\"job_id\":\"j\\\"1\""));
    assert_non_null(strstr(b.data, "\"state\":\"running\""));
    assert_non_null(strstr(b.data, "\"done\":5"));
    assert_non_null(strstr(b.data, "\"total\":10"));
    assert_non_null(strstr(b.data, "\"eta_s\":2"));
    assert_non_null(strstr(b.data, "\"outputs\":{\"files\":2,\"images\":6,\"bytes\":200}"));
    gq_buf_release(&b);
}

static void test_event_show(void **state)
{
    Ganq__V1__EventInfo e = GANQ__V1__EVENT_INFO__INIT;
    e.seq = 42;
    e.ts_ms = 1700000000123;
    e.kind = "requeue";
    e.job_id = "j000001";
    e.task_id = 3;
    e.worker_id = "w2";
    e.detail = "no \"heartbeat\"";
    gq_buf b;
    gq_buf_init(&b);
    cli_json_event(&b, &e);
    assert_true(gq_buf_ok(&b));
    assert_string_equal(b.data, "{\"seq\":42,\"ts_ms\":1700000000123,\"kind\":\"requeue\","
                        "\"job_id\":\"j000001\",\"task_id\":3,\"worker_id\":\"w2\","
                        "\"detail\":\"no \\\"heartbeat\\\"\"}");
    gq_buf_release(&b);
    /* a cluster event: no job, task or worker */
    Ganq__V1__EventInfo c = GANQ__V1__EVENT_INFO__INIT;
    c.seq = 1;
    c.kind = "broker_start";
    c.task_id = -1;
    gq_buf_init(&b);
    cli_json_event(&b, &c);
    assert_non_null(strstr(b.data, "\"job_id\":\"\",\"task_id\":null,\"worker_id\":\"\""));
    gq_buf_release(&b);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    cli_print_event_header(f);
    cli_print_event(f, &e);
    cli_print_event(f, &c);
    assert_int_equal(fclose(f), 0);
    char *l1 = strchr(text, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
    assert_true(strncmp(text, "     SEQ  TIME", 14) == 0);
    assert_non_null(strstr(text, "KIND"));
    /* one line per event: seq, time, kind, job, task, worker, detail; "-" when absent */
    assert_true(strncmp(l1, "      42  ", 10) == 0);
    assert_non_null(strstr(l1, ".123  requeue"));
    assert_non_null(strstr(l1, " j000001 "));
    assert_non_null(strstr(l1, " 3 w2 "));
    assert_non_null(strstr(l1, " no \"heartbeat\"\n"));
    assert_true(strncmp(l2, "       1  ", 10) == 0);
    assert_non_null(strstr(l2, "broker_start  -"));
    assert_non_null(strstr(l2, " - -\n"));   /* no trailing padding */
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_parse_lists),
        cmocka_unit_test(test_abs_path),
        cmocka_unit_test(test_spec_generate),
        cmocka_unit_test(test_spec_other_kinds),
        cmocka_unit_test(test_conn_request),
        cmocka_unit_test(test_conn_watch),
        cmocka_unit_test(test_json_job),
        cmocka_unit_test(test_event_show),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
