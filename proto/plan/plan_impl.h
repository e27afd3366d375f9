/* plan_impl.h: the plan structure, private to proto/plan (plan.c, plan_inputs.c).
 * Everything is resolved and copied at plan_init; nothing changes afterwards, so a plan may
 * be read from several threads at once. */
#ifndef GQ_PLAN_IMPL_H
#define GQ_PLAN_IMPL_H

#include <stdint.h>

typedef struct plan_split {
    const char *name;             /* "val", "train", or NULL (one unnamed split) */
    uint64_t    first, end;       /* index range */
    uint64_t    first_container;  /* container numbering of this split */
    uint64_t    n_containers;
} plan_split;

struct plan {
    int       kind;             /* Ganq__V1__JobKind */
    uint64_t  seed;
    int       num_classes;      /* model's */
    int       z_dim;            /* model's; 0 = unknown */
    int       standing;         /* model uses standing statistics */
    char    **names;            /* num_classes class names (ids as text where missing) */
    char    **folders;          /* num_classes imagefolder folder names */
    int       n_cls;            /* job's class list */
    int32_t  *cls;
    int       n_trunc;          /* resolved truncation list (>= 1) */
    double   *trunc;
    char    **value_folders;    /* sweep: n_trunc folder names */
    uint64_t  total;
    uint64_t  per_class, n_val; /* synthesize */
    double    val_fraction;
    uint64_t  per_value;        /* sweep */
    int       interp;           /* interpolate: resolved Ganq__V1__InterpMode */
    int32_t   class_a, class_b;
    uint64_t  seed_a, seed_b;
    int       width;            /* digits of a padded index */
    int       format, layout, wds_image, png_level, jpeg_quality;
    uint64_t  shard;            /* images per container; 0 for file formats */
    int       n_splits;
    plan_split splits[2];
    uint64_t  n_containers;
};

/* splitmix64 of (seed, i): picks a truncation from a list. Fixed forever. */
uint64_t plan_hash(uint64_t seed, uint64_t i);

#endif
