/* states.c: the legal transitions of jobs and tasks, and what each state guarantees.
 *
 * JOBS
 *
 *                 first task leased              all tasks done and the finalizer
 *     +--------+ -------------------> +---------+  (out_finalize_job) returned 0  +------+
 *     | queued |                      | running | ------------------------------> | done |
 *     +--------+                      +---------+                                  +------+
 *        |  |                           |     |
 *        |  | cancel                    |     | a task ran out of attempts, failed for
 *        |  |          cancel           |     | good, or the finalizer failed
 *        |  +--------------+  +---------+     v
 *        |                 v  v             +--------+
 *        |             +-----------+        | failed |
 *        |             | cancelled |        +--------+
 *        |             +-----------+            ^
 *        +--------------------------------------+
 *              (queued -> failed: a task of a never-started job cannot be run, e.g. the
 *               job's spec no longer validates when recovered)
 *
 *   queued     committed: the spec and every task row exist; no task has been leased yet.
 *   running    at least one task was leased once; tasks may be pending, leased or done.
 *              A running job whose tasks are all done is being finalized (the broker restarts
 *              finalization after a restart).
 *   done       every task is done and the job-level products (manifest ...) were written.
 *   failed     `reason` says why; pending/leased tasks were cancelled, done ones kept.
 *   cancelled  by a user; pending/leased tasks were cancelled.
 *   done, failed and cancelled are terminal.
 *
 * TASKS
 *
 *                 lease (attempts += 1)
 *    +---------+ --------------------> +--------+  Done    +------+
 *    | pending |                       | leased | -------> | done |
 *    +---------+ <-------------------- +--------+          +------+
 *     |   |       requeue: worker dead,  |    |               ^
 *     |   |       lease expired, Goodbye,|    | attempts      |
 *     |   |       retryable Failed with  |    | exhausted or  | late Done of an earlier
 *     |   |       attempts left          |    | not retryable | attempt (outputs are
 *     |   |                              |    v               | deterministic, so valid)
 *     |   +------------------------------)--------------------+
 *     |                                  |  +--------+
 *     | job cancelled or failed          |  | failed |
 *     v                                  |  +--------+
 *   +-----------+   job cancelled/failed |
 *   | cancelled | <----------------------+
 *   +-----------+
 *
 *   pending    may be leased; attempts < max_attempts of the job.
 *   leased     worker_id and deadline_ms are set; the worker may be running it.
 *   done       its outputs are recorded in the outputs table (committed with the state).
 *   failed     attempts exhausted (or a non-retryable failure); reason set.
 *   cancelled  its job was cancelled or failed before it finished.
 */
#include "storage/db/states.h"

#include <stddef.h>

static const char *const job_names[] = {NULL, "queued", "running", "done", "failed", "cancelled"};
static const char *const task_names[] = {NULL, "pending", "leased", "done", "failed", "cancelled"};

/* job_ok[from][to], task_ok[from][to]: 1 = legal. */
static const unsigned char job_ok[6][6] = {
    [STORE_JOB_QUEUED]  = {[STORE_JOB_RUNNING] = 1, [STORE_JOB_CANCELLED] = 1,
                           [STORE_JOB_FAILED] = 1},
    [STORE_JOB_RUNNING] = {[STORE_JOB_DONE] = 1, [STORE_JOB_FAILED] = 1,
                           [STORE_JOB_CANCELLED] = 1},
};
static const unsigned char task_ok[6][6] = {
    [STORE_TASK_PENDING] = {[STORE_TASK_LEASED] = 1, [STORE_TASK_CANCELLED] = 1,
                            [STORE_TASK_DONE] = 1},
    [STORE_TASK_LEASED]  = {[STORE_TASK_PENDING] = 1, [STORE_TASK_DONE] = 1,
                            [STORE_TASK_FAILED] = 1, [STORE_TASK_CANCELLED] = 1},
};

int store_job_state_valid(int s) { return s >= STORE_JOB_QUEUED && s <= STORE_JOB_CANCELLED; }
int store_task_state_valid(int s) { return s >= STORE_TASK_PENDING && s <= STORE_TASK_CANCELLED; }

const char *store_job_state_name(int s) { return store_job_state_valid(s) ? job_names[s] : "?"; }
const char *store_task_state_name(int s) { return store_task_state_valid(s) ? task_names[s] : "?"; }

int store_job_state_terminal(int s)
{
    return s == STORE_JOB_DONE || s == STORE_JOB_FAILED || s == STORE_JOB_CANCELLED;
}

int store_task_state_terminal(int s)
{
    return s == STORE_TASK_DONE || s == STORE_TASK_FAILED || s == STORE_TASK_CANCELLED;
}

int store_job_transition_check(int from, int to, gq_error *err)
{
    if (!store_job_state_valid(from) || !store_job_state_valid(to))
        return gq_fail(err, GQ_EINVAL, "job state: %d -> %d is not a pair of states (1..5)",
                       from, to);
    if (!job_ok[from][to])
        return gq_fail(err, GQ_ESTATE, "job state: %s -> %s is not allowed",
                       job_names[from], job_names[to]);
    return GQ_OK;
}

int store_task_transition_check(int from, int to, gq_error *err)
{
    if (!store_task_state_valid(from) || !store_task_state_valid(to))
        return gq_fail(err, GQ_EINVAL, "task state: %d -> %d is not a pair of states (1..5)",
                       from, to);
    if (!task_ok[from][to])
        return gq_fail(err, GQ_ESTATE, "task state: %s -> %s is not allowed",
                       task_names[from], task_names[to]);
    return GQ_OK;
}
