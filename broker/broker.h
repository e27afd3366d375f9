/* broker.h: the ganq broker as a library: `ganq-broker` (broker/main.c) calls broker_run(),
 * and `ganq run` can call it on a thread with a shared ZeroMQ context over inproc://.
 *
 * broker_run() binds two ROUTER sockets (clients, workers), opens the job store (taking its
 * lock), recovers, and serves until *cfg->stop becomes non-zero. One thread (the caller's)
 * owns SQLite and both sockets; job finalization (out_finalize_job) runs on helper threads.
 * Each event-loop turn is one SQLite transaction, committed before any reply is sent.
 *
 * Fault hooks for tests (environment, read at start):
 *   GANQ_BROKER_FAULT=exit-before-commit:N   _exit(70) in the N-th turn that wrote, before
 *                                             its COMMIT (nothing of that turn survives)
 *   GANQ_BROKER_FAULT=exit-after-commit:N    _exit(71) right after the N-th writing turn's
 *                                             COMMIT, before its replies are sent
 *   GANQ_BROKER_FINALIZE_FAIL=MESSAGE        the finalizer reports failure with MESSAGE
 */
#ifndef GQ_BROKER_H
#define GQ_BROKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"
#include "proto/plan/plan.h"

/* Writes a job's job-level products once all its tasks are done; runs on a finalizer
 * thread. Returns 0, or a negative code with err set (the job then fails with err's message).
 * The default is out_finalize_job() from storage/out/out.h. */
typedef int (*broker_finalize_fn)(void *ctx, const char *job_id, const Ganq__V1__JobSpec *spec,
                                  const plan *p, gq_error *err);

typedef struct broker_config {
    const char *db_path;        /* SQLite file (required); "<db_path>.lock" is flock()ed */
    const char *clients_ep;     /* default tcp://127.0.0.1:5555 */
    const char *workers_ep;     /* default tcp://127.0.0.1:5556 */
    void       *zmq_ctx;        /* shared context (for inproc://), or NULL: own one */
    int         heartbeat_ms;   /* default 1000 */
    int         liveness;       /* missed heartbeats before a worker is dead; default 3 */
    int         max_attempts;   /* default attempts per task when the spec says 0; default 3 */
    int64_t     lease_ms;       /* lease length; Progress extends it; default 120000 */
    int64_t     events_keep;    /* retention: the newest N events stay (older ones are
                                 * deleted in batches, once a second); 0 = keep all;
                                 * default 1000000 */
    int         insecure;       /* allow non-loopback binds (no CURVE: plain text) */
    atomic_int *stop;           /* broker_run returns soon after *stop != 0; may be NULL */
    broker_finalize_fn finalize;/* NULL = out_finalize_job (tests substitute their own) */
    void       *finalize_ctx;   /* passed to finalize */
    /* CURVE (added for non-loopback deployments): when curve_secret is set, both sockets
     * are CURVE servers with that 32-byte secret key and a ZAP handler (broker/zap.h)
     * admits only the public keys in authorized_keys_dir (required then). Non-loopback
     * endpoints are then allowed without insecure. NULL: plain text. Not owned. */
    const unsigned char *curve_secret;
    const char *authorized_keys_dir;
} broker_config;

/* Fill *c with the defaults above (db_path NULL, stop NULL). */
void broker_config_init(broker_config *c);

/* Serve until *cfg->stop. Returns 0 after a clean stop; GQ_EINVAL (bad config or a
 * non-loopback endpoint without CURVE or insecure), GQ_ENET (bind failed), GQ_EBUSY (the database is
 * held by another broker), GQ_EVERSION / GQ_EDB (database) with err filled. */
int broker_run(const broker_config *cfg, gq_error *err);

/* 1 if ep is ipc://, inproc://, or tcp:// on 127.0.0.1 / localhost / [::1]. */
int broker_endpoint_is_local(const char *ep);

#endif
