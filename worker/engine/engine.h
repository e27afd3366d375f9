/* engine.h: the public interface of ganq's image engine.
 *
 * One opaque handle, `engine`, is a loaded model bound to one backend (cpu now; cuda later).
 * Models are either the built-in "testcard" (a deterministic test pattern, for pipeline tests
 * and dispatch benchmarks) or a model file (safetensors, see worker/engine/model/FORMAT.md)
 * of family "biggan-deep" or "biggan". Callers (ganq-worker, ganq-engine, tests) use only
 * this header; backends and families live behind it.
 *
 * Generation contract: images are a pure function of (model weights, z, class input,
 * truncation), deterministic for a given backend and thread count. z is supplied by the caller
 * already scaled by the truncation (as the references expect); `truncation` is passed as well
 * because BigGAN-deep selects standing BN statistics by it. Noise comes from engine_noise()
 * so that every machine computes bit-identical z.
 *
 * Threading: one engine handle is used by one thread at a time; the CPU backend parallelises
 * internally over `threads`.
 */
#ifndef GQ_ENGINE_H
#define GQ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"

typedef struct engine engine;

enum engine_family {
    ENGINE_FAMILY_TESTCARD = 0,
    ENGINE_FAMILY_BIGGAN_DEEP = 1,  /* pytorch-pretrained-BigGAN layout */
    ENGINE_FAMILY_BIGGAN = 2,       /* BigGAN-PyTorch layout, hierarchical z, shared embedding */
};

/* What a loaded model is. All pointers are owned by the engine and live as long as it. */
typedef struct engine_arch {
    int         family;          /* enum engine_family */
    const char *family_name;     /* "testcard", "biggan-deep", "biggan" */
    const char *name;            /* model name: file stem, or "testcard" */
    int         resolution;      /* output H = W */
    int         z_dim;
    int         num_classes;
    const char *const *class_names; /* num_classes entries, never NULL (ids as text if absent) */
    int         standing_stats;  /* 1: truncation must be in (0, 1] */
    int         ch;              /* channel width multiplier */
    uint64_t    num_params;
    char        sha256[65];      /* hex sha256 of the model file ("testcard" has a fixed one) */
    const char *dtype;           /* storage dtype of the weights: "F32", "F16", "BF16" */
    const char *provenance;      /* JSON text from the file's metadata, or "" */
} engine_arch;

typedef struct engine_options {
    const char *device;          /* "cpu" (default when NULL) or "cuda[:N]" */
    int         threads;         /* CPU threads; 0 = all online cores */
    int         max_batch;       /* 0 = backend decides */
} engine_options;

/* Load `model` ("testcard", or a path to a .safetensors file) onto opts->device.
 * OUT: *out the engine on success, NULL on failure (err says why: file, tensor, field).
 * Returns 0, GQ_ENOTFOUND, GQ_EFORMAT (bad/inconsistent file), GQ_EUNSUPPORTED (device),
 * GQ_EDEVICE, GQ_ENOMEM or GQ_EIO. */
int engine_open(const char *model, const engine_options *opts, engine **out, gq_error *err);

/* Free the engine and everything it owns. NULL is allowed. */
void engine_free(engine *e);

const engine_arch *engine_get_arch(const engine *e);

/* Largest batch the backend wants in one call (>= 1). */
int engine_max_batch(const engine *e);

/* The class input of one batch: exactly one of class_ids or class_vectors is non-NULL.
 * class_ids: B ints in [0, num_classes). class_vectors: B x num_classes floats (soft
 * mixtures allowed: used for class interpolation). */
typedef struct engine_batch {
    int            n;               /* B >= 1 */
    const float   *z;               /* B x z_dim, already scaled by truncation */
    const int32_t *class_ids;
    const float   *class_vectors;
    double         truncation;      /* in (0, 1] for standing-stat models; kept in double */
} engine_batch;

/* Generate float images: out is B x 3 x H x W (NCHW) in [-1, 1].
 * Returns 0, GQ_EINVAL (bad class id, truncation out of range: err names it),
 * GQ_ENOMEM, GQ_EOOM_DEVICE, GQ_EDEVICE. */
int engine_generate_f32(engine *e, const engine_batch *b, float *out, gq_error *err);

/* Generate uint8 images: out is B x H x W x 3 (HWC), p = min(255, floor(128 * (x + 1))),
 * clamped at 0, as pytorch-pretrained-BigGAN converts. Same returns as above. */
int engine_generate_u8(engine *e, const engine_batch *b, uint8_t *out, gq_error *err);

/* Truncated-normal noise, identical on every machine:
 * out[k*z_dim + d] = truncation * TN(-2, 2) for image index (first_index + k), dimension d,
 * drawn from Philox4x32-10 keyed by seed, with the counter built from (index, d, attempt).
 * See worker/engine/noise.c for the exact construction. */
void engine_noise(uint64_t seed, uint64_t first_index, int count, int z_dim, double truncation,
                  float *out);

#endif
