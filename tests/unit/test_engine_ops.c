/* test_engine_ops.c: every CPU operator against a naive loop written from the reference
 * definitions (biggan-reference.md), on random data, with 1 and 2 threads: conv 1x1/3x3
 * with and without the folded upsample (and bias), both BN modes with ReLU, upsample, add,
 * max-pool, attention, linear. Tolerance: 1e-5 x (1 + |naive|) (1e-4 for the K = 576 case). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/engine/cpu/ops.h"

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static float *rnd(size_t n)
{
    float *p = malloc(n * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static void close_enough(const float *a, const float *b, size_t n, double tol)
{
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (e > tol * (1.0 + fabs((double)b[i]))) fail_msg("[%zu]: %.9g vs naive %.9g", i, (double)a[i], (double)b[i]);
    }
}

/* Index of x[c][b][y][x] in CBHW. */
#define AT(c, b, y, x, B, H, W) ((((size_t)(c) * (B) + (b)) * (H) + (y)) * (W) + (x))

static void naive_conv(const float *x, int Cin, int B, int H, int W, int up, int k, const float *Wt,
                       const float *bias, int Cout, float *out)
{
    int Ho = up ? 2 * H : H, Wo = up ? 2 * W : W, pad = k / 2;
    for (int o = 0; o < Cout; o++)
        for (int b = 0; b < B; b++)
            for (int y = 0; y < Ho; y++)
                for (int xx = 0; xx < Wo; xx++) {
                    double s = bias ? bias[o] : 0.0;
                    for (int c = 0; c < Cin; c++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = y + ky - pad, ix = xx + kx - pad;
                                if (iy < 0 || iy >= Ho || ix < 0 || ix >= Wo) continue;
                                if (up) { iy /= 2; ix /= 2; }
                                s += (double)Wt[((size_t)o * Cin + c) * k * k + ky * k + kx] * x[AT(c, b, iy, ix, B, H, W)];
                            }
                    out[AT(o, b, y, xx, B, Ho, Wo)] = (float)s;
                }
}

static void test_conv(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        cpu_ctx cx;
        assert_int_equal(cpu_ctx_init(&cx, threads), 0);
        const int cases[][6] = { /* Cin, Cout, B, H, k, up */
            { 5, 7, 2, 4, 3, 0 }, { 5, 7, 2, 4, 3, 1 }, { 6, 3, 3, 5, 1, 0 }, { 6, 3, 1, 3, 1, 1 },
            { 3, 4, 2, 1, 3, 0 }, { 8, 8, 2, 8, 3, 1 },
        };
        for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
            int Cin = cases[t][0], Cout = cases[t][1], B = cases[t][2], H = cases[t][3], k = cases[t][4], up = cases[t][5];
            int Ho = up ? 2 * H : H;
            size_t nin = (size_t)Cin * B * H * H, nout = (size_t)Cout * B * Ho * Ho;
            float *x = rnd(nin), *w = rnd((size_t)Cout * Cin * k * k), *bias = rnd((size_t)Cout);
            float *o1 = malloc(nout * sizeof(float)), *o2 = malloc(nout * sizeof(float));
            for (int wb = 0; wb < 2; wb++) {
                assert_int_equal(cpu_conv(&cx, x, Cin, B, H, H, up, k, w, wb ? bias : NULL, Cout, o1), 0);
                naive_conv(x, Cin, B, H, H, up, k, w, wb ? bias : NULL, Cout, o2);
                close_enough(o1, o2, nout, 1e-5);
            }
            free(x); free(w); free(bias); free(o1); free(o2);
        }
        cpu_ctx_release(&cx);
    }
}

static void test_conv_chunked(void **state)
{
    (void)state;
    /* K * rows beyond CPU_COL_FLOATS: the im2col chunking must give the same result. */
    cpu_ctx cx;
    assert_int_equal(cpu_ctx_init(&cx, 2), 0);
    int Cin = 64, Cout = 4, B = 2, H = 64;     /* K = 576, 128x128 out, 2 images: 18.9M > 8.4M */
    size_t nin = (size_t)Cin * B * H * H, nout = (size_t)Cout * B * 4 * H * H;
    float *x = rnd(nin), *w = rnd((size_t)Cout * Cin * 9), *bias = rnd((size_t)Cout);
    float *o1 = malloc(nout * sizeof(float)), *o2 = malloc(nout * sizeof(float));
    assert_int_equal(cpu_conv(&cx, x, Cin, B, H, H, 1, 3, w, bias, Cout, o1), 0);
    naive_conv(x, Cin, B, H, H, 1, 3, w, bias, Cout, o2);
    /* K = 576 unit-size terms: fp32 rounding of the sum reaches ~1e-5 absolute; a chunking
     * bug (wrong rows or offsets) would be O(1). */
    close_enough(o1, o2, nout, 1e-4);
    free(x); free(w); free(bias); free(o1); free(o2);
    cpu_ctx_release(&cx);
}

static void test_bn(void **state)
{
    (void)state;
    cpu_ctx cx;
    assert_int_equal(cpu_ctx_init(&cx, 2), 0);
    int C = 5, B = 3, HW = 7;
    size_t n = (size_t)C * B * HW;
    float *x = rnd(n), *mean = rnd(C), *var = rnd(C), *w0 = rnd(C), *b0 = rnd(C);
    float *g = rnd((size_t)B * C), *bb = rnd((size_t)B * C);
    for (int c = 0; c < C; c++) var[c] = var[c] + 1.5f;
    float *o = malloc(n * sizeof(float)), *want = malloc(n * sizeof(float));
    for (int mode = 0; mode < 2; mode++)
        for (int relu = 0; relu < 2; relu++)
            for (int plain = 0; plain < 2; plain++) {
                const float *pg = plain ? NULL : g, *pb = plain ? NULL : bb;
                const float *pw0 = plain && mode == CPU_BN_AFFINE ? w0 : NULL, *pb0 = plain && mode == CPU_BN_AFFINE ? b0 : NULL;
                cpu_bn(&cx, mode, x, C, B, HW, mean, var, 1e-4f, pw0, pb0, pg, pb, relu, o);
                for (int c = 0; c < C; c++)
                    for (int b = 0; b < B; b++)
                        for (int i = 0; i < HW; i++) {
                            size_t k = ((size_t)c * B + b) * HW + i;
                            double v = (x[k] - mean[c]) / sqrt((double)var[c] + 1e-4);
                            if (pw0) v = v * w0[c] + b0[c];
                            if (pg) v = v * g[b * C + c] + bb[b * C + c];
                            want[k] = (float)(relu && v < 0 ? 0 : v);
                        }
                close_enough(o, want, n, 1e-5);
            }
    /* in place */
    memcpy(o, x, n * sizeof(float));
    cpu_bn(&cx, CPU_BN_DIV, o, C, B, HW, mean, var, 1e-4f, NULL, NULL, g, bb, 1, o);
    cpu_bn(&cx, CPU_BN_DIV, x, C, B, HW, mean, var, 1e-4f, NULL, NULL, g, bb, 1, want);
    assert_memory_equal(o, want, n * sizeof(float));
    free(x); free(mean); free(var); free(w0); free(b0); free(g); free(bb); free(o); free(want);
    cpu_ctx_release(&cx);
}

static void test_upsample_add_pool(void **state)
{
    (void)state;
    cpu_ctx cx;
    assert_int_equal(cpu_ctx_init(&cx, 2), 0);
    int C = 3, B = 2, H = 3, W = 5;
    size_t n = (size_t)C * B * H * W;
    float *x = rnd(n), *o = malloc(4 * n * sizeof(float)), *o2 = rnd(4 * n), *keep = malloc(4 * n * sizeof(float));
    memcpy(keep, o2, 4 * n * sizeof(float));
    cpu_upsample(&cx, x, C, B, H, W, 0, o);
    cpu_upsample(&cx, x, C, B, H, W, 1, o2);
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            for (int y = 0; y < 2 * H; y++)
                for (int xx = 0; xx < 2 * W; xx++) {
                    size_t k = AT(c, b, y, xx, B, 2 * H, 2 * W);
                    float v = x[AT(c, b, y / 2, xx / 2, B, H, W)];
                    assert_true(o[k] == v);
                    assert_true(o2[k] == keep[k] + v);
                }
    float *p = malloc(n * sizeof(float));
    cpu_maxpool2(o, C, B, 2 * H, 2 * W, p);   /* pooling an upsampled map gives it back */
    assert_memory_equal(p, x, n * sizeof(float));
    float *y = rnd(n), *yy = malloc(n * sizeof(float));
    memcpy(yy, y, n * sizeof(float));
    cpu_add(&cx, x, n, y);
    for (size_t i = 0; i < n; i++) assert_true(y[i] == yy[i] + x[i]);
    /* a pool over distinct values picks the max of each 2x2 */
    float q[16] = { 1, 5, 2, 0, 3, 4, 9, 1, 0, 0, -1, -2, 0, 7, -3, -4 }, qp[4];
    cpu_maxpool2(q, 1, 1, 4, 4, qp);
    assert_true(qp[0] == 5 && qp[1] == 9 && qp[2] == 7 && qp[3] == -1);
    free(x); free(o); free(o2); free(keep); free(p); free(y); free(yy);
    cpu_ctx_release(&cx);
}

static void naive_attention(const float *x, int C, int B, int H, int W, const float *Wth, const float *Wph,
                            const float *Wg, const float *Wo, float gamma, float *out)
{
    int N = H * W, Np = N / 4, c8 = C / 8, c2 = C / 2;
    double *th = calloc((size_t)c8 * N, sizeof(double)), *ph = calloc((size_t)c8 * N, sizeof(double));
    double *g = calloc((size_t)c2 * N, sizeof(double)), *php = calloc((size_t)c8 * Np, sizeof(double));
    double *gp = calloc((size_t)c2 * Np, sizeof(double)), *a = calloc((size_t)N * Np, sizeof(double));
    double *ag = calloc((size_t)c2 * N, sizeof(double));
    for (int b = 0; b < B; b++) {
        for (int p = 0; p < N; p++) {
            for (int o = 0; o < c8; o++) {
                double s = 0, s2 = 0;
                for (int c = 0; c < C; c++) { double v = x[AT(c, b, 0, p, B, 1, N)]; s += Wth[o * C + c] * v; s2 += Wph[o * C + c] * v; }
                th[o * N + p] = s; ph[o * N + p] = s2;
            }
            for (int o = 0; o < c2; o++) {
                double s = 0;
                for (int c = 0; c < C; c++) s += Wg[o * C + c] * x[AT(c, b, 0, p, B, 1, N)];
                g[o * N + p] = s;
            }
        }
        for (int y = 0; y < H / 2; y++)
            for (int xx = 0; xx < W / 2; xx++) {
                int q = y * (W / 2) + xx, p0 = 2 * y * W + 2 * xx;
                int ps[4] = { p0, p0 + 1, p0 + W, p0 + W + 1 };
                for (int o = 0; o < c8; o++) { double m = -1e300; for (int i = 0; i < 4; i++) if (ph[o * N + ps[i]] > m) m = ph[o * N + ps[i]]; php[o * Np + q] = m; }
                for (int o = 0; o < c2; o++) { double m = -1e300; for (int i = 0; i < 4; i++) if (g[o * N + ps[i]] > m) m = g[o * N + ps[i]]; gp[o * Np + q] = m; }
            }
        for (int p = 0; p < N; p++) {
            double mx = -1e300, sum = 0;
            for (int q = 0; q < Np; q++) {
                double s = 0;
                for (int o = 0; o < c8; o++) s += th[o * N + p] * php[o * Np + q];
                a[(size_t)p * Np + q] = s;
                if (s > mx) mx = s;
            }
            for (int q = 0; q < Np; q++) { a[(size_t)p * Np + q] = exp(a[(size_t)p * Np + q] - mx); sum += a[(size_t)p * Np + q]; }
            for (int q = 0; q < Np; q++) a[(size_t)p * Np + q] /= sum;
        }
        for (int o = 0; o < c2; o++)
            for (int p = 0; p < N; p++) {
                double s = 0;
                for (int q = 0; q < Np; q++) s += gp[o * Np + q] * a[(size_t)p * Np + q];
                ag[o * N + p] = s;
            }
        for (int c = 0; c < C; c++)
            for (int p = 0; p < N; p++) {
                double s = 0;
                for (int o = 0; o < c2; o++) s += Wo[c * c2 + o] * ag[o * N + p];
                out[AT(c, b, 0, p, B, 1, N)] = (float)(x[AT(c, b, 0, p, B, 1, N)] + gamma * s);
            }
    }
    free(th); free(ph); free(g); free(php); free(gp); free(a); free(ag);
}

static void test_attention(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        cpu_ctx cx;
        assert_int_equal(cpu_ctx_init(&cx, threads), 0);
        int C = 16, B = 2, H = 8, W = 6;
        size_t n = (size_t)C * B * H * W;
        float *x = rnd(n), *wt = rnd((size_t)C * C / 8), *wp = rnd((size_t)C * C / 8), *wg = rnd((size_t)C * C / 2), *wo = rnd((size_t)C * C / 2);
        float *want = malloc(n * sizeof(float));
        naive_attention(x, C, B, H, W, wt, wp, wg, wo, 0.7f, want);
        assert_int_equal(cpu_attention(&cx, x, C, B, H, W, wt, wp, wg, wo, 0.7f), 0);
        close_enough(x, want, n, 1e-5);
        free(x); free(wt); free(wp); free(wg); free(wo); free(want);
        cpu_ctx_release(&cx);
    }
}

static void test_linear_tanh(void **state)
{
    (void)state;
    cpu_ctx cx;
    assert_int_equal(cpu_ctx_init(&cx, 2), 0);
    int B = 3, in = 9, out = 5;
    float *x = rnd((size_t)B * in), *w = rnd((size_t)out * in), *b = rnd((size_t)out);
    float y[15], want[15];
    cpu_linear(B, in, out, x, w, b, y);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++) s += (double)x[i * in + k] * w[o * in + k];
            want[i * out + o] = (float)s;
        }
    close_enough(y, want, 15, 1e-5);
    cpu_tanh(&cx, y, 15, y);
    for (int i = 0; i < 15; i++) want[i] = tanhf(want[i]);
    close_enough(y, want, 15, 1e-5);
    free(x); free(w); free(b);
    cpu_ctx_release(&cx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_conv_chunked),
        cmocka_unit_test(test_bn),
        cmocka_unit_test(test_upsample_add_pool),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_linear_tanh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
