/* cpu_model.h: state shared by the CPU forward passes (cpu/deep.c, cpu/biggan.c) and their
 * open/dispatch in cpu/model_cpu.c. Internal to worker/engine/cpu/. */
#ifndef GQ_ENGINE_CPU_MODEL_H
#define GQ_ENGINE_CPU_MODEL_H

#include "worker/engine/cpu/ops.h"
#include "worker/engine/engine_impl.h"
#include "worker/engine/model/model.h"

#define CPU_NBUF 4

typedef struct cpu_model {
    model  *m;
    cpu_ctx ctx;
    int     max_batch;
    /* Activation buffers, each `per_image * cap_batch` floats, grown on demand. */
    size_t  per_image;        /* largest activation of one image, in floats */
    int     cap_batch;
    float  *buf[CPU_NBUF];
    float  *small;            /* per-batch conditioning scratch */
    size_t  small_cap;
} cpu_model;

/* Make sure buffers hold B images (and `small` floats of scratch). 0 or GQ_ENOMEM. */
int cpu_model_reserve(cpu_model *cm, int B, size_t small);

int cpu_deep_generate(cpu_model *cm, const engine_batch *b, float *out, gq_error *err);
size_t cpu_deep_per_image(const model_arch *a);
int cpu_biggan_generate(cpu_model *cm, const engine_batch *b, float *out, gq_error *err);
size_t cpu_biggan_per_image(const model_arch *a);

#endif
