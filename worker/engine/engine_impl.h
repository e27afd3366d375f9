/* engine_impl.h: what lies behind the opaque `engine` handle (internal to worker/engine/).
 *
 * In the ggml style, a model family on a backend is a struct of function pointers
 * (engine_iface) plus a private state pointer. engine.c owns the public entry points: it
 * validates every handle and every batch once (class ids, class vectors, truncation), then
 * calls the implementation, which may therefore assume a valid batch. Optional slots are
 * marked optional; engine.c supplies the fallback (generate_u8 converts generate_f32).
 *
 * Implementations: testcard.c (family testcard, any backend: pure C), cpu/deep.c
 * (biggan-deep on the CPU), cpu/biggan.c (biggan on the CPU).
 */
#ifndef GQ_ENGINE_IMPL_H
#define GQ_ENGINE_IMPL_H

#include "worker/engine/engine.h"

typedef struct engine_iface {
    const char *name;                                  /* "testcard/cpu", "biggan-deep/cpu" */
    /* Free impl state (may be NULL). Required. */
    void (*free)(void *impl);
    /* Largest batch per call. Optional: NULL means 16. */
    int (*max_batch)(void *impl);
    /* Generate B x 3 x H x W floats; b is already validated. Required. */
    int (*generate_f32)(void *impl, const engine_batch *b, float *out, gq_error *err);
    /* Generate B x H x W x 3 bytes. Optional: NULL means generate_f32 + conversion. */
    int (*generate_u8)(void *impl, const engine_batch *b, uint8_t *out, gq_error *err);
} engine_iface;

struct engine {
    const engine_iface *iface;   /* static table, never freed */
    void               *impl;    /* owned; freed by iface->free */
    engine_arch         arch;    /* filled by the implementation's open; strings owned by impl */
    int                 max_batch_opt; /* engine_options.max_batch (0: backend decides) */
};

/* Open functions of the implementations: fill e->iface, e->impl and e->arch.
 * Return 0 or a negative GQ_E* with err set; on failure e->impl is NULL. */
int engine_testcard_open(const char *spec, const engine_options *opts, engine *e, gq_error *err);
int engine_model_open_cpu(const char *path, const engine_options *opts, engine *e, gq_error *err);

/* Float image to byte, as pytorch-pretrained-BigGAN: min(255, floor(128 * (x + 1))), >= 0. */
static inline uint8_t engine_f32_to_u8(float x)
{
    float v = 128.0f * (x + 1.0f);
    if (!(v > 0.0f)) return 0;            /* also NaN -> 0 */
    if (v >= 255.0f) return 255;
    return (uint8_t)v;                    /* truncation == floor for v >= 0 */
}

#endif
