/* broker.c: the ganq broker's event loop (see broker.h for the contract).
 *
 * Shape of one turn of the loop (broker_turn):
 *
 *     zmq_poll(clients, workers, timeout <= 100 ms)
 *     BEGIN IMMEDIATE
 *       drain ready client frames  -> handlers queue replies in the outbox
 *       drain ready worker frames  -> handlers change task/job rows, queue messages
 *       timers: heartbeats out, dead workers and expired leases requeued
 *       finalizers that finished -> job done / failed
 *       dispatch: for every worker with credit, sched_pick() a job, lease its next task
 *       watchers: JobInfo pushes (<= 4 a second each)
 *     COMMIT            (on failure: ROLLBACK, clients get ERR_INTERNAL, workers Reconnect)
 *     send the outbox   (so nothing is acknowledged before it is durable)
 *     start finalizer threads for jobs whose tasks all completed
 *
 * In memory the broker keeps only what dies with the process anyway: the live worker
 * sessions (routing id, credits, last seen, models), watchers, the outbox, finalizer
 * threads and rate samples. Everything a client was told lives in SQLite.
 *
 * Invariants:
 *  1. A task is leased to at most one live session; its row names that session's worker_id.
 *  2. A session's credits count tasks it may still be sent; each lease takes one.
 *  3. Replies leave only after the COMMIT of the turn that produced them.
 *  4. Only this thread touches the store and the sockets; finalizer threads get their own
 *     copies of the spec and plan and report through fin_mu.
 */
#include "broker/broker.h"
#include "broker/zap.h"
#include "proto/wire/curve.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/bwire.h"
#include "broker/classes.h"
#include "broker/sched.h"
#include "proto/base/gq_log.h"
#include "proto/base/gq_time.h"
#include "proto/plan/plan.h"
#include "proto/wire/wire.h"
#include "storage/db/store.h"
#include "storage/out/out.h"

#define MAX_RID         256     /* ZeroMQ routing ids are at most 255 bytes */
#define MAX_DRAIN       256     /* frames per socket per turn */
#define MAX_CREDITS     64
#define MAX_WATCHERS    1024
#define MAX_SESSIONS    4096
#define WATCH_MIN_MS    250     /* at most ~4 pushes a second per watcher */
#define MAX_TASKS_JOB   200000
#define MAX_STR         1024    /* generic bound on names */
#define EVENTS_DEFAULT  100     /* events per EventList when Events.limit is 0 */
#define PRUNE_EVERY_MS  1000    /* events retention: one batch a second ... */
#define PRUNE_BATCH     10000   /* ... of at most this many rows */

/* ------------------------------------------------------------------ structures */

typedef struct peer {            /* where a reply goes */
    uint8_t rid[MAX_RID];        /* routing id */
    size_t  rid_len;
    int     delim;               /* the peer put an empty delimiter frame before the body */
} peer;

typedef struct session {         /* a registered, live worker */
    peer        p;
    char        id[STORE_ID_MAX];/* worker id given in HelloAck */
    char        name[128];
    int64_t     last_seen;       /* mono ms of its last frame */
    int64_t     last_hb;         /* mono ms of our last heartbeat to it */
    uint32_t    credits;         /* tasks it may still be sent */
    sched_model *models;         /* name/sha256 pairs (strings owned) */
    size_t      nmodels;
} session;

typedef struct watcher {
    peer     p;
    uint64_t request_id;
    char     job_id[STORE_ID_MAX];
    int64_t  last_sent;          /* mono ms */
    uint64_t last_done;
    int      last_state;
    uint32_t last_tasks;         /* done + failed + leased, to notice changes */
} watcher;

typedef struct outmsg {
    int      sock;               /* 0 clients, 1 workers */
    peer     p;
    uint8_t *data;
    size_t   len;
    int      client_reply;       /* 1: replace by ERR_INTERNAL if the turn's commit fails */
    uint64_t request_id;
} outmsg;

typedef struct fin {             /* one finalization in flight */
    char               job_id[STORE_ID_MAX];
    Ganq__V1__JobSpec *spec;     /* owned */
    plan              *p;        /* owned */
    pthread_t          th;
    int                started;
    int                finished; /* set under fin_mu */
    int                rc;
    char               msg[GQ_ERROR_MSG_MAX];
} fin;

typedef struct rate {            /* images/s estimate of one job */
    char     job_id[STORE_ID_MAX];
    int64_t  t_old, t_new;       /* mono ms */
    uint64_t d_old, d_new;
} rate;

typedef struct broker {
    const broker_config *cfg;
    store   *st;
    void    *ctx;
    int      own_ctx;
    broker_zap *zap;    /* ZAP handler thread when CURVE is on, else NULL */
    void    *cs, *ws;            /* ROUTER sockets: clients, workers */
    session *sess;
    size_t   nsess, capsess;
    watcher *wat;
    size_t   nwat;
    outmsg  *out;
    size_t   nout, capout;
    fin    **fins;
    size_t   nfins;
    pthread_mutex_t fin_mu;
    rate    *rates;
    size_t   nrates;
    char   (*to_finalize)[STORE_ID_MAX];  /* jobs to start finalizing after this turn */
    size_t   nto_fin;
    int64_t  last_expiry;        /* mono ms of the last lease-expiry scan */
    int64_t  last_prune;         /* mono ms of the last events-retention batch */
    size_t   rr;                 /* round-robin start for dispatch */
    int      fault_kind;         /* 0 none, 1 exit-before-commit, 2 exit-after-commit */
    long     fault_n;
    long     writing_turns;
    int      dispatch_dirty;     /* something changed that may allow new leases */
    int      in_msg;             /* handling one frame inside its savepoint */
    int      msg_failed;         /* that frame was answered with an Error */
    size_t   msg_mark;           /* outbox length when the frame's handling began */
} broker;

static int64_t grace_ms(const broker *b) { return (int64_t)b->cfg->liveness * b->cfg->heartbeat_ms; }

/* ------------------------------------------------------------------ config */

void broker_config_init(broker_config *c)
{
    memset(c, 0, sizeof *c);
    c->clients_ep = "tcp://127.0.0.1:5555";
    c->workers_ep = "tcp://127.0.0.1:5556";
    c->heartbeat_ms = 1000;
    c->liveness = 3;
    c->max_attempts = 3;
    c->lease_ms = 120000;
    c->events_keep = 1000000;
}

int broker_endpoint_is_local(const char *ep)
{
    if (!ep)
        return 0;
    if (strncmp(ep, "ipc://", 6) == 0 || strncmp(ep, "inproc://", 9) == 0)
        return 1;
    static const char *const ok[] = {"tcp://127.0.0.1:", "tcp://localhost:", "tcp://[::1]:"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncmp(ep, ok[i], strlen(ok[i])) == 0)
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ outbox */

static void out_push(broker *b, int sock, const peer *p, Ganq__V1__Envelope *env, int client_reply)
{
    if (b->nout == b->capout) {
        size_t nc = b->capout ? b->capout * 2 : 64;
        outmsg *na = realloc(b->out, nc * sizeof *na);
        if (!na) {
            gq_err("out of memory queueing a reply: dropped");
            return;
        }
        b->out = na;
        b->capout = nc;
    }
    outmsg *m = &b->out[b->nout];
    memset(m, 0, sizeof *m);
    gq_error err;
    gq_error_clear(&err);
    int rc = wire_encode(env, &m->data, &m->len, &err);
    if (rc < 0) {
        /* our own message does not validate: a bug or bad stored data; say so, do not crash */
        gq_err("outgoing %s refused by the codec: %s", wire_body_name(env->body_case),
               gq_error_str(&err, rc));
        if (!client_reply)
            return;
        Ganq__V1__Envelope ee;
        Ganq__V1__Error e = GANQ__V1__ERROR__INIT;
        wire_env_init(&ee, env->request_id);
        ee.body_case = GANQ__V1__ENVELOPE__BODY_ERROR;
        ee.error = &e;
        e.code = GANQ__V1__ERROR_CODE__ERR_INTERNAL;
        e.field = "";
        e.message = err.msg;
        ee.version = WIRE_VERSION;
        if (wire_encode_raw(&ee, &m->data, &m->len) < 0)
            return;
    }
    m->sock = sock;
    m->p = *p;
    m->client_reply = client_reply;
    m->request_id = env->request_id;
    b->nout++;
}

static void send_frames(void *sock, const peer *p, const void *data, size_t len)
{
    if (zmq_send(sock, p->rid, p->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;   /* peer gone or HWM: ROUTER drops; the peer's retry/heartbeat logic copes */
    if (p->delim && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return;
    if (zmq_send(sock, data, len, ZMQ_DONTWAIT) < 0)
        gq_debug("send failed: %s", zmq_strerror(errno));
}

static void send_error_now(broker *b, void *sock, const peer *p, uint64_t request_id, int code,
                           const char *field, const char *msg);

/* Send (ok) or convert (commit failed) the outbox, then empty it. */
static void out_flush(broker *b, int ok)
{
    for (size_t i = 0; i < b->nout; i++) {
        outmsg *m = &b->out[i];
        void *sock = m->sock ? b->ws : b->cs;
        if (ok)
            send_frames(sock, &m->p, m->data, m->len);
        else if (m->client_reply)
            send_error_now(b, sock, &m->p, m->request_id, GANQ__V1__ERROR_CODE__ERR_INTERNAL,
                           "", "broker: the database refused the change; retry");
        free(m->data);
    }
    b->nout = 0;
}

static void error_env(Ganq__V1__Envelope *env, Ganq__V1__Error *e, uint64_t request_id,
                      int code, const char *field, const char *msg)
{
    env->request_id = request_id;
    env->body_case = GANQ__V1__ENVELOPE__BODY_ERROR;
    env->error = e;
    e->code = (Ganq__V1__ErrorCode)code;
    e->field = (char *)(field ? field : "");
    e->message = (char *)(msg ? msg : "");
}

static void send_error_now(broker *b, void *sock, const peer *p, uint64_t request_id, int code,
                           const char *field, const char *msg)
{
    (void)b;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__Error e = GANQ__V1__ERROR__INIT;
    error_env(&env, &e, request_id, code, field, msg);
    uint8_t *d;
    size_t n;
    env.version = WIRE_VERSION;
    if (wire_encode_raw(&env, &d, &n) == 0) {
        send_frames(sock, p, d, n);
        free(d);
    }
}

/* Queue an Error reply built from a gq_error. */
static void reply_error(broker *b, int sock, const peer *p, uint64_t request_id, int rc,
                        const gq_error *err)
{
    if (b->in_msg && !b->msg_failed) {
        /* the message is refused as a whole: drop what its handler queued so far (its
         * writes are undone by the savepoint rollback in broker_turn) */
        b->msg_failed = 1;
        for (size_t i = b->msg_mark; i < b->nout; i++)
            free(b->out[i].data);
        b->nout = b->msg_mark;
    }
    char field[128];
    const char *msg = gq_error_str(err, rc);
    gq_error tmp = *err;
    if (tmp.code == GQ_OK)
        snprintf(tmp.msg, sizeof tmp.msg, "%s", msg);
    wire_error_field(&tmp, field, sizeof field);
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__Error e = GANQ__V1__ERROR__INIT;
    error_env(&env, &e, request_id, wire_error_code_of_status(rc), field, msg);
    out_push(b, sock, p, &env, sock == 0);
}

/* ------------------------------------------------------------------ sessions */

static session *sess_by_rid(broker *b, const peer *p)
{
    for (size_t i = 0; i < b->nsess; i++)
        if (b->sess[i].p.rid_len == p->rid_len && memcmp(b->sess[i].p.rid, p->rid, p->rid_len) == 0)
            return &b->sess[i];
    return NULL;
}

static session *sess_by_id(broker *b, const char *id)
{
    if (!id || !id[0])
        return NULL;
    for (size_t i = 0; i < b->nsess; i++)
        if (strcmp(b->sess[i].id, id) == 0)
            return &b->sess[i];
    return NULL;
}

static void sess_free_models(session *s)
{
    for (size_t i = 0; i < s->nmodels; i++) {
        free((char *)s->models[i].name);
        free((char *)s->models[i].sha256);
    }
    free(s->models);
    s->models = NULL;
    s->nmodels = 0;
}

static void sess_remove(broker *b, session *s)
{
    size_t i = (size_t)(s - b->sess);
    GQ_ASSERT(i < b->nsess);
    sess_free_models(s);
    b->sess[i] = b->sess[b->nsess - 1];
    b->nsess--;
}

/* ------------------------------------------------------------------ models */

static const char *const testcard_names[10] = {"class0", "class1", "class2", "class3", "class4",
                                               "class5", "class6", "class7", "class8", "class9"};

/* A model description for planning: either a ModelInfo from the catalogue or testcard. */
typedef struct model_desc {
    Ganq__V1__ModelInfo *info;   /* owned, NULL for the built-in testcard description */
    plan_model pm;
    char sha256[65];
} model_desc;

static void model_desc_release(model_desc *m)
{
    if (m->info)
        ganq__v1__model_info__free_unpacked(m->info, NULL);
    m->info = NULL;
}

/* Find model name (sha256 "" = newest). GQ_ENOTFOUND names the known models. */
static int model_lookup(broker *b, const char *name, const char *sha256, model_desc *m,
                        gq_error *err)
{
    memset(m, 0, sizeof *m);
    uint8_t *blob = NULL;
    size_t len = 0;
    gq_error e2;
    gq_error_clear(&e2);
    int rc = store_model_get(b->st, name, sha256 ? sha256 : "", &blob, &len, &e2);
    if (rc == 0) {
        m->info = ganq__v1__model_info__unpack(NULL, len, blob);
        free(blob);
        if (!m->info)
            return gq_fail(err, GQ_EDB, "model: catalogue entry of \"%s\" is corrupt", name);
        m->pm.num_classes = (int)m->info->num_classes;
        m->pm.class_names = m->info->n_class_names == m->info->num_classes
                                ? (const char *const *)m->info->class_names : NULL;
        m->pm.z_dim = 128;   /* informational for validation; workers know the real one */
        m->pm.standing_stats = m->info->standing_stats;
        snprintf(m->sha256, sizeof m->sha256, "%s", m->info->sha256);
        return GQ_OK;
    }
    if (rc != GQ_ENOTFOUND)
        return gq_fail(err, rc, "%s", e2.msg);
    if (strcmp(name, "testcard") == 0 && (!sha256 || !sha256[0])) {
        m->pm.num_classes = 10;
        m->pm.class_names = testcard_names;
        m->pm.z_dim = 128;
        m->pm.standing_stats = 0;
        return GQ_OK;
    }
    char *names = NULL;
    if (store_model_names(b->st, &names, NULL) < 0)
        names = NULL;
    int has_tc = names && strstr(names, "testcard") != NULL;
    if (sha256 && sha256[0])
        rc = gq_fail(err, GQ_ENOTFOUND, "submit.spec.model_sha256: no registered worker has model \"%s\" "
                     "with sha256 %s", name, sha256);
    else
        rc = gq_fail(err, GQ_ENOTFOUND, "submit.spec.model: \"%s\" is not known; known models: %s%s%s",
                     name, has_tc ? "" : "testcard", (!has_tc && names && names[0]) ? ", " : "",
                     names ? names : "");
    free(names);
    return rc;
}

/* ------------------------------------------------------------------ job info */

static void rate_update(broker *b, const char *job_id, uint64_t done, double *out)
{
    int64_t now = gq_mono_ms();
    rate *r = NULL;
    for (size_t i = 0; i < b->nrates; i++)
        if (strcmp(b->rates[i].job_id, job_id) == 0)
            r = &b->rates[i];
    if (!r) {
        rate *na = realloc(b->rates, (b->nrates + 1) * sizeof *na);
        if (!na) {
            *out = 0;
            return;
        }
        b->rates = na;
        r = &b->rates[b->nrates++];
        memset(r, 0, sizeof *r);
        snprintf(r->job_id, sizeof r->job_id, "%s", job_id);
        r->t_old = r->t_new = now;
        r->d_old = r->d_new = done;
    }
    if (now - r->t_old > 5000) {   /* slide the window: keep 2.5..5 s of history */
        r->t_old = r->t_new;
        r->d_old = r->d_new;
    }
    if (now - r->t_new >= 2500 || done < r->d_new) {
        r->t_new = now;
        r->d_new = done;
    }
    if (done < r->d_old) {
        r->d_old = done;
        r->t_old = now;
    }
    int64_t dt = now - r->t_old;
    *out = dt > 0 ? (double)(done - r->d_old) * 1000.0 / (double)dt : 0.0;
}

static void rate_forget(broker *b, const char *job_id)
{
    for (size_t i = 0; i < b->nrates; i++)
        if (strcmp(b->rates[i].job_id, job_id) == 0) {
            b->rates[i] = b->rates[--b->nrates];
            return;
        }
}

/* Everything a JobInfo points to that must be freed after packing. */
typedef struct jobinfo_hold {
    Ganq__V1__JobInfo     ji;
    store_job             job;
    Ganq__V1__JobSpec    *spec;
    store_output         *outs;
    size_t                nouts;
    Ganq__V1__OutputRecord *recs;
    Ganq__V1__OutputRecord **precs;
} jobinfo_hold;

static void jobinfo_release(jobinfo_hold *h)
{
    bwire_spec_free(h->spec);
    store_job_release(&h->job);
    free(h->outs);
    free(h->recs);
    free(h->precs);
    memset(h, 0, sizeof *h);
}

static int jobinfo_build(broker *b, const char *job_id, int with_outputs, jobinfo_hold *h,
                         gq_error *err)
{
    memset(h, 0, sizeof *h);
    Ganq__V1__JobInfo init = GANQ__V1__JOB_INFO__INIT;
    h->ji = init;
    int rc = store_job_get(b->st, job_id, &h->job, err);
    if (rc < 0)
        return rc;
    store_job_counts c;
    if ((rc = store_job_counts_get(b->st, job_id, &c, err)) < 0)
        goto fail;
    h->spec = bwire_spec_unpack(h->job.spec, h->job.spec_len);
    Ganq__V1__JobInfo *ji = &h->ji;
    ji->job_id = h->job.id;
    ji->state = (Ganq__V1__JobState)h->job.state;
    ji->spec = h->spec;
    ji->total = h->job.total;
    ji->done = c.images_done > h->job.total ? h->job.total : c.images_done;
    ji->tasks_total = h->job.tasks_total;
    ji->tasks_done = c.done;
    ji->tasks_failed = c.failed;
    ji->tasks_leased = c.leased;
    ji->reason = h->job.reason;
    ji->created_ms = h->job.created_ms;
    ji->started_ms = h->job.started_ms;
    ji->finished_ms = h->job.finished_ms;
    ji->manifest = h->job.manifest;
    if (store_job_state_terminal(h->job.state))
        ji->rate = 0;
    else
        rate_update(b, job_id, ji->done, &ji->rate);
    if (with_outputs) {
        if ((rc = store_outputs_of_job(b->st, job_id, &h->outs, &h->nouts, err)) < 0)
            goto fail;
        if (h->nouts) {
            h->recs = calloc(h->nouts, sizeof *h->recs);
            h->precs = calloc(h->nouts, sizeof *h->precs);
            if (!h->recs || !h->precs) {
                rc = gq_fail(err, GQ_ENOMEM, "status: out of memory");
                goto fail;
            }
            for (size_t i = 0; i < h->nouts; i++) {
                Ganq__V1__OutputRecord r = GANQ__V1__OUTPUT_RECORD__INIT;
                r.path = h->outs[i].path;
                r.images = h->outs[i].images;
                r.bytes = h->outs[i].bytes;
                r.sha256 = h->outs[i].sha256;
                r.first_index = h->outs[i].first_index;
                h->recs[i] = r;
                h->precs[i] = &h->recs[i];
            }
            ji->n_outputs = h->nouts;
            ji->outputs = h->precs;
        }
    }
    return GQ_OK;
fail:
    jobinfo_release(h);
    return rc;
}

static void reply_jobinfo(broker *b, const peer *p, uint64_t request_id, const char *job_id,
                          int with_outputs)
{
    gq_error err;
    gq_error_clear(&err);
    jobinfo_hold h;
    int rc = jobinfo_build(b, job_id, with_outputs, &h, &err);
    if (rc < 0) {
        reply_error(b, 0, p, request_id, rc, &err);
        return;
    }
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.request_id = request_id;
    env.body_case = GANQ__V1__ENVELOPE__BODY_JOB_INFO;
    env.job_info = &h.ji;
    out_push(b, 0, p, &env, 1);
    jobinfo_release(&h);
}

/* ------------------------------------------------------------------ worker messages out */

static void send_to_worker(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    out_push(b, 1, p, env, 0);
}

static void send_cancel_task(broker *b, const char *worker_id, const char *job_id, uint64_t task_id)
{
    session *s = sess_by_id(b, worker_id);
    if (!s)
        return;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__CancelTask ct = GANQ__V1__CANCEL_TASK__INIT;
    ct.job_id = (char *)job_id;
    ct.task_id = task_id;
    env.body_case = GANQ__V1__ENVELOPE__BODY_CANCEL_TASK;
    env.cancel_task = &ct;
    send_to_worker(b, &s->p, &env);
}

static void send_simple(broker *b, const peer *p, int body)
{
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
    Ganq__V1__Reconnect rc = GANQ__V1__RECONNECT__INIT;
    env.body_case = (Ganq__V1__Envelope__BodyCase)body;
    if (body == GANQ__V1__ENVELOPE__BODY_HEARTBEAT)
        env.heartbeat = &hb;
    else
        env.reconnect = &rc;
    send_to_worker(b, p, &env);
}

/* ------------------------------------------------------------------ job transitions */

/* Stop every unfinished task of job (pending and leased -> cancelled; CancelTask sent to the
 * holders) and move the job to `to` (failed or cancelled). */
static int job_stop(broker *b, const char *job_id, int to, const char *reason, gq_error *err)
{
    int rc;
    int64_t now = gq_wall_ms();
    store_task *ts = NULL;
    size_t n = 0;
    if ((rc = store_tasks_query(b->st, STORE_TASKS_LEASED_OF_JOB, job_id, 0, &ts, &n, err)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = store_task_set_state(b->st, job_id, ts[i].task_id, STORE_TASK_CANCELLED, reason, err);
        if (rc == 0)
            send_cancel_task(b, ts[i].worker_id, job_id, ts[i].task_id);
    }
    free(ts);
    if (rc < 0)
        return rc;
    if ((rc = store_tasks_query(b->st, STORE_TASKS_PENDING_OF_JOB, job_id, 0, &ts, &n, err)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = store_task_set_state(b->st, job_id, ts[i].task_id, STORE_TASK_CANCELLED, reason, err);
    free(ts);
    if (rc < 0)
        return rc;
    if ((rc = store_job_set_state(b->st, job_id, to, reason, now, err)) < 0)
        return rc;
    rc = store_event(b->st, now, to == STORE_JOB_FAILED ? "job_failed" : "job_cancelled", job_id,
                     -1, NULL, reason, err);
    if (to == STORE_JOB_FAILED)
        gq_warn("job %s failed: %s", job_id, reason ? reason : "");
    else
        gq_info("job %s cancelled", job_id);
    rate_forget(b, job_id);
    return rc;
}

/* A leased task lost its worker or its lease: back to pending, or failed (and its job) when
 * its attempts are used up. */
static int task_requeue(broker *b, const store_task *t, const char *why, gq_error *err)
{
    store_job j;
    int rc = store_job_get(b->st, t->job_id, &j, err);
    if (rc < 0)
        return rc;
    uint32_t max = j.max_attempts;
    store_job_release(&j);
    int64_t now = gq_wall_ms();
    b->dispatch_dirty = 1;
    if (t->attempts >= max) {
        char reason[512];
        snprintf(reason, sizeof reason, "task %" PRIu64 " [%" PRIu64 ", %" PRIu64 ") gave up "
                 "after %u attempts; last: %s", t->task_id, t->start, t->end, t->attempts, why);
        if ((rc = store_task_set_state(b->st, t->job_id, t->task_id, STORE_TASK_FAILED, why,
                                       err)) < 0)
            return rc;
        return job_stop(b, t->job_id, STORE_JOB_FAILED, reason, err);
    }
    if ((rc = store_task_set_state(b->st, t->job_id, t->task_id, STORE_TASK_PENDING, why, err)) < 0)
        return rc;
    gq_info("task %s/%" PRIu64 " requeued (attempt %u of %u): %s", t->job_id, t->task_id,
            t->attempts, max, why);
    return store_event(b->st, now, "requeue", t->job_id, (int64_t)t->task_id, t->worker_id, why,
                       err);
}

/* A worker is gone (dead or said Goodbye): requeue what it held, forget the session. */
static int worker_gone(broker *b, session *s, const char *why, gq_error *err)
{
    store_task *ts = NULL;
    size_t n = 0;
    int rc = store_tasks_query(b->st, STORE_TASKS_OF_WORKER, s->id, 0, &ts, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = task_requeue(b, &ts[i], why, err);
    free(ts);
    if (rc < 0)
        return rc;
    int64_t now = gq_wall_ms();
    if ((rc = store_worker_set_state(b->st, s->id, "dead", now, err)) < 0)
        return rc;
    rc = store_event(b->st, now, "worker_dead", NULL, -1, s->id, why, err);
    gq_log(strcmp(why, "said goodbye") == 0 ? GQ_LOG_INFO : GQ_LOG_WARN,
           "worker %s (%s) is gone: %s; %zu task(s) requeued", s->id, s->name, why, n);
    sess_remove(b, s);
    return rc;
}

/* If every task of a running job is done, queue it for finalization after this turn. */
static int job_check_complete(broker *b, const char *job_id, gq_error *err)
{
    store_job j;
    int rc = store_job_get(b->st, job_id, &j, err);
    if (rc < 0)
        return rc;
    int state = j.state;
    uint32_t total = j.tasks_total;
    store_job_release(&j);
    if (state != STORE_JOB_RUNNING)
        return GQ_OK;
    int all = 0;
    if ((rc = store_job_all_done(b->st, job_id, &all, err)) < 0)
        return rc;
    (void)total;
    if (!all)
        return GQ_OK;
    for (size_t i = 0; i < b->nfins; i++)
        if (strcmp(b->fins[i]->job_id, job_id) == 0)
            return GQ_OK;   /* already finalizing */
    for (size_t i = 0; i < b->nto_fin; i++)
        if (strcmp(b->to_finalize[i], job_id) == 0)
            return GQ_OK;
    char (*na)[STORE_ID_MAX] = realloc(b->to_finalize, (b->nto_fin + 1) * sizeof *na);
    if (!na)
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    b->to_finalize = na;
    snprintf(b->to_finalize[b->nto_fin++], STORE_ID_MAX, "%s", job_id);
    return GQ_OK;
}

/* ------------------------------------------------------------------ finalizer */

static void *fin_main(void *arg)
{
    fin *f = arg;
    broker *b = NULL;
    memcpy(&b, f->msg, sizeof b);   /* the broker pointer is passed through msg (see fin_start) */
    f->msg[0] = '\0';
    gq_error err;
    gq_error_clear(&err);
    int rc = 0;
    const char *fault = getenv("GANQ_BROKER_FINALIZE_FAIL");
    if (fault && *fault) {
        rc = gq_fail(&err, GQ_EIO, "%s", fault);
    } else if (b->cfg->finalize) {
        rc = b->cfg->finalize(b->cfg->finalize_ctx, f->job_id, f->spec, f->p, &err);
    } else {
        rc = out_finalize_job(f->job_id, f->spec, f->p, &err);
    }
    pthread_mutex_lock(&b->fin_mu);
    f->rc = rc;
    snprintf(f->msg, sizeof f->msg, "%s", rc < 0 ? gq_error_str(&err, rc) : "");
    f->finished = 1;
    pthread_mutex_unlock(&b->fin_mu);
    return NULL;
}

static int spec_plan(broker *b, const Ganq__V1__JobSpec *spec, plan **p, gq_error *err)
{
    model_desc m;
    int rc = model_lookup(b, spec->model, spec->model_sha256, &m, err);
    if (rc < 0)
        return rc;
    rc = plan_init(spec, &m.pm, p, err);
    model_desc_release(&m);
    return rc;
}

/* Start finalizing job (outside the transaction; nothing is written here). On a setup error
 * the job is failed in the next turn through the same completion path. */
static void fin_start(broker *b, const char *job_id)
{
    fin *f = calloc(1, sizeof *f);
    fin **na = f ? realloc(b->fins, (b->nfins + 1) * sizeof *na) : NULL;
    if (!f || !na) {
        free(f);
        gq_err("job %s: out of memory starting the finalizer; retried on the next Done", job_id);
        return;
    }
    b->fins = na;
    snprintf(f->job_id, sizeof f->job_id, "%s", job_id);
    b->fins[b->nfins++] = f;
    gq_error err;
    gq_error_clear(&err);
    store_job j;
    int rc = store_job_get(b->st, job_id, &j, &err);
    if (rc == 0) {
        f->spec = bwire_spec_unpack(j.spec, j.spec_len);
        store_job_release(&j);
        if (!f->spec)
            rc = gq_fail(&err, GQ_EDB, "finalize: the stored spec of job %s does not decode",
                         job_id);
    }
    if (rc == 0)
        rc = spec_plan(b, f->spec, &f->p, &err);
    if (rc == 0) {
        memcpy(f->msg, &b, sizeof b);
        if (pthread_create(&f->th, NULL, fin_main, f) == 0) {
            f->started = 1;
            gq_info("job %s: all tasks done, finalizing", job_id);
            return;
        }
        rc = gq_fail(&err, GQ_ENOMEM, "finalize: cannot start a thread");
    }
    f->rc = rc;
    snprintf(f->msg, sizeof f->msg, "finalize: %s", gq_error_str(&err, rc));
    f->finished = 1;
}

static void fin_free(fin *f)
{
    if (f->started)
        pthread_join(f->th, NULL);
    bwire_spec_free(f->spec);
    if (f->p)
        plan_free(f->p);
    free(f);
}

/* Apply finished finalizations (inside the turn's transaction). */
static int fin_collect(broker *b, gq_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < b->nfins && rc == 0;) {
        fin *f = b->fins[i];
        pthread_mutex_lock(&b->fin_mu);
        int finished = f->finished;
        pthread_mutex_unlock(&b->fin_mu);
        if (!finished) {
            i++;
            continue;
        }
        store_job j;
        int64_t now = gq_wall_ms();
        if ((rc = store_job_get(b->st, f->job_id, &j, err)) < 0)
            break;
        int state = j.state;
        store_job_release(&j);
        if (state == STORE_JOB_RUNNING) {
            if (f->rc == 0) {
                if ((rc = store_job_set_manifest(b->st, f->job_id, "manifest.jsonl", err)) == 0 &&
                    (rc = store_job_set_state(b->st, f->job_id, STORE_JOB_DONE, NULL, now, err)) == 0)
                    rc = store_event(b->st, now, "job_done", f->job_id, -1, NULL, NULL, err);
                gq_info("job %s done", f->job_id);
                rate_forget(b, f->job_id);
            } else {
                char reason[600];
                snprintf(reason, sizeof reason, "finalizing failed: %s", f->msg);
                rc = job_stop(b, f->job_id, STORE_JOB_FAILED, reason, err);
            }
        }
        if (rc < 0)
            break;   /* keep f: retried next turn */
        fin_free(f);
        b->fins[i] = b->fins[--b->nfins];
    }
    return rc;
}

/* ------------------------------------------------------------------ client handlers */

static int check_len(const char *s, size_t max, const char *field, gq_error *err)
{
    if (s && strlen(s) > max)
        return gq_fail(err, GQ_EINVAL, "%s: longer than %zu bytes", field, max);
    return GQ_OK;
}

static uint64_t default_task_size(const model_desc *m)
{
    if (!m->info || strcmp(m->info->family, "testcard") == 0 ||
        strcmp(m->info->name, "testcard") == 0)
        return 1000;                      /* the test pattern is ~microseconds an image */
    uint32_t r = m->info->resolution;
    return r >= 512 ? 8 : r >= 256 ? 16 : 32;   /* seconds of CPU/GPU work per task */
}

/* Resolve, validate, store and split a submitted spec. OUT: job id, total, tasks. */
static int submit(broker *b, Ganq__V1__JobSpec *spec, char job_id[STORE_ID_MAX], uint64_t *total,
                  uint32_t *ntasks, gq_error *err)
{
    int rc;
    if (!spec)
        return gq_fail(err, GQ_EINVAL, "submit.spec: missing");
    if (!spec->model || !spec->model[0])
        return gq_fail(err, GQ_EINVAL, "submit.spec.model: required (e.g. testcard)");
    if ((rc = check_len(spec->model, 127, "submit.spec.model", err)) < 0 ||
        (rc = check_len(spec->owner, 127, "submit.spec.owner", err)) < 0 ||
        (rc = check_len(spec->name, 127, "submit.spec.name", err)) < 0 ||
        (rc = check_len(spec->model_sha256, 64, "submit.spec.model_sha256", err)) < 0 ||
        (rc = check_len(spec->classes, 65536, "submit.spec.classes", err)) < 0 ||
        (rc = check_len(spec->out_dir, 4096, "submit.spec.out_dir", err)) < 0)
        return rc;
    if (spec->priority < -100 || spec->priority > 100)
        return gq_fail(err, GQ_EINVAL, "submit.spec.priority: %d is outside -100..100", spec->priority);
    if (spec->max_attempts > 100)
        return gq_fail(err, GQ_EINVAL, "submit.spec.max_attempts: %u is above 100", spec->max_attempts);
    if (spec->task_size > 1000000)
        return gq_fail(err, GQ_EINVAL, "submit.spec.task_size: %u is above 1000000", spec->task_size);
    model_desc m;
    if ((rc = model_lookup(b, spec->model, spec->model_sha256, &m, err)) < 0)
        return rc;
    plan *p = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    int nc = m.pm.num_classes;
    /* classes -> class_ids */
    if (spec->kind == GANQ__V1__JOB_KIND__KIND_INTERPOLATE) {
        if (spec->class_a_name && spec->class_a_name[0] &&
            (rc = broker_resolve_class(spec->class_a_name, m.pm.class_names, nc,
                                       "submit.spec.class_a_name", &spec->class_a, err)) < 0)
            goto out;
        if (spec->class_b_name && spec->class_b_name[0] &&
            (rc = broker_resolve_class(spec->class_b_name, m.pm.class_names, nc,
                                       "submit.spec.class_b_name", &spec->class_b, err)) < 0)
            goto out;
    }
    if ((spec->classes && spec->classes[0]) || spec->n_class_ids == 0) {
        const char *expr = spec->classes && spec->classes[0] ? spec->classes : "all";
        int32_t *ids = NULL;
        size_t nids = 0;
        if ((rc = broker_resolve_classes(expr, m.pm.class_names, nc, "submit.spec.classes", &ids, &nids,
                                         err)) < 0)
            goto out;
        free(spec->class_ids);
        spec->class_ids = ids;
        spec->n_class_ids = nids;
    } else {
        for (size_t i = 0; i < spec->n_class_ids; i++)
            if (spec->class_ids[i] < 0 || spec->class_ids[i] >= nc) {
                rc = gq_fail(err, GQ_EINVAL, "submit.spec.class_ids: %d is outside 0..%d",
                             spec->class_ids[i], nc - 1);
                goto out;
            }
    }
    if (m.sha256[0] && (!spec->model_sha256 || !spec->model_sha256[0])) {
        char *d = strdup(m.sha256);
        if (!d) {
            rc = gq_fail(err, GQ_ENOMEM, "submit: out of memory");
            goto out;
        }
        if (spec->model_sha256 != protobuf_c_empty_string)
            free(spec->model_sha256);
        spec->model_sha256 = d;
    }
    if (spec->max_attempts == 0)
        spec->max_attempts = (uint32_t)b->cfg->max_attempts;
    if ((rc = plan_init(spec, &m.pm, &p, err)) < 0)
        goto out;
    uint64_t n = plan_total(p);
    uint64_t ts = spec->task_size ? spec->task_size : default_task_size(&m);
    if (n / ts >= MAX_TASKS_JOB)   /* huge jobs: bigger tasks, not more rows */
        ts = n / (MAX_TASKS_JOB / 2);
    /* task boundaries come from the plan: rounded to the container size and clipped at
     * container/split ends, so no task straddles an output container */
    uint64_t count = 0;
    for (uint64_t s = 0; s < n; s = plan_task_end(p, s, ts))
        count++;
    if (count > MAX_TASKS_JOB) {
        rc = gq_fail(err, GQ_EINVAL, "submit.spec.task_size: %" PRIu64 " images per task "
                     "make %" PRIu64 " tasks, above %u", ts, count, MAX_TASKS_JOB);
        goto out;
    }
    spec->task_size = (uint32_t)ts;
    if ((rc = bwire_spec_pack(spec, &blob, &blob_len)) < 0) {
        rc = gq_fail(err, GQ_ENOMEM, "submit: out of memory");
        goto out;
    }
    store_job j;
    memset(&j, 0, sizeof j);
    j.spec = blob;
    j.spec_len = blob_len;
    snprintf(j.model, sizeof j.model, "%s", spec->model);
    snprintf(j.model_sha256, sizeof j.model_sha256, "%s", spec->model_sha256 ? spec->model_sha256 : "");
    snprintf(j.owner, sizeof j.owner, "%s", spec->owner ? spec->owner : "");
    snprintf(j.name, sizeof j.name, "%s", spec->name ? spec->name : "");
    j.priority = spec->priority;
    j.total = n;
    j.tasks_total = (uint32_t)count;
    j.max_attempts = spec->max_attempts;
    j.created_ms = gq_wall_ms();
    if ((rc = store_job_insert(b->st, &j, err)) < 0)
        goto out;
    uint64_t k = 0;
    for (uint64_t s = 0, e; s < n; s = e, k++) {
        e = plan_task_end(p, s, ts);
        if ((rc = store_task_insert(b->st, j.id, k, s, e, err)) < 0)
            goto out;
    }
    GQ_ASSERT(k == count);
    char detail[256];
    snprintf(detail, sizeof detail, "%" PRIu64 " images in %u tasks of about %" PRIu64, n,
             j.tasks_total, ts);
    if ((rc = store_event(b->st, j.created_ms, "submit", j.id, -1, NULL, detail, err)) < 0)
        goto out;
    snprintf(job_id, STORE_ID_MAX, "%s", j.id);
    *total = n;
    *ntasks = j.tasks_total;
    b->dispatch_dirty = 1;
    gq_info("job %s submitted: model %s, %s", j.id, spec->model, detail);
out:
    free(blob);
    if (p)
        plan_free(p);
    model_desc_release(&m);
    return rc;
}

static void on_submit(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    char id[STORE_ID_MAX];
    uint64_t total = 0;
    uint32_t ntasks = 0;
    int rc = submit(b, env->submit->spec, id, &total, &ntasks, &err);
    if (rc < 0) {
        gq_info("submit refused: %s", gq_error_str(&err, rc));
        reply_error(b, 0, p, env->request_id, rc, &err);
        return;
    }
    Ganq__V1__Envelope r = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__SubmitReply sr = GANQ__V1__SUBMIT_REPLY__INIT;
    sr.job_id = id;
    sr.total = total;
    sr.tasks = ntasks;
    r.request_id = env->request_id;
    r.body_case = GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY;
    r.submit_reply = &sr;
    out_push(b, 0, p, &r, 1);
}

/* A job id from a request: present, and naming a job. what: "status", "cancel", "watch",
 * "events". */
static int valid_job_id(broker *b, const char *what, const char *id, gq_error *err)
{
    if (!id || !id[0])
        return gq_fail(err, GQ_EINVAL, "%s.job_id: required", what);
    if (strlen(id) >= STORE_ID_MAX)
        return gq_fail(err, GQ_EINVAL, "%s.job_id: longer than %d bytes", what, STORE_ID_MAX - 1);
    store_job j;
    gq_error e2;
    gq_error_clear(&e2);
    int rc = store_job_get(b->st, id, &j, &e2);
    if (rc == GQ_ENOTFOUND)
        return gq_fail(err, rc, "%s.job_id: no job \"%s\"", what, id);
    if (rc < 0)
        return gq_fail(err, rc, "%s", e2.msg);
    store_job_release(&j);
    return GQ_OK;
}

static void on_cancel(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    const char *id = env->cancel->job_id;
    store_job j;
    int rc = valid_job_id(b, "cancel", id, &err);
    if (rc == 0 && (rc = store_job_get(b->st, id, &j, &err)) == 0) {
        int state = j.state;
        store_job_release(&j);
        if (store_job_state_terminal(state))
            rc = gq_fail(&err, GQ_ESTATE, "cancel.job_id: job %s is already %s", id,
                         store_job_state_name(state));
        else
            rc = job_stop(b, id, STORE_JOB_CANCELLED, "cancelled by user", &err);
    }
    if (rc < 0) {
        reply_error(b, 0, p, env->request_id, rc, &err);
        return;
    }
    reply_jobinfo(b, p, env->request_id, id, 0);
}

static void on_status(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    int rc = valid_job_id(b, "status", env->status->job_id, &err);
    if (rc < 0) {
        reply_error(b, 0, p, env->request_id, rc, &err);
        return;
    }
    reply_jobinfo(b, p, env->request_id, env->status->job_id, env->status->with_outputs);
}

static void on_list(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    Ganq__V1__List *l = env->list;
    int rc = 0;
    if (l->state != 0 && !store_job_state_valid((int)l->state))
        rc = gq_fail(&err, GQ_EINVAL, "list.state: %d is not a job state (0..5)", (int)l->state);
    else if (l->limit > 10000)
        rc = gq_fail(&err, GQ_EINVAL, "list.limit: %u is above 10000", l->limit);
    else
        rc = check_len(l->owner, 127, "list.owner", &err);
    store_job *jobs = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = store_job_list(b->st, (int)l->state, l->owner, l->limit ? l->limit : 100, &jobs, &n,
                            &err);
    if (rc < 0) {
        reply_error(b, 0, p, env->request_id, rc, &err);
        return;
    }
    jobinfo_hold *h = calloc(n ? n : 1, sizeof *h);
    Ganq__V1__JobInfo **pj = calloc(n ? n : 1, sizeof *pj);
    size_t k = 0;
    if (h && pj)
        for (size_t i = 0; i < n; i++)
            if (jobinfo_build(b, jobs[i].id, 0, &h[k], &err) == 0) {
                pj[k] = &h[k].ji;
                k++;
            }
    store_job_list_free(jobs, n);
    Ganq__V1__Envelope r = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__JobList jl = GANQ__V1__JOB_LIST__INIT;
    jl.n_jobs = k;
    jl.jobs = pj;
    r.request_id = env->request_id;
    r.body_case = GANQ__V1__ENVELOPE__BODY_JOB_LIST;
    r.job_list = &jl;
    out_push(b, 0, p, &r, 1);
    for (size_t i = 0; i < k; i++)
        jobinfo_release(&h[i]);
    free(h);
    free(pj);
}

static void on_workers(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    store_worker *ws = NULL;
    size_t n = 0;
    int rc = store_worker_list(b->st, 1000, &ws, &n, &err);
    if (rc < 0) {
        reply_error(b, 0, p, env->request_id, rc, &err);
        return;
    }
    Ganq__V1__WorkerInfo *wi = calloc(n ? n : 1, sizeof *wi);
    Ganq__V1__WorkerInfo **pw = calloc(n ? n : 1, sizeof *pw);
    Ganq__V1__Hello **hellos = calloc(n ? n : 1, sizeof *hellos);
    char (*states)[16] = calloc(n ? n : 1, sizeof *states);
    size_t **saved = calloc(n ? n : 1, sizeof *saved);   /* class-name counts per model */
    size_t k = 0;
    if (wi && pw && hellos && states && saved) {
        for (size_t i = 0; i < n; i++) {
            Ganq__V1__WorkerInfo init = GANQ__V1__WORKER_INFO__INIT;
            wi[k] = init;
            wi[k].worker_id = ws[i].id;
            wi[k].name = ws[i].name;
            store_task *ts = NULL;
            size_t nt = 0;
            if (store_tasks_query(b->st, STORE_TASKS_OF_WORKER, ws[i].id, 0, &ts, &nt, NULL) == 0)
                free(ts);
            wi[k].tasks_leased = (uint32_t)nt;
            session *s = sess_by_id(b, ws[i].id);
            snprintf(states[k], sizeof states[k], "%s", !s ? "dead" : nt ? "busy" : "idle");
            wi[k].state = states[k];
            wi[k].last_seen_ms = ws[i].last_seen_ms;
            wi[k].images_done = ws[i].images_done;
            hellos[k] = ganq__v1__hello__unpack(NULL, ws[i].hello_len, ws[i].hello);
            if (hellos[k]) {
                wi[k].n_devices = hellos[k]->n_devices;
                wi[k].devices = hellos[k]->devices;
                wi[k].n_models = hellos[k]->n_models;
                wi[k].models = hellos[k]->models;
                /* keep the list small: no class names (counts restored before freeing) */
                saved[k] = calloc(hellos[k]->n_models ? hellos[k]->n_models : 1, sizeof **saved);
                if (saved[k])
                    for (size_t m = 0; m < hellos[k]->n_models; m++) {
                        saved[k][m] = hellos[k]->models[m]->n_class_names;
                        hellos[k]->models[m]->n_class_names = 0;
                    }
            }
            pw[k] = &wi[k];
            k++;
        }
    }
    Ganq__V1__Envelope r = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__WorkerList wl = GANQ__V1__WORKER_LIST__INIT;
    wl.n_workers = k;
    wl.workers = pw;
    r.request_id = env->request_id;
    r.body_case = GANQ__V1__ENVELOPE__BODY_WORKER_LIST;
    r.worker_list = &wl;
    out_push(b, 0, p, &r, 1);
    for (size_t i = 0; i < k; i++)
        if (hellos[i]) {
            /* restore the counts so free_unpacked frees every name */
            if (saved[i])
                for (size_t m = 0; m < hellos[i]->n_models; m++)
                    hellos[i]->models[m]->n_class_names = saved[i][m];
            free(saved[i]);
            ganq__v1__hello__free_unpacked(hellos[i], NULL);
        }
    free(saved);
    free(hellos);
    free(states);
    free(wi);
    free(pw);
    store_worker_list_free(ws, n);
}

/* Events: one page of the event log (seq > after_seq, oldest first), of one job or all; an
 * unknown job is ERR_NOT_FOUND like Status. The wire layer has checked the limit
 * (<= WIRE_MAX_EVENTS) and the kind. */
static void on_events(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    const Ganq__V1__Events *q = env->events;
    int rc = 0;
    if (q->job_id && q->job_id[0])
        rc = valid_job_id(b, "events", q->job_id, &err);
    store_event_info *ev = NULL;
    size_t n = 0;
    int more = 0;
    if (rc == 0)
        rc = store_events_list(b->st, q->job_id, q->kind, (int64_t)q->after_seq,
                               q->limit ? q->limit : EVENTS_DEFAULT, &ev, &n, &more, &err);
    Ganq__V1__EventInfo *ei = NULL;
    Ganq__V1__EventInfo **pe = NULL;
    if (rc == 0) {
        ei = calloc(n ? n : 1, sizeof *ei);
        pe = calloc(n ? n : 1, sizeof *pe);
        if (!ei || !pe)
            rc = gq_fail(&err, GQ_ENOMEM, "events: out of memory building the reply");
    }
    if (rc < 0) {
        reply_error(b, 0, p, env->request_id, rc, &err);
        free(ei);
        free(pe);
        store_events_list_free(ev, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        Ganq__V1__EventInfo init = GANQ__V1__EVENT_INFO__INIT;
        ei[i] = init;
        ei[i].seq = (uint64_t)ev[i].seq;
        ei[i].ts_ms = ev[i].ts_ms;
        ei[i].kind = ev[i].kind;
        ei[i].job_id = ev[i].job_id;
        ei[i].task_id = ev[i].task_id;
        ei[i].worker_id = ev[i].worker_id;
        /* details are written from bounded inputs; clip anyway (at a UTF-8 character
         * boundary) so that one odd row cannot make the whole page unsendable */
        size_t dl = strlen(ev[i].detail);
        if (dl > WIRE_MAX_TEXT) {
            dl = WIRE_MAX_TEXT;
            while (dl > 0 && ((unsigned char)ev[i].detail[dl] & 0xc0) == 0x80)
                dl--;
            ev[i].detail[dl] = '\0';
        }
        ei[i].detail = ev[i].detail;
        pe[i] = &ei[i];
    }
    Ganq__V1__Envelope r = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__EventList el = GANQ__V1__EVENT_LIST__INIT;
    el.n_events = n;
    el.events = pe;
    el.more = more;
    r.request_id = env->request_id;
    r.body_case = GANQ__V1__ENVELOPE__BODY_EVENT_LIST;
    r.event_list = &el;
    out_push(b, 0, p, &r, 1);
    free(ei);
    free(pe);
    store_events_list_free(ev, n);
}

static void on_watch(broker *b, const peer *p, Ganq__V1__Envelope *env)
{
    gq_error err;
    gq_error_clear(&err);
    const char *id = env->watch->job_id;
    store_job j;
    int rc = valid_job_id(b, "watch", id, &err);
    if (rc == 0)
        rc = store_job_get(b->st, id, &j, &err);
    if (rc < 0) {
        reply_error(b, 0, p, env->request_id, rc, &err);
        return;
    }
    int terminal = store_job_state_terminal(j.state);
    store_job_release(&j);
    reply_jobinfo(b, p, env->request_id, id, 0);
    if (terminal)
        return;
    /* one watcher per (peer, job): a repeated Watch replaces it */
    watcher *w = NULL;
    for (size_t i = 0; i < b->nwat; i++)
        if (b->wat[i].p.rid_len == p->rid_len && !memcmp(b->wat[i].p.rid, p->rid, p->rid_len) &&
            strcmp(b->wat[i].job_id, id) == 0)
            w = &b->wat[i];
    if (!w) {
        if (b->nwat >= MAX_WATCHERS) {
            /* watchers whose clients went away are never told apart from live ones (ROUTER
             * drops silently): make room by forgetting the one pushed to least recently */
            size_t old = 0;
            for (size_t i = 1; i < b->nwat; i++)
                if (b->wat[i].last_sent < b->wat[old].last_sent)
                    old = i;
            gq_warn("watch of %s: %d watchers already; forgetting the watcher of %s", id,
                    MAX_WATCHERS, b->wat[old].job_id);
            b->wat[old] = b->wat[--b->nwat];
        }
        watcher *na = realloc(b->wat, (b->nwat + 1) * sizeof *na);
        if (!na)
            return;
        b->wat = na;
        w = &b->wat[b->nwat++];
    }
    memset(w, 0, sizeof *w);
    w->p = *p;
    w->request_id = env->request_id;
    snprintf(w->job_id, sizeof w->job_id, "%s", id);
    w->last_sent = gq_mono_ms();
    w->last_state = -1;
}

/* ------------------------------------------------------------------ worker handlers */

static int valid_model_info(const Ganq__V1__ModelInfo *m, size_t i, gq_error *err)
{
    if (!m->name || !m->name[0] || strlen(m->name) > 127)
        return gq_fail(err, GQ_EINVAL, "hello.models[%zu].name: 1..127 bytes required", i);
    if (!m->sha256 || !m->sha256[0] || strlen(m->sha256) > 64)
        return gq_fail(err, GQ_EINVAL, "hello.models[%zu].sha256: 1..64 hex digits required", i);
    if (m->num_classes == 0 || m->num_classes > 100000)
        return gq_fail(err, GQ_EINVAL, "hello.models[%zu].num_classes: %u is outside 1..100000",
                       i, m->num_classes);
    if (m->n_class_names != 0 && m->n_class_names != m->num_classes)
        return gq_fail(err, GQ_EINVAL, "hello.models[%zu].class_names: %zu names for %u classes",
                       i, m->n_class_names, m->num_classes);
    for (size_t k = 0; k < m->n_class_names; k++)
        if (strlen(m->class_names[k]) > MAX_STR)
            return gq_fail(err, GQ_EINVAL, "hello.models[%zu].class_names[%zu]: too long", i, k);
    return GQ_OK;
}

static int on_hello(broker *b, const peer *p, Ganq__V1__Envelope *env, gq_error *err)
{
    Ganq__V1__Hello *h = env->hello;
    int rc;
    if (!h->name || strlen(h->name) > 127)
        return gq_fail(err, GQ_EINVAL, "hello.name: at most 127 bytes");
    if (h->n_models > 256)
        return gq_fail(err, GQ_EINVAL, "hello.models: %zu is above 256", h->n_models);
    if (h->n_running > 4096)
        return gq_fail(err, GQ_EINVAL, "hello.running: %zu is above 4096", h->n_running);
    if (h->n_devices > 64)
        return gq_fail(err, GQ_EINVAL, "hello.devices: %zu is above 64", h->n_devices);
    for (size_t i = 0; i < h->n_models; i++)
        if ((rc = valid_model_info(h->models[i], i, err)) < 0)
            return rc;
    int64_t now = gq_wall_ms();
    /* A second Hello on the same connection: the old registration ends here; its tasks the
     * worker still lists are re-adopted below, the rest requeued. */
    session *old = sess_by_rid(b, p);
    if (!old && h->name[0]) {
        /* the same worker (by name, host:pid by default) on a new connection */
        for (size_t i = 0; i < b->nsess && !old; i++)
            if (strcmp(b->sess[i].name, h->name) == 0)
                old = &b->sess[i];
    }
    char old_id[STORE_ID_MAX] = "";
    if (old)
        snprintf(old_id, sizeof old_id, "%s", old->id);
    if (!old && b->nsess >= MAX_SESSIONS)
        return gq_fail(err, GQ_EINVAL, "hello: %d workers already registered", MAX_SESSIONS);
    char id[STORE_ID_MAX];
    if ((rc = store_worker_new_id(b->st, id, err)) < 0)
        return rc;
    size_t hl = ganq__v1__hello__get_packed_size(h);
    uint8_t *hb = malloc(hl ? hl : 1);
    if (!hb)
        return gq_fail(err, GQ_ENOMEM, "hello: out of memory");
    ganq__v1__hello__pack(h, hb);
    rc = store_worker_put(b->st, id, h->name, hb, hl, "idle", now, err);
    free(hb);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < h->n_models && rc == 0; i++) {
        Ganq__V1__ModelInfo *m = h->models[i];
        size_t ml = ganq__v1__model_info__get_packed_size(m);
        uint8_t *mb = malloc(ml ? ml : 1);
        if (!mb)
            return gq_fail(err, GQ_ENOMEM, "hello: out of memory");
        ganq__v1__model_info__pack(m, mb);
        rc = store_model_put(b->st, m->name, m->sha256, mb, ml, now, err);
        free(mb);
    }
    if (rc < 0)
        return rc;
    session *s = old;
    if (!s) {
        if (b->nsess == b->capsess) {
            size_t nc = b->capsess ? b->capsess * 2 : 16;
            session *na = realloc(b->sess, nc * sizeof *na);
            if (!na)
                return gq_fail(err, GQ_ENOMEM, "hello: out of memory");
            b->sess = na;
            b->capsess = nc;
        }
        s = &b->sess[b->nsess++];
        memset(s, 0, sizeof *s);
    } else {
        sess_free_models(s);
    }
    s->p = *p;
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->name, sizeof s->name, "%s", h->name);
    s->last_seen = gq_mono_ms();
    s->last_hb = 0;
    s->credits = 0;
    s->models = calloc(h->n_models ? h->n_models : 1, sizeof *s->models);
    if (s->models) {
        for (size_t i = 0; i < h->n_models; i++) {
            s->models[i].name = strdup(h->models[i]->name);
            s->models[i].sha256 = strdup(h->models[i]->sha256);
            if (!s->models[i].name || !s->models[i].sha256) {
                free((char *)s->models[i].name);
                free((char *)s->models[i].sha256);
                break;
            }
            s->nmodels++;
        }
    }
    /* Re-adoption: a listed task whose lease is still the one the worker runs (same attempt)
     * moves to the new id; others are told to stop. */
    int64_t deadline = now + b->cfg->lease_ms;
    size_t adopted = 0;
    for (size_t i = 0; i < h->n_running && rc == 0; i++) {
        Ganq__V1__RunningTask *r = h->running[i];
        store_task t;
        gq_error e2;
        gq_error_clear(&e2);
        int ok = r->job_id && strlen(r->job_id) < STORE_ID_MAX &&
                 store_task_get(b->st, r->job_id, r->task_id, &t, &e2) == 0 &&
                 t.state == STORE_TASK_LEASED && t.attempts == r->attempt &&
                 (!sess_by_id(b, t.worker_id) || strcmp(t.worker_id, old_id) == 0);
        if (ok) {
            rc = store_task_touch(b->st, t.job_id, t.task_id, id, deadline, r->images_done, err);
            if (rc == 0)
                rc = store_event(b->st, now, "adopt", t.job_id, (int64_t)t.task_id, id, NULL, err);
            adopted++;
        } else if (r->job_id && strlen(r->job_id) < STORE_ID_MAX) {
            Ganq__V1__Envelope ce = GANQ__V1__ENVELOPE__INIT;
            Ganq__V1__CancelTask ct = GANQ__V1__CANCEL_TASK__INIT;
            ct.job_id = r->job_id;
            ct.task_id = r->task_id;
            ce.body_case = GANQ__V1__ENVELOPE__BODY_CANCEL_TASK;
            ce.cancel_task = &ct;
            send_to_worker(b, p, &ce);
        }
    }
    if (rc < 0)
        return rc;
    if (old_id[0]) {   /* what the old registration held and was not re-adopted */
        store_task *ts = NULL;
        size_t n = 0;
        if ((rc = store_tasks_query(b->st, STORE_TASKS_OF_WORKER, old_id, 0, &ts, &n, err)) < 0)
            return rc;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = task_requeue(b, &ts[i], "worker re-registered without it", err);
        free(ts);
        if (rc == 0)
            rc = store_worker_set_state(b->st, old_id, "dead", now, err);
        if (rc < 0)
            return rc;
    }
    if ((rc = store_event(b->st, now, "hello", NULL, -1, id, h->name, err)) < 0)
        return rc;
    gq_info("worker %s registered: %s, %zu model(s), %zu task(s) re-adopted", id, h->name,
            h->n_models, adopted);
    Ganq__V1__Envelope r = GANQ__V1__ENVELOPE__INIT;
    Ganq__V1__HelloAck ack = GANQ__V1__HELLO_ACK__INIT;
    ack.worker_id = id;
    ack.heartbeat_ms = (uint32_t)b->cfg->heartbeat_ms;
    ack.liveness = (uint32_t)b->cfg->liveness;
    r.request_id = env->request_id;
    r.body_case = GANQ__V1__ENVELOPE__BODY_HELLO_ACK;
    r.hello_ack = &ack;
    send_to_worker(b, p, &r);
    b->dispatch_dirty = 1;
    return GQ_OK;
}

/* The task a worker message refers to, if it is leased to session s (and attempt matches
 * when given). Returns 1 if so, 0 if not (t is filled when the task exists), <0 on error. */
static int task_of(broker *b, session *s, const char *what, const char *job_id, uint64_t task_id,
                   uint32_t attempt, store_task *t, int *exists, gq_error *err)
{
    *exists = 0;
    if (!job_id || !job_id[0] || strlen(job_id) >= STORE_ID_MAX)
        return gq_fail(err, GQ_EINVAL, "%s.job_id: required, at most %d bytes", what,
                       STORE_ID_MAX - 1);
    gq_error e2;
    gq_error_clear(&e2);
    int rc = store_task_get(b->st, job_id, task_id, t, &e2);
    if (rc == GQ_ENOTFOUND)
        return gq_fail(err, GQ_ENOTFOUND, "%s.task_id: job %s has no task %" PRIu64, what, job_id,
                       task_id);
    if (rc < 0)
        return gq_fail(err, rc, "%s", e2.msg);
    *exists = 1;
    return t->state == STORE_TASK_LEASED && strcmp(t->worker_id, s->id) == 0 &&
           (attempt == 0 || attempt == t->attempts);
}

static int on_progress(broker *b, session *s, Ganq__V1__Progress *m, gq_error *err)
{
    store_task t;
    int exists;
    int mine = task_of(b, s, "progress", m->job_id, m->task_id, m->attempt, &t, &exists, err);
    if (mine < 0)
        return mine;
    if (!mine) {   /* not (or no longer) this worker's lease: tell it to stop */
        send_cancel_task(b, s->id, m->job_id, m->task_id);
        return GQ_OK;
    }
    uint64_t span = t.end - t.start;
    if (m->images_done > span)
        return gq_fail(err, GQ_EINVAL, "progress.images_done: %" PRIu64 " is above the task's %" PRIu64
                       " images", m->images_done, span);
    return store_task_touch(b->st, t.job_id, t.task_id, s->id, gq_wall_ms() + b->cfg->lease_ms,
                            m->images_done, err);
}

static int valid_rel_path(const char *p)
{
    if (!p || !p[0] || p[0] == '/' || strlen(p) >= 512)
        return 0;
    for (const char *q = p; *q; q++)
        if ((unsigned char)*q < 0x20)
            return 0;
    const char *seg = p;
    for (;;) {
        const char *sl = strchr(seg, '/');
        size_t n = sl ? (size_t)(sl - seg) : strlen(seg);
        if (n == 0 || (n == 2 && seg[0] == '.' && seg[1] == '.') || (n == 1 && seg[0] == '.'))
            return 0;
        if (!sl)
            return 1;
        seg = sl + 1;
    }
}

static int on_done(broker *b, session *s, Ganq__V1__Done *m, gq_error *err)
{
    if (m->n_outputs > 100000)
        return gq_fail(err, GQ_EINVAL, "done.outputs: %zu records is above 100000", m->n_outputs);
    store_task t;
    int exists;
    int mine = task_of(b, s, "done", m->job_id, m->task_id, m->attempt, &t, &exists, err);
    if (mine < 0)
        return mine;
    for (size_t i = 0; i < m->n_outputs; i++) {
        Ganq__V1__OutputRecord *o = m->outputs[i];
        if (!valid_rel_path(o->path))
            return gq_fail(err, GQ_EINVAL, "done.outputs[%zu].path: \"%.80s\" must be relative, "
                           "without . or .. segments, under 512 bytes", i, o->path ? o->path : "");
        if (!o->sha256 || strlen(o->sha256) > 64)
            return gq_fail(err, GQ_EINVAL, "done.outputs[%zu].sha256: at most 64 hex digits", i);
        if (o->first_index < t.start || o->first_index >= t.end || o->images > t.end - t.start)
            return gq_fail(err, GQ_EINVAL, "done.outputs[%zu].first_index: %" PRIu64 " (+%" PRIu64
                           ") is outside the task's [%" PRIu64 ", %" PRIu64 ")", i,
                           o->first_index, o->images, t.start, t.end);
    }
    /* A Done for a task that is pending or leased elsewhere is still good: outputs are a pure
     * function of the index, so the files are the ones any attempt would write. */
    if (t.state != STORE_TASK_PENDING && t.state != STORE_TASK_LEASED) {
        gq_debug("done for %s/%" PRIu64 " ignored: task is %s", t.job_id, t.task_id,
                 store_task_state_name(t.state));
        return GQ_OK;
    }
    int rc;
    for (size_t i = 0; i < m->n_outputs; i++) {
        store_output o;
        memset(&o, 0, sizeof o);
        snprintf(o.path, sizeof o.path, "%s", m->outputs[i]->path);
        o.task_id = t.task_id;
        o.images = m->outputs[i]->images;
        o.bytes = m->outputs[i]->bytes;
        o.first_index = m->outputs[i]->first_index;
        snprintf(o.sha256, sizeof o.sha256, "%s", m->outputs[i]->sha256);
        if ((rc = store_output_put(b->st, t.job_id, &o, err)) < 0)
            return rc;
    }
    if (t.state == STORE_TASK_LEASED && !mine)
        send_cancel_task(b, t.worker_id, t.job_id, t.task_id);
    if ((rc = store_task_set_state(b->st, t.job_id, t.task_id, STORE_TASK_DONE, NULL, err)) < 0)
        return rc;
    if ((rc = store_worker_add_images(b->st, s->id, t.end - t.start, err)) < 0)
        return rc;
    if ((rc = store_event(b->st, gq_wall_ms(), "done", t.job_id, (int64_t)t.task_id, s->id, NULL,
                          err)) < 0)
        return rc;
    gq_debug("task %s/%" PRIu64 " done by %s", t.job_id, t.task_id, s->id);
    b->dispatch_dirty = 1;
    return job_check_complete(b, t.job_id, err);
}

static int on_failed(broker *b, session *s, Ganq__V1__Failed *m, gq_error *err)
{
    store_task t;
    int exists;
    int mine = task_of(b, s, "failed", m->job_id, m->task_id, m->attempt, &t, &exists, err);
    if (mine <= 0) {
        if (mine == 0)
            gq_debug("failed for %s/%" PRIu64 " ignored: not leased to %s", m->job_id, m->task_id,
                     s->id);
        return mine;
    }
    char why[300];
    snprintf(why, sizeof why, "%.200s (worker %s)", m->reason && m->reason[0] ? m->reason
             : "no reason given", s->id);
    gq_warn("task %s/%" PRIu64 " failed on %s: %s%s", t.job_id, t.task_id, s->id,
            m->reason ? m->reason : "", m->retryable ? "" : " (not retryable)");
    int rc;
    if (!m->retryable) {
        char reason[512];
        snprintf(reason, sizeof reason, "task %" PRIu64 " failed: %s", t.task_id, why);
        if ((rc = store_task_set_state(b->st, t.job_id, t.task_id, STORE_TASK_FAILED, why,
                                       err)) < 0)
            return rc;
        return job_stop(b, t.job_id, STORE_JOB_FAILED, reason, err);
    }
    return task_requeue(b, &t, why, err);
}

static int on_goodbye(broker *b, session *s, Ganq__V1__Goodbye *m, gq_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < m->n_returned && rc == 0; i++) {
        Ganq__V1__RunningTask *r = m->returned[i];
        store_task t;
        int exists;
        int mine = task_of(b, s, "goodbye", r->job_id, r->task_id, r->attempt, &t, &exists, NULL);
        if (mine == 1)
            rc = store_task_refund_attempt(b->st, t.job_id, t.task_id, err);
    }
    if (rc < 0)
        return rc;
    /* Refunded tasks go back without using an attempt; anything else it held is requeued
     * (and counted) by worker_gone. */
    return worker_gone(b, s, "said goodbye", err);
}

/* ------------------------------------------------------------------ frames in */

/* Receive one routed message: routing id, optional empty delimiter(s), one body frame.
 * Returns 1 with *data (malloc'd) and p filled, 0 when nothing is ready, -1 on a malformed
 * multipart message (already consumed; p filled when known). */
static int recv_routed(void *sock, peer *p, uint8_t **data, size_t *len)
{
    zmq_msg_t msg;
    int nframes = 0, bodies = 0, bad = 0;
    *data = NULL;
    *len = 0;
    memset(p, 0, sizeof *p);
    for (;;) {
        zmq_msg_init(&msg);
        int rc = zmq_msg_recv(&msg, sock, nframes == 0 ? ZMQ_DONTWAIT : 0);
        if (rc < 0) {
            zmq_msg_close(&msg);
            if (nframes == 0)
                return 0;
            bad = 1;
            break;
        }
        size_t n = zmq_msg_size(&msg);
        if (nframes == 0) {
            if (n > MAX_RID)
                bad = 1;
            else {
                memcpy(p->rid, zmq_msg_data(&msg), n);
                p->rid_len = n;
            }
        } else if (n == 0 && bodies == 0) {
            p->delim = 1;
        } else {
            bodies++;
            if (bodies == 1) {
                *data = malloc(n ? n : 1);
                if (*data) {
                    memcpy(*data, zmq_msg_data(&msg), n);
                    *len = n;
                } else {
                    bad = 1;
                }
            }
        }
        nframes++;
        int more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        if (!more)
            break;
    }
    if (bad || bodies != 1) {
        free(*data);
        *data = NULL;
        return -1;
    }
    return 1;
}

static void client_frame(broker *b, const peer *p, const uint8_t *data, size_t len)
{
    gq_error err;
    gq_error_clear(&err);
    Ganq__V1__Envelope *env = NULL;
    uint64_t rid = 0;
    int rc = wire_decode(data, len, &env, &rid, &err);
    if (rc < 0) {
        gq_warn("client frame refused: %s", err.msg);
        reply_error(b, 0, p, rid, rc, &err);
        return;
    }
    switch (env->body_case) {
    case GANQ__V1__ENVELOPE__BODY_SUBMIT:  on_submit(b, p, env); break;
    case GANQ__V1__ENVELOPE__BODY_STATUS:  on_status(b, p, env); break;
    case GANQ__V1__ENVELOPE__BODY_LIST:    on_list(b, p, env); break;
    case GANQ__V1__ENVELOPE__BODY_CANCEL:  on_cancel(b, p, env); break;
    case GANQ__V1__ENVELOPE__BODY_WORKERS: on_workers(b, p, env); break;
    case GANQ__V1__ENVELOPE__BODY_WATCH:   on_watch(b, p, env); break;
    case GANQ__V1__ENVELOPE__BODY_EVENTS:  on_events(b, p, env); break;
    default:
        rc = gq_fail(&err, GQ_EINVAL, "envelope.body: message %d is not a client request (submit, "
                     "status, list, cancel, workers, watch, events)", (int)env->body_case);
        gq_warn("client frame refused: %s", err.msg);
        reply_error(b, 0, p, env->request_id, rc, &err);
    }
    wire_free(env);
}

static void worker_frame(broker *b, const peer *p, const uint8_t *data, size_t len)
{
    gq_error err;
    gq_error_clear(&err);
    Ganq__V1__Envelope *env = NULL;
    uint64_t rid = 0;
    int rc = wire_decode(data, len, &env, &rid, &err);
    session *s = sess_by_rid(b, p);
    if (s)
        s->last_seen = gq_mono_ms();   /* any frame, even a bad one, shows it is alive */
    if (rc < 0) {
        gq_warn("worker frame refused%s%s: %s", s ? " from " : "", s ? s->id : "", err.msg);
        reply_error(b, 1, p, rid, rc, &err);
        return;
    }
    if (env->body_case == GANQ__V1__ENVELOPE__BODY_HELLO) {
        rc = on_hello(b, p, env, &err);
    } else if (!s) {
        /* not registered (e.g. the broker restarted): ask for a fresh Hello */
        if (env->body_case != GANQ__V1__ENVELOPE__BODY_GOODBYE)
            send_simple(b, p, GANQ__V1__ENVELOPE__BODY_RECONNECT);
        wire_free(env);
        return;
    } else {
        switch (env->body_case) {
        case GANQ__V1__ENVELOPE__BODY_CREDIT:
            s->credits = env->credit->credits > MAX_CREDITS ? MAX_CREDITS : env->credit->credits;
            b->dispatch_dirty = 1;
            break;
        case GANQ__V1__ENVELOPE__BODY_HEARTBEAT: break;
        case GANQ__V1__ENVELOPE__BODY_PROGRESS:  rc = on_progress(b, s, env->progress, &err); break;
        case GANQ__V1__ENVELOPE__BODY_DONE:      rc = on_done(b, s, env->done, &err); break;
        case GANQ__V1__ENVELOPE__BODY_FAILED:    rc = on_failed(b, s, env->failed, &err); break;
        case GANQ__V1__ENVELOPE__BODY_GOODBYE:
            rc = on_goodbye(b, s, env->goodbye, &err);
            s = NULL;   /* the session is gone */
            break;
        case GANQ__V1__ENVELOPE__BODY_ERROR:
            gq_warn("worker %s reports an error: %s", s->id,
                    env->error->message ? env->error->message : "");
            break;
        default:
            rc = gq_fail(&err, GQ_EINVAL, "envelope.body: message %d is not a worker message",
                         (int)env->body_case);
        }
    }
    if (rc < 0) {
        gq_warn("worker message refused%s%s: %s", s ? " from " : "", s ? s->id : "",
                gq_error_str(&err, rc));
        reply_error(b, 1, p, env->request_id, rc, &err);
    }
    wire_free(env);
}

/* ------------------------------------------------------------------ timers, dispatch */

static int timers(broker *b, gq_error *err)
{
    int64_t mono = gq_mono_ms();
    int rc = 0;
    int64_t dead_after = grace_ms(b);
    for (size_t i = 0; i < b->nsess && rc == 0;) {
        session *s = &b->sess[i];
        if (mono - s->last_seen > dead_after) {
            char why[96];
            snprintf(why, sizeof why, "silent for %" PRId64 " ms (liveness %d x %d ms)",
                     mono - s->last_seen, b->cfg->liveness, b->cfg->heartbeat_ms);
            rc = worker_gone(b, s, why, err);   /* removes s: do not advance i */
            continue;
        }
        if (mono - s->last_hb >= b->cfg->heartbeat_ms) {
            send_simple(b, &s->p, GANQ__V1__ENVELOPE__BODY_HEARTBEAT);
            s->last_hb = mono;
        }
        i++;
    }
    if (rc < 0)
        return rc;
    if (mono - b->last_expiry >= 200) {
        b->last_expiry = mono;
        store_task *ts = NULL;
        size_t n = 0;
        if ((rc = store_tasks_query(b->st, STORE_TASKS_EXPIRED, NULL, gq_wall_ms(), &ts, &n,
                                    err)) < 0)
            return rc;
        for (size_t i = 0; i < n && rc == 0; i++) {
            session *s = sess_by_id(b, ts[i].worker_id);
            store_task cur;
            /* an earlier requeue in this loop may have failed the job already */
            if (store_task_get(b->st, ts[i].job_id, ts[i].task_id, &cur, NULL) < 0 ||
                cur.state != STORE_TASK_LEASED)
                continue;
            if (s)
                send_cancel_task(b, s->id, ts[i].job_id, ts[i].task_id);
            rc = task_requeue(b, &ts[i], s ? "lease expired" : "worker did not come back after "
                              "a broker restart", err);
        }
        free(ts);
    }
    if (rc == 0 && b->cfg->events_keep > 0 && mono - b->last_prune >= PRUNE_EVERY_MS) {
        /* retention in bounded batches so that a big backlog (a lower --events-keep on an
         * old database) never stalls a turn; a full batch asks for another next turn */
        int64_t deleted;
        if ((rc = store_events_prune(b->st, b->cfg->events_keep, PRUNE_BATCH, &deleted,
                                     err)) < 0)
            return rc;
        b->last_prune = deleted == PRUNE_BATCH ? mono - PRUNE_EVERY_MS : mono;
        if (deleted)
            gq_debug("events: pruned %" PRId64 " (keeping the newest %" PRId64 ")", deleted,
                     b->cfg->events_keep);
    }
    return rc;
}

/* A job submitted without a model sha256 (testcard before any worker registered) is pinned
 * to the file of the first worker that takes one of its tasks, so every task of a job runs
 * the same model and the stored spec says which. sha_out (65 bytes) receives it. */
static int pin_model(broker *b, const char *job_id, const session *s, Ganq__V1__JobSpec *spec,
                     char *sha_out, gq_error *err)
{
    const char *sha = NULL;
    for (size_t i = 0; i < s->nmodels && !sha; i++)
        if (strcmp(s->models[i].name, spec->model) == 0)
            sha = s->models[i].sha256;
    GQ_ASSERT(sha);   /* sched_pick only chose this job because the worker has the model */
    char *d = strdup(sha);
    if (!d)
        return gq_fail(err, GQ_ENOMEM, "dispatch: out of memory");
    if (spec->model_sha256 && spec->model_sha256 != protobuf_c_empty_string)
        free(spec->model_sha256);
    spec->model_sha256 = d;
    uint8_t *blob;
    size_t len;
    if (bwire_spec_pack(spec, &blob, &len) < 0)
        return gq_fail(err, GQ_ENOMEM, "dispatch: out of memory");
    int rc = store_job_set_spec(b->st, job_id, blob, len, sha, err);
    free(blob);
    if (rc == 0) {
        snprintf(sha_out, 65, "%s", sha);
        gq_info("job %s: model %s pinned to sha256 %.12s... (worker %s)", job_id, spec->model,
                sha, s->id);
    }
    return rc;
}

static int dispatch(broker *b, gq_error *err)
{
    int any = 0;
    for (size_t i = 0; i < b->nsess; i++)
        if (b->sess[i].credits)
            any = 1;
    if (!any || !b->dispatch_dirty)
        return GQ_OK;
    b->dispatch_dirty = 0;
    store_candidate *cand = NULL;
    size_t nc = 0;
    int rc = store_candidates(b->st, &cand, &nc, err);
    if (rc < 0 || nc == 0) {
        free(cand);
        return rc;
    }
    sched_job *sj = calloc(nc, sizeof *sj);
    if (!sj) {
        free(cand);
        return gq_fail(err, GQ_ENOMEM, "dispatch: out of memory");
    }
    for (size_t i = 0; i < nc && rc == 0; i++) {
        sj[i].model = cand[i].model;
        sj[i].sha256 = cand[i].model_sha256;
        sj[i].owner = cand[i].owner;
        sj[i].priority = cand[i].priority;
        sj[i].seq = cand[i].seq;
        sj[i].pending = UINT32_MAX;   /* "some": the ENOTFOUND path below zeroes it */
        rc = store_owner_leased(b->st, cand[i].owner, &sj[i].owner_leased, err);
    }
    int64_t now = gq_wall_ms();
    Ganq__V1__JobSpec *spec = NULL;   /* cache of the last job's spec */
    long spec_of = -1;
    /* Serve workers round-robin, one task per pass, so credits spread across workers. */
    size_t ns = b->nsess;
    int progress = 1;
    while (rc == 0 && progress) {
        progress = 0;
        for (size_t k = 0; k < ns && rc == 0; k++) {
            session *s = &b->sess[(b->rr + k) % ns];
            if (!s->credits)
                continue;
            long ji = sched_pick(sj, nc, s->models, s->nmodels);
            if (ji < 0)
                continue;
            store_task t;
            rc = store_task_next_pending(b->st, cand[ji].id, s->id, &t, err);
            if (rc == GQ_ENOTFOUND) {   /* counts were stale */
                sj[ji].pending = 0;
                rc = 0;
                progress = 1;
                continue;
            }
            if (rc < 0)
                break;
            if (spec_of != ji) {
                store_job j;
                if ((rc = store_job_get(b->st, cand[ji].id, &j, err)) < 0)
                    break;
                bwire_spec_free(spec);
                spec = bwire_spec_unpack(j.spec, j.spec_len);
                int jstate = j.state;
                store_job_release(&j);
                spec_of = ji;
                if (!spec) {
                    rc = job_stop(b, cand[ji].id, STORE_JOB_FAILED,
                                  "the stored spec does not decode (database corrupt?)", err);
                    sj[ji].pending = 0;
                    spec_of = -1;
                    continue;
                }
                if (jstate == STORE_JOB_QUEUED &&
                    (rc = store_job_set_state(b->st, cand[ji].id, STORE_JOB_RUNNING, NULL, now,
                                              err)) < 0)
                    break;
            }
            if (!cand[ji].model_sha256[0] &&
                (rc = pin_model(b, cand[ji].id, s, spec, cand[ji].model_sha256, err)) < 0)
                break;
            if ((rc = store_task_lease(b->st, t.job_id, t.task_id, s->id, now + b->cfg->lease_ms,
                                       err)) < 0)
                break;
            if ((rc = store_event(b->st, now, "lease", t.job_id, (int64_t)t.task_id, s->id, NULL,
                                  err)) < 0)
                break;
            Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
            Ganq__V1__Task tm = GANQ__V1__TASK__INIT;
            tm.job_id = t.job_id;
            tm.task_id = t.task_id;
            tm.attempt = t.attempts + 1;
            tm.start = t.start;
            tm.end = t.end;
            tm.spec = spec;
            tm.lease_ms = b->cfg->lease_ms;
            env.body_case = GANQ__V1__ENVELOPE__BODY_TASK;
            env.task = &tm;
            send_to_worker(b, &s->p, &env);
            gq_debug("task %s/%" PRIu64 " [%" PRIu64 ", %" PRIu64 ") leased to %s (attempt %u)",
                     t.job_id, t.task_id, t.start, t.end, s->id, tm.attempt);
            s->credits--;
            for (size_t q = 0; q < nc; q++)
                if (strcmp(sj[q].owner, sj[ji].owner) == 0)
                    sj[q].owner_leased++;
            progress = 1;
        }
    }
    b->rr++;
    bwire_spec_free(spec);
    free(sj);
    free(cand);
    /* What is left cannot be placed until something changes: a submit, a requeue, a credit
     * or a Hello sets dispatch_dirty again. A failed turn is retried in full. */
    if (rc < 0)
        b->dispatch_dirty = 1;
    return rc;
}

static void watchers(broker *b)
{
    int64_t mono = gq_mono_ms();
    for (size_t i = 0; i < b->nwat;) {
        watcher *w = &b->wat[i];
        if (mono - w->last_sent < WATCH_MIN_MS) {
            i++;
            continue;
        }
        jobinfo_hold h;
        gq_error err;
        gq_error_clear(&err);
        if (jobinfo_build(b, w->job_id, 0, &h, &err) < 0) {
            b->wat[i] = b->wat[--b->nwat];
            continue;
        }
        uint32_t tasks = h.ji.tasks_done + h.ji.tasks_failed + h.ji.tasks_leased;
        int terminal = store_job_state_terminal((int)h.ji.state);
        if ((int)h.ji.state != w->last_state || h.ji.done != w->last_done || tasks != w->last_tasks) {
            Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
            env.request_id = w->request_id;
            env.body_case = GANQ__V1__ENVELOPE__BODY_JOB_INFO;
            env.job_info = &h.ji;
            out_push(b, 0, &w->p, &env, 0);
            w->last_sent = mono;
            w->last_state = (int)h.ji.state;
            w->last_done = h.ji.done;
            w->last_tasks = tasks;
        }
        jobinfo_release(&h);
        if (terminal) {
            b->wat[i] = b->wat[--b->nwat];
            continue;
        }
        i++;
    }
}

/* ------------------------------------------------------------------ the loop */

static void fault_parse(broker *b)
{
    const char *f = getenv("GANQ_BROKER_FAULT");
    if (!f || !*f)
        return;
    if (strncmp(f, "exit-before-commit:", 19) == 0) {
        b->fault_kind = 1;
        b->fault_n = strtol(f + 19, NULL, 10);
    } else if (strncmp(f, "exit-after-commit:", 18) == 0) {
        b->fault_kind = 2;
        b->fault_n = strtol(f + 18, NULL, 10);
    } else {
        gq_warn("GANQ_BROKER_FAULT=%s not understood (exit-before-commit:N, exit-after-commit:N)",
                f);
    }
}

/* The turn's transaction did not commit: nothing of it happened. Client replies become
 * ERR_INTERNAL; the in-memory sessions (credits spent on leases that were rolled back) are
 * dropped and every worker is asked to Reconnect, so its next Hello (listing what it runs)
 * and Credit rebuild a state that matches the database. */
static void turn_abort(broker *b)
{
    store_rollback(b->st);
    out_flush(b, 0);
    b->nto_fin = 0;
    while (b->nsess) {
        session *s = &b->sess[0];
        Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
        Ganq__V1__Reconnect r = GANQ__V1__RECONNECT__INIT;
        env.body_case = GANQ__V1__ENVELOPE__BODY_RECONNECT;
        env.reconnect = &r;
        env.version = WIRE_VERSION;
        uint8_t *d;
        size_t n;
        if (wire_encode_raw(&env, &d, &n) == 0) {
            send_frames(b->ws, &s->p, d, n);
            free(d);
        }
        sess_remove(b, s);
    }
    b->dispatch_dirty = 1;
}

static int broker_turn(broker *b, int timeout_ms, gq_error *err)
{
    zmq_pollitem_t items[2] = {{b->cs, 0, ZMQ_POLLIN, 0}, {b->ws, 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(items, 2, timeout_ms) < 0) {
        if (errno == EINTR)
            return GQ_OK;
        return gq_fail(err, GQ_ENET, "poll: %s", zmq_strerror(errno));
    }
    int rc = store_begin(b->st, err);
    if (rc < 0)
        return rc;
    int64_t changes0 = store_changes(b->st);
    for (int sock = 0; sock < 2; sock++) {
        void *zs = sock ? b->ws : b->cs;
        for (int k = 0; k < MAX_DRAIN; k++) {
            peer p;
            uint8_t *data;
            size_t len;
            int r = recv_routed(zs, &p, &data, &len);
            if (r == 0)
                break;
            if (r < 0) {
                gq_warn("%s: malformed multipart message (want routing id, body)",
                        sock ? "workers" : "clients");
                if (p.rid_len)
                    send_error_now(b, zs, &p, 0, GANQ__V1__ERROR_CODE__ERR_MALFORMED, "frame",
                                   "frame: want exactly one body frame after the routing id");
                continue;
            }
            /* each message is atomic: a savepoint around it is rolled back when the message
             * is answered with an Error, so a half-applied message never commits */
            if (store_savepoint(b->st, NULL) < 0) {
                free(data);
                turn_abort(b);
                return GQ_OK;
            }
            b->in_msg = 1;
            b->msg_failed = 0;
            b->msg_mark = b->nout;
            if (sock)
                worker_frame(b, &p, data, len);
            else
                client_frame(b, &p, data, len);
            free(data);
            b->in_msg = 0;
            if (b->msg_failed)
                store_savepoint_rollback(b->st);
            else if (store_savepoint_release(b->st, NULL) < 0)
                store_savepoint_rollback(b->st);
        }
    }
    gq_error e2;
    gq_error_clear(&e2);
    if ((rc = timers(b, &e2)) == 0 && (rc = fin_collect(b, &e2)) == 0 &&
        (rc = dispatch(b, &e2)) == 0)
        watchers(b);
    if (rc < 0) {
        gq_err("turn failed, rolling back: %s", gq_error_str(&e2, rc));
        turn_abort(b);
        return GQ_OK;   /* keep serving; the database may recover (disk space, lock) */
    }
    int wrote = store_changes(b->st) != changes0;
    if (wrote)
        b->writing_turns++;
    if (wrote && b->fault_kind == 1 && b->writing_turns >= b->fault_n) {
        gq_err("fault injection: exiting before commit (turn %ld)", b->writing_turns);
        _exit(70);
    }
    if ((rc = store_commit(b->st, &e2)) < 0) {
        gq_err("commit failed: %s", e2.msg);
        turn_abort(b);
        return GQ_OK;
    }
    if (wrote && b->fault_kind == 2 && b->writing_turns >= b->fault_n) {
        gq_err("fault injection: exiting after commit, before replies (turn %ld)",
               b->writing_turns);
        _exit(71);
    }
    out_flush(b, 1);
    for (size_t i = 0; i < b->nto_fin; i++)
        fin_start(b, b->to_finalize[i]);
    b->nto_fin = 0;
    return GQ_OK;
}

/* Start-up recovery: forget live workers, give leased tasks a grace period to be re-adopted,
 * and restart finalization of jobs whose tasks all completed. */
static int recover(broker *b, gq_error *err)
{
    int rc = store_begin(b->st, err);
    if (rc < 0)
        return rc;
    int64_t now = gq_wall_ms();
    if ((rc = store_workers_all_dead(b->st, err)) == 0 &&
        (rc = store_tasks_set_deadline_all(b->st, now + grace_ms(b), err)) == 0) {
        store_job *jobs = NULL;
        size_t n = 0;
        if ((rc = store_job_list_active(b->st, &jobs, &n, err)) == 0) {
            for (size_t i = 0; i < n && rc == 0; i++)
                rc = job_check_complete(b, jobs[i].id, err);
            if (n)
                gq_info("recovered %zu unfinished job(s)", n);
        }
        store_job_list_free(jobs, n);
    }
    if (rc == 0)
        rc = store_event(b->st, now, "broker_start", NULL, -1, NULL, NULL, err);
    if (rc < 0) {
        store_rollback(b->st);
        return rc;
    }
    if ((rc = store_commit(b->st, err)) < 0)
        return rc;
    for (size_t i = 0; i < b->nto_fin; i++)
        fin_start(b, b->to_finalize[i]);
    b->nto_fin = 0;
    return GQ_OK;
}

static int bind_router(broker *b, void **sock, const char *ep, gq_error *err)
{
    *sock = zmq_socket(b->ctx, ZMQ_ROUTER);
    if (!*sock)
        return gq_fail(err, GQ_ENET, "zmq_socket: %s", zmq_strerror(errno));
    if (b->cfg->curve_secret) {
        int rc = wire_curve_server_setup(*sock, b->cfg->curve_secret, err);
        if (rc < 0)
            return rc;
    }
    int linger = 200;
    int64_t maxmsg = WIRE_MAX_FRAME;
    int hwm = 100000;
    zmq_setsockopt(*sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(*sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(*sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(*sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(*sock, ep) != 0)
        return gq_fail(err, GQ_ENET, "bind %s: %s", ep, zmq_strerror(errno));
    return GQ_OK;
}

int broker_run(const broker_config *cfg, gq_error *err)
{
    if (!cfg || !cfg->db_path || !cfg->db_path[0])
        return gq_fail(err, GQ_EINVAL, "db: a database path is required");
    if (!cfg->clients_ep || !cfg->workers_ep)
        return gq_fail(err, GQ_EINVAL, "endpoints: clients and workers endpoints are required");
    if (cfg->heartbeat_ms < 10 || cfg->heartbeat_ms > 600000)
        return gq_fail(err, GQ_EINVAL, "heartbeat-ms: %d is outside 10..600000", cfg->heartbeat_ms);
    if (cfg->liveness < 1 || cfg->liveness > 1000)
        return gq_fail(err, GQ_EINVAL, "liveness: %d is outside 1..1000", cfg->liveness);
    if (cfg->max_attempts < 1 || cfg->max_attempts > 100)
        return gq_fail(err, GQ_EINVAL, "max-attempts: %d is outside 1..100", cfg->max_attempts);
    if (cfg->lease_ms < 100)
        return gq_fail(err, GQ_EINVAL, "lease-ms: %" PRId64 " is below 100", cfg->lease_ms);
    const char *eps[2] = {cfg->clients_ep, cfg->workers_ep};
    if (!cfg->curve_secret != !cfg->authorized_keys_dir)
        return gq_fail(err, GQ_EINVAL, "curve: a CURVE secret key and an authorized-keys "
                       "directory go together; give both or neither");
    for (int i = 0; i < 2; i++)
        if (!cfg->insecure && !cfg->curve_secret && !broker_endpoint_is_local(eps[i]))
            return gq_fail(err, GQ_EINVAL, "%s: %s is not a loopback endpoint; binding it "
                           "needs CURVE (--curve-secret FILE --authorized-keys DIR) or "
                           "--insecure (plain text, no authentication)",
                           i ? "workers" : "clients", eps[i]);
    broker *b = calloc(1, sizeof *b);
    if (!b)
        return gq_fail(err, GQ_ENOMEM, "broker: out of memory");
    b->cfg = cfg;
    pthread_mutex_init(&b->fin_mu, NULL);
    fault_parse(b);
    b->dispatch_dirty = 1;
    int rc = store_open(cfg->db_path, &b->st, err);
    if (rc < 0)
        goto out;
    b->ctx = cfg->zmq_ctx;
    if (!b->ctx) {
        b->ctx = zmq_ctx_new();
        b->own_ctx = 1;
        if (!b->ctx) {
            rc = gq_fail(err, GQ_ENET, "zmq_ctx_new: %s", zmq_strerror(errno));
            goto out;
        }
    }
    if (cfg->curve_secret &&
        (rc = broker_zap_start(b->ctx, cfg->authorized_keys_dir, &b->zap, err)) < 0)
        goto out;
    if ((rc = bind_router(b, &b->cs, cfg->clients_ep, err)) < 0 ||
        (rc = bind_router(b, &b->ws, cfg->workers_ep, err)) < 0)
        goto out;
    if ((rc = recover(b, err)) < 0)
        goto out;
    gq_info("serving clients on %s, workers on %s, database %s (heartbeat %d ms, liveness %d)",
            cfg->clients_ep, cfg->workers_ep, cfg->db_path, cfg->heartbeat_ms, cfg->liveness);
    if (cfg->curve_secret)
        gq_info("CURVE on: admitting the keys in %s", cfg->authorized_keys_dir);
    while (!(cfg->stop && atomic_load(cfg->stop))) {
        int timeout = b->nfins ? 20 : 100;
        if (cfg->heartbeat_ms / 2 < timeout)
            timeout = cfg->heartbeat_ms / 2;
        if ((rc = broker_turn(b, timeout, err)) < 0)
            break;
    }
    if (rc == 0)
        gq_info("stopping");
out:
    for (size_t i = 0; i < b->nfins; i++)
        fin_free(b->fins[i]);
    free(b->fins);
    for (size_t i = 0; i < b->nout; i++)
        free(b->out[i].data);
    free(b->out);
    while (b->nsess)
        sess_remove(b, &b->sess[0]);
    free(b->sess);
    free(b->wat);
    free(b->rates);
    free(b->to_finalize);
    if (b->cs)
        zmq_close(b->cs);
    if (b->ws)
        zmq_close(b->ws);
    broker_zap_stop(b->zap);
    if (b->own_ctx && b->ctx)
        zmq_ctx_term(b->ctx);
    store_close(b->st);
    pthread_mutex_destroy(&b->fin_mu);
    free(b);
    return rc;
}
