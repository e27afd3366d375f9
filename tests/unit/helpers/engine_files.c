/* engine_files.c: see engine_files.h. */
#include "tests/unit/helpers/engine_files.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_buf.h"
#include "worker/engine/model/model.h"

typedef struct builder {
    gq_buf   hdr;
    uint8_t *data;
    size_t   len, cap;
    const char *dtype;
    uint32_t rng;
    int      fail;
} builder;

static float frand(builder *b)
{
    b->rng = b->rng * 1664525u + 1013904223u;
    return (float)((b->rng >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static uint16_t f32_to_f16(float f)
{
    /* Values here are small normals or zero: simple truncating conversion is exact enough. */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int e = (int)((x >> 23) & 255) - 127 + 15;
    if ((x & 0x7fffffff) == 0 || e <= 0) return (uint16_t)sign;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    return (uint16_t)(sign | (uint32_t)e << 10 | ((x >> 13) & 0x3ff));
}

static void on_tensor(void *ctx, const char *name, int ndim, const int64_t *shape)
{
    builder *b = ctx;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    size_t esz = strcmp(b->dtype, "F32") == 0 ? 4 : 2;
    size_t need = b->len + n * esz + 8;
    if (need > b->cap) {
        size_t nc = need * 2;
        uint8_t *p = realloc(b->data, nc);
        if (!p) { b->fail = 1; return; }
        b->data = p;
        b->cap = nc;
    }
    size_t fan = ndim >= 2 ? n / (size_t)shape[0] : 1;
    const char *dot = strrchr(name, '.');
    int var = dot && (strstr(dot, "var") != NULL);
    int gamma = dot && strcmp(dot, ".gamma") == 0;
    int mean = dot && strstr(dot, "mean") != NULL;
    size_t begin = b->len;
    for (size_t i = 0; i < n; i++) {
        float v = frand(b);
        /* Keep activations O(1) through the layers (so outputs depend on z and class):
         * He-like weights, small stored means, variances near 1. */
        if (var) v = 1.0f + v;                    /* (0.5, 1.5) */
        else if (mean) v = 0.2f * v;
        else if (gamma) v = 0.5f;
        else v = 3.0f * v / sqrtf((float)fan);
        uint8_t *d = b->data + b->len;
        if (esz == 4) memcpy(d, &v, 4);
        else {
            uint16_t h;
            if (strcmp(b->dtype, "F16") == 0) h = f32_to_f16(v);
            else { uint32_t x; memcpy(&x, &v, 4); h = (uint16_t)(x >> 16); }
            d[0] = (uint8_t)h; d[1] = (uint8_t)(h >> 8);
        }
        b->len += esz;
    }
    while (b->len % 8) b->data[b->len++] = 0;    /* 8-byte alignment, as FORMAT.md says */
    gq_json_key(&b->hdr, name);
    gq_json_obj_begin(&b->hdr);
    gq_json_kv_str(&b->hdr, "dtype", b->dtype);
    gq_json_key(&b->hdr, "shape");
    gq_json_arr_begin(&b->hdr);
    if (!(gamma && ndim == 1 && shape[0] == 1)) for (int i = 0; i < ndim; i++) gq_json_int(&b->hdr, shape[i]);
    else gq_json_int(&b->hdr, 1);
    gq_json_arr_end(&b->hdr);
    gq_json_key(&b->hdr, "data_offsets");
    gq_json_arr_begin(&b->hdr);
    gq_json_uint(&b->hdr, begin);
    gq_json_uint(&b->hdr, begin + n * esz);
    gq_json_arr_end(&b->hdr);
    gq_json_obj_end(&b->hdr);
}

int ef_build(const char *family, const char *arch_json, const char *dtype, uint32_t seed,
             char **header, uint8_t **data, size_t *dlen)
{
    builder b;
    memset(&b, 0, sizeof b);
    gq_buf_init(&b.hdr);
    b.dtype = dtype;
    b.rng = seed;
    gq_json_obj_begin(&b.hdr);
    gq_json_key(&b.hdr, "__metadata__");
    gq_json_obj_begin(&b.hdr);
    gq_json_kv_str(&b.hdr, "ganq.format_version", "1");
    gq_json_kv_str(&b.hdr, "ganq.family", family);
    gq_json_kv_str(&b.hdr, "ganq.arch", arch_json);
    gq_json_kv_str(&b.hdr, "ganq.provenance", "{\"source\":\"test\"}");
    gq_json_obj_end(&b.hdr);
    if (model_expected(family, arch_json, on_tensor, &b, NULL) != 0 || b.fail) {
        gq_buf_release(&b.hdr);
        free(b.data);
        return -1;
    }
    gq_json_obj_end(&b.hdr);
    *header = gq_buf_detach(&b.hdr);
    *data = b.data;
    *dlen = b.len;
    return *header ? 0 : -1;
}

uint8_t *ef_image(const char *header, const uint8_t *data, size_t dlen, size_t *len)
{
    size_t hl = strlen(header);
    uint8_t *p = malloc(8 + hl + dlen + 1);
    if (!p) return NULL;
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(p + 8, header, hl);
    if (dlen) memcpy(p + 8 + hl, data, dlen);
    *len = 8 + hl + dlen;
    return p;
}

char *ef_replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at) return NULL;
    size_t a = (size_t)(at - s), fl = strlen(from), tl = strlen(to), sl = strlen(s);
    char *r = malloc(sl - fl + tl + 1);
    if (!r) return NULL;
    memcpy(r, s, a);
    memcpy(r + a, to, tl);
    memcpy(r + a + tl, at + fl, sl - a - fl + 1);
    return r;
}

int ef_write(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -1;
}
