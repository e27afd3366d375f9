/* plan_fallback.c: TEMPORARY stand-in for proto/plan/plan.c (owned by the `kinds` helper)
 * so that the broker builds and its tests run before plan.c lands on main. It computes only
 * what the broker needs (totals; task alignment 1) with basic range checks. broker/module.mk
 * defines GQ_HAVE_PLAN as soon as proto/plan/ has a .c file, and then this file is empty.
 * Delete it once plan.c is merged. */
#ifndef GQ_HAVE_PLAN
#include "proto/plan/plan.h"

#include <stdlib.h>

struct plan {
    uint64_t total;
};

int plan_init(const Ganq__V1__JobSpec *spec, const plan_model *model, plan **out, gq_error *err)
{
    *out = NULL;
    uint64_t n = 0;
    size_t ncls = spec->n_class_ids;
    switch (spec->kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        n = spec->count;
        if (n == 0)
            return gq_fail(err, GQ_EINVAL, "count: must be at least 1");
        break;
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:
        if (spec->per_class == 0)
            return gq_fail(err, GQ_EINVAL, "per_class: must be at least 1");
        n = spec->per_class > PLAN_MAX_IMAGES ? PLAN_MAX_IMAGES + 1 : spec->per_class * ncls;
        break;
    case GANQ__V1__JOB_KIND__KIND_SWEEP:
        if (spec->n_truncations == 0 || spec->per_value == 0)
            return gq_fail(err, GQ_EINVAL, "per_value: a sweep needs truncations and per_value");
        n = spec->per_value > PLAN_MAX_IMAGES ? PLAN_MAX_IMAGES + 1
                                              : spec->per_value * spec->n_truncations;
        break;
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE:
        if (spec->steps < 2 || spec->steps > PLAN_MAX_STEPS)
            return gq_fail(err, GQ_EINVAL, "steps: %u is outside 2..%d", spec->steps,
                           PLAN_MAX_STEPS);
        if (spec->class_a < 0 || spec->class_a >= model->num_classes)
            return gq_fail(err, GQ_EINVAL, "class_a: %d is outside 0..%d", spec->class_a,
                           model->num_classes - 1);
        if (spec->class_b < 0 || spec->class_b >= model->num_classes)
            return gq_fail(err, GQ_EINVAL, "class_b: %d is outside 0..%d", spec->class_b,
                           model->num_classes - 1);
        n = spec->steps;
        break;
    default:
        return gq_fail(err, GQ_EINVAL, "kind: %d is not a job kind (1..4)", (int)spec->kind);
    }
    if (n > PLAN_MAX_IMAGES)
        return gq_fail(err, GQ_EINVAL, "count: %llu images is above %llu",
                       (unsigned long long)n, (unsigned long long)PLAN_MAX_IMAGES);
    for (size_t i = 0; i < spec->n_truncations; i++)
        if (!(spec->truncations[i] > 0 && spec->truncations[i] <= 4))
            return gq_fail(err, GQ_EINVAL, "truncations: %g is outside (0, 4]",
                           spec->truncations[i]);
    plan *p = calloc(1, sizeof *p);
    if (!p)
        return gq_fail(err, GQ_ENOMEM, "plan: out of memory");
    p->total = n;
    *out = p;
    return GQ_OK;
}

void plan_free(plan *p) { free(p); }
uint64_t plan_total(const plan *p) { return p->total; }
uint64_t plan_task_align(const plan *p) { (void)p; return 1; }
#else
typedef int plan_fallback_unused;   /* ISO C wants a non-empty translation unit */
#endif
