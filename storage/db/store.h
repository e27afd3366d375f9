/* store.h: the SQLite job store, the only code in ganq that touches SQLite.
 *
 * One `store` is one connection to one database file, held by one thread (the broker's event
 * loop). Opening takes an exclusive flock on "<db>.lock" beside the file, so one broker owns a
 * database at a time; a second open fails with GQ_EBUSY.
 *
 * Tables (schema version STORE_SCHEMA_VERSION, migrated at open through PRAGMA user_version;
 * a database written by a newer ganq is refused with GQ_EVERSION):
 *   jobs     one row per job: state, the resolved JobSpec (serialized protobuf), counts,
 *            priority/owner for scheduling, timestamps, failure reason.
 *   tasks    one row per task [start, end) of a job: state, attempts, lease (worker, deadline).
 *   workers  every worker that said Hello: name, its Hello (serialized), state, last seen.
 *   outputs  the output records of done tasks (path, images, bytes, sha256, first index).
 *   events   an append-only log of what happened (submit, lease, requeue, fail ...).
 *   models   the model catalogue learnt from workers' Hello (ModelInfo, serialized).
 *
 * Durability: WAL journal, synchronous=FULL, busy_timeout 5 s, every write inside
 * store_begin()/store_commit() (BEGIN IMMEDIATE). A committed transaction survives kill -9 of
 * the process and power loss (FULL syncs the WAL at each commit); an uncommitted one leaves
 * no trace. The broker commits one transaction per event-loop turn before sending any reply
 * that depends on it.
 *
 * State changes go through storage/db/states.c: store_job_set_state() and the task functions
 * read the current state and refuse illegal transitions with GQ_ESTATE.
 *
 * Errors: GQ_EDB (SQLite failed; message has the SQLite text), GQ_ENOTFOUND (no such row),
 * GQ_ESTATE (illegal transition), GQ_EBUSY (locked by another broker), GQ_EVERSION, GQ_EIO.
 * Strings in the structs below are fixed-size copies, so results own no heap memory except
 * where a _release/_free is named.
 */
#ifndef GQ_STORE_H
#define GQ_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "storage/db/states.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_ID_MAX 48          /* job and worker ids, including the NUL */

typedef struct store store;

/* Open (creating if needed) and migrate the database at path. OUT: *out, NULL on failure. */
int  store_open(const char *path, store **out, gq_error *err);
/* Close; an open transaction is rolled back. NULL allowed. Releases the lock. */
void store_close(store *s);

/* The schema version of the open database (after migration). */
int  store_schema_version(store *s);

/* Transactions. store_begin() is BEGIN IMMEDIATE; nesting is a bug (asserted). */
int  store_begin(store *s, gq_error *err);
int  store_commit(store *s, gq_error *err);
void store_rollback(store *s);
int  store_in_txn(const store *s);
/* A savepoint inside the open transaction, so one message's writes can be undone alone:
 * store_savepoint() marks, store_savepoint_release() keeps the writes since the mark,
 * store_savepoint_rollback() undoes them (and releases the mark). Not nestable. */
int  store_savepoint(store *s, gq_error *err);
int  store_savepoint_release(store *s, gq_error *err);
void store_savepoint_rollback(store *s);
/* Rows changed since the connection opened (lets a caller see whether a turn wrote). */
int64_t store_changes(store *s);

/* ---- jobs ---- */
typedef struct store_job {
    char     id[STORE_ID_MAX];
    int64_t  seq;              /* submission order (age) */
    int      state;            /* enum store_job_state */
    uint8_t *spec;             /* serialized resolved JobSpec (malloc'd, owned) */
    size_t   spec_len;
    char     model[128];
    char     model_sha256[65];
    char     owner[128];
    char     name[128];
    char     reason[512];
    char     manifest[256];
    int      priority;
    uint64_t total;            /* images */
    uint32_t tasks_total;
    uint32_t max_attempts;
    int64_t  created_ms, started_ms, finished_ms;  /* wall clock; 0 = not yet */
} store_job;

void store_job_release(store_job *j);  /* frees spec */

/* Insert a queued job (j->id empty: the store assigns "j<seq>" into j->id; j->seq is set).
 * The spec bytes are copied. */
int store_job_insert(store *s, store_job *j, gq_error *err);
/* OUT: *j filled (release with store_job_release). GQ_ENOTFOUND if no such job. */
int store_job_get(store *s, const char *id, store_job *j, gq_error *err);
/* Change state (checked by states.c). reason may be NULL. Sets started_ms on running and
 * finished_ms on terminal states. */
int store_job_set_state(store *s, const char *id, int to, const char *reason, int64_t now_ms,
                        gq_error *err);
/* Replace the stored spec and model_sha256 of a job (the broker pins the model file of a job
 * submitted without one at its first lease). */
int store_job_set_spec(store *s, const char *id, const void *spec, size_t len,
                       const char *model_sha256, gq_error *err);
int store_job_set_manifest(store *s, const char *id, const char *manifest, gq_error *err);
/* Jobs, newest first; state 0 = any, owner NULL/"" = any, limit 0 = 1000. OUT: *jobs array
 * of *n (free with store_job_list_free). */
int  store_job_list(store *s, int state, const char *owner, uint32_t limit, store_job **jobs,
                    size_t *n, gq_error *err);
void store_job_list_free(store_job *jobs, size_t n);
/* Jobs in state queued/running (for recovery and finalization checks). */
int  store_job_list_active(store *s, store_job **jobs, size_t *n, gq_error *err);

typedef struct store_job_counts {
    uint32_t pending, leased, done, failed, cancelled;
    uint64_t images_done;     /* images of done tasks + images_done of leased ones */
} store_job_counts;
int store_job_counts_get(store *s, const char *id, store_job_counts *c, gq_error *err);

/* 1 in *yes when every task of the job is done (index seeks only, no scan). */
int store_job_all_done(store *s, const char *id, int *yes, gq_error *err);

/* Scheduling candidates: queued/running jobs with at least one pending task. `pending` is
 * not counted (that would scan every pending task): it is 1 when there is at least one. */
typedef struct store_candidate {
    char     id[STORE_ID_MAX];
    int64_t  seq;
    int      priority;
    char     owner[128];
    char     model[128];
    char     model_sha256[65];
    uint32_t pending;
} store_candidate;
int store_candidates(store *s, store_candidate **out, size_t *n, gq_error *err);
/* Leased tasks of jobs owned by owner. */
int store_owner_leased(store *s, const char *owner, uint32_t *n, gq_error *err);

/* ---- tasks ---- */
typedef struct store_task {
    char     job_id[STORE_ID_MAX];
    uint64_t task_id;
    uint64_t start, end;
    int      state;            /* enum store_task_state */
    uint32_t attempts;         /* leases so far */
    char     worker_id[STORE_ID_MAX];   /* when leased */
    char     last_worker[STORE_ID_MAX]; /* the worker of the latest lease */
    int64_t  deadline_ms;      /* wall clock, when leased */
    uint64_t images_done;      /* progress of the current lease */
    char     reason[256];
} store_task;

int store_task_insert(store *s, const char *job_id, uint64_t task_id, uint64_t start,
                      uint64_t end, gq_error *err);
int store_task_get(store *s, const char *job_id, uint64_t task_id, store_task *t, gq_error *err);
/* pending -> leased; attempts += 1; sets worker, last_worker, deadline, images_done = 0. */
int store_task_lease(store *s, const char *job_id, uint64_t task_id, const char *worker_id,
                     int64_t deadline_ms, gq_error *err);
/* Move a task to `to` (not leased: use store_task_lease). Clears the lease; reason may be
 * NULL. */
int store_task_set_state(store *s, const char *job_id, uint64_t task_id, int to,
                         const char *reason, gq_error *err);
/* A leased task's lease moves to worker_id (re-adoption) and/or its deadline and progress
 * are updated. GQ_ESTATE if the task is not leased. */
int store_task_touch(store *s, const char *job_id, uint64_t task_id, const char *worker_id,
                     int64_t deadline_ms, uint64_t images_done, gq_error *err);
/* The pending task of job to lease next: lowest task_id whose last_worker differs from
 * avoid_worker, else the lowest. GQ_ENOTFOUND if none is pending. Walks the
 * (job_id, state, task_id) index from the start, so it costs O(log n) unless many pending
 * tasks were last run by avoid_worker. */
int store_task_next_pending(store *s, const char *job_id, const char *avoid_worker,
                            store_task *t, gq_error *err);

enum store_task_query {
    STORE_TASKS_OF_WORKER,   /* leased to worker `arg` */
    STORE_TASKS_EXPIRED,     /* leased with deadline_ms < `when` */
    STORE_TASKS_LEASED_OF_JOB,
    STORE_TASKS_PENDING_OF_JOB,
    STORE_TASKS_ALL_LEASED,
};
/* OUT: *out malloc'd array of *n tasks (free()). arg: worker id or job id; when: ms. */
int store_tasks_query(store *s, int query, const char *arg, int64_t when, store_task **out,
                      size_t *n, gq_error *err);
/* Set every leased task's deadline to deadline_ms (recovery grace after a restart). */
int store_tasks_set_deadline_all(store *s, int64_t deadline_ms, gq_error *err);
/* Give back the attempt a lease consumed (the worker returned the task with Goodbye). */
int store_task_refund_attempt(store *s, const char *job_id, uint64_t task_id, gq_error *err);

/* ---- outputs ---- */
typedef struct store_output {
    char     path[512];
    uint64_t task_id;
    uint64_t images, bytes, first_index;
    char     sha256[65];
} store_output;
/* Record (or replace: a re-executed task writes identical files) one output of a task. */
int store_output_put(store *s, const char *job_id, const store_output *o, gq_error *err);
/* OUT: *out malloc'd array (free()), ordered by first_index. */
int store_outputs_of_job(store *s, const char *job_id, store_output **out, size_t *n,
                         gq_error *err);

/* ---- workers ---- */
typedef struct store_worker {
    char     id[STORE_ID_MAX];
    char     name[128];
    char     state[16];        /* "idle", "busy", "dead" */
    uint8_t *hello;            /* serialized Hello (malloc'd, owned) */
    size_t   hello_len;
    int64_t  last_seen_ms;
    uint64_t images_done;
} store_worker;
int  store_worker_put(store *s, const char *id, const char *name, const void *hello,
                      size_t hello_len, const char *state, int64_t now_ms, gq_error *err);
int  store_worker_set_state(store *s, const char *id, const char *state, int64_t now_ms,
                            gq_error *err);
int  store_worker_add_images(store *s, const char *id, uint64_t n, gq_error *err);
/* Mark every worker not in state "dead" as dead (at start-up). */
int  store_workers_all_dead(store *s, gq_error *err);
/* Workers seen most recently first; limit 0 = 1000. OUT: array (store_worker_list_free). */
int  store_worker_list(store *s, uint32_t limit, store_worker **out, size_t *n, gq_error *err);
void store_worker_list_free(store_worker *w, size_t n);
/* A fresh worker id ("w<n>"), unique in this database. */
int  store_worker_new_id(store *s, char id[STORE_ID_MAX], gq_error *err);

/* ---- model catalogue ---- */
/* Remember model (name, sha256) with its serialized ModelInfo. */
int store_model_put(store *s, const char *name, const char *sha256, const void *info,
                    size_t len, int64_t now_ms, gq_error *err);
/* The most recently announced ModelInfo of name (sha256 NULL/"" = any). OUT: *info malloc'd
 * (free()), GQ_ENOTFOUND when unknown. */
int store_model_get(store *s, const char *name, const char *sha256, uint8_t **info,
                    size_t *len, gq_error *err);
/* Comma-separated names of every known model, sorted (malloc'd, free()). */
int store_model_names(store *s, char **names, gq_error *err);

/* ---- events ---- */
/* Append an event (any of job_id, worker_id, detail may be NULL; task_id -1 = none). */
int store_event(store *s, int64_t now_ms, const char *kind, const char *job_id, int64_t task_id,
                const char *worker_id, const char *detail, gq_error *err);
/* Number of events of kind (for tests and status). */
int store_event_count(store *s, const char *kind, const char *job_id, uint64_t *n,
                      gq_error *err);

/* One row of the events log. Absent columns read as "" (job_id, worker_id) and -1 (task_id). */
typedef struct store_event_info {
    int64_t  seq;                       /* increasing, unique (AUTOINCREMENT: never reused) */
    int64_t  ts_ms;                     /* wall clock */
    char     kind[32];
    char     job_id[STORE_ID_MAX];
    int64_t  task_id;                   /* -1: none */
    char     worker_id[STORE_ID_MAX];
    char    *detail;                    /* malloc'd, owned by the array; "" when none */
} store_event_info;

/* Events with seq > after_seq, oldest first, at most limit of them (0 = 1000).
 * job_id NULL/"" = every event, else only that job's (an unknown job simply has none: the
 * caller checks the job exists); kind NULL/"" = any kind. A job filter walks the
 * events_job(job_id, seq) index, no filter the primary key, so a page costs O(limit + log n)
 * (a kind filter also skips the rows of other kinds).
 * OUT: *out, an array of *n rows owned by the caller, freed (with every detail) by
 * store_events_list_free(); *more (may be NULL) is 1 when further events match after the
 * last one returned. No rows: *out may be NULL with *n 0. On failure *out is NULL, *n 0
 * and *more 0.
 * Returns 0, GQ_EDB or GQ_ENOMEM. */
int  store_events_list(store *s, const char *job_id, const char *kind, int64_t after_seq,
                       uint32_t limit, store_event_info **out, size_t *n, int *more,
                       gq_error *err);
/* Retention: delete the oldest events so that only seq numbers within the newest keep
 * (keep >= 0) remain, at most max_rows (> 0) of them in this call (call again while
 * *deleted == max_rows). SQLite reuses the freed pages; the file does not shrink.
 * OUT: *deleted. Returns 0 or GQ_EDB. */
int  store_events_prune(store *s, int64_t keep, int64_t max_rows, int64_t *deleted,
                        gq_error *err);
/* Free an array from store_events_list() and its details. NULL allowed. */
void store_events_list_free(store_event_info *ev, size_t n);

#endif
