/* sched.c: priority, fair share, age, model matching (see sched.h). A linear scan: the
 * candidate list is the jobs with pending work, which is small next to the task count. */
#include "broker/sched.h"

#include <string.h>

int sched_worker_has(const sched_job *j, const sched_model *models, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(models[i].name, j->model) != 0)
            continue;
        if (!j->sha256[0] || strcmp(models[i].sha256, j->sha256) == 0)
            return 1;
    }
    return 0;
}

int sched_compare(const sched_job *a, const sched_job *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority ? -1 : 1;
    if (a->owner_leased != b->owner_leased)
        return a->owner_leased < b->owner_leased ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}

long sched_pick(const sched_job *jobs, size_t njobs, const sched_model *models, size_t nmodels)
{
    long best = -1;
    for (size_t i = 0; i < njobs; i++) {
        if (jobs[i].pending == 0 || !sched_worker_has(&jobs[i], models, nmodels))
            continue;
        if (best < 0 || sched_compare(&jobs[i], &jobs[best]) < 0)
            best = (long)i;
    }
    return best;
}
