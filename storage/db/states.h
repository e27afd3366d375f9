/* states.h: the job and task state machines of ganq, enforced in one place (states.c).
 *
 * Every state change the store makes goes through store_job_transition_check() or
 * store_task_transition_check(); nothing else in ganq decides what is legal. The numeric
 * values of enum store_job_state equal the wire's JobState (proto/ganq.proto) and are what
 * the database stores, so they must never be renumbered.
 */
#ifndef GQ_STORE_STATES_H
#define GQ_STORE_STATES_H

#include "proto/base/gq_status.h"

enum store_job_state {
    STORE_JOB_QUEUED    = 1,
    STORE_JOB_RUNNING   = 2,
    STORE_JOB_DONE      = 3,
    STORE_JOB_FAILED    = 4,
    STORE_JOB_CANCELLED = 5,
};

enum store_task_state {
    STORE_TASK_PENDING   = 1,
    STORE_TASK_LEASED    = 2,
    STORE_TASK_DONE      = 3,
    STORE_TASK_FAILED    = 4,
    STORE_TASK_CANCELLED = 5,
};

/* "queued", "running", ...; "?" for values outside the enum. Never NULL. */
const char *store_job_state_name(int s);
const char *store_task_state_name(int s);

/* 1 if s is a valid enum value. */
int store_job_state_valid(int s);
int store_task_state_valid(int s);

/* 1 for done/failed/cancelled (no transition leaves them). */
int store_job_state_terminal(int s);
int store_task_state_terminal(int s);

/* Is from -> to legal? Returns 0, or GQ_ESTATE with err naming both states (GQ_EINVAL if
 * either value is not a state). A state never "transitions" to itself: that is GQ_ESTATE. */
int store_job_transition_check(int from, int to, gq_error *err);
int store_task_transition_check(int from, int to, gq_error *err);

#endif
