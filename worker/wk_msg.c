/* wk_msg.c: building and parsing the worker's protocol messages with protobuf-c (see
 * wk_msg.h). Builders assemble messages on the stack from borrowed strings and pack them;
 * nothing here keeps state. */
#include "worker/wk_msg.h"

#include <stdlib.h>
#include <string.h>

void wk_bytes_release(wk_bytes *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

int wk_msg_pack(Ganq__V1__Envelope *env, wk_bytes *out)
{
    env->version = GANQ__V1__CONSTANTS__PROTOCOL_VERSION;
    size_t n = ganq__v1__envelope__get_packed_size(env);
    out->data = malloc(n ? n : 1);
    out->len = 0;
    if (!out->data) return GQ_ENOMEM;
    out->len = ganq__v1__envelope__pack(env, out->data);
    return 0;
}

/* protobuf-c wants char * for strings it only reads. */
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
    *env = ganq__v1__envelope__unpack(NULL, len, data);
    if (!*env) return gq_fail(err, GQ_EFORMAT, "message of %zu bytes does not decode", len);
    if ((*env)->version != GANQ__V1__CONSTANTS__PROTOCOL_VERSION)
        return gq_fail(err, GQ_EVERSION, "version: %u is not supported (want %d)",
                       (*env)->version, GANQ__V1__CONSTANTS__PROTOCOL_VERSION);
    if ((*env)->body_case == GANQ__V1__ENVELOPE__BODY__NOT_SET) {
        wk_msg_free(*env);
        *env = NULL;
        return gq_fail(err, GQ_EFORMAT, "body: message has none");
    }
    return 0;
}

void wk_msg_free(Ganq__V1__Envelope *env)
{
    if (env) ganq__v1__envelope__free_unpacked(env, NULL);
}

const char *wk_msg_name(const Ganq__V1__Envelope *env)
{
    switch (env->body_case) {
    case GANQ__V1__ENVELOPE__BODY_HELLO: return "hello";
    case GANQ__V1__ENVELOPE__BODY_HELLO_ACK: return "hello_ack";
    case GANQ__V1__ENVELOPE__BODY_CREDIT: return "credit";
    case GANQ__V1__ENVELOPE__BODY_TASK: return "task";
    case GANQ__V1__ENVELOPE__BODY_PROGRESS: return "progress";
    case GANQ__V1__ENVELOPE__BODY_DONE: return "done";
    case GANQ__V1__ENVELOPE__BODY_FAILED: return "failed";
    case GANQ__V1__ENVELOPE__BODY_CANCEL_TASK: return "cancel_task";
    case GANQ__V1__ENVELOPE__BODY_HEARTBEAT: return "heartbeat";
    case GANQ__V1__ENVELOPE__BODY_RECONNECT: return "reconnect";
    case GANQ__V1__ENVELOPE__BODY_GOODBYE: return "goodbye";
    case GANQ__V1__ENVELOPE__BODY_ERROR: return "error";
    case GANQ__V1__ENVELOPE__BODY__NOT_SET: return "empty";
    default: return "client message";
    }
}
