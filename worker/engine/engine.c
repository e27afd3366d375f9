/* engine.c: the public entry points of engine.h, dispatching over families and backends.
 *
 * engine_open picks the implementation: "testcard" (or "testcard:RES") is built in; anything
 * else is a model file path, opened on the backend named by opts->device. Only the CPU
 * backend exists in this build: "cuda[:N]" is refused with GQ_EUNSUPPORTED.
 * engine_generate_* validate the batch here, once, before the implementation sees it
 * (libzmq's socket_base habit): class ids in range, class vectors and z finite, truncation
 * finite and > 0, and <= 1 for standing-statistics models.
 */
#include "worker/engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "worker/engine/engine_impl.h"

static int device_check(const char *device, gq_error *err)
{
    if (device == NULL || strcmp(device, "cpu") == 0) return 0;
    if (strncmp(device, "cuda", 4) == 0 && (device[4] == 0 || device[4] == ':'))
        return gq_fail(err, GQ_EUNSUPPORTED,
                       "device: '%s': CUDA backend not built in this version (use cpu)", device);
    return gq_fail(err, GQ_EINVAL, "device: '%s' is not one of cpu, cuda[:N]", device);
}

int engine_open(const char *model, const engine_options *opts, engine **out, gq_error *err)
{
    static const engine_options defaults = { NULL, 0, 0 };
    *out = NULL;
    if (model == NULL || model[0] == 0) return gq_fail(err, GQ_EINVAL, "model: empty name");
    if (opts == NULL) opts = &defaults;
    if (opts->threads < 0 || opts->threads > 1024)
        return gq_fail(err, GQ_EINVAL, "threads: %d is outside [0, 1024]", opts->threads);
    if (opts->max_batch < 0)
        return gq_fail(err, GQ_EINVAL, "max_batch: %d is negative", opts->max_batch);
    int rc = device_check(opts->device, err);
    if (rc) return rc;
    engine *e = calloc(1, sizeof *e);
    if (!e) return gq_fail(err, GQ_ENOMEM, "engine: out of memory");
    e->max_batch_opt = opts->max_batch;
    if (strcmp(model, "testcard") == 0 || strncmp(model, "testcard:", 9) == 0)
        rc = engine_testcard_open(model, opts, e, err);
    else
        rc = engine_model_open_cpu(model, opts, e, err);
    if (rc) {
        free(e);
        return rc;
    }
    GQ_ASSERT(e->iface && e->iface->generate_f32 && e->iface->free);
    *out = e;
    return 0;
}

void engine_free(engine *e)
{
    if (!e) return;
    e->iface->free(e->impl);
    free(e);
}

const engine_arch *engine_get_arch(const engine *e)
{
    GQ_ASSERT(e);
    return &e->arch;
}

int engine_max_batch(const engine *e)
{
    GQ_ASSERT(e);
    int m = e->iface->max_batch ? e->iface->max_batch(e->impl) : 16;
    if (e->max_batch_opt > 0 && e->max_batch_opt < m) m = e->max_batch_opt;
    return m < 1 ? 1 : m;
}

static int batch_check(const engine *e, const engine_batch *b, gq_error *err)
{
    const engine_arch *a = &e->arch;
    if (!b) return gq_fail(err, GQ_EINVAL, "batch: NULL");
    if (b->n < 1) return gq_fail(err, GQ_EINVAL, "batch: n = %d, must be >= 1", b->n);
    if (!b->z) return gq_fail(err, GQ_EINVAL, "batch: z is NULL");
    if ((b->class_ids == NULL) == (b->class_vectors == NULL))
        return gq_fail(err, GQ_EINVAL, "batch: exactly one of class_ids and class_vectors is needed");
    if (!isfinite(b->truncation) || !(b->truncation > 0.0) ||
        (a->standing_stats && b->truncation > 1.0))
        return gq_fail(err, GQ_EINVAL, "truncation: %g is outside (0, %s]", b->truncation,
                       a->standing_stats ? "1" : "inf");
    if (b->class_ids) {
        for (int i = 0; i < b->n; i++)
            if (b->class_ids[i] < 0 || b->class_ids[i] >= a->num_classes)
                return gq_fail(err, GQ_EINVAL, "class_ids[%d]: %d is outside [0, %d)", i,
                               (int)b->class_ids[i], a->num_classes);
    } else {
        size_t n = (size_t)b->n * (size_t)a->num_classes;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(b->class_vectors[i]))
                return gq_fail(err, GQ_EINVAL, "class_vectors[%zu][%zu]: not finite",
                               i / (size_t)a->num_classes, i % (size_t)a->num_classes);
    }
    size_t nz = (size_t)b->n * (size_t)a->z_dim;
    for (size_t i = 0; i < nz; i++)
        if (!isfinite(b->z[i]))
            return gq_fail(err, GQ_EINVAL, "z[%zu][%zu]: not finite", i / (size_t)a->z_dim,
                           i % (size_t)a->z_dim);
    return 0;
}

int engine_generate_f32(engine *e, const engine_batch *b, float *out, gq_error *err)
{
    GQ_ASSERT(e && out);
    int rc = batch_check(e, b, err);
    if (rc) return rc;
    return e->iface->generate_f32(e->impl, b, out, err);
}

int engine_generate_u8(engine *e, const engine_batch *b, uint8_t *out, gq_error *err)
{
    GQ_ASSERT(e && out);
    int rc = batch_check(e, b, err);
    if (rc) return rc;
    if (e->iface->generate_u8) return e->iface->generate_u8(e->impl, b, out, err);
    size_t hw = (size_t)e->arch.resolution * (size_t)e->arch.resolution;
    float *f = malloc((size_t)b->n * 3 * hw * sizeof *f);
    if (!f) return gq_fail(err, GQ_ENOMEM, "output: out of memory for %d images", b->n);
    rc = e->iface->generate_f32(e->impl, b, f, err);
    if (rc == 0) {
        for (int i = 0; i < b->n; i++) {
            const float *src = f + (size_t)i * 3 * hw;
            uint8_t *dst = out + (size_t)i * 3 * hw;
            for (size_t p = 0; p < hw; p++)
                for (int c = 0; c < 3; c++)
                    dst[3 * p + (size_t)c] = engine_f32_to_u8(src[(size_t)c * hw + p]);
        }
    }
    free(f);
    return rc;
}
