/* test_out_finalize.c: out_finalize_job products for every kind: manifests (parsed back),
 * labels.txt, the generate sheet, the sweep sheets / summary statistics (checked against
 * values computed by hand from controlled images) / chart, the interpolation strip, and
 * idempotence (a second run writes identical bytes). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/plan/plan.h"
#include "storage/out/out.h"

static char scratch[512];

static int setup(void **st)
{
    const char *base = getenv("GANQ_TMP");
    (void)st;
    snprintf(scratch, sizeof scratch, "%s/test_outf.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **st)
{
    char cmd[600];
    (void)st;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

enum { W = 8, H = 8 };
static const char *names[] = {"zero", "one, with comma", "two \"quoted\"", "three"};
static int32_t ids[2] = {2, 1};
static double tr[3] = {0.25, 0.5, 1.0};

typedef void (*pix_fn)(const plan *p, uint64_t i, uint8_t *px);

static Ganq__V1__JobSpec spec_of(const char *dir, int kind)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    s.kind = kind;
    s.model = "testcard";
    s.seed = 5;
    s.class_ids = ids;
    s.n_class_ids = 2;
    s.count = 7;
    s.per_class = 3;
    s.per_value = 4;
    s.truncations = tr;
    s.n_truncations = 1;
    s.out_dir = (char *)dir;
    return s;
}

static plan *mkplan(const Ganq__V1__JobSpec *s)
{
    plan_model m = {4, names, 8, 1};
    plan *p = NULL;
    gq_error e;
    gq_error_clear(&e);
    if (plan_init(s, &m, &p, &e) != 0)
        fail_msg("plan_init: %s", e.msg);
    return p;
}

static void write_all(const Ganq__V1__JobSpec *s, const plan *p, pix_fn fn)
{
    uint64_t total = plan_total(p);
    for (uint64_t a = 0; a < total;) {
        uint64_t b = plan_task_end(p, a, 5);
        out_task_options o = {s, p, a, b, 1};
        out_task *t;
        gq_error e;
        Ganq__V1__OutputRecord **r;
        size_t n;
        gq_error_clear(&e);
        assert_int_equal(out_task_open(&o, &t, &e), 0);
        for (uint64_t i = a; i < b; i++) {
            uint8_t px[W * H * 3];
            fn(p, i, px);
            assert_int_equal(out_task_add(t, &i, 1, px, W, H, &e), 0);
        }
        if (out_task_commit(t, &r, &n, &e) != 0)
            fail_msg("commit: %s", e.msg);
        out_task_free(t);
        a = b;
    }
}

static void finalize(const char *job, const Ganq__V1__JobSpec *s, const plan *p)
{
    gq_error e;
    gq_error_clear(&e);
    if (out_finalize_job(job, s, p, &e) != 0)
        fail_msg("finalize: %s", e.msg);
}

static char *slurp(const char *dir, const char *rel, size_t *n)
{
    char path[900];
    FILE *fp;
    char *b;
    long len;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    fp = fopen(path, "rb");
    if (!fp)
        fail_msg("missing %s", path);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, fp), (size_t)len);
    b[len] = '\0';
    fclose(fp);
    *n = (size_t)len;
    return b;
}

static void dims(const char *dir, const char *rel, int *w, int *h)
{
    char path[900];
    uint8_t *rgb;
    gq_error e;
    gq_error_clear(&e);
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (out_decode_image(path, &rgb, w, h, &e) != 0)
        fail_msg("decode %s: %s", path, e.msg);
    free(rgb);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* idempotence: the named products are byte-identical after a second finalize, and were not
 * even rewritten (same inode) */
static void check_idempotent(const char *job, const Ganq__V1__JobSpec *s, const plan *p,
                             const char *const *files, int n)
{
    char *before[16], path[900];
    size_t nb[16];
    ino_t ino[16];
    for (int k = 0; k < n; k++) {
        struct stat sb;
        before[k] = slurp(s->out_dir, files[k], &nb[k]);
        snprintf(path, sizeof path, "%s/%s", s->out_dir, files[k]);
        assert_int_equal(stat(path, &sb), 0);
        ino[k] = sb.st_ino;
    }
    finalize(job, s, p);
    for (int k = 0; k < n; k++) {
        size_t na;
        struct stat sb;
        char *after = slurp(s->out_dir, files[k], &na);
        snprintf(path, sizeof path, "%s/%s", s->out_dir, files[k]);
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_ino, ino[k]);
        assert_int_equal(na, nb[k]);
        assert_memory_equal(after, before[k], na);
        free(after);
        free(before[k]);
    }
}

static void pix_by_index(const plan *p, uint64_t i, uint8_t *px)
{
    (void)p;
    memset(px, (int)(i * 20 + 10), W * H * 3);
}

static void test_generate_sheet(void **st)
{
    (void)st;
    char d[700];
    size_t n;
    int w, h;
    snprintf(d, sizeof d, "%s/gen", scratch);
    Ganq__V1__JobSpec s = spec_of(d, GANQ__V1__JOB_KIND__KIND_GENERATE);
    s.sheet = 1;
    plan *p = mkplan(&s);
    write_all(&s, p, pix_by_index);
    finalize("job-1", &s, p);
    char *js = slurp(d, "manifest.jsonl", &n);
    assert_int_equal(count_lines(js), 7);
    assert_non_null(strstr(js, "{\"index\":0,\"class\":2,\"class_name\":\"two \\\"quoted\\\"\","
                               "\"seed\":5,\"truncation\":0.25,\"split\":null,"
                               "\"file\":\"000000.png\"}\n"));
    free(js);
    char *csv = slurp(d, "manifest.csv", &n);
    assert_int_equal(count_lines(csv), 8);
    assert_non_null(strstr(csv, "1,1,\"one, with comma\",5,0.25,,000001.png,,\n"));
    assert_non_null(strstr(csv, "0,2,\"two \"\"quoted\"\"\",5,"));
    free(csv);
    char *job = slurp(d, "job.json", &n);
    assert_null(strstr(job, "job-1"));   /* trees of two runs are identical */
    assert_non_null(strstr(job, "\"total\":7"));
    free(job);
    /* 2 classes as rows; class 2 has 4 images, class 1 has 3: 4 columns of 8 px + 2 px gaps */
    dims(d, "sheet.png", &w, &h);
    assert_int_equal(w, 4 * 10 + 2);
    assert_int_equal(h, 2 * 10 + 2);
    {
        char path[900];
        uint8_t *rgb;
        gq_error e;
        snprintf(path, sizeof path, "%s/sheet.png", d);
        gq_error_clear(&e);
        assert_int_equal(out_decode_image(path, &rgb, &w, &h, &e), 0);
        /* row 1 (class 1), column 2 is image 5 (value 110); row 0 col 3 is image 6 (130) */
        assert_int_equal(rgb[((2 + 10 + 1) * w + (2 + 2 * 10 + 1)) * 3], 110);
        assert_int_equal(rgb[((2 + 1) * w + (2 + 3 * 10 + 1)) * 3], 130);
        /* row 1 has only 3 images: column 3 stays white */
        assert_int_equal(rgb[((2 + 10 + 1) * w + (2 + 3 * 10 + 1)) * 3], 255);
        free(rgb);
    }
    static const char *const files[] = {"manifest.jsonl", "manifest.csv", "job.json",
                                        "sheet.png"};
    check_idempotent("job-1", &s, p, files, 4);
    plan_free(p);
}

static void test_synthesize_labels_and_containers(void **st)
{
    (void)st;
    char d[700];
    size_t n;
    snprintf(d, sizeof d, "%s/syn", scratch);
    Ganq__V1__JobSpec s = spec_of(d, GANQ__V1__JOB_KIND__KIND_SYNTHESIZE);
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
    s.shard_size = 2;
    s.val_fraction = 0.34;   /* 1 of 3 per class */
    plan *p = mkplan(&s);
    write_all(&s, p, pix_by_index);
    finalize("job-2", &s, p);
    char *lab = slurp(d, "labels.txt", &n);
    assert_string_equal(lab, "1\tone, with comma\n2\ttwo \"quoted\"\n");
    free(lab);
    char *js = slurp(d, "manifest.jsonl", &n);
    assert_int_equal(count_lines(js), 6);
    assert_non_null(strstr(js, "\"index\":0,\"class\":2,"));
    assert_non_null(strstr(js, "\"split\":\"val\",\"shard\":\"val-000000.tar\",\"key\":\"000000\""));
    assert_non_null(strstr(js, "\"index\":5,\"class\":1,"));
    assert_non_null(strstr(js, "\"split\":\"train\",\"shard\":\"train-000001.tar\",\"key\":\"000005\""));
    free(js);
    static const char *const files[] = {"manifest.jsonl", "manifest.csv", "labels.txt"};
    check_idempotent("job-2", &s, p, files, 3);
    plan_free(p);
}

/* Sweep images: value 0 all black (saturated, no diversity); value 1 sample s is flat
 * grey 10 + 20*s (diversity = mean |delta| * 20 over same-class pairs); value 2 all 255. */
static void pix_sweep(const plan *p, uint64_t i, uint8_t *px)
{
    uint64_t v = i / plan_per_value(p), s = i % plan_per_value(p);
    memset(px, v == 0 ? 0 : v == 1 ? (int)(10 + 20 * s) : 255, W * H * 3);
}

static void test_sweep_summary(void **st)
{
    (void)st;
    char d[700];
    size_t n;
    int w, h;
    snprintf(d, sizeof d, "%s/sweep", scratch);
    Ganq__V1__JobSpec s = spec_of(d, GANQ__V1__JOB_KIND__KIND_SWEEP);
    s.n_truncations = 3;
    plan *p = mkplan(&s);
    write_all(&s, p, pix_sweep);
    finalize("job-3", &s, p);
    char *csv = slurp(d, "summary.csv", &n);
    /* class of sample s is ids[s % 2]: class 2 gets s = 0, 2 (delta 40), class 1 s = 1, 3 */
    assert_non_null(strstr(csv, "truncation,folder,images,diversity,mean_r,mean_g,mean_b,"
                                "std_r,std_g,std_b,saturation,fid,inception_score,precision,"
                                "recall\n"));
    assert_non_null(strstr(csv, "\n0.25,t0.25,4,0,0,0,0,0,0,0,1,,,,\n"));
    assert_non_null(strstr(csv, "\n0.5,t0.50,4,40,40,40,40,"));
    assert_non_null(strstr(csv, "\n1,t1.00,4,0,255,255,255,0,0,0,1,,,,\n"));
    free(csv);
    char *js = slurp(d, "summary.json", &n);
    assert_non_null(strstr(js, "\"fid\":null"));
    assert_non_null(strstr(js, "\"recall\":null"));
    assert_non_null(strstr(js, "\"folder\":\"t0.50\""));
    free(js);
    dims(d, "summary.png", &w, &h);
    assert_int_equal(w, 640);
    assert_int_equal(h, 400);
    dims(d, "sheet-t0.50.png", &w, &h);
    assert_int_equal(w, 2 * 10 + 2);   /* 2 samples per class */
    assert_int_equal(h, 2 * 10 + 2);
    {
        int f;
        char path[900];
        snprintf(path, sizeof path, "%s/t0.25/000003.png", d);
        f = access(path, F_OK);
        assert_int_equal(f, 0);
    }
    static const char *const files[] = {"summary.csv", "summary.json", "summary.png",
                                        "sheet-t0.25.png", "manifest.csv"};
    check_idempotent("job-3", &s, p, files, 5);
    plan_free(p);
}

static void test_interpolate_strip(void **st)
{
    (void)st;
    char d[700];
    size_t n;
    int w, h;
    snprintf(d, sizeof d, "%s/interp", scratch);
    Ganq__V1__JobSpec s = spec_of(d, GANQ__V1__JOB_KIND__KIND_INTERPOLATE);
    s.class_a = 0;
    s.class_b = 3;
    s.seed_a = 1;
    s.seed_b = 2;
    s.steps = 20;
    plan *p = mkplan(&s);
    write_all(&s, p, pix_by_index);
    finalize("job-4", &s, p);
    dims(d, "strip.png", &w, &h);
    assert_int_equal(w, 16 * 10 + 2);   /* at most 16 frames */
    assert_int_equal(h, 10 + 2);
    char *js = slurp(d, "manifest.jsonl", &n);
    assert_int_equal(count_lines(js), 20);
    assert_non_null(strstr(js, "\"index\":19,\"class\":0,"));
    assert_non_null(strstr(js, "\"class_b\":3,\"class_alpha\":1,\"z_alpha\":1,\"seed_b\":2}"));
    free(js);
    plan_free(p);
}

static void test_finalize_missing_images(void **st)
{
    (void)st;
    char d[700];
    gq_error e;
    snprintf(d, sizeof d, "%s/missing", scratch);
    Ganq__V1__JobSpec s = spec_of(d, GANQ__V1__JOB_KIND__KIND_GENERATE);
    s.sheet = 1;
    plan *p = mkplan(&s);
    gq_error_clear(&e);
    /* nothing written: the sheet cannot be drawn, and finalize says which file */
    assert_true(out_finalize_job("job-5", &s, p, &e) < 0);
    assert_non_null(strstr(e.msg, "000000.png"));
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_sheet),
        cmocka_unit_test(test_synthesize_labels_and_containers),
        cmocka_unit_test(test_sweep_summary),
        cmocka_unit_test(test_interpolate_strip),
        cmocka_unit_test(test_finalize_missing_images),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
