/* testcard.c: the built-in "testcard" model, a deterministic test pattern for pipeline tests
 * and dispatch benchmarks (no weights, microseconds per image).
 *
 * Model names: "testcard" (32x32) or "testcard:RES" with RES in {32, 64, 128, 256}.
 * Architecture: family "testcard", z_dim 128, 10 classes "class0".."class9", no standing
 * statistics, sha256 = sha256("testcard-v1") for 32x32 and sha256("testcard-v1:RES") else.
 * Image (channel values in [-1, 1], v in [0, 1] mapped to 2v - 1):
 *   - 8 vertical colour bars (white, yellow, cyan, green, magenta, red, blue, black), bar b
 *     of class c showing palette[(b + c) mod 8]; a class vector mixes the bars' colours by
 *     its weights (so soft classes interpolate);
 *   - a vertical brightness gradient: v = colour * (0.3 + 0.7 * (1 - row / (RES - 1)));
 *   - the last ceil(z_dim / RES) rows show z itself in grey: pixel p (row-major from the
 *     start of that band) = clamp(z[p] / 2, -1, 1), so different z give different images.
 * Only + - * / and comparisons: identical on every machine. Truncation is not used (z comes
 * already scaled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/engine/engine_impl.h"
#include "proto/base/gq_sha256.h"

#define TC_Z_DIM   128
#define TC_CLASSES 10

typedef struct testcard {
    int  res;
    char name[32];
    char names_buf[TC_CLASSES][24];
    const char *names[TC_CLASSES];
} testcard;

static const float PALETTE[8][3] = {
    {1, 1, 1}, {1, 1, 0}, {0, 1, 1}, {0, 1, 0}, {1, 0, 1}, {1, 0, 0}, {0, 0, 1}, {0, 0, 0},
};

static void tc_free(void *impl) { free(impl); }

static int tc_max_batch(void *impl) { (void)impl; return 256; }

static int tc_generate(void *impl, const engine_batch *b, float *out, gq_error *err)
{
    (void)err;
    const testcard *t = impl;
    const int R = t->res;
    const size_t hw = (size_t)R * (size_t)R;
    const int zrows = (TC_Z_DIM + R - 1) / R;
    for (int i = 0; i < b->n; i++) {
        float bars[8][3];
        for (int bar = 0; bar < 8; bar++) {
            for (int c = 0; c < 3; c++) bars[bar][c] = 0.0f;
            for (int k = 0; k < TC_CLASSES; k++) {
                float w = b->class_ids ? (b->class_ids[i] == k ? 1.0f : 0.0f)
                                       : b->class_vectors[(size_t)i * TC_CLASSES + (size_t)k];
                if (w == 0.0f) continue;
                for (int c = 0; c < 3; c++) bars[bar][c] += w * PALETTE[(bar + k) % 8][c];
            }
        }
        const float *z = b->z + (size_t)i * TC_Z_DIM;
        float *img = out + (size_t)i * 3 * hw;
        for (int y = 0; y < R; y++) {
            float g = 0.3f + 0.7f * (1.0f - (float)y / (float)(R - 1));
            for (int x = 0; x < R; x++) {
                int p = (y - (R - zrows)) * R + x;
                for (int c = 0; c < 3; c++) {
                    float v;
                    if (y >= R - zrows && p < TC_Z_DIM) {
                        v = z[p] * 0.5f;
                        v = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
                    } else {
                        v = 2.0f * bars[x * 8 / R][c] * g - 1.0f;
                        v = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
                    }
                    img[(size_t)c * hw + (size_t)y * (size_t)R + (size_t)x] = v;
                }
            }
        }
    }
    return 0;
}

static const engine_iface testcard_iface = {
    /* .name         = */ "testcard/cpu",
    /* .free         = */ tc_free,
    /* .max_batch    = */ tc_max_batch,
    /* .generate_f32 = */ tc_generate,
    /* .generate_u8  = */ NULL,
};

int engine_testcard_open(const char *spec, const engine_options *opts, engine *e, gq_error *err)
{
    (void)opts;
    int res = 32;
    if (spec[8] == ':') {
        char *end;
        long r = strtol(spec + 9, &end, 10);
        if (*end != 0 || (r != 32 && r != 64 && r != 128 && r != 256))
            return gq_fail(err, GQ_ENOTFOUND,
                           "model: '%s': testcard resolution must be 32, 64, 128 or 256", spec);
        res = (int)r;
    }
    testcard *t = calloc(1, sizeof *t);
    if (!t) return gq_fail(err, GQ_ENOMEM, "testcard: out of memory");
    t->res = res;
    for (int k = 0; k < TC_CLASSES; k++) {
        snprintf(t->names_buf[k], sizeof t->names_buf[k], "class%d", k);
        t->names[k] = t->names_buf[k];
    }
    char id[32];
    if (res == 32) snprintf(id, sizeof id, "testcard-v1");
    else snprintf(id, sizeof id, "testcard-v1:%d", res);
    snprintf(t->name, sizeof t->name, "%s", spec);
    e->iface = &testcard_iface;
    e->impl = t;
    engine_arch *a = &e->arch;
    a->family = ENGINE_FAMILY_TESTCARD;
    a->family_name = "testcard";
    a->name = t->name;
    a->resolution = res;
    a->z_dim = TC_Z_DIM;
    a->num_classes = TC_CLASSES;
    a->class_names = t->names;
    a->standing_stats = 0;
    a->ch = 0;
    a->num_params = 0;
    gq_sha256_hex(id, strlen(id), a->sha256);
    a->dtype = "F32";
    a->provenance = "";
    return 0;
}
