/* test_broker.c: broker_run() in a thread over inproc://, driven by a fake client and fake
 * workers (DEALER sockets) in this process: submit, lease, progress, done; heartbeat death
 * -> requeue on another worker; retry limit -> job failed; cancel; malformed input answered
 * with Error while the broker keeps serving; watch pushes; restart with re-adoption; the
 * Events query over the history those produce (order, paging, filters, refusals) and its
 * retention (events_keep).
 *
 * Fake workers answer the broker's heartbeats whenever any helper waits (pump_all), unless
 * they are marked dead, which is how a crashed worker is simulated. The finalizer is replaced
 * through broker_config.finalize so the test controls and counts it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "proto/base/gq_time.h"
#include "proto/ganq.pb-c.h"

#define E_(x) GANQ__V1__ENVELOPE__BODY_##x
#define TC_SHA "7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d"

static void *ctx;
static char dir[512], db[600], cep[64], wep[64];
static atomic_int stop_flag;
static pthread_t broker_th;
static int broker_rc;
static gq_error broker_err;
static atomic_int fin_calls;
static int gen;                /* endpoint generation: fresh inproc names per start */
static void *client;
static uint64_t next_req = 1;

/* ------------------------------------------------------------------ broker thread */

static int fake_finalize(void *c, const char *job_id, const Ganq__V1__JobSpec *spec,
                         const plan *p, gq_error *err)
{
    (void)c; (void)p;
    atomic_fetch_add(&fin_calls, 1);
    if (spec->name && strcmp(spec->name, "fail-finalize") == 0)
        return gq_fail(err, GQ_EIO, "manifest.jsonl: disk full (test)");
    (void)job_id;
    return 0;
}

static broker_config cfg;
static int64_t events_keep = -1;   /* >= 0: the next start_broker() uses it */

static void *broker_main(void *arg)
{
    (void)arg;
    gq_error_clear(&broker_err);
    broker_rc = broker_run(&cfg, &broker_err);
    return NULL;
}

static void start_broker(void)
{
    gen++;
    snprintf(cep, sizeof cep, "inproc://clients-%d", gen);
    snprintf(wep, sizeof wep, "inproc://workers-%d", gen);
    broker_config_init(&cfg);
    cfg.db_path = db;
    cfg.clients_ep = cep;
    cfg.workers_ep = wep;
    cfg.zmq_ctx = ctx;
    cfg.heartbeat_ms = 100;
    cfg.liveness = 5;
    cfg.lease_ms = 10000;
    cfg.stop = &stop_flag;
    cfg.finalize = fake_finalize;
    if (events_keep >= 0)
        cfg.events_keep = events_keep;
    atomic_store(&stop_flag, 0);
    assert_int_equal(pthread_create(&broker_th, NULL, broker_main, NULL), 0);
    client = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(client, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(client, cep), 0);
}

static void stop_broker(void)
{
    atomic_store(&stop_flag, 1);
    pthread_join(broker_th, NULL);
    if (broker_rc != 0)
        fail_msg("broker_run returned %d: %s", broker_rc, broker_err.msg);
    zmq_close(client);
    client = NULL;
}

/* ------------------------------------------------------------------ framing */

static void send_env(void *s, Ganq__V1__Envelope *e, uint32_t version)
{
    e->version = version;
    size_t n = ganq__v1__envelope__get_packed_size(e);
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    ganq__v1__envelope__pack(e, b);
    assert_true(zmq_send(s, b, n, 0) >= 0);
    free(b);
}

static Ganq__V1__Envelope *recv_env(void *s, int timeout_ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms) <= 0)
        return NULL;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, s, 0) < 0) {
        zmq_msg_close(&m);
        return NULL;
    }
    Ganq__V1__Envelope *e = ganq__v1__envelope__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    assert_non_null(e);
    assert_int_equal(e->version, 1);
    return e;
}

/* ------------------------------------------------------------------ fake workers */

typedef struct fw {
    void *s;
    int   live;                 /* answers heartbeats */
    char  id[64];
    Ganq__V1__Envelope *q[128]; /* non-heartbeat messages not yet looked at */
    int   nq;
} fw;

#define NFW 8
static fw W[NFW];

static void fw_poll(fw *w)
{
    Ganq__V1__Envelope *e;
    while (w->s && (e = recv_env(w->s, 0)) != NULL) {
        if (e->body_case == E_(HEARTBEAT)) {
            if (w->live) {
                Ganq__V1__Envelope r = GANQ__V1__ENVELOPE__INIT;
                Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
                r.body_case = E_(HEARTBEAT);
                r.heartbeat = &hb;
                send_env(w->s, &r, 1);
            }
            ganq__v1__envelope__free_unpacked(e, NULL);
        } else {
            assert_true(w->nq < 128);
            w->q[w->nq++] = e;
        }
    }
}

static void pump_all(int ms)
{
    int64_t end = gq_mono_ms() + ms;
    do {
        for (int i = 0; i < NFW; i++)
            if (W[i].s && W[i].live)
                fw_poll(&W[i]);
        gq_sleep_ms(5);
    } while (gq_mono_ms() < end);
}

/* The first queued message of type body (waiting up to timeout_ms); NULL if none came. */
static Ganq__V1__Envelope *fw_expect(fw *w, int body, int timeout_ms)
{
    int64_t end = gq_mono_ms() + timeout_ms;
    for (;;) {
        fw_poll(w);
        for (int i = 0; i < w->nq; i++)
            if ((int)w->q[i]->body_case == body) {
                Ganq__V1__Envelope *e = w->q[i];
                memmove(&w->q[i], &w->q[i + 1], (size_t)(w->nq - i - 1) * sizeof w->q[0]);
                w->nq--;
                return e;
            }
        if (gq_mono_ms() >= end)
            return NULL;
        pump_all(5);
    }
}

static void fw_drop_queue(fw *w)
{
    for (int i = 0; i < w->nq; i++)
        ganq__v1__envelope__free_unpacked(w->q[i], NULL);
    w->nq = 0;
}

/* Close like a crash: no Goodbye (the broker finds out by silence). */
static void fw_drop(fw *w)
{
    fw_drop_queue(w);
    if (w->s)
        zmq_close(w->s);
    memset(w, 0, sizeof *w);
}

/* Close like a clean stop: Goodbye first (the broker forgets the session at once). */
static void fw_close(fw *w)
{
    if (w->s && w->live && w->id[0]) {
        Ganq__V1__Goodbye g = GANQ__V1__GOODBYE__INIT;
        Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
        e.body_case = E_(GOODBYE);
        e.goodbye = &g;
        send_env(w->s, &e, 1);
        gq_sleep_ms(20);   /* let it leave before the socket closes (linger 0) */
    }
    fw_drop(w);
}

static const char *const tc_names[10] = {"class0", "class1", "class2", "class3", "class4",
                                         "class5", "class6", "class7", "class8", "class9"};

/* Connect worker slot i and say Hello (with running tasks); returns the HelloAck'd id. */
static fw *fw_hello(int i, const char *name, Ganq__V1__RunningTask **running, size_t nrunning)
{
    fw *w = &W[i];
    fw_drop(w);
    w->s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(w->s, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(w->s, wep), 0);
    w->live = 1;
    Ganq__V1__ModelInfo mi = GANQ__V1__MODEL_INFO__INIT;
    mi.name = "testcard";
    mi.sha256 = TC_SHA;
    mi.family = "testcard";
    mi.resolution = 64;
    mi.num_classes = 10;
    mi.n_class_names = 10;
    mi.class_names = (char **)tc_names;
    Ganq__V1__ModelInfo *mis[1] = {&mi};
    char *devs[1] = {"cpu"};
    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    h.name = (char *)name;
    h.n_devices = 1;
    h.devices = devs;
    h.n_models = 1;
    h.models = mis;
    h.max_batch = 8;
    h.n_running = nrunning;
    h.running = running;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(HELLO);
    e.hello = &h;
    send_env(w->s, &e, 1);
    Ganq__V1__Envelope *r = fw_expect(w, E_(HELLO_ACK), 3000);
    assert_non_null(r);
    assert_true(r->hello_ack->worker_id[0] != '\0');
    assert_int_equal(r->hello_ack->heartbeat_ms, 100);
    assert_int_equal(r->hello_ack->liveness, 5);
    snprintf(w->id, sizeof w->id, "%s", r->hello_ack->worker_id);
    ganq__v1__envelope__free_unpacked(r, NULL);
    return w;
}

static void fw_credit(fw *w, uint32_t n)
{
    Ganq__V1__Credit c = GANQ__V1__CREDIT__INIT;
    c.credits = n;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(CREDIT);
    e.credit = &c;
    send_env(w->s, &e, 1);
}

typedef struct task_copy {
    char     job_id[64];
    uint64_t task_id, start, end;
    uint32_t attempt;
    size_t   nclass_ids;
} task_copy;

static task_copy fw_task(fw *w)
{
    Ganq__V1__Envelope *e = fw_expect(w, E_(TASK), 3000);
    if (!e)
        fail_msg("worker %s: no Task arrived", w->id);
    task_copy t;
    snprintf(t.job_id, sizeof t.job_id, "%s", e->task->job_id);
    t.task_id = e->task->task_id;
    t.start = e->task->start;
    t.end = e->task->end;
    t.attempt = e->task->attempt;
    assert_non_null(e->task->spec);
    t.nclass_ids = e->task->spec->n_class_ids;
    assert_true(e->task->lease_ms > 0);
    ganq__v1__envelope__free_unpacked(e, NULL);
    return t;
}

static void fw_done(fw *w, const task_copy *t, const char *path)
{
    Ganq__V1__OutputRecord o = GANQ__V1__OUTPUT_RECORD__INIT;
    char p[64];
    snprintf(p, sizeof p, "%06" PRIu64 ".png", t->start);
    o.path = (char *)(path ? path : p);
    o.images = t->end - t->start;
    o.bytes = 100;
    o.sha256 = TC_SHA;
    o.first_index = t->start;
    Ganq__V1__OutputRecord *os[1] = {&o};
    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
    d.job_id = (char *)t->job_id;
    d.task_id = t->task_id;
    d.attempt = t->attempt;
    d.n_outputs = 1;
    d.outputs = os;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(DONE);
    e.done = &d;
    send_env(w->s, &e, 1);
}

static void fw_failed(fw *w, const task_copy *t, const char *reason, int retryable)
{
    Ganq__V1__Failed f = GANQ__V1__FAILED__INIT;
    f.job_id = (char *)t->job_id;
    f.task_id = t->task_id;
    f.attempt = t->attempt;
    f.reason = (char *)reason;
    f.retryable = retryable;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(FAILED);
    e.failed = &f;
    send_env(w->s, &e, 1);
}

/* ------------------------------------------------------------------ client */

/* Send a request, return the reply with the same request_id (other pushes are dropped). */
static Ganq__V1__Envelope *creq(Ganq__V1__Envelope *e)
{
    uint64_t id = next_req++;
    e->request_id = id;
    send_env(client, e, 1);
    int64_t end = gq_mono_ms() + 5000;
    while (gq_mono_ms() < end) {
        Ganq__V1__Envelope *r = recv_env(client, 10);
        if (!r) {
            pump_all(1);
            continue;
        }
        if (r->request_id == id)
            return r;
        ganq__v1__envelope__free_unpacked(r, NULL);
    }
    fail_msg("no reply to request %" PRIu64, id);
    return NULL;
}

static Ganq__V1__JobSpec base_spec(uint64_t count, uint32_t task_size)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    s.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    s.model = "testcard";
    s.count = count;
    s.task_size = task_size;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    s.out_dir = dir;
    s.owner = "tester";
    return s;
}

/* Submit; on success copy the job id and return NULL, else return the Error reply. */
static Ganq__V1__Envelope *submit(Ganq__V1__JobSpec *s, char job_id[64], uint32_t *tasks)
{
    Ganq__V1__Submit sub = GANQ__V1__SUBMIT__INIT;
    sub.spec = s;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(SUBMIT);
    e.submit = &sub;
    Ganq__V1__Envelope *r = creq(&e);
    if (r->body_case == E_(ERROR))
        return r;
    assert_int_equal(r->body_case, E_(SUBMIT_REPLY));
    snprintf(job_id, 64, "%s", r->submit_reply->job_id);
    if (tasks)
        *tasks = r->submit_reply->tasks;
    ganq__v1__envelope__free_unpacked(r, NULL);
    return NULL;
}

static Ganq__V1__Envelope *status(const char *job_id, int with_outputs)
{
    Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
    st.job_id = (char *)job_id;
    st.with_outputs = with_outputs;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(STATUS);
    e.status = &st;
    Ganq__V1__Envelope *r = creq(&e);
    return r;
}

static int job_state(const char *job_id)
{
    Ganq__V1__Envelope *r = status(job_id, 0);
    assert_int_equal(r->body_case, E_(JOB_INFO));
    int s = r->job_info->state;
    ganq__v1__envelope__free_unpacked(r, NULL);
    return s;
}

static void wait_state(const char *job_id, int want, int timeout_ms)
{
    int64_t end = gq_mono_ms() + timeout_ms;
    int s;
    while ((s = job_state(job_id)) != want) {
        if (gq_mono_ms() > end)
            fail_msg("job %s: state %d, want %d", job_id, s, want);
        pump_all(20);
    }
}

/* Events query; returns the reply (EventList or Error). */
static Ganq__V1__Envelope *events(const char *job_id, const char *kind, uint64_t after,
                                  uint32_t limit)
{
    Ganq__V1__Events q = GANQ__V1__EVENTS__INIT;
    q.job_id = (char *)(job_id ? job_id : "");
    q.kind = (char *)(kind ? kind : "");
    q.after_seq = after;
    q.limit = limit;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(EVENTS);
    e.events = &q;
    return creq(&e);
}

/* "kind[:task]" of every event of a reply, comma-separated. */
static void event_kinds(const Ganq__V1__EventList *l, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < l->n_events; i++) {
        char one[64];
        if (l->events[i]->task_id >= 0)
            snprintf(one, sizeof one, "%s%s:%" PRId64, i ? "," : "", l->events[i]->kind,
                     l->events[i]->task_id);
        else
            snprintf(one, sizeof one, "%s%s", i ? "," : "", l->events[i]->kind);
        strncat(buf, one, cap - strlen(buf) - 1);
    }
}

static void expect_error(Ganq__V1__Envelope *r, int code, const char *field, const char *needle)
{
    assert_non_null(r);
    if (r->body_case != E_(ERROR))
        fail_msg("expected Error %d, got body %d", code, (int)r->body_case);
    if ((int)r->error->code != code || (field && strcmp(r->error->field, field) != 0) ||
        (needle && !strstr(r->error->message, needle)))
        fail_msg("expected Error %d field \"%s\" with \"%s\"; got %d field \"%s\": %s", code,
                 field ? field : "*", needle ? needle : "", (int)r->error->code, r->error->field,
                 r->error->message);
    ganq__v1__envelope__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------------ tests */

static void test_submit_lease_done(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(10, 4);
    char job[64];
    uint32_t ntasks;
    assert_null(submit(&s, job, &ntasks));
    assert_int_equal(ntasks, 3);
    Ganq__V1__Envelope *r = status(job, 0);
    assert_int_equal(r->body_case, E_(JOB_INFO));
    assert_int_equal(r->job_info->state, GANQ__V1__JOB_STATE__JOB_QUEUED);
    assert_int_equal(r->job_info->total, 10);
    assert_int_equal(r->job_info->tasks_total, 3);
    assert_int_equal(r->job_info->spec->n_class_ids, 10);   /* "" resolved to all */
    ganq__v1__envelope__free_unpacked(r, NULL);

    fw *a = fw_hello(0, "fake-a", NULL, 0);
    fw_credit(a, 2);
    task_copy t0 = fw_task(a), t1 = fw_task(a);
    assert_string_equal(t0.job_id, job);
    assert_int_equal(t0.task_id, 0);
    assert_int_equal(t0.start, 0);
    assert_int_equal(t0.end, 4);
    assert_int_equal(t0.attempt, 1);
    assert_int_equal(t0.nclass_ids, 10);
    assert_int_equal(t1.task_id, 1);
    assert_int_equal(t1.start, 4);
    /* no third task without credit */
    assert_null(fw_expect(a, E_(TASK), 300));
    r = status(job, 0);
    assert_int_equal(r->job_info->state, GANQ__V1__JOB_STATE__JOB_RUNNING);
    /* submitted before any worker: pinned to the sha256 of the first worker's file */
    assert_string_equal(r->job_info->spec->model_sha256, TC_SHA);
    ganq__v1__envelope__free_unpacked(r, NULL);

    Ganq__V1__Progress pg = GANQ__V1__PROGRESS__INIT;
    pg.job_id = job;
    pg.task_id = 1;
    pg.images_done = 2;
    pg.attempt = 1;
    Ganq__V1__Envelope pe = GANQ__V1__ENVELOPE__INIT;
    pe.body_case = E_(PROGRESS);
    pe.progress = &pg;
    send_env(a->s, &pe, 1);
    fw_done(a, &t0, NULL);
    pump_all(100);
    r = status(job, 0);
    assert_int_equal(r->job_info->tasks_done, 1);
    assert_int_equal(r->job_info->tasks_leased, 1);
    assert_int_equal(r->job_info->done, 6);   /* 4 done + 2 in progress */
    ganq__v1__envelope__free_unpacked(r, NULL);

    fw_credit(a, 1);
    task_copy t2 = fw_task(a);
    assert_int_equal(t2.task_id, 2);
    assert_int_equal(t2.end, 10);
    int before = atomic_load(&fin_calls);
    fw_done(a, &t1, NULL);
    fw_done(a, &t2, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    assert_int_equal(atomic_load(&fin_calls), before + 1);
    r = status(job, 1);
    assert_int_equal(r->job_info->done, 10);
    assert_int_equal(r->job_info->tasks_done, 3);
    assert_int_equal(r->job_info->n_outputs, 3);
    assert_string_equal(r->job_info->outputs[0]->path, "000000.png");
    assert_string_equal(r->job_info->manifest, "manifest.jsonl");
    assert_true(r->job_info->finished_ms >= r->job_info->created_ms);
    ganq__v1__envelope__free_unpacked(r, NULL);

    /* Events: the job's history in order, then paged, filtered, and refused */
    char k[512];
    r = events(job, NULL, 0, 0);
    assert_int_equal(r->body_case, E_(EVENT_LIST));
    event_kinds(r->event_list, k, sizeof k);
    assert_string_equal(k, "submit,lease:0,lease:1,done:0,lease:2,done:1,done:2,job_done");
    assert_false(r->event_list->more);
    assert_string_equal(r->event_list->events[1]->worker_id, a->id);
    assert_string_equal(r->event_list->events[0]->job_id, job);
    assert_non_null(strstr(r->event_list->events[0]->detail, "10 images in 3 tasks"));
    for (size_t i = 1; i < r->event_list->n_events; i++) {
        assert_true(r->event_list->events[i]->seq > r->event_list->events[i - 1]->seq);
        assert_true(r->event_list->events[i]->ts_ms > 0);
    }
    ganq__v1__envelope__free_unpacked(r, NULL);
    r = events(job, NULL, 0, 3);
    event_kinds(r->event_list, k, sizeof k);
    assert_string_equal(k, "submit,lease:0,lease:1");
    assert_true(r->event_list->more);
    uint64_t after = r->event_list->events[2]->seq;
    ganq__v1__envelope__free_unpacked(r, NULL);
    r = events(job, NULL, after, 0);
    event_kinds(r->event_list, k, sizeof k);
    assert_string_equal(k, "done:0,lease:2,done:1,done:2,job_done");
    assert_false(r->event_list->more);
    ganq__v1__envelope__free_unpacked(r, NULL);
    r = events(job, "done", 0, 0);
    event_kinds(r->event_list, k, sizeof k);
    assert_string_equal(k, "done:0,done:1,done:2");
    ganq__v1__envelope__free_unpacked(r, NULL);
    /* every job and the cluster: the worker's hello is there, with its id and name */
    r = events(NULL, "hello", 0, 0);
    assert_int_equal(r->body_case, E_(EVENT_LIST));
    int hello = 0;
    for (size_t i = 0; i < r->event_list->n_events; i++)
        if (strcmp(r->event_list->events[i]->worker_id, a->id) == 0 &&
            strcmp(r->event_list->events[i]->detail, "fake-a") == 0)
            hello = 1;
    assert_true(hello);
    ganq__v1__envelope__free_unpacked(r, NULL);
    expect_error(events("j-nope", NULL, 0, 0), GANQ__V1__ERROR_CODE__ERR_NOT_FOUND,
                 "events.job_id", "no job \"j-nope\"");
    expect_error(events(job, "leased", 0, 0), GANQ__V1__ERROR_CODE__ERR_INVALID, "events.kind",
                 "not an event kind");
    expect_error(events(job, NULL, 0, 1001), GANQ__V1__ERROR_CODE__ERR_INVALID, "events.limit",
                 "1001 is outside 0..1000");

    /* Workers and List */
    Ganq__V1__Workers wq = GANQ__V1__WORKERS__INIT;
    Ganq__V1__Envelope we = GANQ__V1__ENVELOPE__INIT;
    we.body_case = E_(WORKERS);
    we.workers = &wq;
    r = creq(&we);
    assert_int_equal(r->body_case, E_(WORKER_LIST));
    int found = 0;
    for (size_t i = 0; i < r->worker_list->n_workers; i++)
        if (strcmp(r->worker_list->workers[i]->worker_id, a->id) == 0) {
            found = 1;
            assert_string_equal(r->worker_list->workers[i]->state, "idle");
            assert_int_equal(r->worker_list->workers[i]->images_done, 10);
            assert_int_equal(r->worker_list->workers[i]->n_models, 1);
        }
    assert_true(found);
    ganq__v1__envelope__free_unpacked(r, NULL);
    Ganq__V1__List lq = GANQ__V1__LIST__INIT;
    lq.state = GANQ__V1__JOB_STATE__JOB_DONE;
    Ganq__V1__Envelope le = GANQ__V1__ENVELOPE__INIT;
    le.body_case = E_(LIST);
    le.list = &lq;
    r = creq(&le);
    assert_int_equal(r->body_case, E_(JOB_LIST));
    assert_true(r->job_list->n_jobs >= 1);
    assert_string_equal(r->job_list->jobs[0]->job_id, job);
    ganq__v1__envelope__free_unpacked(r, NULL);
    /* the model's sha256 is now known: a new testcard job carries it */
    s = base_spec(1, 0);
    assert_null(submit(&s, job, NULL));
    r = status(job, 0);
    assert_string_equal(r->job_info->spec->model_sha256, TC_SHA);
    ganq__v1__envelope__free_unpacked(r, NULL);
    fw_credit(a, 1);
    task_copy t = fw_task(a);
    fw_done(a, &t, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    fw_close(a);
}

static void test_heartbeat_death_requeue(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(4, 4);
    char job[64];
    assert_null(submit(&s, job, NULL));
    fw *b = fw_hello(1, "fake-b", NULL, 0);
    fw *c = fw_hello(2, "fake-c", NULL, 0);
    fw_credit(b, 1);
    task_copy t = fw_task(b);
    assert_int_equal(t.attempt, 1);
    b->live = 0;                       /* b crashes: silent from now on */
    fw_credit(c, 1);
    /* c gets the same task once b has been silent for liveness x heartbeat (500 ms) */
    Ganq__V1__Envelope *e = fw_expect(c, E_(TASK), 4000);
    assert_non_null(e);
    assert_string_equal(e->task->job_id, job);
    assert_int_equal(e->task->task_id, t.task_id);
    assert_int_equal(e->task->attempt, 2);
    task_copy t2 = t;
    t2.attempt = 2;
    ganq__v1__envelope__free_unpacked(e, NULL);
    fw_done(c, &t2, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    /* the history shows the requeue from b and the second lease to c */
    Ganq__V1__Envelope *r = events(job, NULL, 0, 0);
    char k[256];
    event_kinds(r->event_list, k, sizeof k);
    assert_string_equal(k, "submit,lease:0,requeue:0,lease:0,done:0,job_done");
    assert_string_equal(r->event_list->events[1]->worker_id, b->id);
    assert_string_equal(r->event_list->events[2]->worker_id, b->id);
    assert_true(r->event_list->events[2]->detail[0] != '\0');   /* why: the worker is dead */
    assert_string_equal(r->event_list->events[3]->worker_id, c->id);
    ganq__v1__envelope__free_unpacked(r, NULL);
    /* b's late messages: unknown worker -> Reconnect */
    b->live = 1;
    fw_drop_queue(b);
    fw_done(b, &t, NULL);
    e = fw_expect(b, E_(RECONNECT), 3000);
    assert_non_null(e);
    ganq__v1__envelope__free_unpacked(e, NULL);
    assert_int_equal(job_state(job), GANQ__V1__JOB_STATE__JOB_DONE);
    fw_close(b);
    fw_close(c);
}

static void test_retry_limit(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(4, 4);
    s.max_attempts = 2;
    char job[64];
    assert_null(submit(&s, job, NULL));
    fw *d = fw_hello(3, "fake-d", NULL, 0);
    fw_credit(d, 1);
    task_copy t = fw_task(d);
    assert_int_equal(t.attempt, 1);
    fw_failed(d, &t, "boom one", 1);
    fw_credit(d, 1);
    t = fw_task(d);                    /* the only worker: retried here */
    assert_int_equal(t.attempt, 2);
    fw_failed(d, &t, "boom two", 1);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_FAILED, 5000);
    Ganq__V1__Envelope *r = status(job, 0);
    assert_non_null(strstr(r->job_info->reason, "boom two"));
    assert_non_null(strstr(r->job_info->reason, "2 attempts"));
    assert_int_equal(r->job_info->tasks_failed, 1);
    ganq__v1__envelope__free_unpacked(r, NULL);
    /* a non-retryable failure fails the job at once */
    s = base_spec(8, 4);
    assert_null(submit(&s, job, NULL));
    fw_credit(d, 1);
    t = fw_task(d);
    fw_failed(d, &t, "model file corrupt", 0);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_FAILED, 5000);
    r = status(job, 0);
    assert_non_null(strstr(r->job_info->reason, "model file corrupt"));
    ganq__v1__envelope__free_unpacked(r, NULL);
    /* a failing finalizer fails the job with its message */
    s = base_spec(2, 0);
    s.name = "fail-finalize";
    assert_null(submit(&s, job, NULL));
    fw_credit(d, 1);
    t = fw_task(d);
    fw_done(d, &t, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_FAILED, 5000);
    r = status(job, 0);
    assert_non_null(strstr(r->job_info->reason, "disk full (test)"));
    ganq__v1__envelope__free_unpacked(r, NULL);
    fw_close(d);
}

static void test_cancel(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(8, 4);
    char job[64];
    assert_null(submit(&s, job, NULL));
    fw *w = fw_hello(4, "fake-e", NULL, 0);
    fw_credit(w, 1);
    task_copy t = fw_task(w);
    Ganq__V1__Cancel c = GANQ__V1__CANCEL__INIT;
    c.job_id = job;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(CANCEL);
    e.cancel = &c;
    Ganq__V1__Envelope *r = creq(&e);
    assert_int_equal(r->body_case, E_(JOB_INFO));
    assert_int_equal(r->job_info->state, GANQ__V1__JOB_STATE__JOB_CANCELLED);
    ganq__v1__envelope__free_unpacked(r, NULL);
    Ganq__V1__Envelope *ct = fw_expect(w, E_(CANCEL_TASK), 3000);
    assert_non_null(ct);
    assert_string_equal(ct->cancel_task->job_id, job);
    assert_int_equal(ct->cancel_task->task_id, t.task_id);
    ganq__v1__envelope__free_unpacked(ct, NULL);
    expect_error(creq(&e), GANQ__V1__ERROR_CODE__ERR_STATE, "cancel.job_id", "already cancelled");
    /* a Done arriving after the cancel changes nothing */
    fw_done(w, &t, NULL);
    pump_all(100);
    r = status(job, 0);
    assert_int_equal(r->job_info->state, GANQ__V1__JOB_STATE__JOB_CANCELLED);
    assert_int_equal(r->job_info->tasks_done, 0);
    ganq__v1__envelope__free_unpacked(r, NULL);
    /* and the worker gets no more of its tasks */
    fw_credit(w, 2);
    assert_null(fw_expect(w, E_(TASK), 300));
    fw_close(w);
}

static void test_malformed_input(void **state)
{
    (void)state;
    /* garbage bytes */
    assert_true(zmq_send(client, "\xff\xff\xff\x01garbage", 11, 0) >= 0);
    Ganq__V1__Envelope *r = recv_env(client, 3000);
    expect_error(r, GANQ__V1__ERROR_CODE__ERR_MALFORMED, "frame", "decode");
    /* two body frames */
    assert_true(zmq_send(client, "a", 1, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(client, "b", 1, 0) >= 0);
    expect_error(recv_env(client, 3000), GANQ__V1__ERROR_CODE__ERR_MALFORMED, "frame", NULL);
    /* wrong version: request_id echoed */
    Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
    st.job_id = "j000001";
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(STATUS);
    e.status = &st;
    e.request_id = 4242;
    send_env(client, &e, 2);
    r = recv_env(client, 3000);
    assert_non_null(r);
    assert_int_equal(r->request_id, 4242);
    expect_error(r, GANQ__V1__ERROR_CODE__ERR_VERSION, "envelope.version", "2");
    /* no body */
    Ganq__V1__Envelope empty = GANQ__V1__ENVELOPE__INIT;
    expect_error(creq(&empty), GANQ__V1__ERROR_CODE__ERR_INVALID, NULL, "body");
    /* a worker message on the client socket */
    Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
    Ganq__V1__Envelope he = GANQ__V1__ENVELOPE__INIT;
    he.body_case = E_(HEARTBEAT);
    he.heartbeat = &hb;
    expect_error(creq(&he), GANQ__V1__ERROR_CODE__ERR_INVALID, "envelope.body", "not a client request");
    /* bad specs, each naming the field */
    char job[64];
    Ganq__V1__JobSpec s = base_spec(4, 0);
    s.model = "nosuch";
    expect_error(submit(&s, job, NULL), GANQ__V1__ERROR_CODE__ERR_NOT_FOUND, "submit.spec.model",
                 "testcard");
    s = base_spec(4, 0);
    s.classes = "zebra";
    expect_error(submit(&s, job, NULL), GANQ__V1__ERROR_CODE__ERR_NOT_FOUND, "submit.spec.classes",
                 "zebra");
    s = base_spec(4, 0);
    s.classes = "3-1";
    expect_error(submit(&s, job, NULL), GANQ__V1__ERROR_CODE__ERR_INVALID, "submit.spec.classes", NULL);
    s = base_spec(4, 0);
    s.priority = 1000;
    expect_error(submit(&s, job, NULL), GANQ__V1__ERROR_CODE__ERR_INVALID, "submit.spec.priority",
                 "-100..100");
    s = base_spec(0, 0);
    expect_error(submit(&s, job, NULL), GANQ__V1__ERROR_CODE__ERR_INVALID, NULL, "count");
    s = base_spec(4, 0);
    s.kind = 99;
    expect_error(submit(&s, job, NULL), GANQ__V1__ERROR_CODE__ERR_INVALID, NULL, "kind");
    Ganq__V1__Submit sub = GANQ__V1__SUBMIT__INIT;   /* no spec at all */
    Ganq__V1__Envelope se = GANQ__V1__ENVELOPE__INIT;
    se.body_case = E_(SUBMIT);
    se.submit = &sub;
    expect_error(creq(&se), GANQ__V1__ERROR_CODE__ERR_INVALID, "submit.spec", NULL);
    expect_error(status("j999999", 0), GANQ__V1__ERROR_CODE__ERR_NOT_FOUND, "status.job_id", NULL);
    expect_error(status("", 0), GANQ__V1__ERROR_CODE__ERR_INVALID, "status.job_id", NULL);
    Ganq__V1__List lq = GANQ__V1__LIST__INIT;
    lq.state = 42;
    Ganq__V1__Envelope le = GANQ__V1__ENVELOPE__INIT;
    le.body_case = E_(LIST);
    le.list = &lq;
    expect_error(creq(&le), GANQ__V1__ERROR_CODE__ERR_INVALID, "list.state", NULL);

    /* worker side: not registered -> Reconnect; garbage -> Error; bad Done -> Error */
    fw *w = &W[5];
    fw_drop(w);
    w->s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(w->s, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(w->s, wep), 0);
    w->live = 1;
    fw_credit(w, 1);
    r = fw_expect(w, E_(RECONNECT), 3000);
    assert_non_null(r);
    ganq__v1__envelope__free_unpacked(r, NULL);
    assert_true(zmq_send(w->s, "\x0a\xff", 2, 0) >= 0);
    expect_error(fw_expect(w, E_(ERROR), 3000), GANQ__V1__ERROR_CODE__ERR_MALFORMED, "frame", NULL);
    /* a Hello with an absurd model */
    Ganq__V1__ModelInfo mi = GANQ__V1__MODEL_INFO__INIT;
    mi.name = "x";
    mi.sha256 = TC_SHA;
    mi.num_classes = 0;
    Ganq__V1__ModelInfo *mis[1] = {&mi};
    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    h.name = "bad";
    h.n_models = 1;
    h.models = mis;
    Ganq__V1__Envelope hel = GANQ__V1__ENVELOPE__INIT;
    hel.body_case = E_(HELLO);
    hel.hello = &h;
    send_env(w->s, &hel, 1);
    expect_error(fw_expect(w, E_(ERROR), 3000), GANQ__V1__ERROR_CODE__ERR_INVALID,
                 "hello.models[0].num_classes", NULL);
    w = fw_hello(5, "fake-m", NULL, 0);
    s = base_spec(4, 0);
    assert_null(submit(&s, job, NULL));
    fw_credit(w, 1);
    task_copy t = fw_task(w);
    fw_done(w, &t, "../../etc/passwd");
    expect_error(fw_expect(w, E_(ERROR), 3000), GANQ__V1__ERROR_CODE__ERR_INVALID,
                 "done.outputs[0].path", NULL);
    Ganq__V1__Progress pg = GANQ__V1__PROGRESS__INIT;
    pg.job_id = job;
    pg.task_id = t.task_id;
    pg.images_done = 1000000;
    Ganq__V1__Envelope pe = GANQ__V1__ENVELOPE__INIT;
    pe.body_case = E_(PROGRESS);
    pe.progress = &pg;
    send_env(w->s, &pe, 1);
    expect_error(fw_expect(w, E_(ERROR), 3000), GANQ__V1__ERROR_CODE__ERR_INVALID,
                 "progress.images_done", NULL);
    pg.task_id = 999;
    send_env(w->s, &pe, 1);
    expect_error(fw_expect(w, E_(ERROR), 3000), GANQ__V1__ERROR_CODE__ERR_NOT_FOUND,
                 "progress.task_id", NULL);
    /* still serving: the task completes normally */
    fw_done(w, &t, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    fw_close(w);
}

static void test_watch(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(8, 4);
    char job[64];
    assert_null(submit(&s, job, NULL));
    Ganq__V1__Watch wq = GANQ__V1__WATCH__INIT;
    wq.job_id = job;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(WATCH);
    e.watch = &wq;
    Ganq__V1__Envelope *r = creq(&e);
    uint64_t rid = r->request_id;
    assert_int_equal(r->body_case, E_(JOB_INFO));
    assert_int_equal(r->job_info->state, GANQ__V1__JOB_STATE__JOB_QUEUED);
    ganq__v1__envelope__free_unpacked(r, NULL);
    fw *w = fw_hello(6, "fake-w", NULL, 0);
    fw_credit(w, 2);
    task_copy a = fw_task(w), b = fw_task(w);
    fw_done(w, &a, NULL);
    pump_all(50);
    fw_done(w, &b, NULL);
    int pushes = 0, last = 0;
    int64_t end = gq_mono_ms() + 5000;
    while (gq_mono_ms() < end && last != GANQ__V1__JOB_STATE__JOB_DONE) {
        r = recv_env(client, 20);
        pump_all(1);
        if (!r)
            continue;
        assert_int_equal(r->request_id, rid);
        assert_int_equal(r->body_case, E_(JOB_INFO));
        last = r->job_info->state;
        pushes++;
        ganq__v1__envelope__free_unpacked(r, NULL);
    }
    assert_int_equal(last, GANQ__V1__JOB_STATE__JOB_DONE);
    assert_true(pushes >= 1);
    /* no more pushes after the terminal one */
    r = recv_env(client, 400);
    assert_null(r);
    fw_close(w);
}

static void test_restart_readopt(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(8, 4);
    char job[64];
    assert_null(submit(&s, job, NULL));
    fw *w = fw_hello(7, "fake-r", NULL, 0);
    fw_credit(w, 1);
    task_copy t = fw_task(w);
    for (int i = 0; i < NFW; i++)
        fw_drop(&W[i]);   /* as if the broker died under them */
    stop_broker();
    start_broker();   /* same database */
    assert_int_equal(job_state(job), GANQ__V1__JOB_STATE__JOB_RUNNING);
    /* the worker comes back listing the task it still runs, and a stale one */
    Ganq__V1__RunningTask rt = GANQ__V1__RUNNING_TASK__INIT;
    rt.job_id = t.job_id;
    rt.task_id = t.task_id;
    rt.attempt = t.attempt;
    rt.images_done = 1;
    Ganq__V1__RunningTask stale = GANQ__V1__RUNNING_TASK__INIT;
    stale.job_id = t.job_id;
    stale.task_id = 1;   /* pending, never leased to it */
    stale.attempt = 1;
    Ganq__V1__RunningTask *run[2] = {&rt, &stale};
    w = fw_hello(7, "fake-r", run, 2);
    Ganq__V1__Envelope *ct = fw_expect(w, E_(CANCEL_TASK), 2000);
    assert_non_null(ct);
    assert_int_equal(ct->cancel_task->task_id, 1);   /* only the stale one is dropped */
    ganq__v1__envelope__free_unpacked(ct, NULL);
    assert_null(fw_expect(w, E_(CANCEL_TASK), 300));
    Ganq__V1__Envelope *r = status(job, 0);
    assert_int_equal(r->job_info->tasks_leased, 1);
    ganq__v1__envelope__free_unpacked(r, NULL);
    fw_done(w, &t, NULL);
    fw_credit(w, 1);
    task_copy t2 = fw_task(w);
    assert_int_equal(t2.task_id, 1);
    assert_int_equal(t2.attempt, 1);   /* the re-adopted task did not cost an attempt */
    fw_done(w, &t2, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    fw_close(w);
    /* a second broker on the same database is refused while this one runs */
    broker_config c2;
    broker_config_init(&c2);
    c2.db_path = db;
    c2.clients_ep = "inproc://other-c";
    c2.workers_ep = "inproc://other-w";
    c2.zmq_ctx = ctx;
    gq_error err;
    gq_error_clear(&err);
    assert_int_equal(broker_run(&c2, &err), GQ_EBUSY);
    assert_non_null(strstr(err.msg, "in use"));
    /* non-loopback without insecure */
    c2.clients_ep = "tcp://0.0.0.0:1";
    gq_error_clear(&err);
    assert_int_equal(broker_run(&c2, &err), GQ_EINVAL);
    assert_non_null(strstr(err.msg, "--insecure"));
    assert_true(broker_endpoint_is_local("tcp://127.0.0.1:5555"));
    assert_true(broker_endpoint_is_local("ipc:///tmp/x"));
    assert_false(broker_endpoint_is_local("tcp://10.0.0.1:5555"));
    assert_false(broker_endpoint_is_local("tcp://127.0.0.1.evil.com:5555"));
}

/* A worker that reconnects on a new socket (same name) before the broker noticed the old
 * one die keeps the tasks it lists; the ones it does not list go back to pending. */
static void test_rehello_new_connection(void **state)
{
    (void)state;
    Ganq__V1__JobSpec s = base_spec(8, 4);
    char job[64];
    assert_null(submit(&s, job, NULL));
    fw *w = fw_hello(7, "fake-n", NULL, 0);
    fw_credit(w, 2);
    task_copy t0 = fw_task(w), t1 = fw_task(w);
    char old_id[64];
    snprintf(old_id, sizeof old_id, "%s", w->id);
    Ganq__V1__RunningTask rt = GANQ__V1__RUNNING_TASK__INIT;
    rt.job_id = t0.job_id;
    rt.task_id = t0.task_id;
    rt.attempt = t0.attempt;
    Ganq__V1__RunningTask *run[1] = {&rt};
    w = fw_hello(7, "fake-n", run, 1);   /* closes the old socket, opens a new one */
    assert_string_not_equal(w->id, old_id);
    assert_null(fw_expect(w, E_(CANCEL_TASK), 300));
    Ganq__V1__Envelope *r = status(job, 0);
    assert_int_equal(r->job_info->tasks_leased, 1);   /* t0 adopted, t1 requeued */
    ganq__v1__envelope__free_unpacked(r, NULL);
    fw_done(w, &t0, NULL);
    fw_credit(w, 1);
    task_copy t = fw_task(w);
    assert_int_equal(t.task_id, t1.task_id);
    assert_int_equal(t.attempt, 2);
    fw_done(w, &t, NULL);
    wait_state(job, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    fw_close(w);
}

/* Priority first, then fair share between owners, then age, as the broker applies it. */
static void test_scheduling_order(void **state)
{
    (void)state;
    pump_all(100);   /* earlier tests close their workers with Goodbye: no stale sessions */
    Ganq__V1__JobSpec s = base_spec(3, 1);
    char a[64], bj[64], cj[64];
    s.owner = "alice";
    assert_null(submit(&s, a, NULL));
    s.owner = "bob";
    assert_null(submit(&s, bj, NULL));
    s = base_spec(1, 1);
    s.owner = "carol";
    s.priority = 5;
    assert_null(submit(&s, cj, NULL));
    fw *w = fw_hello(0, "fake-s", NULL, 0);
    fw_credit(w, 4);
    task_copy t[4];
    for (int i = 0; i < 4; i++)
        t[i] = fw_task(w);
    assert_string_equal(t[0].job_id, cj);   /* priority 5 */
    assert_string_equal(t[1].job_id, a);    /* alice and bob hold 0: alice's job is older */
    assert_string_equal(t[2].job_id, bj);   /* alice holds 1, bob 0 */
    assert_string_equal(t[3].job_id, a);    /* 1 each: older again */
    for (int i = 0; i < 4; i++)
        fw_done(w, &t[i], NULL);
    fw_credit(w, 2);
    for (int k = 0; k < 2; k++) {   /* the rest: the three remaining tasks in two rounds */
        task_copy x = fw_task(w);
        fw_done(w, &x, NULL);
        fw_credit(w, 1);
    }
    task_copy x = fw_task(w);
    fw_done(w, &x, NULL);
    wait_state(a, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    wait_state(bj, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    wait_state(cj, GANQ__V1__JOB_STATE__JOB_DONE, 5000);
    fw_close(w);
}

static size_t pack(Ganq__V1__Envelope *e, uint8_t *buf, size_t cap)
{
    e->version = 1;
    size_t n = ganq__v1__envelope__get_packed_size(e);
    assert_true(n <= cap);
    return ganq__v1__envelope__pack(e, buf);
}

/* Retention: a broker restarted with events_keep 3 prunes the log the tests before left
 * (dozens of events) to the newest three within a prune period, the job that was just
 * submitted still answers Events with its submit, and seq keeps growing. */
static void test_events_retention(void **state)
{
    (void)state;
    Ganq__V1__Envelope *r = events(NULL, NULL, 0, 0);
    assert_int_equal(r->body_case, E_(EVENT_LIST));
    assert_true(r->event_list->n_events > 10);
    uint64_t before = r->event_list->events[r->event_list->n_events - 1]->seq;
    ganq__v1__envelope__free_unpacked(r, NULL);
    stop_broker();
    events_keep = 3;
    start_broker();
    Ganq__V1__JobSpec s = base_spec(4, 4);
    char job[64];
    assert_null(submit(&s, job, NULL));
    size_t n = 0;
    char k[512] = "";
    uint64_t first = 0, last = 0;
    for (int i = 0; i < 60; i++) {
        r = events(NULL, NULL, 0, 0);
        assert_int_equal(r->body_case, E_(EVENT_LIST));
        n = r->event_list->n_events;
        event_kinds(r->event_list, k, sizeof k);
        first = r->event_list->events[0]->seq;
        last = r->event_list->events[n - 1]->seq;
        ganq__v1__envelope__free_unpacked(r, NULL);
        if (n <= 3)
            break;
        pump_all(50);
    }
    if (n != 3)
        fail_msg("log not pruned to 3 events: %zu (%s)", n, k);
    assert_true(last > before);
    assert_int_equal(last - first, 2);
    assert_non_null(strstr(k, "broker_start,submit"));
    r = events(job, NULL, 0, 0);
    assert_int_equal(r->body_case, E_(EVENT_LIST));
    event_kinds(r->event_list, k, sizeof k);
    assert_string_equal(k, "submit");
    ganq__v1__envelope__free_unpacked(r, NULL);
    stop_broker();
    events_keep = -1;
    start_broker();
}

/* Random damage to valid frames of every kind, on both sockets: the broker answers or
 * ignores each one, never crashes, and still serves afterwards. Runs last: it leaves odd
 * jobs behind. */
static void test_fuzz_frames(void **state)
{
    (void)state;
    static uint8_t base[12][4096];
    size_t blen[12];
    int bsock[12];   /* 0 client, 1 worker */
    int nb = 0;
    Ganq__V1__JobSpec sp = base_spec(5, 1000000);
    sp.classes = "0-3,class7";
    double tr[2] = {0.5, 1.0};
    sp.n_truncations = 2;
    sp.truncations = tr;
    Ganq__V1__Submit sub = GANQ__V1__SUBMIT__INIT;
    sub.spec = &sp;
    Ganq__V1__Envelope e = GANQ__V1__ENVELOPE__INIT;
    e.body_case = E_(SUBMIT);
    e.submit = &sub;
    bsock[nb] = 0; blen[nb] = pack(&e, base[nb], sizeof base[0]); nb++;
    sp.kind = GANQ__V1__JOB_KIND__KIND_INTERPOLATE;
    sp.steps = 5;
    sp.class_a_name = "class1";
    sp.class_b_name = "class2";
    bsock[nb] = 0; blen[nb] = pack(&e, base[nb], sizeof base[0]); nb++;
    Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
    st.job_id = "j000001";
    st.with_outputs = 1;
    Ganq__V1__Envelope es = GANQ__V1__ENVELOPE__INIT;
    es.body_case = E_(STATUS);
    es.status = &st;
    bsock[nb] = 0; blen[nb] = pack(&es, base[nb], sizeof base[0]); nb++;
    Ganq__V1__List l = GANQ__V1__LIST__INIT;
    l.limit = 3;
    Ganq__V1__Envelope el = GANQ__V1__ENVELOPE__INIT;
    el.body_case = E_(LIST);
    el.list = &l;
    bsock[nb] = 0; blen[nb] = pack(&el, base[nb], sizeof base[0]); nb++;
    Ganq__V1__Watch wq = GANQ__V1__WATCH__INIT;
    wq.job_id = "j000002";
    Ganq__V1__Envelope ew = GANQ__V1__ENVELOPE__INIT;
    ew.body_case = E_(WATCH);
    ew.watch = &wq;
    bsock[nb] = 0; blen[nb] = pack(&ew, base[nb], sizeof base[0]); nb++;
    Ganq__V1__ModelInfo mi = GANQ__V1__MODEL_INFO__INIT;
    mi.name = "testcard";
    mi.sha256 = TC_SHA;
    mi.num_classes = 10;
    mi.n_class_names = 10;
    mi.class_names = (char **)tc_names;
    Ganq__V1__ModelInfo *mis[1] = {&mi};
    Ganq__V1__RunningTask rt = GANQ__V1__RUNNING_TASK__INIT;
    rt.job_id = "j000003";
    rt.attempt = 1;
    Ganq__V1__RunningTask *run[1] = {&rt};
    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    h.name = "fuzz";
    h.n_models = 1;
    h.models = mis;
    h.n_running = 1;
    h.running = run;
    Ganq__V1__Envelope eh = GANQ__V1__ENVELOPE__INIT;
    eh.body_case = E_(HELLO);
    eh.hello = &h;
    bsock[nb] = 1; blen[nb] = pack(&eh, base[nb], sizeof base[0]); nb++;
    Ganq__V1__Credit cr = GANQ__V1__CREDIT__INIT;
    cr.credits = 3;
    Ganq__V1__Envelope ec = GANQ__V1__ENVELOPE__INIT;
    ec.body_case = E_(CREDIT);
    ec.credit = &cr;
    bsock[nb] = 1; blen[nb] = pack(&ec, base[nb], sizeof base[0]); nb++;
    Ganq__V1__OutputRecord o = GANQ__V1__OUTPUT_RECORD__INIT;
    o.path = "000001.png";
    o.images = 1;
    o.sha256 = TC_SHA;
    o.first_index = 1;
    Ganq__V1__OutputRecord *os[1] = {&o};
    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
    d.job_id = "j000004";
    d.n_outputs = 1;
    d.outputs = os;
    d.attempt = 1;
    Ganq__V1__Envelope ed = GANQ__V1__ENVELOPE__INIT;
    ed.body_case = E_(DONE);
    ed.done = &d;
    bsock[nb] = 1; blen[nb] = pack(&ed, base[nb], sizeof base[0]); nb++;
    Ganq__V1__Failed f = GANQ__V1__FAILED__INIT;
    f.job_id = "j000004";
    f.reason = "x";
    f.retryable = 1;
    f.attempt = 1;
    Ganq__V1__Envelope ef = GANQ__V1__ENVELOPE__INIT;
    ef.body_case = E_(FAILED);
    ef.failed = &f;
    bsock[nb] = 1; blen[nb] = pack(&ef, base[nb], sizeof base[0]); nb++;
    Ganq__V1__Progress pg = GANQ__V1__PROGRESS__INIT;
    pg.job_id = "j000005";
    pg.images_done = 1;
    Ganq__V1__Envelope ep = GANQ__V1__ENVELOPE__INIT;
    ep.body_case = E_(PROGRESS);
    ep.progress = &pg;
    bsock[nb] = 1; blen[nb] = pack(&ep, base[nb], sizeof base[0]); nb++;
    Ganq__V1__Goodbye g = GANQ__V1__GOODBYE__INIT;
    g.n_returned = 1;
    g.returned = run;
    Ganq__V1__Envelope eg = GANQ__V1__ENVELOPE__INIT;
    eg.body_case = E_(GOODBYE);
    eg.goodbye = &g;
    bsock[nb] = 1; blen[nb] = pack(&eg, base[nb], sizeof base[0]); nb++;

    void *ws = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(ws, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_connect(ws, wep), 0);
    unsigned seed = 12345;
    uint8_t buf[4096];
    for (int i = 0; i < 700; i++) {
        int k = (int)(rand_r(&seed) % (unsigned)nb);
        size_t n = blen[k];
        memcpy(buf, base[k], n);
        int mode = (int)(rand_r(&seed) % 4);
        if (mode == 3 && n > 1)
            n = 1 + rand_r(&seed) % (n - 1);                 /* truncated */
        else
            for (int m = 0; m <= mode; m++)                   /* 1..3 bytes changed */
                buf[rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
        assert_true(zmq_send(bsock[k] ? ws : client, buf, n, 0) >= 0);
        if (i % 50 == 0) {   /* drain what came back */
            Ganq__V1__Envelope *r;
            pump_all(5);
            while ((r = recv_env(client, 0)) != NULL)
                ganq__v1__envelope__free_unpacked(r, NULL);
            while ((r = recv_env(ws, 0)) != NULL)
                ganq__v1__envelope__free_unpacked(r, NULL);
        }
    }
    /* still serving, and the broker thread is alive */
    Ganq__V1__JobSpec ok = base_spec(2, 0);
    char job[64];
    assert_null(submit(&ok, job, NULL));
    Ganq__V1__Envelope *r = status(job, 0);
    assert_int_equal(r->body_case, E_(JOB_INFO));
    ganq__v1__envelope__free_unpacked(r, NULL);
    assert_int_equal(atomic_load(&stop_flag), 0);
    /* a worker whose model has no class names, then Workers lists it */
    Ganq__V1__ModelInfo bare = GANQ__V1__MODEL_INFO__INIT;
    bare.name = "bare";
    bare.sha256 = TC_SHA;
    bare.num_classes = 7;
    Ganq__V1__ModelInfo *bares[1] = {&bare};
    Ganq__V1__Hello bh = GANQ__V1__HELLO__INIT;
    bh.name = "bare-worker";
    bh.n_models = 1;
    bh.models = bares;
    Ganq__V1__Envelope be = GANQ__V1__ENVELOPE__INIT;
    be.body_case = E_(HELLO);
    be.hello = &bh;
    send_env(ws, &be, 1);
    pump_all(100);
    Ganq__V1__Workers wq2 = GANQ__V1__WORKERS__INIT;
    Ganq__V1__Envelope we = GANQ__V1__ENVELOPE__INIT;
    we.body_case = E_(WORKERS);
    we.workers = &wq2;
    r = creq(&we);
    assert_int_equal(r->body_case, E_(WORKER_LIST));
    int seen = 0;
    for (size_t i = 0; i < r->worker_list->n_workers; i++)
        if (strcmp(r->worker_list->workers[i]->name, "bare-worker") == 0)
            seen = 1;
    assert_true(seen);
    ganq__v1__envelope__free_unpacked(r, NULL);
    Ganq__V1__Envelope *x;
    while ((x = recv_env(ws, 0)) != NULL)
        ganq__v1__envelope__free_unpacked(x, NULL);
    zmq_close(ws);
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("GANQ_TMP");
    snprintf(dir, sizeof dir, "%s/broker.XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof db, "%s/ganq.db", dir);
    ctx = zmq_ctx_new();
    start_broker();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NFW; i++)
        fw_close(&W[i]);
    stop_broker();
    zmq_ctx_term(ctx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_lease_done),
        cmocka_unit_test(test_heartbeat_death_requeue),
        cmocka_unit_test(test_retry_limit),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_rehello_new_connection),
        cmocka_unit_test(test_scheduling_order),
        cmocka_unit_test(test_restart_readopt),
        cmocka_unit_test(test_events_retention),
        cmocka_unit_test(test_fuzz_frames),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
