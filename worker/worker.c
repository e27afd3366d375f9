/* worker.c: worker_run(), the socket thread of ganq-worker (see worker.h).
 *
 * The socket thread owns the DEALER to the broker and the bound end of an inproc PAIR to the
 * executor (wk_exec.h). It never runs engine code, so heartbeats keep their rhythm whatever
 * the executor does. Connection states:
 *
 *      +------+ backoff over: new DEALER, HELLO +-------+  HelloAck   +-------+
 *      | DOWN | ------------------------------> | HELLO | ----------> | READY |
 *      +------+                                 +-------+             +-------+
 *         ^   silent for liveness x heartbeat_ms   |  ^  Reconnect /      |
 *         +----------------------------------------+--|--UNKNOWN_WORKER --+
 *         +-------------------------------------------|-------------------+ (silent)
 *
 *   DOWN:  no socket; reconnect at reconnect_at (delays 100 ms doubling to 5 s).
 *   HELLO: HELLO sent, listing every task held (RunningTask) so the broker re-adopts them.
 *   READY: heartbeats every heartbeat_ms; credits re-advertised whenever the free room
 *          changes (wk_credit.h); PROGRESS relayed; DONE / FAILED sent.
 *
 * Terminal messages (DONE / FAILED) are never dropped: they wait in the outbox until sent
 * in READY, and a sent one stays there until the broker has been heard from a heartbeat
 * interval later; on reconnect everything in the outbox is sent again after the HelloAck
 * (and the task is listed as running in the HELLO, so the broker re-adopts it first). The
 * broker treats a repeated DONE as already done. PROGRESS outside READY is dropped: the
 * next HELLO carries images_done.
 *
 * Stop (*stop set): Credit{0}, the executor drains (queued tasks come back), the current
 * task may finish within grace_ms; then Goodbye lists the tasks given back. If the grace
 * period runs out, Goodbye also lists the running task and the executor abandons it at its
 * next batch boundary (its temp files are removed).
 */
#include "worker/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "proto/base/gq_log.h"
#include "proto/base/gq_time.h"
#include "proto/wire/curve.h"
#include "proto/wire/wire.h"
#include "worker/wk_backoff.h"
#include "worker/wk_credit.h"
#include "worker/wk_exec.h"
#include "worker/wk_models.h"
#include "worker/wk_msg.h"

#define DEFAULT_HEARTBEAT_MS 1000
#define DEFAULT_LIVENESS     3
#define DEFAULT_GRACE_MS     10000

void worker_faults_none(worker_faults *f)
{
    f->crash_after_images = -1;
    f->fail_tasks = 0;
    f->slow_ms = 0;
}

void worker_config_init(worker_config *c)
{
    memset(c, 0, sizeof *c);
    worker_faults_none(&c->faults);
}

enum { WS_DOWN, WS_HELLO, WS_READY };

typedef struct held_task {
    char    *job_id;
    uint64_t task_id;
    uint32_t attempt;
    uint64_t images_done;
} held_task;

typedef struct held_list {
    held_task *v;
    size_t     n, cap;
} held_list;

typedef struct outbox_entry {
    wk_bytes  msg;       /* packed Done / Failed */
    held_task task;      /* which task it ends */
    int64_t   sent_ms;   /* -1: not sent on the current connection */
} outbox_entry;

typedef struct wstate {
    const worker_config *cfg;
    void       *ctx;
    void       *sock;          /* DEALER, NULL in DOWN */
    void       *pair;          /* bound end of the executor PAIR */
    wk_exec    *exec;
    wk_models  *models;
    char        name[256];
    int         state;
    int64_t     hb_ms;
    int         liveness;
    int64_t     last_rx;       /* mono ms of the last message from the broker */
    int64_t     next_hb;
    int64_t     reconnect_at;
    wk_backoff  backoff;
    wk_credit   credit;
    held_list   held;          /* tasks sent to the executor and not finished */
    held_list   returned;      /* tasks given back (for Goodbye) */
    outbox_entry *outbox;
    size_t      n_out, cap_out;
    int         stopping;
    int64_t     grace_deadline;
    int         fatal;         /* a GQ_E* code that ends the run */
} wstate;

/* ---- task lists ---- */

static int held_add(held_list *l, const char *job_id, uint64_t task_id, uint32_t attempt,
                    uint64_t done)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        held_task *v = realloc(l->v, cap * sizeof *v);
        if (!v) return GQ_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *j = strdup(job_id ? job_id : "");
    if (!j) return GQ_ENOMEM;
    l->v[l->n++] = (held_task){ j, task_id, attempt, done };
    return 0;
}

static ssize_t held_find(const held_list *l, const char *job_id, uint64_t task_id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].task_id == task_id && strcmp(l->v[i].job_id, job_id) == 0) return (ssize_t)i;
    return -1;
}

/* Remove entry i; OUT: *taken receives it (caller frees job_id) when non-NULL. */
static void held_take(held_list *l, size_t i, held_task *taken)
{
    if (taken) *taken = l->v[i];
    else free(l->v[i].job_id);
    l->v[i] = l->v[--l->n];
}

static void held_release(held_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i].job_id);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- sending ---- */

static int send_bytes(wstate *w, const wk_bytes *b)
{
    if (!w->sock) return GQ_ENET;
    if (zmq_send(w->sock, b->data, b->len, ZMQ_DONTWAIT) != (int)b->len) {
        gq_debug("send to broker failed: %s", zmq_strerror(zmq_errno()));
        return GQ_ENET;
    }
    return 0;
}

/* Build (build_rc) and send a message, then release it. */
static void send_built(wstate *w, wk_bytes *b, int build_rc)
{
    if (build_rc != 0) gq_err("out of memory building a message");
    else send_bytes(w, b);
    wk_bytes_release(b);
}

static void send_hello(wstate *w)
{
    size_t n = w->held.n + w->n_out;
    wk_running *r = calloc(n ? n : 1, sizeof *r);
    if (!r) {
        gq_err("out of memory building HELLO");
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < w->held.n; i++, k++)
        r[k] = (wk_running){ w->held.v[i].job_id, w->held.v[i].task_id, w->held.v[i].attempt,
                             w->held.v[i].images_done };
    for (size_t i = 0; i < w->n_out; i++, k++)
        r[k] = (wk_running){ w->outbox[i].task.job_id, w->outbox[i].task.task_id,
                             w->outbox[i].task.attempt, w->outbox[i].task.images_done };
    wk_bytes b = { 0 };
    int rc = wk_msg_hello(w->name, w->cfg->device ? w->cfg->device : "cpu",
                          wk_models_infos(w->models), wk_models_count(w->models),
                          (uint32_t)wk_models_max_batch(w->models), r, n, &b);
    free(r);
    send_built(w, &b, rc);
    /* A HELLO starts a new broker session even on the same socket (RECONNECT, unknown
     * worker): a DONE sent to the old one may be lost, so every outbox entry goes again
     * after the HelloAck. */
    for (size_t i = 0; i < w->n_out; i++) w->outbox[i].sent_ms = -1;
    w->state = WS_HELLO;
    w->last_rx = gq_mono_ms();
    wk_credit_forget(&w->credit);
    gq_debug("HELLO sent to %s (%zu tasks running)", w->cfg->broker, n);
}

static void flush_outbox(wstate *w, int64_t now)
{
    for (size_t i = 0; i < w->n_out; i++) {
        if (w->outbox[i].sent_ms >= 0) continue;
        if (send_bytes(w, &w->outbox[i].msg) == 0) w->outbox[i].sent_ms = now;
    }
}

static void confirm_outbox(wstate *w, int64_t now)
{
    for (size_t i = 0; i < w->n_out;) {
        outbox_entry *e = &w->outbox[i];
        if (e->sent_ms >= 0 && e->sent_ms + w->hb_ms <= now) {
            wk_bytes_release(&e->msg);
            free(e->task.job_id);
            w->outbox[i] = w->outbox[--w->n_out];
        } else {
            i++;
        }
    }
}

static void send_credit_if_due(wstate *w)
{
    if (w->state != WS_READY) return;
    int due = wk_credit_due(&w->credit);
    if (due < 0) return;
    wk_bytes b = { 0 };
    int rc = wk_msg_credit((uint32_t)due, &b);
    if (rc == 0 && send_bytes(w, &b) == 0) wk_credit_sent(&w->credit, due);
    wk_bytes_release(&b);
}

/* ---- connection ---- */

static void close_sock(wstate *w)
{
    if (!w->sock) return;
    int linger = 0;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(w->sock);
    w->sock = NULL;
    w->state = WS_DOWN;
    for (size_t i = 0; i < w->n_out; i++) w->outbox[i].sent_ms = -1;
}

static int open_sock(wstate *w, gq_error *err)
{
    w->sock = zmq_socket(w->ctx, ZMQ_DEALER);
    if (!w->sock)
        return gq_fail(err, GQ_ENET, "broker: cannot create a socket: %s",
                       zmq_strerror(zmq_errno()));
    int linger = 1000, hwm = 10000;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(w->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (w->cfg->curve) {
        int rc = wire_curve_client_setup(w->sock, w->cfg->curve, err);
        if (rc < 0) {
            zmq_close(w->sock);
            w->sock = NULL;
            return rc;
        }
    }
    if (zmq_connect(w->sock, w->cfg->broker) != 0) {
        int rc = gq_fail(err, GQ_ENET, "broker: cannot connect to \"%s\": %s", w->cfg->broker,
                         zmq_strerror(zmq_errno()));
        zmq_close(w->sock);
        w->sock = NULL;
        return rc;
    }
    send_hello(w);
    return 0;
}

static void lost_broker(wstate *w, int64_t now, const char *why)
{
    close_sock(w);
    int64_t d = wk_backoff_next(&w->backoff);
    w->reconnect_at = now + d;
    gq_warn("broker %s %s; reconnecting in %lld ms (attempt %d)%s", w->cfg->broker, why,
            (long long)d, w->backoff.attempts,
            w->cfg->curve ? " (CURVE: if this repeats, authentication may be failing: check "
                            "--broker-key and that the broker's authorized-keys holds our "
                            "public key)" : "");
}

/* ---- messages from the executor ---- */

static void finish_held(wstate *w, const char *job_id, uint64_t task_id, held_task *taken)
{
    ssize_t i = held_find(&w->held, job_id, task_id);
    if (i < 0) {
        taken->job_id = NULL;
        return;
    }
    held_take(&w->held, (size_t)i, taken);
    wk_credit_task_out(&w->credit);
}

static void on_exec_msg(wstate *w, int type, const void *data, size_t len)
{
    Ganq__V1__Envelope *env = NULL;
    gq_error e;
    gq_error_clear(&e);
    if (wk_msg_unpack(data, len, &env, &e) != 0) {
        gq_err("internal: executor message does not decode: %s", e.msg);
        wk_msg_free(env);
        return;
    }
    int64_t now = gq_mono_ms();
    if (type == WK_X_RETURNED && env->body_case == GANQ__V1__ENVELOPE__BODY_PROGRESS) {
        const Ganq__V1__Progress *p = env->progress;
        held_task t;
        finish_held(w, p->job_id, p->task_id, &t);
        if (t.job_id) {
            t.images_done = p->images_done;
            if (held_add(&w->returned, t.job_id, t.task_id, t.attempt, t.images_done) != 0)
                gq_err("out of memory recording a returned task");
            free(t.job_id);
        }
    } else if (type == WK_X_RELAY && env->body_case == GANQ__V1__ENVELOPE__BODY_PROGRESS) {
        ssize_t i = held_find(&w->held, env->progress->job_id, env->progress->task_id);
        if (i >= 0) w->held.v[i].images_done = env->progress->images_done;
        if (w->state == WS_READY) {
            wk_bytes b = { (uint8_t *)data, len };
            send_bytes(w, &b);
        }
    } else if (type == WK_X_RELAY && (env->body_case == GANQ__V1__ENVELOPE__BODY_DONE ||
                                      env->body_case == GANQ__V1__ENVELOPE__BODY_FAILED)) {
        const char *job = env->body_case == GANQ__V1__ENVELOPE__BODY_DONE
                              ? env->done->job_id : env->failed->job_id;
        uint64_t tid = env->body_case == GANQ__V1__ENVELOPE__BODY_DONE
                           ? env->done->task_id : env->failed->task_id;
        held_task t;
        finish_held(w, job, tid, &t);
        if (!t.job_id) {
            gq_warn("executor finished %s/%llu, which is not held", job, (unsigned long long)tid);
            if (!(t.job_id = strdup(job))) goto out;
            t.task_id = tid;
            t.attempt = 0;
            t.images_done = 0;
        }
        if (w->n_out == w->cap_out) {
            size_t cap = w->cap_out ? w->cap_out * 2 : 8;
            outbox_entry *v = realloc(w->outbox, cap * sizeof *v);
            if (!v) {
                gq_err("out of memory queueing a DONE/FAILED; the lease will expire instead");
                free(t.job_id);
                goto out;
            }
            w->outbox = v;
            w->cap_out = cap;
        }
        outbox_entry *o = &w->outbox[w->n_out];
        o->msg.data = malloc(len ? len : 1);
        if (!o->msg.data) {
            free(t.job_id);
            gq_err("out of memory queueing a DONE/FAILED");
            goto out;
        }
        memcpy(o->msg.data, data, len);
        o->msg.len = len;
        o->task = t;
        o->sent_ms = -1;
        w->n_out++;
        if (w->state == WS_READY) flush_outbox(w, now);
        send_credit_if_due(w);
    } else {
        gq_err("internal: unexpected executor message '%c' (%s)", type, wk_msg_name(env));
    }
out:
    wk_msg_free(env);
}

static void read_exec(wstate *w)
{
    for (;;) {
        zmq_msg_t t, b;
        zmq_msg_init(&t);
        if (zmq_msg_recv(&t, w->pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&t);
            return;
        }
        zmq_msg_init(&b);
        if (!zmq_msg_more(&t) || zmq_msg_size(&t) != 1 || zmq_msg_recv(&b, w->pair, 0) < 0) {
            gq_err("internal: malformed executor message");
        } else {
            on_exec_msg(w, *(unsigned char *)zmq_msg_data(&t), zmq_msg_data(&b),
                        zmq_msg_size(&b));
        }
        zmq_msg_close(&t);
        zmq_msg_close(&b);
    }
}

/* ---- messages from the broker ---- */

static void reply_error(wstate *w, Ganq__V1__ErrorCode code, const char *field, const char *msg)
{
    wk_bytes b = { 0 };
    send_built(w, &b, wk_msg_error(code, field, msg, &b));
}

static void on_task(wstate *w, const Ganq__V1__Task *t, const void *raw, size_t len)
{
    const char *job = t->job_id ? t->job_id : "";
    if (held_find(&w->held, job, t->task_id) >= 0) {
        gq_debug("task %s/%llu already held; repeat ignored", job, (unsigned long long)t->task_id);
        return;
    }
    if (w->stopping) {
        gq_info("task %s/%llu arrived while stopping; giving it back", job,
                (unsigned long long)t->task_id);
        if (held_add(&w->returned, job, t->task_id, t->attempt, 0) != 0)
            gq_err("out of memory recording a returned task");
        return;
    }
    if (wk_credit_free(&w->credit) == 0)
        gq_warn("task %s/%llu arrived beyond our credit; queued anyway", job,
                (unsigned long long)t->task_id);
    if (held_add(&w->held, job, t->task_id, t->attempt, 0) != 0) {
        gq_err("out of memory holding task %s/%llu; its lease will expire", job,
               (unsigned long long)t->task_id);
        return;
    }
    wk_credit_task_in(&w->credit);
    if (wk_exec_send(w->pair, WK_X_TASK, raw, len) != 0) {
        gq_err("internal: cannot hand task %s/%llu to the executor", job,
               (unsigned long long)t->task_id);
        w->fatal = GQ_ENET;
    }
}

static void on_broker_msg(wstate *w, const void *data, size_t len, gq_error *err)
{
    Ganq__V1__Envelope *env = NULL;
    gq_error e;
    gq_error_clear(&e);
    int rc = wk_msg_unpack(data, len, &env, &e);
    if (rc == GQ_EVERSION) {
        gq_warn("broker message ignored: %s", e.msg);
        reply_error(w, GANQ__V1__ERROR_CODE__ERR_VERSION, "version", e.msg);
        return;
    }
    if (rc != 0) {
        char field[128];
        gq_warn("bad message from broker %s ignored: %s", w->cfg->broker, gq_error_str(&e, rc));
        reply_error(w, rc == GQ_EINVAL ? GANQ__V1__ERROR_CODE__ERR_INVALID
                                       : GANQ__V1__ERROR_CODE__ERR_MALFORMED,
                    wire_error_field(&e, field, sizeof field), gq_error_str(&e, rc));
        return;
    }
    int64_t now = gq_mono_ms();
    w->last_rx = now;
    confirm_outbox(w, now);
    switch (env->body_case) {
    case GANQ__V1__ENVELOPE__BODY_HELLO_ACK: {
        const Ganq__V1__HelloAck *a = env->hello_ack;
        w->hb_ms = a->heartbeat_ms ? a->heartbeat_ms : DEFAULT_HEARTBEAT_MS;
        if (w->hb_ms < 10) w->hb_ms = 10;
        w->liveness = a->liveness ? (int)a->liveness : DEFAULT_LIVENESS;
        if (w->state != WS_READY)
            gq_info("registered with broker %s as %s (heartbeat %lld ms, liveness %d)",
                    w->cfg->broker, a->worker_id ? a->worker_id : "?", (long long)w->hb_ms,
                    w->liveness);
        w->state = WS_READY;
        wk_backoff_reset(&w->backoff);
        w->next_hb = now + w->hb_ms;
        flush_outbox(w, now);
        send_credit_if_due(w);
        break;
    }
    case GANQ__V1__ENVELOPE__BODY_TASK:
        on_task(w, env->task, data, len);
        break;
    case GANQ__V1__ENVELOPE__BODY_CANCEL_TASK:
        gq_info("broker cancels task %s/%llu", env->cancel_task->job_id,
                (unsigned long long)env->cancel_task->task_id);
        if (wk_exec_send(w->pair, WK_X_CANCEL, data, len) != 0) w->fatal = GQ_ENET;
        break;
    case GANQ__V1__ENVELOPE__BODY_HEARTBEAT:
        break;
    case GANQ__V1__ENVELOPE__BODY_RECONNECT:
        /* A HELLO already on its way answers this too: one per burst. */
        if (w->state == WS_HELLO) break;
        gq_info("broker asks for a new HELLO");
        send_hello(w);
        break;
    case GANQ__V1__ENVELOPE__BODY_ERROR: {
        const Ganq__V1__Error *x = env->error;
        if (x->code == GANQ__V1__ERROR_CODE__ERR_UNKNOWN_WORKER) {
            if (w->state == WS_HELLO) break;
            gq_info("broker does not know this worker (%s); saying HELLO again", x->message);
            send_hello(w);
        } else if (x->code == GANQ__V1__ERROR_CODE__ERR_VERSION) {
            w->fatal = gq_fail(err, GQ_EVERSION, "broker %s: protocol version refused: %s",
                               w->cfg->broker, x->message ? x->message : "");
        } else {
            gq_warn("broker error %d%s%s: %s", x->code, x->field && x->field[0] ? " on " : "",
                    x->field ? x->field : "", x->message ? x->message : "");
        }
        break;
    }
    default:
        gq_warn("unexpected %s message from broker ignored", wk_msg_name(env));
        break;
    }
    wk_msg_free(env);
}

static void read_broker(wstate *w, gq_error *err)
{
    while (w->sock && !w->fatal) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        if (zmq_msg_more(&m)) {
            /* One frame per message: skip the rest and complain. */
            int more = 1;
            while (more) {
                zmq_msg_t r;
                zmq_msg_init(&r);
                if (zmq_msg_recv(&r, w->sock, 0) < 0) more = 0;
                else more = zmq_msg_more(&r);
                zmq_msg_close(&r);
            }
            gq_warn("garbled message from broker %s ignored: more than one frame",
                    w->cfg->broker);
        } else {
            on_broker_msg(w, zmq_msg_data(&m), zmq_msg_size(&m), err);
        }
        zmq_msg_close(&m);
    }
}

/* ---- stopping ---- */

static void send_goodbye(wstate *w, int with_held)
{
    held_list *r = &w->returned;
    if (with_held)
        for (size_t i = 0; i < w->held.n; i++)
            if (held_add(r, w->held.v[i].job_id, w->held.v[i].task_id, w->held.v[i].attempt,
                         w->held.v[i].images_done) != 0)
                gq_err("out of memory listing a returned task");
    wk_running *v = calloc(r->n ? r->n : 1, sizeof *v);
    if (!v) {
        gq_err("out of memory building Goodbye");
        return;
    }
    for (size_t i = 0; i < r->n; i++)
        v[i] = (wk_running){ r->v[i].job_id, r->v[i].task_id, r->v[i].attempt,
                             r->v[i].images_done };
    wk_bytes b = { 0 };
    int rc = wk_msg_goodbye(v, r->n, &b);
    free(v);
    if (w->sock && w->state == WS_READY) {
        gq_info("goodbye: %zu task(s) given back", r->n);
        send_built(w, &b, rc);
    } else {
        if (r->n)
            gq_warn("stopping while not registered with the broker: %zu task(s) return when "
                    "their leases expire", r->n);
        wk_bytes_release(&b);
    }
}

/* ---- the loop ---- */

static int loop(wstate *w, gq_error *err)
{
    int64_t grace = w->cfg->grace_ms > 0 ? w->cfg->grace_ms : DEFAULT_GRACE_MS;
    if (open_sock(w, err) != 0) return err->code;
    for (;;) {
        int64_t now = gq_mono_ms();
        if (w->fatal) return w->fatal;
        if (!w->stopping && atomic_load(w->cfg->stop)) {
            w->stopping = 1;
            w->grace_deadline = now + grace;
            wk_credit_stop(&w->credit);
            send_credit_if_due(w);
            if (w->held.n)
                gq_info("stopping: %zu task(s) held; the running one has %lld ms to finish",
                        w->held.n, (long long)grace);
            else
                gq_info("stopping");
            if (wk_exec_send(w->pair, WK_X_DRAIN, "", 0) != 0) return GQ_ENET;
        }
        if (w->stopping && w->held.n == 0) {
            send_goodbye(w, 0);
            return 0;
        }
        if (w->stopping && now >= w->grace_deadline) {
            gq_warn("grace period over; giving back %zu running task(s)", w->held.n);
            send_goodbye(w, 1);
            return 0;
        }
        if (w->state == WS_DOWN && now >= w->reconnect_at) {
            if (open_sock(w, err) != 0) return err->code;
        } else if (w->state != WS_DOWN && now - w->last_rx > w->liveness * w->hb_ms) {
            lost_broker(w, now, w->state == WS_HELLO ? "does not answer HELLO"
                                                     : "went silent");
        }
        if (w->state == WS_READY && now >= w->next_hb) {
            wk_bytes b = { 0 };
            send_built(w, &b, wk_msg_heartbeat(&b));
            w->next_hb = now + w->hb_ms;
        }
        send_credit_if_due(w);

        int64_t wait = 100;
        if (w->state == WS_READY && w->next_hb - now < wait) wait = w->next_hb - now;
        if (w->state == WS_DOWN && w->reconnect_at - now < wait) wait = w->reconnect_at - now;
        if (wait < 0) wait = 0;
        zmq_pollitem_t items[2] = { { .socket = w->pair, .events = ZMQ_POLLIN },
                                    { .socket = w->sock, .events = ZMQ_POLLIN } };
        int rc = zmq_poll(items, w->sock ? 2 : 1, (long)wait);
        if (rc < 0) {
            if (zmq_errno() == EINTR) continue;
            return gq_fail(err, GQ_ENET, "poll: %s", zmq_strerror(zmq_errno()));
        }
        if (items[0].revents & ZMQ_POLLIN) read_exec(w);
        if (w->sock && (items[1].revents & ZMQ_POLLIN)) read_broker(w, err);
    }
}

static int check_config(const worker_config *c, gq_error *err)
{
    if (!c->broker || !c->broker[0]) return gq_fail(err, GQ_EINVAL, "broker: an endpoint is required");
    if (!c->stop) return gq_fail(err, GQ_EINVAL, "stop: a stop flag is required");
    if (strncmp(c->broker, "inproc://", 9) == 0 && !c->zmq_ctx)
        return gq_fail(err, GQ_EINVAL, "broker: %s needs the shared zmq context", c->broker);
    if (strncmp(c->broker, "tcp://", 6) != 0 && strncmp(c->broker, "ipc://", 6) != 0 &&
        strncmp(c->broker, "inproc://", 9) != 0)
        return gq_fail(err, GQ_EINVAL,
                       "broker: \"%s\" is not a tcp://, ipc:// or inproc:// endpoint", c->broker);
    if (c->credits < 0 || c->credits > 64)
        return gq_fail(err, GQ_EINVAL, "credits: %d is outside 1..64", c->credits);
    if (c->engine_threads < 0 || c->engine_threads > 1024)
        return gq_fail(err, GQ_EINVAL, "threads: %d is outside 0..1024", c->engine_threads);
    if (c->encoder_threads < 0 || c->encoder_threads > 1024)
        return gq_fail(err, GQ_EINVAL, "encoder threads: %d is outside 0..1024",
                       c->encoder_threads);
    if (c->grace_ms < 0) return gq_fail(err, GQ_EINVAL, "grace: %d ms is negative", c->grace_ms);
    if (c->device && strcmp(c->device, "cpu") != 0 && strncmp(c->device, "cuda", 4) != 0)
        return gq_fail(err, GQ_EINVAL, "device: \"%s\" is not cpu or cuda[:N]", c->device);
    return 0;
}

int worker_run(const worker_config *c, gq_error *err)
{
    int rc = check_config(c, err);
    if (rc != 0) return rc;
    wstate w;
    memset(&w, 0, sizeof w);
    w.cfg = c;
    w.hb_ms = DEFAULT_HEARTBEAT_MS;
    w.liveness = DEFAULT_LIVENESS;
    wk_backoff_init(&w.backoff, WK_BACKOFF_MIN_MS, WK_BACKOFF_MAX_MS);
    wk_credit_init(&w.credit, c->credits ? c->credits : 2);
    if (c->name && c->name[0]) {
        snprintf(w.name, sizeof w.name, "%s", c->name);
    } else {
        char host[200] = "localhost";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = 0;
        snprintf(w.name, sizeof w.name, "%s:%d", host, (int)getpid());
    }

    engine_options eo = { .device = c->device ? c->device : "cpu",
                          .threads = c->engine_threads, .max_batch = 0 };
    if ((rc = wk_models_open(c->models_dir, &eo, &w.models, err)) != 0) return rc;

    int own_ctx = c->zmq_ctx == NULL;
    w.ctx = own_ctx ? zmq_ctx_new() : c->zmq_ctx;
    char ep[96];
    snprintf(ep, sizeof ep, "inproc://ganq-worker-exec-%p", (void *)&w);
    if (!w.ctx) {
        rc = gq_fail(err, GQ_ENET, "zmq: cannot create a context: %s", zmq_strerror(zmq_errno()));
        goto done;
    }
    w.pair = zmq_socket(w.ctx, ZMQ_PAIR);
    if (!w.pair || zmq_bind(w.pair, ep) != 0) {
        rc = gq_fail(err, GQ_ENET, "zmq: cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto done;
    }
    int linger = 0;
    zmq_setsockopt(w.pair, ZMQ_LINGER, &linger, sizeof linger);
    wk_exec_options xo = { .zmq_ctx = w.ctx, .pair_endpoint = ep, .models = w.models,
                           .encoder_threads = c->encoder_threads, .faults = &c->faults };
    if ((rc = wk_exec_start(&xo, &w.exec, err)) != 0) goto done;
    gq_info("worker %s: %zu model(s), %d credit(s), broker %s", w.name,
            wk_models_count(w.models), w.credit.capacity, c->broker);

    rc = loop(&w, err);
    if (rc != 0 && err && err->code == 0) gq_fail(err, rc, "worker stopped: %s", gq_strerror(rc));

done:
    if (w.exec) {
        if (wk_exec_send(w.pair, WK_X_QUIT, "", 0) != 0)
            gq_err("internal: cannot tell the executor to quit");
        wk_exec_join(w.exec);
    }
    if (w.pair) zmq_close(w.pair);
    if (w.sock) {
        /* linger 1 s lets a Goodbye out; nothing else is worth waiting for */
        int lg = w.state == WS_READY ? 1000 : 0;
        zmq_setsockopt(w.sock, ZMQ_LINGER, &lg, sizeof lg);
        zmq_close(w.sock);
    }
    held_release(&w.held);
    held_release(&w.returned);
    for (size_t i = 0; i < w.n_out; i++) {
        wk_bytes_release(&w.outbox[i].msg);
        free(w.outbox[i].task.job_id);
    }
    free(w.outbox);
    if (own_ctx && w.ctx) zmq_ctx_term(w.ctx);
    wk_models_free(w.models);
    return rc;
}
