/* model_cpu.c: model files on the CPU backend: open (model.c validates), pick the family's
 * forward pass, own the activation buffers. Two engine_iface tables, one per family. */
#include <stdlib.h>
#include <unistd.h>

#include "worker/engine/cpu/cpu_model.h"

int cpu_model_reserve(cpu_model *cm, int B, size_t small)
{
    if (B > cm->cap_batch) {
        for (int i = 0; i < CPU_NBUF; i++) {
            free(cm->buf[i]);
            cm->buf[i] = malloc(cm->per_image * (size_t)B * sizeof(float));
        }
        cm->cap_batch = B;
        for (int i = 0; i < CPU_NBUF; i++)
            if (!cm->buf[i]) { cm->cap_batch = 0; return GQ_ENOMEM; }
    }
    if (small > cm->small_cap) {
        free(cm->small);
        cm->small = malloc(small * sizeof(float));
        cm->small_cap = cm->small ? small : 0;
        if (!cm->small) return GQ_ENOMEM;
    }
    return 0;
}

static void cm_free(void *impl)
{
    cpu_model *cm = impl;
    if (!cm) return;
    for (int i = 0; i < CPU_NBUF; i++) free(cm->buf[i]);
    free(cm->small);
    cpu_ctx_release(&cm->ctx);
    model_free(cm->m);
    free(cm);
}

static int cm_max_batch(void *impl) { return ((cpu_model *)impl)->max_batch; }

static int deep_gen(void *impl, const engine_batch *b, float *out, gq_error *err)
{
    return cpu_deep_generate(impl, b, out, err);
}

static int biggan_gen(void *impl, const engine_batch *b, float *out, gq_error *err)
{
    return cpu_biggan_generate(impl, b, out, err);
}

static const engine_iface deep_iface = {
    /* .name         = */ "biggan-deep/cpu",
    /* .free         = */ cm_free,
    /* .max_batch    = */ cm_max_batch,
    /* .generate_f32 = */ deep_gen,
    /* .generate_u8  = */ NULL,
};

static const engine_iface biggan_iface = {
    /* .name         = */ "biggan/cpu",
    /* .free         = */ cm_free,
    /* .max_batch    = */ cm_max_batch,
    /* .generate_f32 = */ biggan_gen,
    /* .generate_u8  = */ NULL,
};

int engine_model_open_cpu(const char *path, const engine_options *opts, engine *e, gq_error *err)
{
    cpu_model *cm = calloc(1, sizeof *cm);
    if (!cm) return gq_fail(err, GQ_ENOMEM, "model: out of memory");
    int rc = model_open(path, &cm->m, err);
    if (rc) { free(cm); return rc; }
    int threads = opts->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (cpu_ctx_init(&cm->ctx, threads)) {
        model_free(cm->m);
        free(cm);
        return gq_fail(err, GQ_ENOMEM, "cpu: out of memory for thread pool/scratch");
    }
    const model_arch *a = model_get_arch(cm->m);
    if (a->family == ENGINE_FAMILY_BIGGAN_DEEP) {
        e->iface = &deep_iface;
        cm->per_image = cpu_deep_per_image(a);
    } else {
        e->iface = &biggan_iface;
        cm->per_image = cpu_biggan_per_image(a);
    }
    /* Batch: enough to fill the GEMMs at 4x4, bounded so buffers stay near 1 GiB. */
    size_t per = cm->per_image * CPU_NBUF * sizeof(float);
    int mb = (int)(((size_t)1 << 30) / (per ? per : 1));
    cm->max_batch = mb < 1 ? 1 : mb > 32 ? 32 : mb;
    e->impl = cm;
    model_describe(cm->m, &e->arch);
    return 0;
}
