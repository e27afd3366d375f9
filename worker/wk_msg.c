/* wk_msg.c: building and parsing the worker's protocol messages through the shared codec
 * (proto/wire/wire.h), which validates every message both ways (see wk_msg.h). Builders
 * assemble messages on the stack from borrowed strings and encode them; nothing here keeps
 * state. */
#include "worker/wk_msg.h"

#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "proto/wire/wire.h"

void wk_bytes_release(wk_bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

int wk_msg_pack(Ganq__V1__Envelope *env, wk_bytes *out)
{
    gq_error e;
    gq_error_clear(&e);
    out->data = NULL;
    out->len = 0;
    int rc = wire_encode(env, &out->data, &out->len, &e);
    if (rc != 0)
        gq_err("internal: %s message not encoded: %s", wire_body_name(env->body_case),
               gq_error_str(&e, rc));
    return rc;
}

/* The generated message structs take char * for strings that are only read. */
static char *s(const char *p) { return (char *)(p ? p : ""); }

/* Fill n RunningTask messages (and the pointer array) from running[]. */
static int running_msgs(const wk_running *r, size_t n, Ganq__V1__RunningTask **msgs_out,
                        Ganq__V1__RunningTask ***ptrs_out)
{
    *msgs_out = NULL;
    *ptrs_out = NULL;
    if (n == 0) return 0;
    Ganq__V1__RunningTask *m = calloc(n, sizeof *m);
    Ganq__V1__RunningTask **p = calloc(n, sizeof *p);
    if (!m || !p) {
        free(m);
        free(p);
        return GQ_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        ganq__v1__running_task__init(&m[i]);
        m[i].job_id = s(r[i].job_id);
        m[i].task_id = r[i].task_id;
        m[i].attempt = r[i].attempt;
        m[i].images_done = r[i].images_done;
        p[i] = &m[i];
    }
    *msgs_out = m;
    *ptrs_out = p;
    return 0;
}

int wk_msg_hello(const char *name, const char *device, Ganq__V1__ModelInfo **models,
                 size_t n_models, uint32_t max_batch, const wk_running *running,
                 size_t n_running, wk_bytes *out)
{
    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    char *devices[1] = { s(device) };
    char *backends[1] = { s(strncmp(s(device), "cuda", 4) == 0 ? "cuda" : "cpu") };
    h.name = s(name);
    h.n_devices = 1;
    h.devices = devices;
    h.n_backends = 1;
    h.backends = backends;
    h.n_models = n_models;
    h.models = models;
    h.max_batch = max_batch;
    Ganq__V1__RunningTask *rm, **rp;
    if (running_msgs(running, n_running, &rm, &rp) != 0) return GQ_ENOMEM;
    h.n_running = n_running;
    h.running = rp;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    int rc = wk_msg_pack(&env, out);
    free(rm);
    free(rp);
    return rc;
}

int wk_msg_credit(uint32_t credits, wk_bytes *out)
{
    Ganq__V1__Credit c = GANQ__V1__CREDIT__INIT;
    c.credits = credits;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_CREDIT;
    env.credit = &c;
    return wk_msg_pack(&env, out);
}

int wk_msg_heartbeat(wk_bytes *out)
{
    Ganq__V1__Heartbeat h = GANQ__V1__HEARTBEAT__INIT;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &h;
    return wk_msg_pack(&env, out);
}

int wk_msg_progress(const char *job_id, uint64_t task_id, uint32_t attempt,
                    uint64_t images_done, wk_bytes *out)
{
    Ganq__V1__Progress p = GANQ__V1__PROGRESS__INIT;
    p.job_id = s(job_id);
    p.task_id = task_id;
    p.attempt = attempt;
    p.images_done = images_done;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_PROGRESS;
    env.progress = &p;
    return wk_msg_pack(&env, out);
}

int wk_msg_done(const char *job_id, uint64_t task_id, uint32_t attempt,
                Ganq__V1__OutputRecord **records, size_t n_records, wk_bytes *out)
{
    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
    d.job_id = s(job_id);
    d.task_id = task_id;
    d.attempt = attempt;
    d.n_outputs = n_records;
    d.outputs = records;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_DONE;
    env.done = &d;
    return wk_msg_pack(&env, out);
}

int wk_msg_failed(const char *job_id, uint64_t task_id, uint32_t attempt, const char *reason,
                  int retryable, wk_bytes *out)
{
    Ganq__V1__Failed f = GANQ__V1__FAILED__INIT;
    f.job_id = s(job_id);
    f.task_id = task_id;
    f.attempt = attempt;
    f.reason = s(reason);
    f.retryable = retryable ? 1 : 0;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_FAILED;
    env.failed = &f;
    return wk_msg_pack(&env, out);
}

int wk_msg_cancel_task(const char *job_id, uint64_t task_id, wk_bytes *out)
{
    Ganq__V1__CancelTask c = GANQ__V1__CANCEL_TASK__INIT;
    c.job_id = s(job_id);
    c.task_id = task_id;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_CANCEL_TASK;
    env.cancel_task = &c;
    return wk_msg_pack(&env, out);
}

int wk_msg_goodbye(const wk_running *returned, size_t n, wk_bytes *out)
{
    Ganq__V1__Goodbye g = GANQ__V1__GOODBYE__INIT;
    Ganq__V1__RunningTask *rm, **rp;
    if (running_msgs(returned, n, &rm, &rp) != 0) return GQ_ENOMEM;
    g.n_returned = n;
    g.returned = rp;
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_GOODBYE;
    env.goodbye = &g;
    int rc = wk_msg_pack(&env, out);
    free(rm);
    free(rp);
    return rc;
}

int wk_msg_error(Ganq__V1__ErrorCode code, const char *field, const char *message,
                 wk_bytes *out)
{
    Ganq__V1__Error e = GANQ__V1__ERROR__INIT;
    e.code = code;
    e.field = s(field);
    e.message = s(message);
    Ganq__V1__Envelope env = GANQ__V1__ENVELOPE__INIT;
    env.body_case = GANQ__V1__ENVELOPE__BODY_ERROR;
    env.error = &e;
    return wk_msg_pack(&env, out);
}

int wk_msg_unpack(const void *data, size_t len, Ganq__V1__Envelope **env, gq_error *err)
{
    return wire_decode(data, len, env, NULL, err);
}

void wk_msg_free(Ganq__V1__Envelope *env)
{
    wire_free(env);
}

const char *wk_msg_name(const Ganq__V1__Envelope *env)
{
    return wire_body_name(env->body_case);
}
