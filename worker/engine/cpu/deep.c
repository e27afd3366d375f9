/* deep.c: BigGAN-deep forward pass on the CPU (biggan-reference.md section 1; the HF layout).
 *
 *   cond = [z, embeddings(y)]  (z first)                                      [B, 2 z_dim]
 *   x = gen_z(cond) viewed NHWC [B, 4, 4, 16ch] -> channel-major
 *   GenBlock: bn_0 relu conv_0(1x1) | bn_1 relu (up) conv_1(3x3) | bn_2 relu conv_2(3x3) |
 *             bn_3 relu conv_3(1x1); skip = first cout channels of x, upsampled; sum
 *   attention after the block reaching attn_res (generator.layers.<attn_module>)
 *   bn (plain, standing stats) relu conv_to_rgb (first 3 of its rows) tanh
 * Conditional BN: (x - mu_t) / sqrt(var_t + eps) * (1 + scale(cond)) + offset(cond), in that
 * fp32 order. Standing statistics for truncation t, exactly as HF (mirrored interpolation,
 * parity trap 1): step = 1 / (n_stats - 1), q = t / step in double, i = trunc(q), f = q - i;
 * f == 0: row i; else f * S[i] + (1 - f) * S[i + 1] with f and 1 - f computed in double and
 * rounded to fp32, products and sum in fp32 (no FMA: ISO C mode compiles without contraction).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "worker/engine/cpu/cpu_model.h"

size_t cpu_deep_per_image(const model_arch *a)
{
    size_t mx = (size_t)16 * 16 * (size_t)a->ch;
    for (int i = 0; i < a->nblocks; i++) {
        const arch_block *b = &a->blocks[i];
        size_t r = (size_t)b->res_in, ro = b->up ? 2 * r : r, mid = (size_t)b->cin / 4;
        size_t v[4] = { (size_t)b->cin * r * r, mid * r * r, mid * ro * ro, (size_t)b->cout * ro * ro };
        for (int k = 0; k < 4; k++) if (v[k] > mx) mx = v[k];
    }
    size_t fin = (size_t)a->ch * (size_t)a->resolution * (size_t)a->resolution;
    return fin > mx ? fin : mx;
}

/* Standing statistics for truncation t (see the file comment). */
static void deep_stats(const float *S, int C, int n_stats, double t, float *out)
{
    double step = 1.0 / (double)(n_stats - 1);
    double ip, f = modf(t / step, &ip);
    int i = (int)ip;
    if (i > n_stats - 1) i = n_stats - 1;
    if (f != 0.0 && i + 1 < n_stats) {
        float cf = (float)f, c1 = (float)(1.0 - f);
        const float *a = S + (size_t)i * (size_t)C, *b = a + C;
        for (int c = 0; c < C; c++) {
            float p = a[c] * cf;
            float q = b[c] * c1;
            out[c] = p + q;
        }
    } else {
        memcpy(out, S + (size_t)i * (size_t)C, (size_t)C * sizeof *out);
    }
}

typedef struct deep_scratch {
    const float *cond;
    float *gain, *bias, *mean, *var;
} deep_scratch;

static void deep_cbn_relu(cpu_model *cm, const deep_scratch *s, int B, double t, int module, int j,
                          int C, int HW, float *x)
{
    const model *m = cm->m;
    const model_arch *a = model_get_arch(m);
    char p[96];
    snprintf(p, sizeof p, "generator.layers.%d.bn_%d", module, j);
    cpu_linear(B, a->cond_dim, C, s->cond, model_tensorf(m, "%s.scale.weight", p), NULL, s->gain);
    for (size_t i = 0; i < (size_t)B * (size_t)C; i++) s->gain[i] = 1.0f + s->gain[i];
    cpu_linear(B, a->cond_dim, C, s->cond, model_tensorf(m, "%s.offset.weight", p), NULL, s->bias);
    deep_stats(model_tensorf(m, "%s.running_means", p), C, a->n_stats, t, s->mean);
    deep_stats(model_tensorf(m, "%s.running_vars", p), C, a->n_stats, t, s->var);
    cpu_bn(&cm->ctx, CPU_BN_DIV, x, C, B, HW, s->mean, s->var, (float)a->eps, NULL, NULL,
           s->gain, s->bias, 1, x);
}

int cpu_deep_generate(cpu_model *cm, const engine_batch *bt, float *out, gq_error *err)
{
    const model *m = cm->m;
    const model_arch *a = model_get_arch(m);
    const int B = bt->n, cd = a->cond_dim, zd = a->z_dim, nc = a->num_classes, ch = a->ch;
    const int C0 = 16 * ch;
    size_t cmax = (size_t)C0;
    size_t small = (size_t)B * (size_t)cd + 2 * (size_t)B * cmax + 2 * cmax +
                   (size_t)B * 16 * (size_t)C0 + (size_t)B * (size_t)zd;
    if (cpu_model_reserve(cm, B, small)) return gq_fail(err, GQ_ENOMEM, "biggan-deep: out of memory for batch %d", B);
    float *cond = cm->small, *gain = cond + (size_t)B * (size_t)cd, *bias = gain + (size_t)B * cmax;
    float *mean = bias + (size_t)B * cmax, *var = mean + cmax, *lin = var + cmax;
    float *emb = lin + (size_t)B * 16 * (size_t)C0;
    deep_scratch s = { cond, gain, bias, mean, var };
    cpu_ctx *cx = &cm->ctx;
    const double t = bt->truncation;

    /* cond = [z, embed] */
    const float *E = model_tensor(m, "embeddings.weight");   /* [z_dim, num_classes] */
    if (bt->class_vectors) cpu_linear(B, nc, zd, bt->class_vectors, E, NULL, emb);
    for (int b = 0; b < B; b++) {
        memcpy(cond + (size_t)b * (size_t)cd, bt->z + (size_t)b * (size_t)zd, (size_t)zd * sizeof(float));
        float *e = cond + (size_t)b * (size_t)cd + zd;
        if (bt->class_ids)
            for (int d = 0; d < zd; d++) e[d] = E[(size_t)d * (size_t)nc + (size_t)bt->class_ids[b]];
        else
            memcpy(e, emb + (size_t)b * (size_t)zd, (size_t)zd * sizeof(float));
    }
    /* gen_z, NHWC [B, 4, 4, C0] -> [C0][B][16] */
    cpu_linear(B, cd, 16 * C0, cond, model_tensor(m, "generator.gen_z.weight"),
               model_tensor(m, "generator.gen_z.bias"), lin);
    float *x = cm->buf[0], *nx = cm->buf[1], *t1 = cm->buf[2], *t2 = cm->buf[3];
    for (int b = 0; b < B; b++)
        for (int j = 0; j < 16 * C0; j++) {
            int h = j / (4 * C0), w = (j / C0) % 4, c = j % C0;
            x[((size_t)c * (size_t)B + (size_t)b) * 16 + (size_t)(h * 4 + w)] = lin[(size_t)b * 16 * (size_t)C0 + (size_t)j];
        }
    int rc = 0;
    for (int i = 0; i < a->nblocks; i++) {
        const arch_block *bk = &a->blocks[i];
        const int md = bk->module, r = bk->res_in, ro = bk->up ? 2 * r : r, mid = bk->cin / 4;
        const int HW = r * r, HWo = ro * ro;
        char p[64];
        snprintf(p, sizeof p, "generator.layers.%d", md);
        /* bn_0 relu -> t1; conv_0 -> t2 */
        memcpy(t1, x, (size_t)bk->cin * (size_t)B * (size_t)HW * sizeof(float));
        deep_cbn_relu(cm, &s, B, t, md, 0, bk->cin, HW, t1);
        if ((rc = cpu_conv(cx, t1, bk->cin, B, r, r, 0, 1, model_tensorf(m, "%s.conv_0.weight", p),
                           model_tensorf(m, "%s.conv_0.bias", p), mid, t2))) break;
        deep_cbn_relu(cm, &s, B, t, md, 1, mid, HW, t2);
        if ((rc = cpu_conv(cx, t2, mid, B, r, r, bk->up, 3, model_tensorf(m, "%s.conv_1.weight", p),
                           model_tensorf(m, "%s.conv_1.bias", p), mid, t1))) break;
        deep_cbn_relu(cm, &s, B, t, md, 2, mid, HWo, t1);
        if ((rc = cpu_conv(cx, t1, mid, B, ro, ro, 0, 3, model_tensorf(m, "%s.conv_2.weight", p),
                           model_tensorf(m, "%s.conv_2.bias", p), mid, t2))) break;
        deep_cbn_relu(cm, &s, B, t, md, 3, mid, HWo, t2);
        if ((rc = cpu_conv(cx, t2, mid, B, ro, ro, 0, 1, model_tensorf(m, "%s.conv_3.weight", p),
                           model_tensorf(m, "%s.conv_3.bias", p), bk->cout, nx))) break;
        /* skip: the first cout channels of x (all when cin == cout) */
        GQ_ASSERT(bk->cout == bk->cin || 2 * bk->cout == bk->cin);
        if (bk->up) cpu_upsample(cx, x, bk->cout, B, r, r, 1, nx);
        else cpu_add(cx, x, (size_t)bk->cout * (size_t)B * (size_t)HW, nx);
        float *tmp = x; x = nx; nx = tmp;
        if (i == a->attn_after) {
            snprintf(p, sizeof p, "generator.layers.%d", a->attn_module);
            const int C = a->attn_ch;
            if ((rc = cpu_attention(cx, x, C, B, ro, ro, model_tensorf(m, "%s.snconv1x1_theta.weight", p),
                                    model_tensorf(m, "%s.snconv1x1_phi.weight", p),
                                    model_tensorf(m, "%s.snconv1x1_g.weight", p),
                                    model_tensorf(m, "%s.snconv1x1_o_conv.weight", p),
                                    model_tensorf(m, "%s.gamma", p)[0]))) break;
        }
    }
    if (rc) return gq_fail(err, GQ_ENOMEM, "biggan-deep: out of memory for batch %d", B);
    const int R = a->resolution, HW = R * R;
    deep_stats(model_tensor(m, "generator.bn.running_means"), ch, a->n_stats, t, mean);
    deep_stats(model_tensor(m, "generator.bn.running_vars"), ch, a->n_stats, t, var);
    cpu_bn(cx, CPU_BN_AFFINE, x, ch, B, HW, mean, var, (float)a->eps,
           model_tensor(m, "generator.bn.weight"), model_tensor(m, "generator.bn.bias"), NULL, NULL, 1, x);
    /* conv_to_rgb: its first 3 output rows (the rest are discarded by the reference) */
    if ((rc = cpu_conv(cx, x, ch, B, R, R, 0, 3, model_tensor(m, "generator.conv_to_rgb.weight"),
                       model_tensor(m, "generator.conv_to_rgb.bias"), 3, nx)))
        return gq_fail(err, GQ_ENOMEM, "biggan-deep: out of memory for batch %d", B);
    cpu_tanh(cx, nx, (size_t)3 * (size_t)B * (size_t)HW, nx);
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < B; b++)
            memcpy(out + ((size_t)b * 3 + (size_t)c) * (size_t)HW, nx + ((size_t)c * (size_t)B + (size_t)b) * (size_t)HW,
                   (size_t)HW * sizeof(float));
    return 0;
}
