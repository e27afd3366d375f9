/* ops.c: CPU operators (see ops.h for layout, fusions and determinism). */
#include "worker/engine/cpu/ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "proto/base/gq_status.h"

int cpu_ctx_init(cpu_ctx *c, int threads)
{
    memset(c, 0, sizeof *c);
    c->threads = threads < 1 ? 1 : threads;
    c->col = malloc(CPU_COL_FLOATS * sizeof(float));
    c->pool = cpu_pool_new(c->threads);
    if (!c->col || !c->pool) { cpu_ctx_release(c); return GQ_ENOMEM; }
    openblas_set_num_threads(1);   /* see "Batch invariance" below */
    return 0;
}

void cpu_ctx_release(cpu_ctx *c)
{
    free(c->col);
    cpu_pool_free(c->pool);
    memset(c, 0, sizeof *c);
}

/* Batch invariance: OpenBLAS's sgemm gives results that depend, in the last bits, on the
 * whole call's M and N (edge kernels, blocking) and on its thread count, so an image computed
 * in a batch of 8 would differ from the same image computed alone. Every GEMM here therefore
 * has a shape that depends only on the layer, never on the batch or the thread count:
 * row-batched products (linears) run one row at a time; column-batched ones (convolutions,
 * attention projections) one image at a time, in tiles whose sizes follow from the layer's
 * M and columns (gemm_images); attention in fixed blocks of query rows per image
 * (att_blocks). OpenBLAS runs single-threaded, our pool spreading whole tiles over the
 * threads. */
#define CPU_GEMM_TILE 4096   /* columns per GEMM tile */
#define CPU_GEMM_MTILE 64     /* rows per GEMM tile */

void cpu_gemm(int M, int N, int K, const float *A, const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int r = 0; r < M; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, N, K, 1.0f, A + (size_t)r * (size_t)K,
                    K, B, ldb, beta, C + (size_t)r * (size_t)ldc, ldc);
}

void cpu_linear(int B, int in, int out, const float *x, const float *W, const float *bias, float *y)
{
    float beta = 0.0f;
    if (bias) {
        for (int b = 0; b < B; b++) memcpy(y + (size_t)b * (size_t)out, bias, (size_t)out * sizeof *y);
        beta = 1.0f;
    }
    for (int b = 0; b < B; b++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, out, in, 1.0f, x + (size_t)b * (size_t)in,
                    in, W, in, beta, y + (size_t)b * (size_t)out, out);
}

/* C[:, cols of image i] = A[M, K] x B[:, cols of image i] + beta * C for nimg images whose
 * ncols columns start at i * stride in B and C, cut into tiles of at most CPU_GEMM_MTILE rows
 * by CPU_GEMM_TILE columns, of equal size (M = 96 gives 2 x 48, not 64 + 32) so that the
 * threads get even shares; the tile sizes depend on M and ncols, i.e. on the layer only. */
typedef struct tiles_job {
    int M, K, ncols, mw, nw, mtiles, ntiles, ldb, ldc;
    size_t stride;
    const float *A, *B;
    float beta;
    float *C;
} tiles_job;

static void gemm_tiles(void *ctx, size_t t0, size_t t1)
{
    const tiles_job *j = ctx;
    const size_t per_img = (size_t)j->mtiles * (size_t)j->ntiles;
    for (size_t t = t0; t < t1; t++) {
        size_t img = t / per_img, r = t % per_img;
        size_t m0 = (r / (size_t)j->ntiles) * (size_t)j->mw, c0 = (r % (size_t)j->ntiles) * (size_t)j->nw;
        int m = j->M - (int)m0 < j->mw ? j->M - (int)m0 : j->mw;
        int n = j->ncols - (int)c0 < j->nw ? j->ncols - (int)c0 : j->nw;
        size_t off = img * j->stride + c0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, j->K, 1.0f, j->A + m0 * (size_t)j->K,
                    j->K, j->B + off, j->ldb, j->beta, j->C + m0 * (size_t)j->ldc + off, j->ldc);
    }
}

/* Even split of n into ceil(n / most) parts, each rounded up to a multiple of align. */
static void even_tiles(int n, int most, int align, int *width, int *count)
{
    int parts = (n + most - 1) / most, w = (n + parts - 1) / parts;
    w = (w + align - 1) / align * align;
    *width = w;
    *count = (n + w - 1) / w;
}

static void gemm_images(cpu_ctx *c, int M, int K, const float *A, const float *B, int ldb, float beta,
                        float *C, int ldc, int nimg, size_t stride, int ncols)
{
    tiles_job j = { M, K, ncols, 0, 0, 0, 0, ldb, ldc, stride, A, B, beta, C };
    even_tiles(M, CPU_GEMM_MTILE, 8, &j.mw, &j.mtiles);
    even_tiles(ncols, CPU_GEMM_TILE, 16, &j.nw, &j.ntiles);
    cpu_pool_run(c->pool, (size_t)nimg * (size_t)j.mtiles * (size_t)j.ntiles, gemm_tiles, &j);
}

/* ---- convolution ---- */

typedef struct im2col_job {
    const float *x;
    float *col;
    int B, H, W, Ho, Wo, up, r0, nrows;  /* output rows r0 .. r0+nrows of the B*Ho rows */
} im2col_job;

/* Rows k = (c, ky, kx) of the column matrix for output rows [r0, r0 + nrows). */
static void im2col_rows(void *ctx, size_t k0, size_t k1)
{
    const im2col_job *j = ctx;
    const int Wo = j->Wo, ld = j->nrows * Wo;
    const size_t plane = (size_t)j->B * (size_t)j->H * (size_t)j->W;
    for (size_t k = k0; k < k1; k++) {
        int c = (int)(k / 9), ky = (int)(k % 9) / 3 - 1, kx = (int)(k % 3) - 1;
        float *dst = j->col + k * (size_t)ld;
        for (int r = 0; r < j->nrows; r++) {
            int rr = j->r0 + r, b = rr / j->Ho, oy = rr % j->Ho, iy = oy + ky;
            float *d = dst + (size_t)r * (size_t)Wo;
            if (iy < 0 || iy >= j->Ho) { memset(d, 0, (size_t)Wo * sizeof *d); continue; }
            const float *src = j->x + (size_t)c * plane +
                               ((size_t)b * (size_t)j->H + (size_t)(j->up ? iy / 2 : iy)) * (size_t)j->W;
            int lo = kx < 0 ? 1 : 0, hi = kx > 0 ? Wo - 1 : Wo;
            if (lo) d[0] = 0.0f;
            if (hi < Wo) d[Wo - 1] = 0.0f;
            if (j->up) for (int ox = lo; ox < hi; ox++) d[ox] = src[(ox + kx) >> 1];
            else memcpy(d + lo, src + lo + kx, (size_t)(hi - lo) * sizeof *d);
        }
    }
}

typedef struct fill_job { float *out; const float *bias; size_t n; } fill_job;
static void fill_bias(void *ctx, size_t c0, size_t c1)
{
    const fill_job *f = ctx;
    for (size_t c = c0; c < c1; c++) {
        float v = f->bias[c], *o = f->out + c * f->n;
        for (size_t i = 0; i < f->n; i++) o[i] = v;
    }
}

typedef struct up_job { const float *x; float *out; int H, W, add; size_t planes; } up_job;
static void up_rows(void *ctx, size_t p0, size_t p1)
{
    const up_job *u = ctx;
    const int H = u->H, W = u->W;
    for (size_t p = p0; p < p1; p++) {    /* p: one (c, b) plane */
        const float *s = u->x + p * (size_t)H * (size_t)W;
        float *d = u->out + p * (size_t)4 * (size_t)H * (size_t)W;
        for (int y = 0; y < 2 * H; y++) {
            const float *sr = s + (size_t)(y / 2) * (size_t)W;
            float *dr = d + (size_t)y * 2 * (size_t)W;
            if (u->add) for (int x = 0; x < 2 * W; x++) dr[x] += sr[x >> 1];
            else for (int x = 0; x < 2 * W; x++) dr[x] = sr[x >> 1];
        }
    }
}

void cpu_upsample(cpu_ctx *c, const float *x, int C, int B, int H, int W, int add, float *out)
{
    up_job u = { x, out, H, W, add, (size_t)C * (size_t)B };
    cpu_pool_run(c->pool, u.planes, up_rows, &u);
}

int cpu_conv(cpu_ctx *c, const float *x, int Cin, int B, int H, int W, int up, int k,
             const float *Wt, const float *bias, int Cout, float *out)
{
    const int Ho = up ? 2 * H : H, Wo = up ? 2 * W : W;
    const size_t N = (size_t)B * (size_t)Ho * (size_t)Wo;
    float beta = 0.0f;
    if (bias) {
        fill_job f = { out, bias, N };
        cpu_pool_run(c->pool, (size_t)Cout, fill_bias, &f);
        beta = 1.0f;
    }
    if (k == 1) {
        if (!up) {
            gemm_images(c, Cout, Cin, Wt, x, (int)N, beta, out, (int)N, B, (size_t)H * (size_t)W, H * W);
            return 0;
        }
        /* 1x1 conv commutes with nearest upsampling: convolve at low resolution, then upsample. */
        size_t n0 = (size_t)B * (size_t)H * (size_t)W;
        float *tmp = malloc((size_t)Cout * n0 * sizeof *tmp);
        if (!tmp) return GQ_ENOMEM;
        gemm_images(c, Cout, Cin, Wt, x, (int)n0, 0.0f, tmp, (int)n0, B, (size_t)H * (size_t)W, H * W);
        if (bias) cpu_upsample(c, tmp, Cout, B, H, W, 1, out);
        else cpu_upsample(c, tmp, Cout, B, H, W, 0, out);
        free(tmp);
        return 0;
    }
    const size_t K = (size_t)Cin * 9;
    /* Chunks of output rows within one image: the chunking depends on the layer only. */
    int rows = (int)(CPU_COL_FLOATS / (K * (size_t)Wo));
    if (rows < 1) rows = 1;
    if (rows > Ho) rows = Ho;
    GQ_ASSERT(K * (size_t)rows * (size_t)Wo <= CPU_COL_FLOATS);
    for (int b = 0; b < B; b++)
        for (int y0 = 0; y0 < Ho; y0 += rows) {
            int nr = Ho - y0 < rows ? Ho - y0 : rows;
            im2col_job j = { x, c->col, B, H, W, Ho, Wo, up, b * Ho + y0, nr };
            cpu_pool_run(c->pool, K, im2col_rows, &j);
            size_t off = ((size_t)b * (size_t)Ho + (size_t)y0) * (size_t)Wo;
            gemm_images(c, Cout, (int)K, Wt, c->col, nr * Wo, beta, out + off, (int)N, 1, 0, nr * Wo);
        }
    return 0;
}

/* ---- batch norm ---- */

typedef struct bn_job {
    int mode, B, C, HW, relu;
    const float *x, *mean, *var, *w0, *b0, *g, *b;
    float eps;
    float *out;
} bn_job;

static void bn_planes(void *ctx, size_t p0, size_t p1)
{
    const bn_job *j = ctx;
    for (size_t p = p0; p < p1; p++) {
        int c = (int)(p / (size_t)j->B), b = (int)(p % (size_t)j->B);
        const float *x = j->x + p * (size_t)j->HW;
        float *o = j->out + p * (size_t)j->HW;
        float gg = j->g ? j->g[(size_t)b * (size_t)j->C + (size_t)c] : 1.0f;
        float bb = j->b ? j->b[(size_t)b * (size_t)j->C + (size_t)c] : 0.0f;
        float m = j->mean[c];
        if (j->mode == CPU_BN_DIV) {
            float sd = sqrtf(j->var[c] + j->eps);
            for (int i = 0; i < j->HW; i++) {
                float v = (x[i] - m) / sd * gg + bb;
                o[i] = j->relu && v < 0.0f ? 0.0f : v;
            }
        } else {
            float invstd = 1.0f / sqrtf(j->var[c] + j->eps);
            float alpha = j->w0 ? invstd * j->w0[c] : invstd;
            float beta = (j->b0 ? j->b0[c] : 0.0f) - m * alpha;
            if (j->g) {
                for (int i = 0; i < j->HW; i++) {
                    float v = (x[i] * alpha + beta) * gg + bb;
                    o[i] = j->relu && v < 0.0f ? 0.0f : v;
                }
            } else {
                for (int i = 0; i < j->HW; i++) {
                    float v = x[i] * alpha + beta;
                    o[i] = j->relu && v < 0.0f ? 0.0f : v;
                }
            }
        }
    }
}

void cpu_bn(cpu_ctx *c, int mode, const float *x, int C, int B, int HW, const float *mean,
            const float *var, float eps, const float *w0, const float *b0, const float *g,
            const float *b, int relu, float *out)
{
    bn_job j = { mode, B, C, HW, relu, x, mean, var, w0, b0, g, b, eps, out };
    cpu_pool_run(c->pool, (size_t)C * (size_t)B, bn_planes, &j);
}

typedef struct add_job { const float *x; float *out; } add_job;
static void add_range(void *ctx, size_t i0, size_t i1)
{
    const add_job *a = ctx;
    for (size_t i = i0; i < i1; i++) a->out[i] += a->x[i];
}

void cpu_add(cpu_ctx *c, const float *x, size_t n, float *out)
{
    add_job a = { x, out };
    cpu_pool_run(c->pool, n, add_range, &a);
}

void cpu_maxpool2(const float *x, int C, int B, int H, int W, float *out)
{
    size_t planes = (size_t)C * (size_t)B;
    int h2 = H / 2, w2 = W / 2;
    for (size_t p = 0; p < planes; p++) {
        const float *s = x + p * (size_t)H * (size_t)W;
        float *d = out + p * (size_t)h2 * (size_t)w2;
        for (int y = 0; y < h2; y++)
            for (int xx = 0; xx < w2; xx++) {
                const float *q = s + (size_t)(2 * y) * (size_t)W + 2 * xx;
                float m = q[0];
                if (q[1] > m) m = q[1];
                if (q[W] > m) m = q[W];
                if (q[W + 1] > m) m = q[W + 1];
                d[(size_t)y * (size_t)w2 + (size_t)xx] = m;
            }
    }
}

/* In-place softmax of one row. expf of anything below -104 is +0 (past the smallest
 * subnormal); skipping the call there gives the same bits without libm's slow underflow
 * path, which sharply peaked attention maps hit for most of a row. */
static void softmax_row(float *row, int cols)
{
    float m = row[0];
    for (int i = 1; i < cols; i++) if (row[i] > m) m = row[i];
    float sum = 0.0f;
    for (int i = 0; i < cols; i++) {
        float d = row[i] - m;
        row[i] = d < -104.0f ? 0.0f : expf(d);
        sum += row[i];
    }
    const float inv = 1.0f / sum;   /* sum >= 1: the max's own term is expf(0) */
    for (int i = 0; i < cols; i++) row[i] *= inv;
}

/* Attention core in blocks of ATT_ROWS query positions of one image: logits, softmax and
 * the weighted sum of g for a block stay in cache (the whole [N, Np] map is 16 MB at 64x64),
 * and blocks spread over the pool. Block shapes depend on the layer only (invariance). */
#define ATT_ROWS 64
typedef struct att_job {
    const float *theta, *phi, *g;
    float *ag;
    int N, Np, c8, c2, nblk;
    size_t BN, BNp;
    int failed;         /* set by a range that could not get its block buffer */
} att_job;

static void att_blocks(void *ctx, size_t t0, size_t t1)
{
    att_job *j = ctx;
    float *blk = malloc((size_t)ATT_ROWS * (size_t)j->Np * sizeof *blk);
    if (!blk) { __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED); return; }
    for (size_t t = t0; t < t1; t++) {
        size_t b = t / (size_t)j->nblk;
        int r0 = (int)(t % (size_t)j->nblk) * ATT_ROWS;
        int R = j->N - r0 < ATT_ROWS ? j->N - r0 : ATT_ROWS;
        /* logits [R, Np] = theta_b[:, r0..]^T [R, c8] x phi_b [c8, Np] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, R, j->Np, j->c8, 1.0f,
                    j->theta + b * (size_t)j->N + (size_t)r0, (int)j->BN,
                    j->phi + b * (size_t)j->Np, (int)j->BNp, 0.0f, blk, j->Np);
        for (int r = 0; r < R; r++) softmax_row(blk + (size_t)r * (size_t)j->Np, j->Np);
        /* ag_b[:, r0..r0+R) = g_b [c2, Np] x blk^T [Np, R] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->c2, R, j->Np, 1.0f,
                    j->g + b * (size_t)j->Np, (int)j->BNp, blk, j->Np, 0.0f,
                    j->ag + b * (size_t)j->N + (size_t)r0, (int)j->BN);
    }
    free(blk);
}

int cpu_attention(cpu_ctx *c, float *x, int C, int B, int H, int W, const float *Wth,
                  const float *Wph, const float *Wg, const float *Wo, float gamma)
{
    const int N = H * W, Np = N / 4;
    const size_t BN = (size_t)B * (size_t)N, BNp = (size_t)B * (size_t)Np;
    const int c8 = C / 8, c2 = C / 2;
    float *theta = malloc((size_t)c8 * BN * sizeof(float));
    float *tmp = malloc((size_t)c2 * BN * sizeof(float));
    float *phi = malloc((size_t)c8 * BNp * sizeof(float));
    float *g = malloc((size_t)c2 * BNp * sizeof(float));
    float *ag = malloc((size_t)c2 * BN * sizeof(float));
    float *o = malloc((size_t)C * BN * sizeof(float));
    int rc = 0;
    if (!theta || !tmp || !phi || !g || !ag || !o) { rc = GQ_ENOMEM; goto out; }
    gemm_images(c, c8, C, Wth, x, (int)BN, 0.0f, theta, (int)BN, B, (size_t)N, N);
    gemm_images(c, c8, C, Wph, x, (int)BN, 0.0f, tmp, (int)BN, B, (size_t)N, N);
    cpu_maxpool2(tmp, c8, B, H, W, phi);
    gemm_images(c, c2, C, Wg, x, (int)BN, 0.0f, tmp, (int)BN, B, (size_t)N, N);
    cpu_maxpool2(tmp, c2, B, H, W, g);
    {
        att_job j = { theta, phi, g, ag, N, Np, c8, c2, (N + ATT_ROWS - 1) / ATT_ROWS, BN, BNp, 0 };
        cpu_pool_run(c->pool, (size_t)B * (size_t)j.nblk, att_blocks, &j);
        if (j.failed) { rc = GQ_ENOMEM; goto out; }
    }
    gemm_images(c, C, c2, Wo, ag, (int)BN, 0.0f, o, (int)BN, B, (size_t)N, N);
    size_t n = (size_t)C * BN;
    for (size_t i = 0; i < n; i++) x[i] = x[i] + gamma * o[i];
out:
    free(theta); free(tmp); free(phi); free(g); free(ag); free(o);
    return rc;
}

typedef struct tanh_job { const float *x; float *out; } tanh_job;
static void tanh_range(void *ctx, size_t i0, size_t i1)
{
    const tanh_job *t = ctx;
    for (size_t i = i0; i < i1; i++) t->out[i] = tanhf(t->x[i]);
}

void cpu_tanh(cpu_ctx *c, const float *x, size_t n, float *out)
{
    tanh_job t = { x, out };
    cpu_pool_run(c->pool, n, tanh_range, &t);
}
