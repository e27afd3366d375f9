/* sched.h: the broker's scheduling rule as a pure function (no I/O, no globals).
 *
 * Given the jobs that have pending tasks and one worker asking for work, sched_pick() chooses
 * the job whose next task the worker gets:
 *   1. only jobs whose model the worker has: same name, and the same sha256 when the job has
 *      one (a job with an empty sha256, e.g. the built-in "testcard" submitted before any
 *      worker registered, matches by name);
 *   2. highest priority first;
 *   3. then fair share between owners: the owner with the fewest tasks leased right now;
 *   4. then age: the oldest job (lowest submission seq).
 * The caller updates owner_leased after each lease and calls again for the next credit.
 */
#ifndef GQ_SCHED_H
#define GQ_SCHED_H

#include <stddef.h>
#include <stdint.h>

typedef struct sched_job {
    const char *model;         /* model name */
    const char *sha256;        /* "" = any file of that name */
    const char *owner;
    int         priority;      /* higher first */
    uint32_t    owner_leased;  /* tasks currently leased by jobs of this owner */
    int64_t     seq;           /* submission order: lower is older */
    uint32_t    pending;       /* pending tasks (0: never picked) */
} sched_job;

typedef struct sched_model {
    const char *name;
    const char *sha256;
} sched_model;

/* Does a worker with models[0..n) have the model of job j? */
int sched_worker_has(const sched_job *j, const sched_model *models, size_t n);

/* Index of the job to serve next, or -1 when none fits the worker. */
long sched_pick(const sched_job *jobs, size_t njobs, const sched_model *models, size_t nmodels);

/* Compare two eligible jobs by rules 2-4: negative when a goes first. */
int sched_compare(const sched_job *a, const sched_job *b);

#endif
