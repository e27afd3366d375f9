/* out_finalize.c: the job-level products, written by the broker's finalizer once every task
 * is done (out_finalize_job in out.h). All of them are deterministic functions of the spec
 * and the images on disk, written under the atomic rule; a product whose file already holds
 * the same bytes is left untouched, so running it again (or finalizing a resubmitted job)
 * writes nothing new (idempotent). Products:
 *
 *   manifest.jsonl  one JSON object per image, in index order: index, class, class_name,
 *                   seed (the z draw's seed), truncation, split (null without splits), and
 *                   file (png/jpeg) or shard + key (npz/wds); interpolate adds class_b,
 *                   class_alpha and z_alpha.
 *   manifest.csv    the same columns: index,class,class_name,seed,truncation,split,file,
 *                   shard,key (RFC 4180 quoting).
 *   job.json        kind, model, seed, total, format, layout and the output fingerprint.
 * No product names the job id: the same job submitted twice (into two directories, or again
 * into its own) gives byte-identical trees.
 *   labels.txt      synthesize: "<id>\t<name>" for each class of the job, by id.
 *   sheet.png       generate --sheet: classes as rows (first appearance order, at most
 *                   OUT_SHEET_ROWS), the first OUT_SHEET_COLS images of each class as columns.
 *   sweep           per value: the images in t<value>/ and sheet-t<value>.png (as above);
 *                   summary.csv, summary.json (per-value statistics from the decoded images)
 *                   and summary.png (a chart of them against truncation).
 *   strip.png       interpolate: the frames left to right (at most OUT_STRIP_FRAMES, evenly
 *                   spaced, first and last always included).
 *
 * Sweep statistics, per value, over its images as decoded from disk (pixel values 0..255):
 *   diversity       per class, the mean pairwise RMS distance between its samples (the first
 *                   OUT_DIV_SAMPLES of the class), averaged over classes with >= 2 samples
 *                   (the first OUT_DIV_CLASSES distinct classes of the job, bounding the cost
 *                   at 64 x 496 image pairs a value); null when no class has two samples.
 *                   Low values mean mode collapse.
 *   mean_r/g/b      mean of each colour channel; std_r/g/b its standard deviation.
 *   saturation      share of channel values at 0 or 255 (clipping).
 *   fid, inception_score, precision, recall: null (named room for metrics computed by
 *                   ops/eval, which needs a classifier).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_buf.h"
#include "proto/base/gq_log.h"
#include "storage/out/out.h"
#include "storage/out/out_impl.h"

#define PATH_MAX_OUT     4352
#define OUT_SHEET_ROWS   32
#define OUT_SHEET_COLS   16
#define OUT_SHEET_MAX_PX 4096
#define OUT_STRIP_FRAMES 16
#define OUT_DIV_SAMPLES  32
#define OUT_DIV_CLASSES  64

static const uint8_t WHITE[3] = {255, 255, 255};

/* ---- a buffered atomic file ---- */
typedef struct sink {
    out_afile f;
    gq_buf    b;
    int       rc;
} sink;

static int sink_open(sink *s, const char *dir, const char *rel, gq_error *err)
{
    gq_buf_init(&s->b);
    s->rc = out_afile_open(&s->f, dir, rel, err);
    return s->rc;
}

static void sink_flush(sink *s, int force, gq_error *err)
{
    if (s->rc < 0)
        return;
    if (!gq_buf_ok(&s->b)) {
        s->rc = gq_fail(err, GQ_ENOMEM, "finalize %s: out of memory", s->f.path);
        return;
    }
    if (s->b.len && (force || s->b.len > (1u << 20))) {
        s->rc = out_afile_write(&s->f, s->b.data, s->b.len, err);
        s->b.len = 0;   /* keep the allocation; lines are complete, the JSON state is idle */
    }
}

/* 1 when dir/rel holds exactly `bytes` bytes hashing to sha. */
static int same_on_disk(const char *dir, const char *rel, uint64_t bytes, const char *sha)
{
    uint8_t *have;
    size_t n;
    char hs[65];
    gq_error e;
    gq_error_clear(&e);
    if (out_read_file(dir, rel, &have, &n, &e) < 0)
        return 0;
    gq_sha256_hex(have, n, hs);
    free(have);
    return n == bytes && strcmp(hs, sha) == 0;
}

/* Commit the sink, or drop its temporary when the file on disk is already identical (a
 * second finalize, or a resubmitted job, writes nothing new). */
static int sink_close(sink *s, const char *dir, const char *rel, gq_error *err)
{
    char sha[65];
    gq_sha256 h;
    sink_flush(s, 1, err);
    gq_buf_release(&s->b);
    if (s->rc < 0) {
        out_afile_abort(&s->f);
        return s->rc;
    }
    h = s->f.sha;
    gq_sha256_final_hex(&h, sha);
    if (same_on_disk(dir, rel, s->f.bytes, sha)) {
        out_afile_abort(&s->f);
        return 0;
    }
    return out_afile_commit(&s->f, 1, NULL, err);
}

/* out_write_atomic unless the file already holds these bytes. */
static int put_file(const char *dir, const char *rel, const void *data, size_t n,
                    gq_error *err)
{
    char sha[65];
    gq_sha256_hex(data, n, sha);
    if (same_on_disk(dir, rel, n, sha))
        return 0;
    return out_write_atomic(dir, rel, data, n, err);
}

static void csv_str(gq_buf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        gq_buf_puts(b, s);
        return;
    }
    gq_buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"')
            gq_buf_puts(b, "\"\"");
        else
            gq_buf_append(b, s, 1);
    }
    gq_buf_puts(b, "\"");
}

static void fmt_double(char *buf, size_t n, double v)
{
    /* integers plainly, else the shortest %g form that round-trips */
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int is_file_format(const plan *p)
{
    return plan_format(p) == GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG ||
           plan_format(p) == GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG;
}

static int write_manifests(const char *dir, const plan *p, gq_error *err)
{
    sink js, cs;
    int rc;
    uint64_t total = plan_total(p);
    int interp = plan_kind(p) == GANQ__V1__JOB_KIND__KIND_INTERPOLATE;

    if ((rc = sink_open(&js, dir, "manifest.jsonl", err)) < 0)
        return rc;
    if ((rc = sink_open(&cs, dir, "manifest.csv", err)) < 0) {
        gq_buf_release(&js.b);
        out_afile_abort(&js.f);
        return rc;
    }
    gq_buf_puts(&cs.b, "index,class,class_name,seed,truncation,split,file,shard,key\n");
    for (uint64_t i = 0; i < total && js.rc == 0 && cs.rc == 0; i++) {
        plan_image im;
        char file[1200] = "", shard[256] = "", key[32] = "", tbuf[40];
        plan_image_at(p, i, &im);
        if (is_file_format(p)) {
            plan_output_path(p, i, file, sizeof file);
        } else {
            plan_container_path(p, plan_container_of(p, i), shard, sizeof shard);
            plan_image_key(p, i, key, sizeof key);
        }
        gq_json_obj_begin(&js.b);
        gq_json_key(&js.b, "index");
        gq_json_uint(&js.b, i);
        gq_json_kv_int(&js.b, "class", im.class_id);
        gq_json_kv_str(&js.b, "class_name", plan_class_name(p, im.class_id));
        gq_json_key(&js.b, "seed");
        gq_json_uint(&js.b, im.z_seed);
        gq_json_kv_double(&js.b, "truncation", im.truncation);
        gq_json_kv_str(&js.b, "split", im.split);
        if (*file) {
            gq_json_kv_str(&js.b, "file", file);
        } else {
            gq_json_kv_str(&js.b, "shard", shard);
            gq_json_kv_str(&js.b, "key", key);
        }
        if (interp) {
            gq_json_kv_int(&js.b, "class_b", im.class_b);
            gq_json_kv_double(&js.b, "class_alpha", im.class_alpha);
            gq_json_kv_double(&js.b, "z_alpha", im.z_alpha);
            gq_json_key(&js.b, "seed_b");
            gq_json_uint(&js.b, im.z_seed_b);
        }
        gq_json_obj_end(&js.b);
        gq_buf_puts(&js.b, "\n");
        js.b.depth = 0;
        js.b.first = 0;
        js.b.key = 0;

        fmt_double(tbuf, sizeof tbuf, im.truncation);
        gq_buf_printf(&cs.b, "%llu,%d,", (unsigned long long)i, (int)im.class_id);
        csv_str(&cs.b, plan_class_name(p, im.class_id));
        gq_buf_printf(&cs.b, ",%llu,%s,%s,", (unsigned long long)im.z_seed, tbuf,
                      im.split ? im.split : "");
        csv_str(&cs.b, file);
        gq_buf_puts(&cs.b, ",");
        csv_str(&cs.b, shard);
        gq_buf_printf(&cs.b, ",%s\n", key);
        sink_flush(&js, 0, err);
        sink_flush(&cs, 0, err);
    }
    rc = sink_close(&js, dir, "manifest.jsonl", err);
    {
        int rc2 = sink_close(&cs, dir, "manifest.csv", err);
        return rc < 0 ? rc : rc2;
    }
}

static const char *kind_word(int k)
{
    static const char *w[] = {"unspecified", "generate", "synthesize", "sweep", "interpolate"};
    return k >= 0 && k <= 4 ? w[k] : "unknown";
}

static int write_job_json(const char *dir, const char *job_id, const Ganq__V1__JobSpec *spec,
                          const plan *p, gq_error *err)
{
    static const char *fmts[] = {"unspecified", "png", "jpeg", "npz", "wds"};
    static const char *lays[] = {"unspecified", "flat", "imagefolder", "wds"};
    gq_buf b;
    char fp[65];
    int rc;
    out_fingerprint(spec, p, fp);
    gq_buf_init(&b);
    (void)job_id;   /* not written: two runs of the same job must give identical trees */
    gq_json_obj_begin(&b);
    gq_json_kv_str(&b, "kind", kind_word((int)plan_kind(p)));
    gq_json_kv_str(&b, "model", spec->model ? spec->model : "");
    gq_json_kv_str(&b, "model_sha256", spec->model_sha256 ? spec->model_sha256 : "");
    gq_json_key(&b, "seed");
    gq_json_uint(&b, spec->seed);
    gq_json_key(&b, "total");
    gq_json_uint(&b, plan_total(p));
    gq_json_kv_str(&b, "format", fmts[plan_format(p)]);
    gq_json_kv_str(&b, "layout", lays[plan_layout(p)]);
    gq_json_kv_str(&b, "fingerprint", fp);
    gq_json_kv_str(&b, "manifest", "manifest.jsonl");
    gq_json_obj_end(&b);
    gq_buf_puts(&b, "\n");
    if (!gq_buf_ok(&b)) {
        gq_buf_release(&b);
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    }
    rc = put_file(dir, "job.json", b.data, b.len, err);
    gq_buf_release(&b);
    return rc;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int write_labels(const char *dir, const plan *p, gq_error *err)
{
    int n = plan_n_classes(p), rc;
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    gq_buf b;
    if (!ids)
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    for (int k = 0; k < n; k++)
        ids[k] = plan_class_at(p, k);
    qsort(ids, (size_t)n, sizeof *ids, cmp_i32);
    gq_buf_init(&b);
    for (int k = 0; k < n; k++)
        if (k == 0 || ids[k] != ids[k - 1])
            gq_buf_printf(&b, "%d\t%s\n", (int)ids[k], plan_class_name(p, ids[k]));
    free(ids);
    if (!gq_buf_ok(&b)) {
        gq_buf_release(&b);
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    }
    rc = put_file(dir, "labels.txt", b.data ? b.data : "", b.len, err);
    gq_buf_release(&b);
    return rc;
}

static int load(const char *dir, const plan *p, uint64_t i, uint8_t **rgb, int *w, int *h,
                gq_error *err)
{
    char rel[1200], path[PATH_MAX_OUT];
    if (plan_output_path(p, i, rel, sizeof rel) < 0)
        return gq_fail(err, GQ_EINVAL, "finalize: image %llu has no file",
                       (unsigned long long)i);
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return out_decode_image(path, rgb, w, h, err);
}

/* Distinct classes of the job, in first-appearance order, at most max. */
static int distinct_classes(const plan *p, int32_t *out, int max)
{
    int n = 0;
    for (int k = 0; k < plan_n_classes(p) && n < max; k++) {
        int32_t c = plan_class_at(p, k);
        int dup = 0;
        for (int j = 0; j < n && !dup; j++)
            dup = out[j] == c;
        if (!dup)
            out[n++] = c;
    }
    return n;
}

/* A grid: rows[r] lists the image indices of row r (n_cols[r] of them). */
static int write_grid(const char *dir, const plan *p, const char *rel,
                      uint64_t (*cells)[OUT_SHEET_COLS], const int *n_cols, int rows,
                      gq_error *err)
{
    uint8_t *img = NULL;
    int w0 = 0, h0 = 0, cols = 0, tile, gap = 2, rc;
    out_canvas c;
    gq_buf png;
    for (int r = 0; r < rows; r++)
        if (n_cols[r] > cols)
            cols = n_cols[r];
    if (rows == 0 || cols == 0)
        return 0;
    if ((rc = load(dir, p, cells[0][0], &img, &w0, &h0, err)) < 0)
        return rc;
    free(img);
    tile = w0;
    while (tile > 8 && (cols * (tile + gap) + gap > OUT_SHEET_MAX_PX ||
                        rows * (tile + gap) + gap > OUT_SHEET_MAX_PX))
        tile /= 2;
    {
        int th = (int)((int64_t)tile * h0 / w0);
        if (th < 1)
            th = 1;
        if (out_canvas_init(&c, cols * (tile + gap) + gap, rows * (th + gap) + gap, WHITE) < 0)
            return gq_fail(err, GQ_ENOMEM, "finalize %s: out of memory", rel);
        for (int r = 0; r < rows && rc == 0; r++)
            for (int k = 0; k < n_cols[r] && rc == 0; k++) {
                int w, h;
                if ((rc = load(dir, p, cells[r][k], &img, &w, &h, err)) < 0)
                    break;
                out_canvas_blit(&c, gap + k * (tile + gap), gap + r * (th + gap), tile, th, img,
                                w, h);
                free(img);
            }
    }
    if (rc == 0) {
        gq_buf_init(&png);
        rc = out_encode_png(c.px, c.w, c.h, 6, &png, err);
        if (rc == 0)
            rc = put_file(dir, rel, png.data, png.len, err);
        gq_buf_release(&png);
    }
    out_canvas_release(&c);
    return rc;
}

/* Sheet over images [first, first + n) whose class is plan_image_at's. */
static int write_sheet(const char *dir, const plan *p, const char *rel, uint64_t first,
                       uint64_t n, gq_error *err)
{
    int32_t cls[OUT_SHEET_ROWS];
    uint64_t cells[OUT_SHEET_ROWS][OUT_SHEET_COLS];
    int n_cols[OUT_SHEET_ROWS] = {0};
    int rows = distinct_classes(p, cls, OUT_SHEET_ROWS), full = 0;
    for (uint64_t i = first; i < first + n && full < rows; i++) {
        plan_image im;
        plan_image_at(p, i, &im);
        for (int r = 0; r < rows; r++)
            if (cls[r] == im.class_id && n_cols[r] < OUT_SHEET_COLS) {
                cells[r][n_cols[r]++] = i;
                if (n_cols[r] == OUT_SHEET_COLS)
                    full++;
            }
    }
    {   /* drop rows without images */
        int k = 0;
        for (int r = 0; r < rows; r++)
            if (n_cols[r]) {
                memmove(cells[k], cells[r], sizeof cells[r]);
                n_cols[k++] = n_cols[r];
            }
        rows = k;
    }
    return write_grid(dir, p, rel, cells, n_cols, rows, err);
}

static int write_strip(const char *dir, const plan *p, gq_error *err)
{
    uint64_t cells[1][OUT_SHEET_COLS];
    int n_cols[1];
    uint64_t steps = plan_total(p);
    int n = steps < OUT_STRIP_FRAMES ? (int)steps : OUT_STRIP_FRAMES;
    for (int k = 0; k < n; k++)
        cells[0][k] = n == 1 ? 0 : (uint64_t)k * (steps - 1) / (uint64_t)(n - 1);
    n_cols[0] = n;
    return write_grid(dir, p, "strip.png", cells, n_cols, 1, err);
}

/* ---- sweep statistics ---- */
typedef struct vstats {
    double   truncation;
    uint64_t images;
    double   diversity;     /* NAN when undefined */
    double   mean[3], std[3];
    double   saturation;
} vstats;

static int sweep_stats(const char *dir, const plan *p, int v, vstats *o, gq_error *err)
{
    uint64_t per = plan_per_value(p), first = (uint64_t)v * per;
    int32_t cls[OUT_DIV_CLASSES];
    int ncls = distinct_classes(p, cls, OUT_DIV_CLASSES);
    double sum[3] = {0}, sq[3] = {0}, sat = 0, vals = 0, div_sum = 0;
    int div_n = 0, rc = 0, w0 = 0, h0 = 0;
    uint8_t **keep;
    int *nkeep;

    memset(o, 0, sizeof *o);
    o->truncation = plan_truncation_at(p, v);
    o->images = per;
    keep = calloc((size_t)ncls * OUT_DIV_SAMPLES, sizeof *keep);
    nkeep = calloc((size_t)ncls, sizeof *nkeep);
    if (!keep || !nkeep) {
        free(keep);
        free(nkeep);
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    }
    for (uint64_t i = first; i < first + per && rc == 0; i++) {
        uint8_t *img;
        int w, h, r;
        plan_image im;
        size_t npx;
        if ((rc = load(dir, p, i, &img, &w, &h, err)) < 0)
            break;
        if (w0 == 0) {
            w0 = w;
            h0 = h;
        } else if (w != w0 || h != h0) {
            free(img);
            rc = gq_fail(err, GQ_EFORMAT, "finalize: image %llu is %dx%d, not %dx%d",
                         (unsigned long long)i, w, h, w0, h0);
            break;
        }
        npx = (size_t)w * (size_t)h;
        for (size_t k = 0; k < npx; k++)
            for (int ch = 0; ch < 3; ch++) {
                double x = img[3 * k + (size_t)ch];
                sum[ch] += x;
                sq[ch] += x * x;
                sat += (x == 0 || x == 255);
            }
        vals += (double)npx * 3;
        plan_image_at(p, i, &im);
        for (r = 0; r < ncls && cls[r] != im.class_id; r++)
            ;
        if (r < ncls && nkeep[r] < OUT_DIV_SAMPLES)
            keep[r * OUT_DIV_SAMPLES + nkeep[r]++] = img;
        else
            free(img);
    }
    if (rc == 0) {
        double npv = vals / 3;
        for (int ch = 0; ch < 3; ch++) {
            o->mean[ch] = sum[ch] / npv;
            o->std[ch] = sqrt(fmax(0.0, sq[ch] / npv - o->mean[ch] * o->mean[ch]));
        }
        o->saturation = sat / vals;
        for (int r = 0; r < ncls; r++) {
            double cs = 0;
            int pairs = 0;
            size_t nb = (size_t)w0 * (size_t)h0 * 3;
            for (int a = 0; a < nkeep[r]; a++)
                for (int b = a + 1; b < nkeep[r]; b++) {
                    const uint8_t *x = keep[r * OUT_DIV_SAMPLES + a];
                    const uint8_t *y = keep[r * OUT_DIV_SAMPLES + b];
                    double d = 0;
                    for (size_t k = 0; k < nb; k++) {
                        double t = (double)x[k] - (double)y[k];
                        d += t * t;
                    }
                    cs += sqrt(d / (double)nb);
                    pairs++;
                }
            if (pairs) {
                div_sum += cs / pairs;
                div_n++;
            }
        }
        o->diversity = div_n ? div_sum / div_n : NAN;
    }
    for (int k = 0; k < ncls * OUT_DIV_SAMPLES; k++)
        free(keep[k]);
    free(keep);
    free(nkeep);
    return rc;
}

static void csv_num(gq_buf *b, double v)
{
    char t[40];
    if (!isfinite(v))
        return;
    fmt_double(t, sizeof t, v);
    gq_buf_puts(b, t);
}

static int write_summary(const char *dir, const char *job_id, const plan *p, const vstats *s,
                         int n, gq_error *err)
{
    gq_buf c, j;
    int rc;
    gq_buf_init(&c);
    gq_buf_init(&j);
    gq_buf_puts(&c, "truncation,folder,images,diversity,mean_r,mean_g,mean_b,std_r,std_g,std_b,"
                    "saturation,fid,inception_score,precision,recall\n");
    (void)job_id;
    gq_json_obj_begin(&j);
    gq_json_kv_str(&j, "diversity", "per class mean pairwise RMS pixel distance (0..255) of "
                                    "up to 32 samples, averaged over classes");
    gq_json_kv_str(&j, "saturation", "share of channel values at 0 or 255");
    gq_json_key(&j, "values");
    gq_json_arr_begin(&j);
    for (int v = 0; v < n; v++) {
        static const char *ch[3] = {"r", "g", "b"};
        csv_num(&c, s[v].truncation);
        gq_buf_printf(&c, ",%s,%llu,", plan_value_folder(p, v),
                      (unsigned long long)s[v].images);
        csv_num(&c, s[v].diversity);
        for (int k = 0; k < 3; k++) {
            gq_buf_puts(&c, ",");
            csv_num(&c, s[v].mean[k]);
        }
        for (int k = 0; k < 3; k++) {
            gq_buf_puts(&c, ",");
            csv_num(&c, s[v].std[k]);
        }
        gq_buf_puts(&c, ",");
        csv_num(&c, s[v].saturation);
        gq_buf_puts(&c, ",,,,\n");

        gq_json_obj_begin(&j);
        gq_json_kv_double(&j, "truncation", s[v].truncation);
        gq_json_kv_str(&j, "folder", plan_value_folder(p, v));
        gq_json_key(&j, "images");
        gq_json_uint(&j, s[v].images);
        gq_json_kv_double(&j, "diversity", s[v].diversity);   /* NAN -> null */
        gq_json_key(&j, "mean");
        gq_json_obj_begin(&j);
        for (int k = 0; k < 3; k++)
            gq_json_kv_double(&j, ch[k], s[v].mean[k]);
        gq_json_obj_end(&j);
        gq_json_key(&j, "std");
        gq_json_obj_begin(&j);
        for (int k = 0; k < 3; k++)
            gq_json_kv_double(&j, ch[k], s[v].std[k]);
        gq_json_obj_end(&j);
        gq_json_kv_double(&j, "saturation", s[v].saturation);
        gq_json_key(&j, "fid");
        gq_json_null(&j);
        gq_json_key(&j, "inception_score");
        gq_json_null(&j);
        gq_json_key(&j, "precision");
        gq_json_null(&j);
        gq_json_key(&j, "recall");
        gq_json_null(&j);
        gq_json_obj_end(&j);
    }
    gq_json_arr_end(&j);
    gq_json_obj_end(&j);
    gq_buf_puts(&j, "\n");
    if (!gq_buf_ok(&c) || !gq_buf_ok(&j))
        rc = gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    else if ((rc = put_file(dir, "summary.csv", c.data, c.len, err)) == 0)
        rc = put_file(dir, "summary.json", j.data, j.len, err);
    gq_buf_release(&c);
    gq_buf_release(&j);
    return rc;
}

/* summary.png: diversity (normalised by its maximum), saturation and mean brightness
 * (/255) against truncation, with axes, ticks and a legend. */
static int write_chart(const char *dir, const vstats *s, int n, gq_error *err)
{
    static const uint8_t axis[3] = {40, 40, 40}, grid[3] = {220, 220, 220};
    static const uint8_t col[3][3] = {{200, 40, 40}, {40, 90, 200}, {40, 150, 60}};
    static const char *label[3] = {"DIVERSITY", "SATURATION", "BRIGHTNESS"};
    const int W = 640, H = 400, L = 60, R = 20, T = 50, B = 50;
    double tmin = s[0].truncation, tmax = s[0].truncation, dmax = 0;
    out_canvas c;
    gq_buf png;
    int rc;
    for (int v = 0; v < n; v++) {
        tmin = fmin(tmin, s[v].truncation);
        tmax = fmax(tmax, s[v].truncation);
        if (isfinite(s[v].diversity))
            dmax = fmax(dmax, s[v].diversity);
    }
    if (tmax == tmin)
        tmax = tmin + 1;
    if (out_canvas_init(&c, W, H, WHITE) < 0)
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    for (int g = 0; g <= 4; g++) {   /* y grid at 0, .25, .5, .75, 1 */
        int y = T + (H - T - B) * (4 - g) / 4;
        char t[32];
        out_canvas_line(&c, L, y, W - R, y, grid, 1);
        snprintf(t, sizeof t, "%d.%02d", g / 4, (g % 4) * 25);
        out_canvas_text(&c, 8, y - 5, 2, t, axis);
    }
    out_canvas_line(&c, L, T, L, H - B, axis, 2);
    out_canvas_line(&c, L, H - B, W - R, H - B, axis, 2);
    for (int v = 0; v < n; v++) {
        int x = L + (int)lround((s[v].truncation - tmin) / (tmax - tmin) * (W - L - R - 10));
        char t[16];
        out_canvas_line(&c, x, H - B, x, H - B + 6, axis, 2);
        snprintf(t, sizeof t, "%.2f", s[v].truncation);
        if (n <= 12)
            out_canvas_text(&c, x - 16, H - B + 12, 2, t, axis);
    }
    out_canvas_text(&c, W / 2 - 40, H - 16, 2, "TRUNCATION", axis);
    for (int m = 0; m < 3; m++) {
        int px = -1, py = -1;
        out_canvas_rect(&c, L + 10 + m * 190, 14, 14, 14, col[m]);
        out_canvas_text(&c, L + 30 + m * 190, 16, 2, label[m], axis);
        for (int v = 0; v < n; v++) {
            double y01 = m == 0 ? (dmax > 0 && isfinite(s[v].diversity) ? s[v].diversity / dmax
                                                                        : NAN)
                         : m == 1 ? s[v].saturation
                                  : (s[v].mean[0] + s[v].mean[1] + s[v].mean[2]) / (3 * 255.0);
            int x, y;
            if (!isfinite(y01)) {
                px = -1;
                continue;
            }
            x = L + (int)lround((s[v].truncation - tmin) / (tmax - tmin) * (W - L - R - 10));
            y = T + (int)lround((1 - fmin(1, fmax(0, y01))) * (H - T - B));
            if (px >= 0)
                out_canvas_line(&c, px, py, x, y, col[m], 2);
            out_canvas_rect(&c, x - 3, y - 3, 7, 7, col[m]);
            px = x;
            py = y;
        }
    }
    gq_buf_init(&png);
    rc = out_encode_png(c.px, c.w, c.h, 6, &png, err);
    if (rc == 0)
        rc = put_file(dir, "summary.png", png.data, png.len, err);
    gq_buf_release(&png);
    out_canvas_release(&c);
    return rc;
}

static int finalize_sweep(const char *dir, const char *job_id, const plan *p, gq_error *err)
{
    int n = plan_n_truncations(p), rc = 0;
    vstats *s = calloc((size_t)n, sizeof *s);
    if (!s)
        return gq_fail(err, GQ_ENOMEM, "finalize: out of memory");
    for (int v = 0; v < n && rc == 0; v++) {
        char rel[128];
        snprintf(rel, sizeof rel, "sheet-%s.png", plan_value_folder(p, v));
        rc = write_sheet(dir, p, rel, (uint64_t)v * plan_per_value(p), plan_per_value(p), err);
        if (rc == 0)
            rc = sweep_stats(dir, p, v, &s[v], err);
    }
    if (rc == 0)
        rc = write_summary(dir, job_id, p, s, n, err);
    if (rc == 0)
        rc = write_chart(dir, s, n, err);
    free(s);
    return rc;
}

int out_finalize_job(const char *job_id, const Ganq__V1__JobSpec *spec, const plan *p,
                     gq_error *err)
{
    char dir[PATH_MAX_OUT];
    size_t len;
    int rc;
    if (!spec || !p || !spec->out_dir || spec->out_dir[0] != '/')
        return gq_fail(err, GQ_EINVAL, "out_dir: finalize needs the job's absolute out_dir");
    len = strlen(spec->out_dir);
    if (len >= sizeof dir)
        return gq_fail(err, GQ_EINVAL, "out_dir: too long");
    while (len > 1 && spec->out_dir[len - 1] == '/')
        len--;
    memcpy(dir, spec->out_dir, len);
    dir[len] = '\0';
    if ((rc = out_dir_check(spec, p, 1, err)) < 0)
        return rc;
    if ((rc = write_manifests(dir, p, err)) < 0)
        return rc;
    if ((rc = write_job_json(dir, job_id ? job_id : "", spec, p, err)) < 0)
        return rc;
    switch (plan_kind(p)) {
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:
        return write_labels(dir, p, err);
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        if (spec->sheet)
            return write_sheet(dir, p, "sheet.png", 0, plan_total(p), err);
        return 0;
    case GANQ__V1__JOB_KIND__KIND_SWEEP:
        return finalize_sweep(dir, job_id ? job_id : "", p, err);
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE:
        return write_strip(dir, p, err);
    default:
        return gq_fail(err, GQ_EINVAL, "kind: cannot finalize kind %d", (int)plan_kind(p));
    }
}
