/* safetensors.c: strict safetensors container reader (see safetensors.h).
 *
 * The file is mapped read-only once; tensors point into the mapping. Overlap is checked by
 * sorting the tensors' [begin, end) ranges. Empty tensors (count 0) take no bytes and are
 * exempt from the overlap check. Conversions: F16 and BF16 widen exactly to fp32 (F16
 * subnormals, infinities and NaN included).
 */
#include "worker/engine/model/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct st_file {
    const uint8_t *bytes;        /* whole file */
    size_t         len;
    int            mapped;       /* 1: munmap on close */
    json_value    *header;
    const json_value *meta;
    st_tensor     *tensors;
    size_t         n;
};

static const struct { const char *name; int dtype; size_t size; } DT[] = {
    { "F32", ST_F32, 4 }, { "F16", ST_F16, 2 }, { "BF16", ST_BF16, 2 },
};

const char *st_dtype_name(int d) { return d >= 0 && d < 3 ? DT[d].name : "?"; }
size_t st_dtype_size(int d) { return d >= 0 && d < 3 ? DT[d].size : 0; }

void st_close(st_file *f)
{
    if (!f) return;
    json_free(f->header);
    free(f->tensors);
    if (f->mapped && f->bytes) munmap((void *)f->bytes, f->len);
    free(f);
}

static int cmp_range(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->data < y->data ? -1 : x->data > y->data ? 1 : 0;
}

static int parse_into(st_file *f, gq_error *err)
{
    if (f->len < 8) return gq_fail(err, GQ_EFORMAT, "safetensors: file is %zu bytes, shorter than the 8-byte header length", f->len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | f->bytes[i];
    if (hl > ST_MAX_HEADER)
        return gq_fail(err, GQ_EFORMAT, "safetensors: header length %llu is above %u bytes",
                       (unsigned long long)hl, ST_MAX_HEADER);
    if (hl > f->len - 8)
        return gq_fail(err, GQ_EFORMAT, "safetensors: header length %llu runs past the end of the file (%zu bytes)",
                       (unsigned long long)hl, f->len);
    int rc = json_parse((const char *)f->bytes + 8, (size_t)hl, &f->header, err);
    if (rc) return rc;
    const json_value *h = f->header;
    if (h->type != JSON_OBJECT) return gq_fail(err, GQ_EFORMAT, "safetensors: header is not a JSON object");
    const uint8_t *data = f->bytes + 8 + hl;
    uint64_t dlen = f->len - 8 - hl;
    f->tensors = calloc(h->len ? h->len : 1, sizeof *f->tensors);
    if (!f->tensors) return gq_fail(err, GQ_ENOMEM, "safetensors: out of memory");
    for (size_t i = 0; i < h->len; i++) {
        const char *name = h->keys[i];
        const json_value *v = &h->items[i];
        if (strcmp(name, "__metadata__") == 0) {
            if (v->type != JSON_OBJECT) return gq_fail(err, GQ_EFORMAT, "__metadata__: not an object");
            for (size_t k = 0; k < v->len; k++)
                if (v->items[k].type != JSON_STRING)
                    return gq_fail(err, GQ_EFORMAT, "__metadata__.%s: value is not a string", v->keys[k]);
            f->meta = v;
            continue;
        }
        if (v->type != JSON_OBJECT) return gq_fail(err, GQ_EFORMAT, "tensor '%s': entry is not an object", name);
        if (v->len != 3) return gq_fail(err, GQ_EFORMAT, "tensor '%s': needs exactly dtype, shape, data_offsets", name);
        const json_value *dt = json_get(v, "dtype"), *sh = json_get(v, "shape"), *of = json_get(v, "data_offsets");
        if (!dt || !sh || !of) return gq_fail(err, GQ_EFORMAT, "tensor '%s': needs exactly dtype, shape, data_offsets", name);
        st_tensor *t = &f->tensors[f->n];
        t->name = name;
        if (dt->type != JSON_STRING) return gq_fail(err, GQ_EFORMAT, "tensor '%s': dtype is not a string", name);
        int d;
        for (d = 0; d < 3; d++) if (strcmp(dt->str, DT[d].name) == 0) break;
        if (d == 3) return gq_fail(err, GQ_EFORMAT, "tensor '%s': dtype '%s' is not one of F32, F16, BF16", name, dt->str);
        t->dtype = d;
        if (sh->type != JSON_ARRAY || sh->len > ST_MAX_DIM)
            return gq_fail(err, GQ_EFORMAT, "tensor '%s': shape is not an array of at most %d integers", name, ST_MAX_DIM);
        uint64_t count = 1;
        t->ndim = (int)sh->len;
        for (size_t k = 0; k < sh->len; k++) {
            const json_value *e = &sh->items[k];
            if (e->type != JSON_NUMBER || !e->is_int || e->i64 < 0 || e->i64 > (int64_t)1 << 40)
                return gq_fail(err, GQ_EFORMAT, "tensor '%s': shape[%zu] is not an integer in [0, 2^40]", name, k);
            t->shape[k] = e->i64;
            if (e->i64 && count > (UINT64_MAX / 8) / (uint64_t)e->i64)
                return gq_fail(err, GQ_EFORMAT, "tensor '%s': shape has too many elements", name);
            count *= (uint64_t)e->i64;
        }
        t->count = count;
        if (of->type != JSON_ARRAY || of->len != 2)
            return gq_fail(err, GQ_EFORMAT, "tensor '%s': data_offsets is not [begin, end]", name);
        const json_value *b0 = &of->items[0], *b1 = &of->items[1];
        if (b0->type != JSON_NUMBER || !b0->is_int || b0->i64 < 0 || b1->type != JSON_NUMBER ||
            !b1->is_int || b1->i64 < b0->i64)
            return gq_fail(err, GQ_EFORMAT, "tensor '%s': data_offsets must be integers 0 <= begin <= end", name);
        uint64_t beg = (uint64_t)b0->i64, end = (uint64_t)b1->i64;
        if (end > dlen)
            return gq_fail(err, GQ_EFORMAT, "tensor '%s': data_offsets end %llu is beyond the data (%llu bytes)",
                           name, (unsigned long long)end, (unsigned long long)dlen);
        if (end - beg != count * DT[d].size)
            return gq_fail(err, GQ_EFORMAT, "tensor '%s': %llu bytes at data_offsets, shape and dtype need %llu",
                           name, (unsigned long long)(end - beg), (unsigned long long)(count * DT[d].size));
        t->data = data + beg;
        f->n++;
    }
    /* Overlap check over non-empty tensors, sorted by start. */
    st_tensor **order = malloc((f->n ? f->n : 1) * sizeof *order);
    if (!order) return gq_fail(err, GQ_ENOMEM, "safetensors: out of memory");
    size_t m = 0;
    for (size_t i = 0; i < f->n; i++) if (f->tensors[i].count) order[m++] = &f->tensors[i];
    qsort(order, m, sizeof *order, cmp_range);
    rc = 0;
    for (size_t i = 1; i < m; i++) {
        const st_tensor *a = order[i - 1], *b = order[i];
        if (a->data + a->count * DT[a->dtype].size > b->data) {
            rc = gq_fail(err, GQ_EFORMAT, "tensor '%s': data overlaps tensor '%s'", b->name, a->name);
            break;
        }
    }
    free(order);
    return rc;
}

int st_parse(const void *buf, size_t len, st_file **out, gq_error *err)
{
    *out = NULL;
    st_file *f = calloc(1, sizeof *f);
    if (!f) return gq_fail(err, GQ_ENOMEM, "safetensors: out of memory");
    f->bytes = buf;
    f->len = len;
    int rc = parse_into(f, err);
    if (rc) { st_close(f); return rc; }
    *out = f;
    return 0;
}

int st_open(const char *path, st_file **out, gq_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gq_fail(err, errno == ENOENT ? GQ_ENOTFOUND : GQ_EIO, "%s: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fd, &stt) != 0 || !S_ISREG(stt.st_mode)) {
        close(fd);
        return gq_fail(err, GQ_EIO, "%s: not a regular file", path);
    }
    st_file *f = calloc(1, sizeof *f);
    if (!f) { close(fd); return gq_fail(err, GQ_ENOMEM, "safetensors: out of memory"); }
    f->len = (size_t)stt.st_size;
    if (f->len > 0) {
        void *p = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            free(f);
            return gq_fail(err, GQ_EIO, "%s: mmap: %s", path, strerror(errno));
        }
        f->bytes = p;
        f->mapped = 1;
    } else {
        f->bytes = (const uint8_t *)"";
    }
    close(fd);
    gq_error e2;
    gq_error_clear(&e2);
    int rc = parse_into(f, &e2);
    if (rc) {
        gq_fail(err, rc, "%s: %s", path, e2.msg);
        st_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

size_t st_count(const st_file *f) { return f->n; }
const st_tensor *st_tensor_at(const st_file *f, size_t i) { return i < f->n ? &f->tensors[i] : NULL; }
const json_value *st_metadata(const st_file *f) { return f->meta; }

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const uint8_t *st_bytes(const st_file *f, size_t *len)
{
    *len = f->len;
    return f->bytes;
}

static float half_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 31, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void st_to_f32(const st_tensor *t, float *out)
{
    const uint8_t *p = t->data;
    for (uint64_t i = 0; i < t->count; i++) {
        if (t->dtype == ST_F32) {
            memcpy(&out[i], p + 4 * i, 4);   /* little-endian host assumed (x86-64, aarch64) */
        } else {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            if (t->dtype == ST_F16) out[i] = half_to_f32(h);
            else { uint32_t b = (uint32_t)h << 16; memcpy(&out[i], &b, 4); }
        }
    }
}
