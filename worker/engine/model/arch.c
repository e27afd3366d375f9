/* arch.c: `ganq.arch` -> model_arch (see arch.h). Channel lists in multiples of ch, from
 * HF's BigGANConfig layers and BR's G_arch. Attention is placed after the first block whose
 * output resolution equals attn_res (HF: generator.layers.8 for 128/256/512 at 64x64;
 * BR: after the block of G_attn's resolution). */
#include "worker/engine/model/arch.h"

#include <math.h>
#include <string.h>

#include "worker/engine/engine.h"

static int get_int(const json_value *o, const char *k, int lo, int hi, int *out, int need, gq_error *err)
{
    const json_value *v = json_get(o, k);
    if (!v) {
        if (need) return gq_fail(err, GQ_EFORMAT, "ganq.arch.%s: missing", k);
        return 0;
    }
    if (v->type != JSON_NUMBER || !v->is_int || v->i64 < lo || v->i64 > hi)
        return gq_fail(err, GQ_EFORMAT, "ganq.arch.%s: must be an integer in [%d, %d]", k, lo, hi);
    *out = (int)v->i64;
    return 0;
}

static int get_num(const json_value *o, const char *k, double lo, double hi, double *out, int need, gq_error *err)
{
    const json_value *v = json_get(o, k);
    if (!v) {
        if (need) return gq_fail(err, GQ_EFORMAT, "ganq.arch.%s: missing", k);
        return 0;
    }
    if (v->type != JSON_NUMBER || !(v->num >= lo && v->num <= hi))
        return gq_fail(err, GQ_EFORMAT, "ganq.arch.%s: must be a number in [%g, %g]", k, lo, hi);
    *out = v->num;
    return 0;
}

int arch_from_json(const char *family, const json_value *o, model_arch *a, gq_error *err)
{
    memset(a, 0, sizeof *a);
    if (!o || o->type != JSON_OBJECT) return gq_fail(err, GQ_EFORMAT, "ganq.arch: not a JSON object");
    int rc;
    if ((rc = get_int(o, "resolution", 1, 4096, &a->resolution, 1, err)) ||
        (rc = get_int(o, "ch", 1, 4096, &a->ch, 1, err)) ||
        (rc = get_int(o, "z_dim", 1, 4096, &a->z_dim, 1, err)) ||
        (rc = get_int(o, "num_classes", 1, 100000, &a->num_classes, 1, err)) ||
        (rc = get_int(o, "attn_res", 0, 4096, &a->attn_res, 1, err)))
        return rc;
    static const int deep128[][3] = { {0,16,16},{1,16,16},{0,16,16},{1,16,8},{0,8,8},{1,8,4},{0,4,4},{1,4,2},{0,2,2},{1,2,1} };
    static const int deep256[][3] = { {0,16,16},{1,16,16},{0,16,16},{1,16,8},{0,8,8},{1,8,8},{0,8,8},{1,8,4},{0,4,4},{1,4,2},{0,2,2},{1,2,1},{0,1,1},{1,1,1} };
    static const int br32[][2] = { {4,4},{4,4},{4,4} };
    static const int br64[][2] = { {16,16},{16,8},{8,4},{4,2} };
    static const int br128[][2] = { {16,16},{16,8},{8,4},{4,2},{2,1} };
    static const int br256[][2] = { {16,16},{16,8},{8,8},{8,4},{4,2},{2,1} };
    static const int br512[][2] = { {16,16},{16,8},{8,8},{8,4},{4,2},{2,1},{1,1} };
    int res = 4;
    if (strcmp(family, "biggan-deep") == 0) {
        a->family = ENGINE_FAMILY_BIGGAN_DEEP;
        a->n_stats = 51;
        a->eps = 1e-4;
        if ((rc = get_int(o, "n_stats", 2, 10000, &a->n_stats, 0, err)) ||
            (rc = get_num(o, "eps", 1e-12, 1.0, &a->eps, 0, err)))
            return rc;
        const int (*cfg)[3];
        if (a->resolution == 128) { cfg = deep128; a->nblocks = 10; }
        else if (a->resolution == 256) { cfg = deep256; a->nblocks = 12; }
        else if (a->resolution == 512) { cfg = deep256; a->nblocks = 14; }
        else return gq_fail(err, GQ_EFORMAT, "ganq.arch.resolution: %d; biggan-deep allows 128, 256, 512", a->resolution);
        if (a->ch % 4 != 0) return gq_fail(err, GQ_EFORMAT, "ganq.arch.ch: %d; biggan-deep needs a multiple of 4", a->ch);
        for (int i = 0; i < a->nblocks; i++) {
            a->blocks[i] = (arch_block){ cfg[i][0], cfg[i][1] * a->ch, cfg[i][2] * a->ch, res, i };
            if (cfg[i][0]) res *= 2;
        }
        a->cond_dim = 2 * a->z_dim;
    } else if (strcmp(family, "biggan") == 0) {
        a->family = ENGINE_FAMILY_BIGGAN;
        a->shared_dim = 128;
        a->hier = 1;
        a->bn_eps = 1e-5;
        a->output_bn_eps = 1e-5;
        a->sn_eps = 1e-8;
        if ((rc = get_int(o, "shared_dim", 1, 4096, &a->shared_dim, 0, err)) ||
            (rc = get_num(o, "bn_eps", 1e-12, 1.0, &a->bn_eps, 0, err)) ||
            (rc = get_num(o, "output_bn_eps", 1e-12, 1.0, &a->output_bn_eps, 0, err)) ||
            (rc = get_num(o, "sn_eps", 0.0, 1.0, &a->sn_eps, 0, err)))
            return rc;
        const json_value *h = json_get(o, "hier");
        if (h) {
            if (h->type != JSON_BOOL) return gq_fail(err, GQ_EFORMAT, "ganq.arch.hier: must be true or false");
            a->hier = h->boolean;
        }
        if (!a->hier) return gq_fail(err, GQ_EFORMAT, "ganq.arch.hier: false is not supported (only hierarchical z with a shared embedding)");
        const int (*cfg)[2];
        switch (a->resolution) {
        case 32: cfg = br32; a->nblocks = 3; break;
        case 64: cfg = br64; a->nblocks = 4; break;
        case 128: cfg = br128; a->nblocks = 5; break;
        case 256: cfg = br256; a->nblocks = 6; break;
        case 512: cfg = br512; a->nblocks = 7; break;
        default: return gq_fail(err, GQ_EFORMAT, "ganq.arch.resolution: %d; biggan allows 32, 64, 128, 256, 512", a->resolution);
        }
        for (int i = 0; i < a->nblocks; i++) {
            a->blocks[i] = (arch_block){ 1, cfg[i][0] * a->ch, cfg[i][1] * a->ch, res, i };
            res *= 2;
        }
        a->nslots = a->nblocks + 1;
        if (a->z_dim % a->nslots != 0)
            return gq_fail(err, GQ_EFORMAT, "ganq.arch.z_dim: %d is not a multiple of %d (blocks + 1) as hierarchical z needs",
                           a->z_dim, a->nslots);
        a->z_chunk = a->z_dim / a->nslots;
        a->cond_dim = a->shared_dim + a->z_chunk;
    } else {
        return gq_fail(err, GQ_EFORMAT, "ganq.family: '%s' is not biggan-deep or biggan", family);
    }
    a->attn_after = -1;
    a->attn_module = -1;
    if (a->attn_res) {
        for (int i = 0; i < a->nblocks; i++) {
            const arch_block *b = &a->blocks[i];
            if (b->up && b->res_in * 2 == a->attn_res) { a->attn_after = i; break; }
        }
        if (a->attn_after < 0)
            return gq_fail(err, GQ_EFORMAT, "ganq.arch.attn_res: %d is not a block output resolution of this model", a->attn_res);
        a->attn_ch = a->blocks[a->attn_after].cout;
        if (a->attn_ch % 8 != 0) return gq_fail(err, GQ_EFORMAT, "ganq.arch: attention channels %d not a multiple of 8", a->attn_ch);
        if (a->family == ENGINE_FAMILY_BIGGAN_DEEP) {
            a->attn_module = a->attn_after + 1;
            for (int i = a->attn_after + 1; i < a->nblocks; i++) a->blocks[i].module = i + 1;
        } else {
            a->attn_module = a->attn_after;
        }
    }
    return 0;
}
