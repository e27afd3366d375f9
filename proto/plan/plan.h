/* plan.h: what a job means, image by image. Shared by the broker (validation, totals, task
 * split, manifests) and the worker (what to generate, where to write it).
 *
 * A plan is built from a JobSpec and the model's description. Image i of a job is a pure
 * function of (model, spec, i): plan_image_at() gives its class (or class mixture), its
 * truncation, which noise draw its z comes from, its split and its output location. Nothing
 * here depends on how the job is split into tasks or which worker runs it; that is what makes
 * at-least-once execution give exactly-once, byte-identical outputs.
 *
 * Index layout per kind:
 *   generate:     i in [0, count); class_ids[i % n]; truncation truncations[0], or, with a
 *                 list, truncations[h(seed, i) % len]; z = noise(seed, i).
 *   synthesize:   i in [0, n_classes * per_class); class = class_ids[i / per_class], k = i %
 *                 per_class; split "val" for k < round(val_fraction * per_class), else
 *                 "train"; truncation as generate; z = noise(seed, i).
 *   sweep:        i in [0, n_values * per_value); v = i / per_value, s = i % per_value;
 *                 truncation values[v]; z = values[v] * TN(seed, s): the same samples at
 *                 every value; class_ids[s % n].
 *   interpolate:  i in [0, steps); alpha = i / (steps - 1); z and/or class vector lerped
 *                 between endpoints (class_a, seed_a) and (class_b, seed_b), each endpoint's
 *                 z = noise(seed_x, 0).
 */
#ifndef GQ_PLAN_H
#define GQ_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"

/* Limits enforced by plan_init (bad input gets a clear error naming the field). */
#define PLAN_MAX_IMAGES      100000000ULL  /* images per job */
#define PLAN_MAX_TRUNCATIONS 1000
#define PLAN_MAX_STEPS       10000
#define PLAN_MAX_SHARD       1000000

typedef struct plan_model {
    int                num_classes;
    const char *const *class_names;   /* num_classes entries, may be NULL (ids used) */
    int                z_dim;
    int                standing_stats; /* truncation must be in (0, 1] */
} plan_model;

typedef struct plan plan;

/* Build a plan from a resolved spec (class_ids filled). Validates every field against the
 * model and the limits above. OUT: *out on success, NULL on failure (err names the field).
 * The plan copies what it needs; spec may be freed afterwards. */
int plan_init(const Ganq__V1__JobSpec *spec, const plan_model *model, plan **out, gq_error *err);
void plan_free(plan *p);

uint64_t plan_total(const plan *p);       /* images in the job */

typedef struct plan_image {
    uint64_t    index;        /* image index in the job */
    int32_t     class_id;     /* the class (class_a when mixing) */
    int32_t     class_b;      /* interpolate: second class; -1 otherwise */
    float       class_alpha;  /* weight of class_b in the class vector (0 = pure class_id) */
    float       z_alpha;      /* interpolate: weight of endpoint b's z (0 otherwise) */
    double      truncation;
    uint64_t    z_seed;       /* z = truncation * TN(z_seed, z_index) (lerped for interpolate) */
    uint64_t    z_index;
    uint64_t    z_seed_b;     /* interpolate: endpoint b's draw */
    const char *split;        /* "train", "val", or NULL when the job has no splits */
} plan_image;

void plan_image_at(const plan *p, uint64_t i, plan_image *out);

/* The engine inputs of images [first, first + n), all of which must share one truncation:
 * z: n x z_dim floats (already scaled), and exactly one of class_ids (n) or class_vectors
 * (n x num_classes) is written, chosen by plan_uses_class_vectors(). */
int  plan_uses_class_vectors(const plan *p);
void plan_fill_inputs(const plan *p, const uint64_t *indices, int n, float *z,
                      int32_t *class_ids, float *class_vectors);

/* Relative output path of image i for file formats (png/jpeg), e.g. "000123.png",
 * "train/golden_retriever/000123.png", "t0.50/000007.png". Returns 0 or GQ_EINVAL if buf is
 * too small. For NPZ and WDS, files hold many images: see plan_container_of(). */
int plan_output_path(const plan *p, uint64_t i, char *buf, size_t n);

/* For NPZ/WDS: images are grouped into containers; plan_container_of() gives the container
 * number of image i, and plan_container_path() its relative path ("train-000003.tar",
 * "samples-000000.npz"). A container holds a contiguous index range within one split,
 * returned by plan_container_range(). Tasks never straddle containers (the broker aligns task
 * boundaries with plan_task_align()). */
uint64_t plan_container_of(const plan *p, uint64_t i);
int      plan_container_path(const plan *p, uint64_t c, char *buf, size_t n);
void     plan_container_range(const plan *p, uint64_t c, uint64_t *first, uint64_t *end);
uint64_t plan_task_align(const plan *p);  /* task sizes must be multiples of this (1 if any) */

/* Class name of a class id ("3" when the model has no names); never NULL. */
const char *plan_class_name(const plan *p, int32_t id);

#endif
