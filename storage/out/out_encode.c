/* out_encode.c: PNG (libpng + zlib) and JPEG (libjpeg-turbo) encoders to memory, and a
 * decoder of either back to RGB for sheets and sweep statistics.
 *
 * Determinism: the bytes depend only on the pixels and the options. PNG: 8-bit RGB, no
 * interlace, no tIME/text chunks, zlib level as given, filter NONE at level 0 and the
 * adaptive choice of all five filters otherwise (a pure function of the rows), default
 * window and strategy. JPEG: baseline, quality as given, 4:4:4 (no chroma subsampling:
 * GAN images are small and colour detail matters), islow DCT, optimised Huffman tables, no
 * JFIF thumbnail, no comment. libjpeg errors longjmp back here; nothing exits the process.
 */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "storage/out/out.h"
#include "storage/out/out_impl.h"

#define OUT_MAX_SIDE 65536

static int check_dims(const char *what, int w, int h, gq_error *err)
{
    if (w < 1 || h < 1 || w > OUT_MAX_SIDE || h > OUT_MAX_SIDE)
        return gq_fail(err, GQ_EINVAL, "%s: image size %dx%d is outside 1..%d", what, w, h,
                       OUT_MAX_SIDE);
    return 0;
}

/* ---- PNG ---- */
static void png_write_cb(png_structp png, png_bytep data, size_t n)
{
    gq_buf *b = png_get_io_ptr(png);
    gq_buf_append(b, data, n);
}

static void png_flush_cb(png_structp png) { (void)png; }

int out_encode_png(const uint8_t *rgb, int w, int h, int level, gq_buf *out, gq_error *err)
{
    png_structp png;
    png_infop info;
    png_bytep *rows = NULL;
    int rc;

    if ((rc = check_dims("png", w, h, err)) < 0)
        return rc;
    if (level < 0 || level > 9)
        return gq_fail(err, GQ_EINVAL, "png_level: %d is outside 0..9", level);
    rows = malloc((size_t)h * sizeof *rows);
    if (!rows)
        return gq_fail(err, GQ_ENOMEM, "png: out of memory");
    for (int y = 0; y < h; y++)
        rows[y] = (png_bytep)(rgb + (size_t)y * (size_t)w * 3);
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, NULL);
        free(rows);
        return gq_fail(err, GQ_ENOMEM, "png: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return gq_fail(err, GQ_EIO, "png: libpng failed to encode a %dx%d image", w, h);
    }
    png_set_write_fn(png, out, png_write_cb, png_flush_cb);
    png_set_compression_level(png, level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, level == 0 ? PNG_FILTER_NONE : PNG_ALL_FILTERS);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_BASE, PNG_FILTER_TYPE_BASE);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (!gq_buf_ok(out))
        return gq_fail(err, GQ_ENOMEM, "png: out of memory");
    return 0;
}

/* ---- JPEG ---- */
typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf               jmp;
    char                  msg[JMSG_LENGTH_MAX];
} jerr;

static void jpeg_error_cb(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jmp, 1);
}

static void jpeg_silent_cb(j_common_ptr c, int level) { (void)c; (void)level; }

int out_encode_jpeg(const uint8_t *rgb, int w, int h, int quality, gq_buf *out, gq_error *err)
{
    struct jpeg_compress_struct c;
    jerr je;
    unsigned char *mem = NULL;
    unsigned long memn = 0;
    int rc;

    if ((rc = check_dims("jpeg", w, h, err)) < 0)
        return rc;
    if (quality < 1 || quality > 100)
        return gq_fail(err, GQ_EINVAL, "jpeg_quality: %d is outside 1..100", quality);
    memset(&c, 0, sizeof c);
    c.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_error_cb;
    je.pub.emit_message = jpeg_silent_cb;
    if (setjmp(je.jmp)) {
        jpeg_destroy_compress(&c);
        free(mem);
        return gq_fail(err, GQ_EIO, "jpeg: %s", je.msg);
    }
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &memn);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    c.comp_info[0].h_samp_factor = 1;
    c.comp_info[0].v_samp_factor = 1;
    c.dct_method = JDCT_ISLOW;
    c.optimize_coding = TRUE;
    c.write_JFIF_header = TRUE;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    gq_buf_append(out, mem, memn);
    free(mem);
    if (!gq_buf_ok(out))
        return gq_fail(err, GQ_ENOMEM, "jpeg: out of memory");
    return 0;
}

/* ---- decoding ---- */
static int decode_png(const uint8_t *data, size_t n, const char *path, uint8_t **rgb, int *w,
                      int *h, gq_error *err)
{
    png_image im;
    uint8_t *buf;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&im, data, n))
        return gq_fail(err, GQ_EFORMAT, "%s: not a readable png (%s)", path, im.message);
    im.format = PNG_FORMAT_RGB;
    if (im.width < 1 || im.height < 1 || im.width > OUT_MAX_SIDE || im.height > OUT_MAX_SIDE) {
        png_image_free(&im);
        return gq_fail(err, GQ_EFORMAT, "%s: png size %ux%u is not allowed", path, im.width,
                       im.height);
    }
    buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf) {
        png_image_free(&im);
        return gq_fail(err, GQ_ENOMEM, "%s: out of memory", path);
    }
    if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        free(buf);
        return gq_fail(err, GQ_EFORMAT, "%s: png decode failed (%s)", path, im.message);
    }
    *rgb = buf;
    *w = (int)im.width;
    *h = (int)im.height;
    return 0;
}

static int decode_jpeg(const uint8_t *data, size_t n, const char *path, uint8_t **rgb, int *w,
                       int *h, gq_error *err)
{
    struct jpeg_decompress_struct d;
    jerr je;
    uint8_t *volatile buf = NULL;

    memset(&d, 0, sizeof d);
    d.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_error_cb;
    je.pub.emit_message = jpeg_silent_cb;
    if (setjmp(je.jmp)) {
        jpeg_destroy_decompress(&d);
        free(buf);
        return gq_fail(err, GQ_EFORMAT, "%s: jpeg decode failed (%s)", path, je.msg);
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, (unsigned long)n);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = JCS_RGB;
    jpeg_start_decompress(&d);
    if (d.output_components != 3 || d.output_width < 1 || d.output_width > OUT_MAX_SIDE ||
        d.output_height < 1 || d.output_height > OUT_MAX_SIDE) {
        jpeg_destroy_decompress(&d);
        return gq_fail(err, GQ_EFORMAT, "%s: jpeg layout not supported", path);
    }
    buf = malloc((size_t)d.output_width * d.output_height * 3);
    if (!buf) {
        jpeg_destroy_decompress(&d);
        return gq_fail(err, GQ_ENOMEM, "%s: out of memory", path);
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = buf + (size_t)d.output_scanline * d.output_width * 3;
        jpeg_read_scanlines(&d, &row, 1);
    }
    *w = (int)d.output_width;
    *h = (int)d.output_height;
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    *rgb = buf;
    return 0;
}

int out_decode_mem(const uint8_t *data, size_t n, const char *what, uint8_t **rgb, int *w,
                   int *h, gq_error *err)
{
    *rgb = NULL;
    if (n >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(data, n, what, rgb, w, h, err);
    if (n >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, n, what, rgb, w, h, err);
    return gq_fail(err, GQ_EFORMAT, "%s: neither png nor jpeg", what);
}

int out_decode_image(const char *path, uint8_t **rgb, int *w, int *h, gq_error *err)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *data = NULL;
    long n;
    int rc;
    *rgb = NULL;
    if (!fp)
        return out_errno_fail(err, errno, "open", path);
    if (fseek(fp, 0, SEEK_END) < 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0) {
        fclose(fp);
        return gq_fail(err, GQ_EIO, "read %s: cannot size the file", path);
    }
    data = malloc((size_t)n + 1);
    if (!data) {
        fclose(fp);
        return gq_fail(err, GQ_ENOMEM, "read %s: out of memory", path);
    }
    if (fread(data, 1, (size_t)n, fp) != (size_t)n) {
        free(data);
        fclose(fp);
        return gq_fail(err, GQ_EIO, "read %s: short read", path);
    }
    fclose(fp);
    rc = out_decode_mem(data, (size_t)n, path, rgb, w, h, err);
    free(data);
    return rc;
}
