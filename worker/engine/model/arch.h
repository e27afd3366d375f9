/* arch.h: the architecture of a BigGAN-deep or BigGAN model, derived from `ganq.arch`
 * (FORMAT.md) exactly as the references build their module lists
 * (../shared/docs/biggan-reference.md sections 1.1 and 4). Used by model.c to know every
 * tensor's expected name and shape, and by the CPU forward passes to walk the layers.
 */
#ifndef GQ_ENGINE_ARCH_H
#define GQ_ENGINE_ARCH_H

#include "proto/base/gq_status.h"
#include "worker/engine/model/json.h"

#define ARCH_MAX_BLOCKS 16

typedef struct arch_block {
    int up;          /* nearest 2x upsample in this block */
    int cin, cout;   /* channels */
    int res_in;      /* input resolution (output is res_in * (up ? 2 : 1)) */
    int module;      /* HF: index in generator.layers; BR: index in blocks */
} arch_block;

typedef struct model_arch {
    int    family;        /* ENGINE_FAMILY_BIGGAN_DEEP or ENGINE_FAMILY_BIGGAN */
    int    resolution, ch, z_dim, num_classes, attn_res;
    /* biggan-deep */
    int    n_stats;
    double eps;
    /* biggan */
    int    shared_dim, hier;
    double bn_eps, output_bn_eps, sn_eps;
    int    nslots, z_chunk;   /* hierarchical z: blocks + 1 slots of z_chunk dims */
    /* derived */
    int        nblocks;
    arch_block blocks[ARCH_MAX_BLOCKS];
    int    attn_after;    /* attention follows block attn_after; -1 = none */
    int    attn_module;   /* HF: its index in generator.layers; BR: blocks.<i>.1 with i = attn_after */
    int    attn_ch;       /* channels at the attention */
    int    cond_dim;      /* HF: 2 * z_dim; BR: shared_dim + z_chunk */
} model_arch;

/* Fill a from the family name and the parsed `ganq.arch` object.
 * Returns 0 or GQ_EFORMAT naming the field and what is allowed. */
int arch_from_json(const char *family, const json_value *obj, model_arch *a, gq_error *err);

#endif
