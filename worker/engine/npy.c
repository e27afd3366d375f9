/* npy.c: strict .npy reader/writer (see npy.h).
 *
 * The header is a Python dict literal; we accept exactly the three keys numpy writes
 * ('descr', 'fortran_order', 'shape'), in any order, with optional spaces and a trailing
 * comma, and reject anything else. The data length must equal the product of the shape
 * times the element size (overflow checked); trailing bytes are an error.
 */
#include "worker/engine/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *descr; int dtype; size_t size; } DTYPES[] = {
    { "<f4", NPY_F32, 4 }, { "<f8", NPY_F64, 8 }, { "<i4", NPY_I32, 4 },
    { "<i8", NPY_I64, 8 }, { "|u1", NPY_U8, 1 },
};

size_t npy_dtype_size(int dtype)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (DTYPES[i].dtype == dtype) return DTYPES[i].size;
    return 0;
}

static const char *dtype_descr(int dtype)
{
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (DTYPES[i].dtype == dtype) return DTYPES[i].descr;
    return NULL;
}

void npy_release(npy_array *a)
{
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

typedef struct cur { const char *p, *end; } cur;

static void skip_ws(cur *c) { while (c->p < c->end && (*c->p == ' ' || *c->p == '\t')) c->p++; }

static int eat(cur *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
    return 0;
}

/* A quoted string ('...' or "..."), no escapes; copies into out (cap bytes). */
static int quoted(cur *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return 0;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[n] = 0;
    return 1;
}

int npy_parse(const void *buf, size_t len, npy_array *a, gq_error *err)
{
    memset(a, 0, sizeof *a);
    const unsigned char *b = buf;
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return gq_fail(err, GQ_EFORMAT, "npy: bad magic (not a .npy file)");
    int major = b[6];
    size_t hlen, hoff;
    if (major == 1) { hlen = (size_t)b[8] | (size_t)b[9] << 8; hoff = 10; }
    else if (major == 2 || major == 3) {
        if (len < 12) return gq_fail(err, GQ_EFORMAT, "npy: truncated header length");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else return gq_fail(err, GQ_EFORMAT, "npy: format version %d is not 1, 2 or 3", major);
    if (hlen > len - hoff) return gq_fail(err, GQ_EFORMAT, "npy: header length %zu beyond file", hlen);
    cur c = { (const char *)b + hoff, (const char *)b + hoff + hlen };
    /* trailing spaces/newline padding */
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\n' || c.end[-1] == 0)) c.end--;
    if (!eat(&c, '{')) return gq_fail(err, GQ_EFORMAT, "npy: header is not a dict");
    int have_descr = 0, have_fo = 0, have_shape = 0;
    size_t esize = 0;
    for (;;) {
        if (eat(&c, '}')) break;
        char key[32];
        if (!quoted(&c, key, sizeof key) || !eat(&c, ':'))
            return gq_fail(err, GQ_EFORMAT, "npy: header: expected 'key':");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            char d[16];
            if (!quoted(&c, d, sizeof d)) return gq_fail(err, GQ_EFORMAT, "npy: descr: not a string");
            size_t i;
            for (i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
                if (strcmp(d, DTYPES[i].descr) == 0) break;
            if (i == sizeof DTYPES / sizeof DTYPES[0])
                return gq_fail(err, GQ_EFORMAT,
                               "npy: descr: '%s' is not one of <f4 <f8 <i4 <i8 |u1", d);
            a->dtype = DTYPES[i].dtype;
            esize = DTYPES[i].size;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
            skip_ws(&c);
            if ((size_t)(c.end - c.p) >= 5 && memcmp(c.p, "False", 5) == 0) c.p += 5;
            else return gq_fail(err, GQ_EFORMAT, "npy: fortran_order: only False is supported");
            have_fo = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (!eat(&c, '(')) return gq_fail(err, GQ_EFORMAT, "npy: shape: not a tuple");
            a->ndim = 0;
            for (;;) {
                if (eat(&c, ')')) break;
                skip_ws(&c);
                if (a->ndim == NPY_MAX_DIM)
                    return gq_fail(err, GQ_EFORMAT, "npy: shape: more than %d dimensions", NPY_MAX_DIM);
                int64_t v = 0;
                int digits = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    if (v > (INT64_MAX - 9) / 10)
                        return gq_fail(err, GQ_EFORMAT, "npy: shape: dimension too large");
                    v = v * 10 + (*c.p++ - '0');
                    digits++;
                }
                if (!digits) return gq_fail(err, GQ_EFORMAT, "npy: shape: expected an integer");
                skip_ws(&c);
                if (c.p < c.end && *c.p == 'L') c.p++;
                a->shape[a->ndim++] = v;
                if (!eat(&c, ',')) {
                    if (!eat(&c, ')')) return gq_fail(err, GQ_EFORMAT, "npy: shape: expected , or )");
                    break;
                }
            }
            have_shape = 1;
        } else {
            return gq_fail(err, GQ_EFORMAT, "npy: header: unexpected or repeated key '%s'", key);
        }
        if (eat(&c, ',')) continue;
        if (eat(&c, '}')) break;
        return gq_fail(err, GQ_EFORMAT, "npy: header: expected , or }");
    }
    skip_ws(&c);
    if (c.p != c.end) return gq_fail(err, GQ_EFORMAT, "npy: header: trailing characters");
    if (!have_descr || !have_fo || !have_shape)
        return gq_fail(err, GQ_EFORMAT, "npy: header: missing %s",
                       !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape");
    size_t count = 1;
    for (int i = 0; i < a->ndim; i++) {
        if ((uint64_t)a->shape[i] > SIZE_MAX / 16 ||
            (a->shape[i] && count > SIZE_MAX / 16 / (size_t)a->shape[i]))
            return gq_fail(err, GQ_EFORMAT, "npy: shape: too many elements");
        count *= (size_t)a->shape[i];
    }
    size_t doff = hoff + hlen;
    if (len - doff != count * esize)
        return gq_fail(err, GQ_EFORMAT, "npy: data is %zu bytes, shape needs %zu", len - doff,
                       count * esize);
    a->count = count;
    a->data = malloc(count * esize > 0 ? count * esize : 1);
    if (!a->data) return gq_fail(err, GQ_ENOMEM, "npy: out of memory for %zu bytes", count * esize);
    memcpy(a->data, b + doff, count * esize);
    return 0;
}

int npy_read_file(const char *path, npy_array *a, gq_error *err)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f)
        return gq_fail(err, errno == ENOENT ? GQ_ENOTFOUND : GQ_EIO, "%s: %s", path, strerror(errno));
    int rc = 0;
    char *buf = NULL;
    long n;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        rc = gq_fail(err, GQ_EIO, "%s: cannot seek", path);
        goto out;
    }
    buf = malloc((size_t)n + 1);
    if (!buf) { rc = gq_fail(err, GQ_ENOMEM, "%s: out of memory", path); goto out; }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { rc = gq_fail(err, GQ_EIO, "%s: short read", path); goto out; }
    gq_error e2;
    gq_error_clear(&e2);
    rc = npy_parse(buf, (size_t)n, a, &e2);
    if (rc) gq_fail(err, rc, "%s: %s", path, e2.msg);
out:
    free(buf);
    fclose(f);
    return rc;
}

int npy_write_file(const char *path, int dtype, int ndim, const int64_t *shape, const void *data,
                   gq_error *err)
{
    const char *descr = dtype_descr(dtype);
    if (!descr || ndim < 0 || ndim > NPY_MAX_DIM)
        return gq_fail(err, GQ_EINVAL, "npy: bad dtype or ndim for %s", path);
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)shape[i],
                      ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
        count *= (size_t)shape[i];
    }
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hl = (size_t)n + pad + 1;
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return gq_fail(err, GQ_EINVAL, "npy: path too long");
    FILE *f = fopen(tmp, "wb");
    if (!f) return gq_fail(err, GQ_EIO, "%s: %s", tmp, strerror(errno));
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 255),
                              (unsigned char)(hl >> 8) };
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    size_t bytes = count * npy_dtype_size(dtype);
    ok = ok && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return gq_fail(err, GQ_EIO, "%s: write failed", path);
    }
    return 0;
}
