/* plan_inputs.c: the engine inputs of a batch of images (plan_fill_inputs, see plan.h).
 *
 * Kept apart from plan.c because it alone calls the engine (engine_noise): the broker links
 * plan.c without pulling in the engine. z is computed on the host in float exactly as
 * plan.h describes; interpolation lerps as (1 - a) * z_a + a * z_b (ISO C: no contraction
 * into FMA under -std=c11), so both endpoints are reproduced exactly at a = 0 and a = 1.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "proto/plan/plan.h"
#include "proto/plan/plan_impl.h"
#include "worker/engine/engine.h"

void plan_fill_inputs(const plan *p, const uint64_t *indices, int n, float *z,
                      int32_t *class_ids, float *class_vectors)
{
    int zd = p->z_dim;
    float *zb = NULL;
    GQ_ASSERT(zd > 0 && n >= 0);
    if (p->kind == GANQ__V1__JOB_KIND__KIND_INTERPOLATE) {
        zb = malloc((size_t)zd * sizeof *zb);
        GQ_ASSERT(zb != NULL);
    }
    for (int k = 0; k < n; k++) {
        plan_image im;
        float *zk = z + (size_t)k * (size_t)zd;
        plan_image_at(p, indices[k], &im);
        if (k > 0) {
            plan_image im0;
            plan_image_at(p, indices[0], &im0);
            GQ_ASSERT(im0.truncation == im.truncation);
        }
        engine_noise(im.z_seed, im.z_index, 1, zd, im.truncation, zk);
        if (zb && im.z_alpha != 0.0f) {
            float a = im.z_alpha, b = 1.0f - im.z_alpha;
            engine_noise(im.z_seed_b, im.z_index, 1, zd, im.truncation, zb);
            for (int d = 0; d < zd; d++)
                zk[d] = b * zk[d] + a * zb[d];
        }
        if (plan_uses_class_vectors(p)) {
            float *cv = class_vectors + (size_t)k * (size_t)p->num_classes;
            memset(cv, 0, (size_t)p->num_classes * sizeof *cv);
            cv[im.class_id] += 1.0f - im.class_alpha;
            if (im.class_b >= 0)
                cv[im.class_b] += im.class_alpha;
        } else {
            class_ids[k] = im.class_id;
        }
    }
    free(zb);
}
