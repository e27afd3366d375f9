/* biggan.c: original BigGAN forward pass on the CPU (biggan-reference.md section 4; the
 * BigGAN-PyTorch layout, hierarchical z, shared embedding).
 *
 *   y = shared(class) (row lookup; class vectors: Y x shared.weight)       [B, shared_dim]
 *   z split into nblocks + 1 chunks; x = linear(z_0) viewed NCHW [B, 16ch, 4, 4]
 *   block i, cond_i = [y, z_{i+1}] (embedding FIRST):
 *     h = relu(ccbn1(x)); h = conv1(up(h)); h = conv2(relu(ccbn2(h))); x = h + conv_sc(up(x))
 *     (conv_sc is computed at low resolution and upsampled: a 1x1 conv commutes with nearest
 *     upsampling); attention after the block whose output resolution is attn_res
 *   output: relu(BN(x; gain, bias, stored stats, output_bn_eps)) -> 3x3 conv to 3 -> tanh
 * ccbn: F.batch_norm(x, stored_mean, stored_var, eps = bn_eps) * (1 + gain(cond)) + bias(cond).
 */
#include <stdio.h>
#include <string.h>

#include "worker/engine/cpu/cpu_model.h"

size_t cpu_biggan_per_image(const model_arch *a)
{
    size_t mx = (size_t)16 * (size_t)a->blocks[0].cin;
    for (int i = 0; i < a->nblocks; i++) {
        const arch_block *b = &a->blocks[i];
        size_t r = (size_t)b->res_in, ro = 2 * r;
        size_t v[3] = { (size_t)b->cin * r * r, (size_t)b->cout * ro * ro, (size_t)b->cout * r * r };
        for (int k = 0; k < 3; k++) if (v[k] > mx) mx = v[k];
    }
    return mx;
}

static void ccbn_relu(cpu_model *cm, const float *cond, int B, int blk, int j, int C, int HW,
                      const float *x, float *out, float *gain, float *bias)
{
    const model *m = cm->m;
    const model_arch *a = model_get_arch(m);
    cpu_linear(B, a->cond_dim, C, cond, model_tensorf(m, "blocks.%d.0.bn%d.gain.weight", blk, j), NULL, gain);
    for (size_t i = 0; i < (size_t)B * (size_t)C; i++) gain[i] = 1.0f + gain[i];
    cpu_linear(B, a->cond_dim, C, cond, model_tensorf(m, "blocks.%d.0.bn%d.bias.weight", blk, j), NULL, bias);
    cpu_bn(&cm->ctx, CPU_BN_AFFINE, x, C, B, HW, model_tensorf(m, "blocks.%d.0.bn%d.stored_mean", blk, j),
           model_tensorf(m, "blocks.%d.0.bn%d.stored_var", blk, j), (float)a->bn_eps, NULL, NULL,
           gain, bias, 1, out);
}

int cpu_biggan_generate(cpu_model *cm, const engine_batch *bt, float *out, gq_error *err)
{
    const model *m = cm->m;
    const model_arch *a = model_get_arch(m);
    const int B = bt->n, cd = a->cond_dim, zd = a->z_dim, nc = a->num_classes, sd = a->shared_dim;
    const int ck = a->z_chunk, C0 = a->blocks[0].cin;
    size_t cmax = 0;
    for (int i = 0; i < a->nblocks; i++) {
        if ((size_t)a->blocks[i].cin > cmax) cmax = (size_t)a->blocks[i].cin;
        if ((size_t)a->blocks[i].cout > cmax) cmax = (size_t)a->blocks[i].cout;
    }
    size_t small = (size_t)B * (size_t)sd + (size_t)B * (size_t)cd + 2 * (size_t)B * cmax +
                   (size_t)B * (size_t)ck + (size_t)B * 16 * (size_t)C0;
    if (cpu_model_reserve(cm, B, small)) return gq_fail(err, GQ_ENOMEM, "biggan: out of memory for batch %d", B);
    float *y = cm->small, *cond = y + (size_t)B * (size_t)sd, *gain = cond + (size_t)B * (size_t)cd;
    float *bias = gain + (size_t)B * cmax, *z0 = bias + (size_t)B * cmax, *lin = z0 + (size_t)B * (size_t)ck;
    cpu_ctx *cx = &cm->ctx;
    const float *S = model_tensor(m, "shared.weight");     /* [num_classes, shared_dim] */
    if (bt->class_ids)
        for (int b = 0; b < B; b++)
            memcpy(y + (size_t)b * (size_t)sd, S + (size_t)bt->class_ids[b] * (size_t)sd, (size_t)sd * sizeof(float));
    else
        cpu_gemm(B, sd, nc, bt->class_vectors, S, sd, 0.0f, y, sd);
    for (int b = 0; b < B; b++) memcpy(z0 + (size_t)b * (size_t)ck, bt->z + (size_t)b * (size_t)zd, (size_t)ck * sizeof(float));
    cpu_linear(B, ck, 16 * C0, z0, model_tensor(m, "linear.weight"), model_tensor(m, "linear.bias"), lin);
    float *x = cm->buf[0], *nx = cm->buf[1], *t1 = cm->buf[2], *t2 = cm->buf[3];
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C0; c++)
            memcpy(x + ((size_t)c * (size_t)B + (size_t)b) * 16, lin + (size_t)b * 16 * (size_t)C0 + (size_t)c * 16, 16 * sizeof(float));
    int rc = 0;
    for (int i = 0; i < a->nblocks; i++) {
        const arch_block *bk = &a->blocks[i];
        const int r = bk->res_in, ro = 2 * r, HW = r * r, HWo = ro * ro;
        for (int b = 0; b < B; b++) {
            memcpy(cond + (size_t)b * (size_t)cd, y + (size_t)b * (size_t)sd, (size_t)sd * sizeof(float));
            memcpy(cond + (size_t)b * (size_t)cd + sd, bt->z + (size_t)b * (size_t)zd + (size_t)(i + 1) * (size_t)ck,
                   (size_t)ck * sizeof(float));
        }
        ccbn_relu(cm, cond, B, i, 1, bk->cin, HW, x, t1, gain, bias);
        if ((rc = cpu_conv(cx, t1, bk->cin, B, r, r, 1, 3, model_tensorf(m, "blocks.%d.0.conv1.weight", i),
                           model_tensorf(m, "blocks.%d.0.conv1.bias", i), bk->cout, t2))) break;
        ccbn_relu(cm, cond, B, i, 2, bk->cout, HWo, t2, t2, gain, bias);
        if ((rc = cpu_conv(cx, t2, bk->cout, B, ro, ro, 0, 3, model_tensorf(m, "blocks.%d.0.conv2.weight", i),
                           model_tensorf(m, "blocks.%d.0.conv2.bias", i), bk->cout, nx))) break;
        if ((rc = cpu_conv(cx, x, bk->cin, B, r, r, 0, 1, model_tensorf(m, "blocks.%d.0.conv_sc.weight", i),
                           model_tensorf(m, "blocks.%d.0.conv_sc.bias", i), bk->cout, t1))) break;
        cpu_upsample(cx, t1, bk->cout, B, r, r, 1, nx);
        float *tmp = x; x = nx; nx = tmp;
        if (i == a->attn_after) {
            const int C = a->attn_ch;
            if ((rc = cpu_attention(cx, x, C, B, ro, ro, model_tensorf(m, "blocks.%d.1.theta.weight", i),
                                    model_tensorf(m, "blocks.%d.1.phi.weight", i),
                                    model_tensorf(m, "blocks.%d.1.g.weight", i),
                                    model_tensorf(m, "blocks.%d.1.o.weight", i),
                                    model_tensorf(m, "blocks.%d.1.gamma", i)[0]))) break;
        }
    }
    if (rc) return gq_fail(err, GQ_ENOMEM, "biggan: out of memory for batch %d", B);
    const int R = a->resolution, HW = R * R, co = a->blocks[a->nblocks - 1].cout;
    cpu_bn(cx, CPU_BN_AFFINE, x, co, B, HW, model_tensor(m, "output_layer.0.stored_mean"),
           model_tensor(m, "output_layer.0.stored_var"), (float)a->output_bn_eps,
           model_tensor(m, "output_layer.0.gain"), model_tensor(m, "output_layer.0.bias"), NULL, NULL, 1, x);
    if (cpu_conv(cx, x, co, B, R, R, 0, 3, model_tensor(m, "output_layer.2.weight"),
                 model_tensor(m, "output_layer.2.bias"), 3, nx))
        return gq_fail(err, GQ_ENOMEM, "biggan: out of memory for batch %d", B);
    cpu_tanh(cx, nx, (size_t)3 * (size_t)B * (size_t)HW, nx);
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < B; b++)
            memcpy(out + ((size_t)b * 3 + (size_t)c) * (size_t)HW, nx + ((size_t)c * (size_t)B + (size_t)b) * (size_t)HW,
                   (size_t)HW * sizeof(float));
    return 0;
}
