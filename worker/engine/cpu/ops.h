/* ops.h: the CPU backend's operators, fp32, on activations laid out channel-major with the
 * batch inside: x[c][b][h][w] ("CBHW"), so every convolution over the whole batch is one
 * GEMM W[Cout, Cin*k*k] x cols[Cin*k*k, B*H*W] (OpenBLAS sgemm), 1x1 convs need no im2col,
 * and per-channel BN parameters are contiguous runs.
 *
 * Fusions: conditional BN + ReLU in one pass; nearest 2x upsampling folded into the next
 * 3x3 conv's im2col (the conv reads the low-resolution input directly); conv bias
 * pre-filled into the GEMM output (beta = 1). im2col works in row chunks so the column
 * buffer stays bounded (CPU_COL_FLOATS) whatever the batch and resolution.
 * Batch- and thread-invariant: an image's output bits do not depend on the batch it is in or
 * on the thread count, because every GEMM has a shape fixed by the layer alone (see "Batch
 * invariance" in ops.c) and OpenBLAS runs single-threaded under our pool. That is what lets
 * any split of a job over any workers give byte-identical images.
 * Naive reference loops for every op are in tests/unit/test_engine_ops.c.
 */
#ifndef GQ_ENGINE_CPU_OPS_H
#define GQ_ENGINE_CPU_OPS_H

#include <stddef.h>

#include "worker/engine/cpu/pool.h"

#define CPU_COL_FLOATS ((size_t)1 << 23)   /* 32 MiB of im2col columns at most */

typedef struct cpu_ctx {
    cpu_pool *pool;
    int       threads;
    float    *col;        /* CPU_COL_FLOATS scratch, owned */
} cpu_ctx;

/* threads >= 1. Returns 0 or GQ_ENOMEM. Sets OpenBLAS's thread count. */
int  cpu_ctx_init(cpu_ctx *c, int threads);
void cpu_ctx_release(cpu_ctx *c);

/* C[M, N] (ldc) = A[M, K] x B[K, N] (ldb) + beta * C, row-major, one row of A at a time
 * (so row r's result does not depend on M: rows are images in the callers). */
void cpu_gemm(int M, int N, int K, const float *A, const float *B, int ldb, float beta, float *C, int ldc);

/* Linear: y[B, out] = x[B, in] W[out, in]^T (+ bias[out] if non-NULL). */
void cpu_linear(int B, int in, int out, const float *x, const float *W, const float *bias, float *y);

/* Convolution, stride 1, "same" padding, k in {1, 3}, on x [Cin][B][H][W]. up: the input is
 * upsampled 2x nearest first (folded in). out [Cout][B][Ho][Wo], Ho = up ? 2H : H.
 * W [Cout, Cin*k*k] (PyTorch OIHW flattened); bias [Cout] or NULL. */
int cpu_conv(cpu_ctx *c, const float *x, int Cin, int B, int H, int W, int up, int k,
             const float *Wt, const float *bias, int Cout, float *out);   /* 0 or GQ_ENOMEM */

/* Element-wise BN + ReLU, x and out [C][B][HW] (may alias).
 * mode CPU_BN_DIV (HF conditional): y = (x - mean[c]) / sqrt(var[c] + eps) * g + b
 * mode CPU_BN_AFFINE (F.batch_norm): y = x * alpha + beta, alpha = invstd * w0, beta = -mean * alpha + b0,
 *      then (BR ccbn) * g + b.
 * g, b: per (b, c), layout [B][C] (gain already includes the 1 +), or NULL (1 and 0);
 * w0, b0: per channel affine of a plain BN, or NULL. relu: clamp at 0. */
enum { CPU_BN_DIV = 0, CPU_BN_AFFINE = 1 };
void cpu_bn(cpu_ctx *c, int mode, const float *x, int C, int B, int HW, const float *mean,
            const float *var, float eps, const float *w0, const float *b0, const float *g,
            const float *b, int relu, float *out);

/* out [C][B][2H][2W] = nearest upsample of x [C][B][H][W]; with add: out += instead. */
void cpu_upsample(cpu_ctx *c, const float *x, int C, int B, int H, int W, int add, float *out);

/* out[i] += x[i] for i < n. */
void cpu_add(cpu_ctx *c, const float *x, size_t n, float *out);

/* 2x2 / stride 2 max pool: x [C][B][H][W] -> out [C][B][H/2][W/2]. */
void cpu_maxpool2(const float *x, int C, int B, int H, int W, float *out);

/* Self-attention (BigGAN / BigGAN-deep) on x [C][B][H][W], in place: x += gamma * o(...).
 * Wth, Wph [C/8, C], Wg [C/2, C], Wo [C, C/2]. Returns 0 or GQ_ENOMEM. */
int cpu_attention(cpu_ctx *c, float *x, int C, int B, int H, int W, const float *Wth,
                  const float *Wph, const float *Wg, const float *Wo, float gamma);

/* out = tanh(x), n values. */
void cpu_tanh(cpu_ctx *c, const float *x, size_t n, float *out);

#endif
