/* worker.h: the ganq worker daemon, as a function (ganq-worker's main, and `ganq run`, which
 * runs broker and worker in one process over inproc://).
 *
 * worker_run() opens the models, connects a DEALER to the broker, says HELLO, asks for work
 * with credits and runs tasks until *stop becomes non-zero. Two threads:
 *   - the socket thread (the caller's): the only one touching the broker socket. HELLO,
 *     credits, heartbeats every heartbeat_ms from HelloAck (a long engine call never delays
 *     them), relays PROGRESS / DONE / FAILED, reconnects with backoff (100 ms .. 5 s) when
 *     the broker is silent for `liveness` intervals or sends Reconnect, re-HELLOs listing
 *     the tasks still running, and on stop sends Goodbye with the tasks it gives back.
 *   - the executor thread (wk_exec.h): runs the tasks, one at a time, in arrival order.
 * See worker.c for the state machine.
 */
#ifndef GQ_WORKER_H
#define GQ_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "proto/base/gq_status.h"

/* Fault hooks for tests (ganq-worker fills them from GANQ_FAULT_* environment variables;
 * see worker/main.c). A zeroed struct (after worker_faults_none) means no faults. */
typedef struct worker_faults {
    int64_t crash_after_images; /* abort() once this many images were generated; -1 off */
    int64_t fail_tasks;         /* report the first N tasks FAILED(retryable); -1 all; 0 off */
    int64_t slow_ms;            /* sleep this long before every batch; 0 off */
} worker_faults;

void worker_faults_none(worker_faults *f);

typedef struct worker_config {
    const char   *broker;          /* endpoint, e.g. tcp://127.0.0.1:5556 or inproc://w */
    const char   *models_dir;      /* NULL: testcard only */
    const char   *device;          /* "cpu" (NULL = "cpu") */
    const char   *name;            /* NULL: host:pid */
    void         *zmq_ctx;         /* shared ZeroMQ context (required for inproc://); NULL: own */
    int           credits;         /* tasks held at once; 0 = 2 */
    int           engine_threads;  /* 0 = all online cores */
    int           encoder_threads; /* 0 = online cores */
    int           grace_ms;        /* on stop, how long the current task may run on; 0 = 10000 */
    atomic_int   *stop;            /* set non-zero to stop (signal-safe); required */
    worker_faults faults;
    /* CURVE (added for non-loopback deployments): the broker's public key and our own pair
     * (proto/wire/curve.h), or NULL for plain text. Not owned; must outlive worker_run. */
    const struct wire_curve_client *curve;
} worker_config;

/* Sets every field to its default (NULL / 0, no faults). */
void worker_config_init(worker_config *c);

/* Run the worker until *c->stop. Returns 0 after a clean stop; GQ_EINVAL (bad config:
 * err names the field), GQ_ENET (bad endpoint), GQ_EVERSION (the broker speaks another
 * protocol version), GQ_ENOTFOUND (models dir), GQ_ENOMEM, or an engine_open error. An
 * unreachable broker is not an error: the worker logs and keeps retrying until stopped. */
int worker_run(const worker_config *c, gq_error *err);

#endif
