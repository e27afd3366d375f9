/* plan.h: what a job means, image by image. Shared by the broker (validation, totals, task
 * split, manifests) and the worker (what to generate, where to write it).
 *
 * A plan is built from a JobSpec and the model's description. Image i of a job is a pure
 * function of (model, spec, i): plan_image_at() gives its class (or class mixture), its
 * truncation, which noise draw its z comes from, its split and its output location. Nothing
 * here depends on how the job is split into tasks or which worker runs it; that is what makes
 * at-least-once execution give exactly-once, byte-identical outputs.
 *
 * Index layout per kind (h(seed, i) = a splitmix64 hash, see plan.c):
 *   generate:     i in [0, count); class_ids[i % n]; truncation truncations[0], or, with a
 *                 list, truncations[h(seed, i) % len]; z = noise(seed, i).
 *   synthesize:   C = n classes, nv = round(val_fraction * per_class), nt = per_class - nv.
 *                 Val images come first so that each split is one contiguous index range:
 *                 i in [0, C*nv): split "val", class = class_ids[i / nv], k = i % nv;
 *                 i in [C*nv, C*per_class): split "train", j = i - C*nv,
 *                 class = class_ids[j / nt], k = nv + j % nt.
 *                 Truncation as generate; z = noise(seed, i).
 *   sweep:        i in [0, n_values * per_value); v = i / per_value, s = i % per_value;
 *                 truncation values[v]; z = values[v] * TN(seed, s): the same samples at
 *                 every value; class_ids[s % n].
 *   interpolate:  i in [0, steps); alpha = i / (steps - 1); z and/or class vector lerped
 *                 between endpoints (class_a, seed_a) and (class_b, seed_b), each endpoint's
 *                 z = noise(seed_x, 0) scaled by truncations[0]; z = (1-a)*z_a + a*z_b in
 *                 float. INTERP_Z keeps class_a; INTERP_CLASS keeps z_a; default BOTH.
 *
 * Defaults resolved by plan_init: truncation 1.0 when none is given (not for sweep);
 * format PNG; layout WDS for format WDS, IMAGEFOLDER for synthesize png/jpeg, else FLAT.
 * Compatibility: NPZ and WDS only for generate/synthesize, and they need shard_size >= 1
 * (images per container: 0 is refused so the CLI must fill its default); IMAGEFOLDER only for
 * generate/synthesize png/jpeg; sheet only for generate png/jpeg; sweep and interpolate write
 * png/jpeg files, flat.
 *
 * Paths (plan_output_path), with W = max(6, digits(total - 1)) digits of zero-padded index:
 *   flat:         <index>.<ext>                    (ext "png" or "jpg")
 *   imagefolder:  generate <folder>/<index>.<ext>; synthesize <split>/<folder>/<index>.<ext>
 *   sweep:        t<value>/<s>.<ext>, value printed with the fewest decimals >= 2 that tell
 *                 all swept values apart ("t0.50"), s padded to max(6, digits(per_value-1))
 * <folder> is the class name with every byte outside [A-Za-z0-9._-] replaced by '_' (a name
 * made only of dots or empty becomes "class"), suffixed "_<id>" when two classes of the model
 * would share a folder (ImageNet has two "crane"s).
 * Containers (NPZ/WDS): the index range is cut into blocks [k*S, (k+1)*S) of S = shard_size
 * images, and each block once more where a split ends (synthesize: at C*nv). So every
 * container lies inside one block, a split's containers are contiguous, all are full except
 * the last of a split and the first of "train" (which completes the block "val" ended in),
 * and any task made of whole blocks holds whole containers. The container number c counts
 * val containers first, then train; its path is
 * "<split>-<nnnnnn>.<npz|tar>" with split "samples" for generate and nnnnnn the number within
 * the split. The key of an image inside a container is its padded index (plan_image_key).
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
    int                z_dim;         /* 0 = unknown (broker): plan_fill_inputs unusable */
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
 * returned by plan_container_range(). Tasks never straddle containers: the broker makes every
 * task size a multiple of plan_task_align() (= shard_size for NPZ/WDS). */
uint64_t plan_container_of(const plan *p, uint64_t i);
int      plan_container_path(const plan *p, uint64_t c, char *buf, size_t n);
void     plan_container_range(const plan *p, uint64_t c, uint64_t *first, uint64_t *end);
uint64_t plan_task_align(const plan *p);  /* task sizes must be multiples of this (1 if any) */

/* The end of the task that starts at `start` (a multiple of plan_task_align()) and holds
 * about `want` images: want rounded up to plan_task_align(), clipped to plan_total(). Equals
 * the broker's uniform split (for s = 0; s < total; s += ts) with ts a multiple of the
 * alignment; provided so that callers need not repeat the rounding. want 0 is taken as 1. */
uint64_t plan_task_end(const plan *p, uint64_t start, uint64_t want);

/* Class name of a class id ("3" when the model has no names); never NULL. */
const char *plan_class_name(const plan *p, int32_t id);
/* The folder of a class id in the imagefolder layout (see above); never NULL. */
const char *plan_class_folder(const plan *p, int32_t id);

/* ---- resolved job parameters (defaults applied), for the writers and the finalizer ---- */
Ganq__V1__JobKind      plan_kind(const plan *p);
Ganq__V1__OutputFormat plan_format(const plan *p);    /* never UNSPECIFIED */
Ganq__V1__Layout       plan_layout(const plan *p);    /* never UNSPECIFIED */
Ganq__V1__OutputFormat plan_wds_image(const plan *p); /* PNG or JPEG */
int      plan_png_level(const plan *p);     /* zlib level 0..9 (spec -1 = 0, 0 = 6) */
int      plan_jpeg_quality(const plan *p);  /* 1..100 (spec 0 = 95) */
uint64_t plan_seed(const plan *p);
int      plan_n_classes(const plan *p);     /* entries of the job's class list */
int32_t  plan_class_at(const plan *p, int k);
int      plan_n_truncations(const plan *p); /* resolved list (>= 1 entry) */
double   plan_truncation_at(const plan *p, int k);
uint64_t plan_per_value(const plan *p);     /* sweep: samples per value; else 0 */
/* sweep: folder name of value v ("t0.50"); NULL for other kinds or v out of range. */
const char *plan_value_folder(const plan *p, int v);
/* Number of containers (NPZ/WDS); 0 for file formats. */
uint64_t plan_n_containers(const plan *p);
/* Key of image i inside a container, and the base name of its file: the padded index. */
int      plan_image_key(const plan *p, uint64_t i, char *buf, size_t n);

/* Close matches of a class name the model lacks, for error messages: up to 3 names of
 * names[0..nn) within max(2, n/3) edits of word[0..n) (case-insensitive, '_' == ' '), or
 * containing it, those at the smallest distance (lowest ids first), written to buf as "\"class3\", \"class5\"" (NUL-terminated,
 * truncated to bn). Returns the number listed (0: buf is ""). */
int plan_class_suggest(const char *word, size_t n, const char *const *names, int nn,
                       char *buf, size_t bn);

/* Fill a plan_model from a worker's ModelInfo (pointers borrow from info, which must outlive
 * the plan_init call). class_names is NULL when info has fewer names than num_classes. */
void plan_model_from_info(const Ganq__V1__ModelInfo *info, plan_model *m);

#endif
