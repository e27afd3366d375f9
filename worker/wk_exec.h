/* wk_exec.h: the worker's executor thread, and the inproc PAIR protocol between it and the
 * socket thread.
 *
 * The executor runs tasks one at a time in arrival order. For a task it: checks the model
 * (offered, same sha256 as the job's, else FAILED not retryable), builds the plan with
 * plan_init from the task's resolved spec, reports DONE at once when out_task_complete()
 * says every file is already there, otherwise groups the task's indices by truncation into
 * batches of engine_max_batch (wk_batch.h), fills inputs with plan_fill_inputs, runs
 * engine_generate_u8, hands each batch to out_task_add, sends PROGRESS per batch, and ends
 * with out_task_commit -> DONE with the output records. Between batches it reads the PAIR
 * socket, so CancelTask and stop requests take effect at the next batch boundary.
 *
 * PAIR messages are two frames: one type byte, then a payload (possibly empty).
 *   socket -> executor:
 *     'T' Task envelope, as received from the broker     queue it
 *     'C' CancelTask envelope                            cancel it: FAILED("cancelled",
 *                                                        not retryable), temp files removed
 *     'S' (none) drain: give back every queued task ('R'), finish the current one
 *     'A' (none) abort: give back the current task too, at the next batch boundary
 *     'Q' (none) quit: abort and leave the thread
 *   executor -> socket:
 *     'M' an envelope to relay to the broker (Progress, Done, Failed)
 *     'R' a Progress envelope naming a task given back (job, task, attempt, images done)
 */
#ifndef GQ_WK_EXEC_H
#define GQ_WK_EXEC_H

#include "proto/base/gq_status.h"
#include "worker/wk_models.h"
#include "worker/worker.h"

enum {
    WK_X_TASK = 'T', WK_X_CANCEL = 'C', WK_X_DRAIN = 'S', WK_X_ABORT = 'A', WK_X_QUIT = 'Q',
    WK_X_RELAY = 'M', WK_X_RETURNED = 'R',
};

typedef struct wk_exec wk_exec;

typedef struct wk_exec_options {
    void                *zmq_ctx;         /* the socket thread's context */
    const char          *pair_endpoint;   /* inproc:// endpoint the socket thread bound */
    const wk_models     *models;          /* borrowed; outlives the executor */
    int                  encoder_threads;
    const worker_faults *faults;          /* copied */
} wk_exec_options;

/* Start the thread. OUT: *out. Returns 0, GQ_ENOMEM, GQ_ENET. */
int  wk_exec_start(const wk_exec_options *o, wk_exec **out, gq_error *err);
/* Wait for the thread to leave (send 'Q' first) and free it. NULL allowed. */
void wk_exec_join(wk_exec *x);

/* Send a two-frame PAIR message; returns 0 or GQ_ENET. Used by both sides. */
int wk_exec_send(void *pair, int type, const void *data, size_t len);

#endif
