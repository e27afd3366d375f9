/* test_worker_run.c: worker_run() against a fake in-process broker: a ROUTER on inproc://
 * sharing the worker's zmq context, driven step by step by each test. Covers HELLO and
 * credits, a testcard task executed into PNG files (PROGRESS, DONE with records that match
 * the files), DONE without regenerating when the files exist, heartbeats while a slow task
 * runs, reconnect after broker silence (re-HELLO listing the running task, then DONE),
 * Reconnect (also right after a DONE, which is then sent again), CancelTask, model sha256 mismatch, fault-injected failures, garbled broker
 * frames, stop with a grace period (Goodbye returning the task), a models dir (a small
 * crafted BigGAN file offered and run, a broken file skipped), and the crash fault hook
 * (in a forked child talking to the fake broker over ipc://). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <signal.h>
#include <sys/wait.h>

#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"
#include "tests/unit/helpers/engine_files.h"
#include "storage/out/out.h"
#include "worker/wk_msg.h"
#include "worker/worker.h"

#define HB_MS 50

typedef struct fb {
    void         *ctx;
    void         *router;
    char          ep[128];
    uint8_t       id[256];      /* routing id of the worker's latest socket */
    size_t        id_len;
    int           send_hb;      /* send heartbeats while waiting */
    int64_t       next_hb;
    int           counts[64];   /* messages seen, by body case */
    int64_t       last_hb_rx;   /* when the worker's last heartbeat arrived (0: none yet) */
    int64_t       max_hb_gap;   /* longest wait between two of its heartbeats */
    pthread_t     th;
    atomic_int    stop;
    worker_config cfg;
    int           rc;
    gq_error      err;
    char          out_dir[512];
} fb;

static void *worker_thread(void *arg)
{
    fb *f = arg;
    f->rc = worker_run(&f->cfg, &f->err);
    return NULL;
}

static int counter;

static void fb_start_dir(fb *f, const worker_faults *faults, int grace_ms, const char *models)
{
    memset(f, 0, sizeof f[0]);
    f->ctx = zmq_ctx_new();
    assert_non_null(f->ctx);
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    snprintf(f->ep, sizeof f->ep, "inproc://fake-broker-%d-%d", (int)getpid(), counter++);
    assert_int_equal(zmq_bind(f->router, f->ep), 0);
    int linger = 0;
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
    const char *tmp = getenv("GANQ_TMP");
    snprintf(f->out_dir, sizeof f->out_dir, "%s/wk-out-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->out_dir));
    worker_config_init(&f->cfg);
    f->cfg.broker = f->ep;
    f->cfg.zmq_ctx = f->ctx;
    f->cfg.name = "test-worker";
    f->cfg.engine_threads = 1;
    f->cfg.encoder_threads = 1;
    f->cfg.grace_ms = grace_ms;
    f->cfg.models_dir = models;
    f->cfg.stop = &f->stop;
    if (faults) f->cfg.faults = *faults;
    f->send_hb = 1;
    gq_error_clear(&f->err);
    assert_int_equal(pthread_create(&f->th, NULL, worker_thread, f), 0);
}

static void fb_start(fb *f, const worker_faults *faults, int grace_ms)
{
    fb_start_dir(f, faults, grace_ms, NULL);
}

static void fb_send(fb *f, Ganq__V1__Envelope *env)
{
    wk_bytes b = { 0 };
    assert_int_equal(wk_msg_pack(env, &b), 0);
    assert_int_equal(zmq_send(f->router, f->id, f->id_len, ZMQ_SNDMORE), (int)f->id_len);
    assert_int_equal(zmq_send(f->router, b.data, b.len, 0), (int)b.len);
    wk_bytes_release(&b);
}

static void fb_send_raw(fb *f, const void *data, size_t n)
{
    assert_int_equal(zmq_send(f->router, f->id, f->id_len, ZMQ_SNDMORE), (int)f->id_len);
    assert_int_equal(zmq_send(f->router, data, n, 0), (int)n);
}

static void fb_heartbeat(fb *f)
{
    Ganq__V1__Heartbeat h = GANQ__V1__HEARTBEAT__INIT;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &h;
    fb_send(f, &env);
}

/* Next message from the worker within timeout_ms, or NULL. Sends heartbeats meanwhile. */
static Ganq__V1__Envelope *fb_recv(fb *f, int timeout_ms)
{
    int64_t until = gq_mono_ms() + timeout_ms;
    for (;;) {
        int64_t now = gq_mono_ms();
        if (f->send_hb && f->id_len && now >= f->next_hb) {
            fb_heartbeat(f);
            f->next_hb = now + HB_MS;
        }
        if (now >= until) return NULL;
        zmq_pollitem_t it = { .socket = f->router, .events = ZMQ_POLLIN };
        int64_t wait = until - now < 10 ? until - now : 10;
        if (zmq_poll(&it, 1, (long)wait) <= 0) continue;
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        assert_true(zmq_msg_recv(&id, f->router, 0) >= 0);
        assert_true(zmq_msg_more(&id));
        assert_true(zmq_msg_recv(&body, f->router, 0) >= 0);
        assert_false(zmq_msg_more(&body));   /* exactly one frame per message */
        assert_true(zmq_msg_size(&id) <= sizeof f->id);
        f->id_len = zmq_msg_size(&id);
        memcpy(f->id, zmq_msg_data(&id), f->id_len);
        Ganq__V1__Envelope *env = NULL;
        gq_error e;
        gq_error_clear(&e);
        assert_int_equal(wk_msg_unpack(zmq_msg_data(&body), zmq_msg_size(&body), &env, &e), 0);
        zmq_msg_close(&id);
        zmq_msg_close(&body);
        if (env->body_case < 64) f->counts[env->body_case]++;
        if (env->body_case == GANQ__V1__ENVELOPE__BODY_HEARTBEAT) {
            int64_t t = gq_mono_ms();
            if (f->last_hb_rx && t - f->last_hb_rx > f->max_hb_gap) f->max_hb_gap = t - f->last_hb_rx;
            f->last_hb_rx = t;
        }
        return env;
    }
}

/* Wait for a message of one kind, dropping others (they are still counted). */
static Ganq__V1__Envelope *fb_expect(fb *f, int body_case, int timeout_ms)
{
    int64_t until = gq_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = until - gq_mono_ms();
        if (left <= 0) break;
        Ganq__V1__Envelope *env = fb_recv(f, (int)left);
        if (!env) break;
        if ((int)env->body_case == body_case) return env;
        wk_msg_free(env);
    }
    fail_msg("no message of body case %d within %d ms", body_case, timeout_ms);
    return NULL;
}

static void fb_ack(fb *f)
{
    Ganq__V1__HelloAck a = GANQ__V1__HELLO_ACK__INIT;
    a.worker_id = "w-1";
    a.heartbeat_ms = HB_MS;
    a.liveness = 3;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_HELLO_ACK;
    env.hello_ack = &a;
    fb_send(f, &env);
}

/* HELLO -> ack -> Credit{2}. Returns the HELLO (caller frees). */
static Ganq__V1__Envelope *fb_register(fb *f)
{
    Ganq__V1__Envelope *h = fb_expect(f, GANQ__V1__ENVELOPE__BODY_HELLO, 5000);
    fb_ack(f);
    Ganq__V1__Envelope *c = fb_expect(f, GANQ__V1__ENVELOPE__BODY_CREDIT, 2000);
    assert_int_equal(c->credit->credits, 2);
    wk_msg_free(c);
    return h;
}

static void fb_stop(fb *f, int want_returned)
{
    atomic_store(&f->stop, 1);
    Ganq__V1__Envelope *g = fb_expect(f, GANQ__V1__ENVELOPE__BODY_GOODBYE, 15000);
    assert_int_equal(g->goodbye->n_returned, want_returned);
    wk_msg_free(g);
    pthread_join(f->th, NULL);
    assert_int_equal(f->rc, 0);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
}

typedef struct task_args {
    const char *job_id;
    uint64_t    task_id;
    uint64_t    start, end, count;
    const char *model;
    const char *sha256;
    int         n_trunc;
    double      trunc[4];
    int32_t     class_b;       /* second class id (0 = 3) */
} task_args;

static void fb_task(fb *f, const task_args *a)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    int32_t cls[2] = { 0, a->class_b ? a->class_b : 3 };
    double tr[4];
    memcpy(tr, a->trunc, sizeof tr);
    s.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    s.model = (char *)(a->model ? a->model : "testcard");
    s.model_sha256 = (char *)(a->sha256 ? a->sha256 : "");
    s.seed = 42;
    s.n_class_ids = 2;
    s.class_ids = cls;
    s.count = a->count;
    s.n_truncations = (size_t)a->n_trunc;
    s.truncations = tr;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    s.layout = GANQ__V1__LAYOUT__LAYOUT_FLAT;
    s.out_dir = f->out_dir;
    Ganq__V1__Task t = GANQ__V1__TASK__INIT;
    t.job_id = (char *)a->job_id;
    t.task_id = a->task_id;
    t.attempt = 1;
    t.start = a->start;
    t.end = a->end;
    t.spec = &s;
    t.lease_ms = 60000;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_TASK;
    env.task = &t;
    fb_send(f, &env);
}

static void fb_cancel(fb *f, const char *job, uint64_t task)
{
    Ganq__V1__CancelTask c = GANQ__V1__CANCEL_TASK__INIT;
    c.job_id = (char *)job;
    c.task_id = task;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_CANCEL_TASK;
    env.cancel_task = &c;
    fb_send(f, &env);
}

/* Every record names a file under out_dir with that size and sha256. */
static void check_records(const fb *f, const Ganq__V1__Done *d)
{
    for (size_t i = 0; i < d->n_outputs; i++) {
        const Ganq__V1__OutputRecord *r = d->outputs[i];
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", f->out_dir, r->path);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t *buf = malloc(r->bytes + 1);
        assert_int_equal(fread(buf, 1, r->bytes + 1, fp), r->bytes);
        fclose(fp);
        char hex[65];
        gq_sha256_hex(buf, r->bytes, hex);
        free(buf);
        assert_string_equal(hex, r->sha256);
        assert_int_equal(r->images, 1);
    }
}

/* Files in out_dir whose names contain `part`. */
static int count_files(const char *dir, const char *part)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || strcmp(part, ".tmp") == 0)
            if (strstr(de->d_name, part)) n++;
    closedir(d);
    return n;
}

/* ---- tests ---- */

static void test_hello_task_done_and_reuse(void **st)
{
    (void)st;
    fb f;
    fb_start(&f, NULL, 0);
    Ganq__V1__Envelope *h = fb_register(&f);
    assert_string_equal(h->hello->name, "test-worker");
    assert_true(h->hello->n_models >= 1);
    const Ganq__V1__ModelInfo *m = h->hello->models[0];
    assert_string_equal(m->name, "testcard");
    assert_string_equal(m->family, "testcard");
    assert_int_equal(strlen(m->sha256), 64);
    assert_true(m->num_classes >= 4);
    assert_int_equal(m->n_class_names, m->num_classes);
    assert_int_equal(h->hello->n_running, 0);
    assert_true(h->hello->max_batch >= 1);
    wk_msg_free(h);

    /* two truncation values sampled per image: at least two batches */
    task_args a = { .job_id = "job-a", .task_id = 1, .start = 0, .end = 12, .count = 20,
                    .n_trunc = 2, .trunc = { 0.5, 1.0 } };
    fb_task(&f, &a);
    Ganq__V1__Envelope *d = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 10000);
    assert_true(f.counts[GANQ__V1__ENVELOPE__BODY_PROGRESS] >= 2);
    assert_string_equal(d->done->job_id, "job-a");
    assert_int_equal(d->done->task_id, 1);
    assert_int_equal(d->done->attempt, 1);
    assert_int_equal(d->done->n_outputs, 12);
    uint64_t seen = 0;
    for (size_t i = 0; i < d->done->n_outputs; i++) seen |= 1ull << d->done->outputs[i]->first_index;
    assert_int_equal(seen, (1ull << 12) - 1);
    check_records(&f, d->done);
    assert_int_equal(count_files(f.out_dir, ".png"), 12);
    assert_int_equal(count_files(f.out_dir, ".tmp"), 0);

    /* the task ended: room for 2 again */
    Ganq__V1__Envelope *c = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_CREDIT, 2000);
    assert_int_equal(c->credit->credits, 2);
    wk_msg_free(c);

    /* the same task again: every file is there, so DONE comes with identical records and
     * no PROGRESS (nothing regenerated) */
    int progress_before = f.counts[GANQ__V1__ENVELOPE__BODY_PROGRESS];
    a.task_id = 2;
    fb_task(&f, &a);
    Ganq__V1__Envelope *d2 = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 10000);
    assert_int_equal(f.counts[GANQ__V1__ENVELOPE__BODY_PROGRESS], progress_before);
    assert_int_equal(d2->done->n_outputs, 12);
    for (size_t i = 0; i < 12; i++) {
        const Ganq__V1__OutputRecord *r2 = d2->done->outputs[i];
        int found = 0;
        for (size_t j = 0; j < 12; j++) {
            const Ganq__V1__OutputRecord *r1 = d->done->outputs[j];
            if (strcmp(r1->path, r2->path) == 0) {
                assert_string_equal(r1->sha256, r2->sha256);
                assert_int_equal(r1->bytes, r2->bytes);
                assert_int_equal(r1->first_index, r2->first_index);
                found = 1;
            }
        }
        assert_true(found);
    }
    wk_msg_free(d);
    wk_msg_free(d2);
    fb_stop(&f, 0);
}

static void test_heartbeats_during_slow_task(void **st)
{
    (void)st;
    worker_faults flt;
    worker_faults_none(&flt);
    flt.slow_ms = 200;
    fb f;
    fb_start(&f, &flt, 0);
    wk_msg_free(fb_register(&f));
    int hb0 = f.counts[GANQ__V1__ENVELOPE__BODY_HEARTBEAT];
    f.max_hb_gap = 0;
    int64_t t0 = gq_mono_ms();
    task_args a = { .job_id = "job-hb", .task_id = 1, .start = 0, .end = 6, .count = 6,
                    .n_trunc = 3, .trunc = { 0.25, 0.5, 1.0 } };
    fb_task(&f, &a);
    Ganq__V1__Envelope *d = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 10000);
    int64_t took = gq_mono_ms() - t0;
    int hbs = f.counts[GANQ__V1__ENVELOPE__BODY_HEARTBEAT] - hb0;
    /* three batches of 200 ms: >= 600 ms of task, heartbeats every 50 ms meanwhile */
    assert_true(took >= 600);
    assert_true(hbs >= (int)(took / HB_MS) / 2);
    /* never close to the broker's liveness limit (3 x 50 ms) */
    assert_true(f.max_hb_gap < 3 * HB_MS);
    printf("heartbeats: %d in %lld ms of task, longest gap %lld ms (interval %d ms)\n", hbs,
           (long long)took, (long long)f.max_hb_gap, HB_MS);
    assert_int_equal(f.counts[GANQ__V1__ENVELOPE__BODY_PROGRESS], 3);
    assert_int_equal(d->done->n_outputs, 6);
    wk_msg_free(d);
    fb_stop(&f, 0);
}

static void test_reconnect_relists_running_task(void **st)
{
    (void)st;
    worker_faults flt;
    worker_faults_none(&flt);
    flt.slow_ms = 250;
    fb f;
    fb_start(&f, &flt, 0);
    wk_msg_free(fb_register(&f));
    task_args a = { .job_id = "job-rc", .task_id = 7, .start = 0, .end = 8, .count = 8,
                    .n_trunc = 4, .trunc = { 0.2, 0.4, 0.6, 0.8 } };
    fb_task(&f, &a);
    wk_msg_free(fb_expect(&f, GANQ__V1__ENVELOPE__BODY_PROGRESS, 5000));
    uint8_t old_id[256];
    size_t old_len = f.id_len;
    memcpy(old_id, f.id, old_len);

    /* the broker goes silent: after liveness x heartbeat the worker reconnects and says
     * HELLO again from a new socket, listing the task it is still running */
    f.send_hb = 0;
    Ganq__V1__Envelope *h = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_HELLO, 5000);
    assert_false(f.id_len == old_len && memcmp(f.id, old_id, old_len) == 0);
    assert_int_equal(h->hello->n_running, 1);
    assert_string_equal(h->hello->running[0]->job_id, "job-rc");
    assert_int_equal(h->hello->running[0]->task_id, 7);
    assert_int_equal(h->hello->running[0]->attempt, 1);
    assert_true(h->hello->running[0]->images_done >= 2);
    wk_msg_free(h);
    f.send_hb = 1;
    fb_ack(&f);
    Ganq__V1__Envelope *c = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_CREDIT, 2000);
    assert_int_equal(c->credit->credits, 1);   /* one task still held */
    wk_msg_free(c);
    Ganq__V1__Envelope *d = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 10000);
    assert_int_equal(d->done->task_id, 7);
    assert_int_equal(d->done->n_outputs, 8);
    wk_msg_free(d);

    /* Reconnect from the broker, a few heartbeats after DONE (so the worker knows the DONE
     * got through): a fresh HELLO with nothing running */
    Ganq__V1__Envelope *none = fb_recv(&f, 4 * HB_MS);
    wk_msg_free(none);
    while ((none = fb_recv(&f, HB_MS)) != NULL) wk_msg_free(none);
    Ganq__V1__Reconnect r = GANQ__V1__RECONNECT__INIT;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_RECONNECT;
    env.reconnect = &r;
    fb_send(&f, &env);
    h = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_HELLO, 2000);
    assert_int_equal(h->hello->n_running, 0);
    wk_msg_free(h);
    fb_ack(&f);
    c = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_CREDIT, 2000);
    assert_int_equal(c->credit->credits, 2);
    wk_msg_free(c);
    fb_stop(&f, 0);
}

/* The race test_jobsys_kill_broker once hit: a broker restart while a DONE is in flight.
 * The DONE reaches the old broker, which dies; the new one on the same endpoint answers the
 * worker with Reconnect (it does not know it), and the worker says HELLO on the same socket,
 * listing the finished task as running. After the HelloAck the DONE must go again: before,
 * only a new socket marked the outbox unsent, so the task was re-adopted and never done. */
static void test_reconnect_right_after_done_resends_it(void **st)
{
    (void)st;
    worker_faults flt;
    worker_faults_none(&flt);
    fb f;
    fb_start(&f, &flt, 0);
    wk_msg_free(fb_register(&f));
    task_args a = { .job_id = "job-rd", .task_id = 3, .start = 0, .end = 2, .count = 2,
                    .n_trunc = 1, .trunc = { 0.5 } };
    fb_task(&f, &a);
    Ganq__V1__Envelope *d = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 10000);
    assert_int_equal(d->done->task_id, 3);
    wk_msg_free(d);
    /* at once, well inside the heartbeat after which the worker forgets a sent DONE */
    Ganq__V1__Reconnect r = GANQ__V1__RECONNECT__INIT;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_RECONNECT;
    env.reconnect = &r;
    fb_send(&f, &env);
    Ganq__V1__Envelope *h = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_HELLO, 2000);
    assert_int_equal(h->hello->n_running, 1);   /* unconfirmed: still listed */
    assert_string_equal(h->hello->running[0]->job_id, "job-rd");
    wk_msg_free(h);
    fb_ack(&f);
    d = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 2000);
    assert_int_equal(d->done->task_id, 3);
    assert_int_equal(d->done->n_outputs, 2);
    wk_msg_free(d);
    fb_stop(&f, 0);
}

static void test_cancel_mismatch_and_faults(void **st)
{
    (void)st;
    worker_faults flt;
    worker_faults_none(&flt);
    flt.slow_ms = 200;
    fb f;
    fb_start(&f, &flt, 0);
    Ganq__V1__Envelope *h = fb_register(&f);
    char sha[65];
    snprintf(sha, sizeof sha, "%s", h->hello->models[0]->sha256);
    wk_msg_free(h);

    /* cancel between batches: FAILED(cancelled, not retryable), no temp files left behind
     * (images already encoded may stay under their final names: they are complete) */
    task_args a = { .job_id = "job-c", .task_id = 3, .start = 0, .end = 8, .count = 8,
                    .n_trunc = 4, .trunc = { 0.2, 0.4, 0.6, 0.8 }, .sha256 = sha };
    fb_task(&f, &a);
    wk_msg_free(fb_expect(&f, GANQ__V1__ENVELOPE__BODY_PROGRESS, 5000));
    fb_cancel(&f, "job-c", 3);
    Ganq__V1__Envelope *x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_FAILED, 5000);
    assert_int_equal(x->failed->task_id, 3);
    assert_false(x->failed->retryable);
    assert_non_null(strstr(x->failed->reason, "cancel"));
    wk_msg_free(x);
    assert_true(count_files(f.out_dir, ".png") < 8);
    assert_int_equal(count_files(f.out_dir, ".tmp"), 0);

    /* a job made for another file of the model: not retryable here, reason says why */
    task_args b = { .job_id = "job-s", .task_id = 4, .start = 0, .end = 2, .count = 2,
                    .n_trunc = 1, .trunc = { 1.0 },
                    .sha256 = "0000000000000000000000000000000000000000000000000000000000000000" };
    fb_task(&f, &b);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_FAILED, 5000);
    assert_int_equal(x->failed->task_id, 4);
    assert_false(x->failed->retryable);
    assert_non_null(strstr(x->failed->reason, "model_sha256"));
    wk_msg_free(x);

    /* a model the worker does not have */
    b.task_id = 5;
    b.sha256 = NULL;
    b.model = "biggan-deep-128";
    fb_task(&f, &b);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_FAILED, 5000);
    assert_int_equal(x->failed->task_id, 5);
    assert_false(x->failed->retryable);
    assert_non_null(strstr(x->failed->reason, "biggan-deep-128"));
    wk_msg_free(x);

    /* a spec the plan rejects (a class the model lacks; the wire layer cannot know):
     * not retryable, the plan's message passed on */
    b.task_id = 6;
    b.model = NULL;
    b.class_b = 50;
    fb_task(&f, &b);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_FAILED, 5000);
    assert_int_equal(x->failed->task_id, 6);
    assert_false(x->failed->retryable);
    assert_non_null(strstr(x->failed->reason, "spec: "));
    wk_msg_free(x);

    /* garbled frames and another protocol version are answered, and the worker goes on */
    const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    fb_send_raw(&f, junk, sizeof junk);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_ERROR, 2000);
    assert_int_equal(x->error->code, GANQ__V1__ERROR_CODE__ERR_MALFORMED);
    wk_msg_free(x);
    Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
    Ganq__V1__Envelope v2 = GANQ__V1__ENVELOPE__INIT;
    v2.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
    v2.heartbeat = &hb;
    v2.version = 2;
    uint8_t *buf;
    size_t n;
    assert_int_equal(wire_encode_raw(&v2, &buf, &n), 0);
    fb_send_raw(&f, buf, n);
    free(buf);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_ERROR, 2000);
    assert_int_equal(x->error->code, GANQ__V1__ERROR_CODE__ERR_VERSION);
    wk_msg_free(x);
    int hb0 = f.counts[GANQ__V1__ENVELOPE__BODY_HEARTBEAT];
    wk_msg_free(fb_expect(&f, GANQ__V1__ENVELOPE__BODY_HEARTBEAT, 1000));
    assert_true(f.counts[GANQ__V1__ENVELOPE__BODY_HEARTBEAT] > hb0);
    fb_stop(&f, 0);

    /* GANQ_FAULT_FAIL_TASKS=1: the first task fails retryable, the second runs */
    worker_faults_none(&flt);
    flt.fail_tasks = 1;
    fb_start(&f, &flt, 0);
    wk_msg_free(fb_register(&f));
    task_args c = { .job_id = "job-f", .task_id = 1, .start = 0, .end = 2, .count = 4,
                    .n_trunc = 1, .trunc = { 1.0 } };
    fb_task(&f, &c);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_FAILED, 5000);
    assert_true(x->failed->retryable);
    assert_non_null(strstr(x->failed->reason, "fault"));
    wk_msg_free(x);
    c.task_id = 2;
    c.start = 2;
    c.end = 4;
    fb_task(&f, &c);
    x = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 5000);
    assert_int_equal(x->done->n_outputs, 2);
    wk_msg_free(x);
    fb_stop(&f, 0);
}

static void test_stop_gives_back_after_grace(void **st)
{
    (void)st;
    worker_faults flt;
    worker_faults_none(&flt);
    flt.slow_ms = 300;
    fb f;
    fb_start(&f, &flt, 200);
    wk_msg_free(fb_register(&f));
    task_args a = { .job_id = "job-g", .task_id = 1, .start = 0, .end = 8, .count = 16,
                    .n_trunc = 4, .trunc = { 0.2, 0.4, 0.6, 0.8 } };
    fb_task(&f, &a);
    a.task_id = 2;
    a.start = 8;
    a.end = 16;
    fb_task(&f, &a);   /* queued behind the first */
    wk_msg_free(fb_expect(&f, GANQ__V1__ENVELOPE__BODY_PROGRESS, 5000));
    /* stop: the queued task and (after 200 ms of grace) the running one come back in
     * Goodbye; no DONE for either, and no credit offered meanwhile */
    int credits_before = f.counts[GANQ__V1__ENVELOPE__BODY_CREDIT];
    atomic_store(&f.stop, 1);
    Ganq__V1__Envelope *g = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_GOODBYE, 5000);
    assert_int_equal(g->goodbye->n_returned, 2);
    int ids = 0;
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(g->goodbye->returned[i]->job_id, "job-g");
        ids |= 1 << g->goodbye->returned[i]->task_id;
    }
    assert_int_equal(ids, (1 << 1) | (1 << 2));
    wk_msg_free(g);
    assert_int_equal(f.counts[GANQ__V1__ENVELOPE__BODY_DONE], 0);
    assert_int_equal(f.counts[GANQ__V1__ENVELOPE__BODY_CREDIT], credits_before);
    pthread_join(f.th, NULL);
    assert_int_equal(f.rc, 0);
    assert_int_equal(count_files(f.out_dir, ".tmp"), 0);
    zmq_close(f.router);
    zmq_ctx_term(f.ctx);
}

static void test_models_dir(void **st)
{
    (void)st;
    const char *tmp = getenv("GANQ_TMP");
    char dir[512], path[640];
    snprintf(dir, sizeof dir, "%s/wk-models-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    char *hdr;
    uint8_t *data;
    size_t dlen, flen;
    assert_int_equal(ef_build("biggan", EF_ARCH_BIGGAN32, "F32", 5, &hdr, &data, &dlen), 0);
    uint8_t *file = ef_image(hdr, data, dlen, &flen);
    assert_non_null(file);
    snprintf(path, sizeof path, "%s/tiny.safetensors", dir);
    assert_int_equal(ef_write(path, file, flen), 0);
    free(hdr);
    free(data);
    free(file);
    snprintf(path, sizeof path, "%s/broken.safetensors", dir);
    assert_int_equal(ef_write(path, "not a model", 11), 0);
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    assert_int_equal(ef_write(path, "ignored", 7), 0);

    fb f;
    fb_start_dir(&f, NULL, 0, dir);
    Ganq__V1__Envelope *h = fb_register(&f);
    assert_int_equal(h->hello->n_models, 2);   /* testcard + tiny; broken skipped */
    const Ganq__V1__ModelInfo *m = h->hello->models[1];
    assert_string_equal(h->hello->models[0]->name, "testcard");
    assert_string_equal(m->name, "tiny");
    assert_string_equal(m->family, "biggan");
    assert_int_equal(m->resolution, 32);
    assert_int_equal(m->num_classes, 10);
    assert_int_equal(m->n_class_names, 10);
    assert_false(m->standing_stats);
    char sha[65];
    snprintf(sha, sizeof sha, "%s", m->sha256);
    wk_msg_free(h);

    task_args a = { .job_id = "job-m", .task_id = 1, .start = 0, .end = 4, .count = 4,
                    .model = "tiny", .sha256 = sha, .n_trunc = 1, .trunc = { 0.8 } };
    fb_task(&f, &a);
    Ganq__V1__Envelope *d = fb_expect(&f, GANQ__V1__ENVELOPE__BODY_DONE, 20000);
    assert_int_equal(d->done->n_outputs, 4);
    check_records(&f, d->done);
    wk_msg_free(d);
    fb_stop(&f, 0);
}

/* GANQ_FAULT_CRASH_AFTER_IMAGES: the worker (in a child process) aborts mid-task, after
 * PROGRESS for its first batch and before any DONE. */
static void test_crash_fault(void **st)
{
    (void)st;
    const char *tmp = getenv("GANQ_TMP");
    char sockdir[256], ep[300];
    snprintf(sockdir, sizeof sockdir, "%s/wk-ipc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(sockdir));
    snprintf(ep, sizeof ep, "ipc://%s/b.sock", sockdir);
    fb f;
    memset(&f, 0, sizeof f);
    f.ctx = zmq_ctx_new();
    f.router = zmq_socket(f.ctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(f.router, ep), 0);
    int linger = 0;
    zmq_setsockopt(f.router, ZMQ_LINGER, &linger, sizeof linger);
    snprintf(f.out_dir, sizeof f.out_dir, "%s/out", sockdir);
    f.send_hb = 1;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* child: a fresh context, never the parent's */
        static atomic_int stop;
        worker_config c;
        worker_config_init(&c);
        c.broker = ep;
        c.name = "crasher";
        c.engine_threads = 1;
        c.encoder_threads = 1;
        c.stop = &stop;
        c.faults.crash_after_images = 3;
        c.faults.slow_ms = 50;
        gq_error e;
        gq_error_clear(&e);
        worker_run(&c, &e);
        _exit(3);   /* not reached when the fault works */
    }
    wk_msg_free(fb_register(&f));
    /* three truncations: batches of 2; the crash comes with the second batch (4 >= 3) */
    task_args a = { .job_id = "job-x", .task_id = 1, .start = 0, .end = 6, .count = 6,
                    .n_trunc = 3, .trunc = { 0.3, 0.6, 0.9 } };
    fb_task(&f, &a);
    int status = 0;
    int64_t until = gq_mono_ms() + 10000;
    pid_t r = 0;
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && gq_mono_ms() < until) {
        Ganq__V1__Envelope *env = fb_recv(&f, 20);
        wk_msg_free(env);
    }
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the worker did not crash within 10 s");
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_int_equal(f.counts[GANQ__V1__ENVELOPE__BODY_PROGRESS], 1);
    assert_int_equal(f.counts[GANQ__V1__ENVELOPE__BODY_DONE], 0);
    zmq_close(f.router);
    zmq_ctx_term(f.ctx);
}

static void test_bad_config(void **st)
{
    (void)st;
    atomic_int stop = 0;
    worker_config c;
    gq_error e;
    worker_config_init(&c);
    c.stop = &stop;
    gq_error_clear(&e);
    assert_int_equal(worker_run(&c, &e), GQ_EINVAL);
    assert_non_null(strstr(e.msg, "broker"));
    c.broker = "http://example";
    gq_error_clear(&e);
    assert_int_equal(worker_run(&c, &e), GQ_EINVAL);
    assert_non_null(strstr(e.msg, "http://example"));
    c.broker = "inproc://x";   /* no shared context */
    gq_error_clear(&e);
    assert_int_equal(worker_run(&c, &e), GQ_EINVAL);
    c.broker = "tcp://127.0.0.1:1";
    c.credits = 100;
    gq_error_clear(&e);
    assert_int_equal(worker_run(&c, &e), GQ_EINVAL);
    assert_non_null(strstr(e.msg, "credits"));
    c.credits = 0;
    c.models_dir = "/nonexistent/ganq-models";
    gq_error_clear(&e);
    assert_int_equal(worker_run(&c, &e), GQ_ENOTFOUND);
    assert_non_null(strstr(e.msg, "/nonexistent/ganq-models"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_hello_task_done_and_reuse),
        cmocka_unit_test(test_heartbeats_during_slow_task),
        cmocka_unit_test(test_reconnect_relists_running_task),
        cmocka_unit_test(test_reconnect_right_after_done_resends_it),
        cmocka_unit_test(test_cancel_mismatch_and_faults),
        cmocka_unit_test(test_stop_gives_back_after_grace),
        cmocka_unit_test(test_models_dir),
        cmocka_unit_test(test_crash_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
