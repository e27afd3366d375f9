/* out_container.c: the two container formats, streamed into an out_afile.
 *
 * NPZ: a zip archive (stored, no compression: numpy.load reads it with zipfile) of two
 * .npy v1.0 arrays, "x.npy" uint8 (N, H, W, 3) C-order and "y.npy" int64 little-endian (N,),
 * as BigGAN-PyTorch's samples.npz. Every zip time field is 1980-01-01 00:00 and no extra
 * field is written, so the bytes are a function of the arrays. Archives over 4 GiB would need
 * zip64 and are refused (GQ_EUNSUPPORTED: use a smaller shard_size).
 *
 * Tar: POSIX ustar members, mode 0644, uid/gid 0, mtime 0, empty user/group names, each
 * padded to 512 bytes, closed by two zero blocks. Names are the WebDataset convention
 * "<key>.<ext>", at most 100 bytes.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "proto/base/gq_log.h"
#include "storage/out/out.h"
#include "storage/out/out_impl.h"

#define TRY(x)                \
    do {                      \
        int rc_ = (x);        \
        if (rc_ < 0)          \
            return rc_;       \
    } while (0)

static void le16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The .npy v1.0 header for descr and shape, padded so that data starts at a multiple of 64. */
static size_t npy_header(uint8_t *buf, size_t cap, const char *descr, const char *shape)
{
    char dict[256];
    int dn = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      descr, shape);
    size_t total = 10 + (size_t)dn + 1, padded = (total + 63) / 64 * 64;
    size_t hl = padded - 10;
    GQ_ASSERT(padded <= cap && dn > 0);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    le16(buf + 8, (unsigned)hl);
    memcpy(buf + 10, dict, (size_t)dn);
    memset(buf + 10 + dn, ' ', padded - 10 - (size_t)dn - 1);
    buf[padded - 1] = '\n';
    return padded;
}

typedef struct zent {
    const char *name;
    uint32_t    crc, size, offset;
} zent;

static int zip_local(out_afile *f, zent *z, gq_error *err)
{
    uint8_t h[30];
    size_t nl = strlen(z->name);
    memset(h, 0, sizeof h);
    le32(h, 0x04034b50);
    le16(h + 4, 20);          /* version needed */
    le16(h + 6, 0);           /* flags */
    le16(h + 8, 0);           /* stored */
    le16(h + 10, 0);          /* time */
    le16(h + 12, 0x21);       /* date 1980-01-01 */
    le32(h + 14, z->crc);
    le32(h + 18, z->size);
    le32(h + 22, z->size);
    le16(h + 26, (unsigned)nl);
    le16(h + 28, 0);
    z->offset = (uint32_t)f->bytes;
    TRY(out_afile_write(f, h, sizeof h, err));
    return out_afile_write(f, z->name, nl, err);
}

static int zip_central(out_afile *f, zent *z, int n, gq_error *err)
{
    uint64_t cd_start = f->bytes;
    uint8_t e[22];
    for (int k = 0; k < n; k++) {
        uint8_t h[46];
        size_t nl = strlen(z[k].name);
        memset(h, 0, sizeof h);
        le32(h, 0x02014b50);
        le16(h + 4, 20);      /* version made by */
        le16(h + 6, 20);
        le16(h + 12, 0);
        le16(h + 14, 0x21);
        le32(h + 16, z[k].crc);
        le32(h + 20, z[k].size);
        le32(h + 24, z[k].size);
        le16(h + 28, (unsigned)nl);
        le32(h + 42, z[k].offset);
        TRY(out_afile_write(f, h, sizeof h, err));
        TRY(out_afile_write(f, z[k].name, nl, err));
    }
    memset(e, 0, sizeof e);
    le32(e, 0x06054b50);
    le16(e + 8, (unsigned)n);
    le16(e + 10, (unsigned)n);
    le32(e + 12, (uint32_t)(f->bytes - cd_start));
    le32(e + 16, (uint32_t)cd_start);
    return out_afile_write(f, e, sizeof e, err);
}

int out_npz_write(out_afile *f, const uint8_t *x, uint64_t n, int h, int w, const int64_t *y,
                  gq_error *err)
{
    uint8_t hx[256], hy[256];
    char shape[128];
    size_t nhx, nhy;
    uint64_t xbytes = n * (uint64_t)h * (uint64_t)w * 3, ybytes = n * 8;
    zent z[2];
    uint8_t ybuf[8 * 256];

    snprintf(shape, sizeof shape, "(%llu, %d, %d, 3)", (unsigned long long)n, h, w);
    nhx = npy_header(hx, sizeof hx, "|u1", shape);
    snprintf(shape, sizeof shape, "(%llu,)", (unsigned long long)n);
    nhy = npy_header(hy, sizeof hy, "<i8", shape);
    if (xbytes + nhx + ybytes + nhy + 512 > 0xFFFFFFFFULL)
        return gq_fail(err, GQ_EUNSUPPORTED, "npz: %llu images of %dx%d exceed 4 GiB in one "
                       "file; use a smaller shard_size", (unsigned long long)n, w, h);

    z[0].name = "x.npy";
    z[0].size = (uint32_t)(nhx + xbytes);
    z[0].crc = (uint32_t)crc32(0L, hx, (uInt)nhx);
    for (uint64_t off = 0; off < xbytes;) {
        uInt chunk = xbytes - off > (1u << 30) ? (1u << 30) : (uInt)(xbytes - off);
        z[0].crc = (uint32_t)crc32(z[0].crc, x + off, chunk);
        off += chunk;
    }
    z[1].name = "y.npy";
    z[1].size = (uint32_t)(nhy + ybytes);
    z[1].crc = (uint32_t)crc32(0L, hy, (uInt)nhy);
    for (uint64_t k = 0; k < n; k += 256) {   /* little-endian int64, written explicitly */
        uint64_t m = n - k < 256 ? n - k : 256;
        for (uint64_t j = 0; j < m; j++)
            for (int b = 0; b < 8; b++)
                ybuf[8 * j + (uint64_t)b] = (uint8_t)((uint64_t)y[k + j] >> (8 * b));
        z[1].crc = (uint32_t)crc32(z[1].crc, ybuf, (uInt)(8 * m));
    }

    TRY(zip_local(f, &z[0], err));
    TRY(out_afile_write(f, hx, nhx, err));
    TRY(out_afile_write(f, x, xbytes, err));
    TRY(zip_local(f, &z[1], err));
    TRY(out_afile_write(f, hy, nhy, err));
    for (uint64_t k = 0; k < n; k += 256) {
        uint64_t m = n - k < 256 ? n - k : 256;
        for (uint64_t j = 0; j < m; j++)
            for (int b = 0; b < 8; b++)
                ybuf[8 * j + (uint64_t)b] = (uint8_t)((uint64_t)y[k + j] >> (8 * b));
        TRY(out_afile_write(f, ybuf, 8 * m, err));
    }
    return zip_central(f, z, 2, err);
}

int out_tar_member(out_afile *f, const char *name, const void *data, size_t n, gq_error *err)
{
    uint8_t h[512];
    static const uint8_t zero[512];
    unsigned sum = 0;
    size_t nl = strlen(name);
    if (nl > 100)
        return gq_fail(err, GQ_EINVAL, "tar: member name \"%s\" is over 100 bytes", name);
    if ((uint64_t)n > 077777777777ULL)
        return gq_fail(err, GQ_EUNSUPPORTED, "tar: member %s is over 8 GiB", name);
    memset(h, 0, sizeof h);
    memcpy(h, name, nl);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
    snprintf((char *)h + 136, 12, "%011o", 0);
    memset(h + 148, ' ', 8);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);   /* with its NUL */
    memcpy(h + 263, "00", 2);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    TRY(out_afile_write(f, h, sizeof h, err));
    TRY(out_afile_write(f, data, n, err));
    if (n % 512)
        return out_afile_write(f, zero, 512 - n % 512, err);
    return 0;
}

int out_tar_end(out_afile *f, gq_error *err)
{
    static const uint8_t zero[1024];
    return out_afile_write(f, zero, sizeof zero, err);
}
