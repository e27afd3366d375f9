/* test_plan.c: proto/plan: every kind's indexing, the pure-function property, validation
 * errors naming the field, class folders, containers (NPZ/WDS) and task alignment. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/plan/plan.h"

static const char *names10[] = {"tench", "crane", "golden retriever", "crane", "a/b c",
                                "..", "", "x", "y", "z"};

static plan_model model10(int standing)
{
    plan_model m = {10, names10, 8, standing};
    return m;
}

static int32_t ids_buf[16];
static double tr_buf[8];

static Ganq__V1__JobSpec gen_spec(void)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    s.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    s.model = "testcard";
    s.seed = 42;
    ids_buf[0] = 3;
    ids_buf[1] = 7;
    ids_buf[2] = 1;
    s.class_ids = ids_buf;
    s.n_class_ids = 3;
    s.count = 10;
    tr_buf[0] = 0.5;
    s.truncations = tr_buf;
    s.n_truncations = 1;
    s.out_dir = "/tmp/x";
    return s;
}

static plan *must_init(const Ganq__V1__JobSpec *s, const plan_model *m)
{
    plan *p = NULL;
    gq_error e;
    gq_error_clear(&e);
    int rc = plan_init(s, m, &p, &e);
    if (rc != 0)
        fprintf(stderr, "plan_init: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(p);
    return p;
}

/* plan_init must fail with GQ_EINVAL and a message starting with field. */
static void must_fail(const Ganq__V1__JobSpec *s, const plan_model *m, const char *field)
{
    plan *p = (plan *)1;
    gq_error e;
    gq_error_clear(&e);
    int rc = plan_init(s, m, &p, &e);
    assert_int_equal(rc, GQ_EINVAL);
    assert_null(p);
    if (strncmp(e.msg, field, strlen(field)) != 0)
        fail_msg("message \"%s\" does not name %s", e.msg, field);
}

static void test_generate_indexing(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec();
    plan_model m = model10(1);
    plan *p = must_init(&s, &m);
    char path[256];
    assert_int_equal(plan_total(p), 10);
    for (uint64_t i = 0; i < 10; i++) {
        plan_image im;
        plan_image_at(p, i, &im);
        assert_int_equal(im.index, i);
        assert_int_equal(im.class_id, ids_buf[i % 3]);
        assert_int_equal(im.class_b, -1);
        assert_true(im.truncation == 0.5);
        assert_int_equal(im.z_seed, 42);
        assert_int_equal(im.z_index, i);
        assert_null(im.split);
    }
    assert_int_equal(plan_output_path(p, 7, path, sizeof path), 0);
    assert_string_equal(path, "000007.png");
    assert_int_equal(plan_output_path(p, 7, path, 5), GQ_EINVAL);
    assert_int_equal(plan_task_align(p), 1);
    assert_int_equal(plan_n_containers(p), 0);
    assert_int_equal(plan_uses_class_vectors(p), 0);
    assert_int_equal(plan_format(p), GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG);
    assert_int_equal(plan_layout(p), GANQ__V1__LAYOUT__LAYOUT_FLAT);
    assert_int_equal(plan_png_level(p), 6);
    assert_int_equal(plan_jpeg_quality(p), 95);
    plan_free(p);
}

static void test_truncation_list(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec();
    plan_model m = model10(1);
    int seen[3] = {0, 0, 0};
    tr_buf[0] = 0.25;
    tr_buf[1] = 0.5;
    tr_buf[2] = 1.0;
    s.n_truncations = 3;
    s.count = 3000;
    plan *p = must_init(&s, &m);
    plan *q = must_init(&s, &m);
    for (uint64_t i = 0; i < 3000; i++) {
        plan_image a, b;
        plan_image_at(p, i, &a);
        plan_image_at(q, i, &b);
        assert_memory_equal(&a, &b, sizeof a);
        seen[a.truncation == 0.25 ? 0 : a.truncation == 0.5 ? 1 : 2]++;
    }
    for (int k = 0; k < 3; k++)   /* a hash, not a cycle: each value about a third */
        assert_true(seen[k] > 800 && seen[k] < 1200);
    plan_free(p);
    plan_free(q);
    /* another seed picks differently */
    s.seed = 43;
    q = must_init(&s, &m);
    p = NULL;
    {
        Ganq__V1__JobSpec s2 = s;
        s2.seed = 42;
        p = must_init(&s2, &m);
    }
    int differ = 0;
    for (uint64_t i = 0; i < 100; i++) {
        plan_image a, b;
        plan_image_at(p, i, &a);
        plan_image_at(q, i, &b);
        differ += a.truncation != b.truncation;
    }
    assert_true(differ > 20);
    plan_free(p);
    plan_free(q);
}

/* The pure-function property: fields that do not decide outputs change nothing. */
static void test_pure_function(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec(), s2;
    plan_model m = model10(1);
    s.count = 500;
    s2 = s;
    s2.priority = 50;
    s2.task_size = 7;
    s2.owner = "other";
    s2.name = "label";
    s2.max_attempts = 9;
    plan *p = must_init(&s, &m), *q = must_init(&s2, &m);
    for (uint64_t i = 0; i < 500; i++) {
        plan_image a, b;
        char pa[128], pb[128];
        plan_image_at(p, i, &a);
        plan_image_at(q, i, &b);
        assert_memory_equal(&a, &b, sizeof a);
        plan_output_path(p, i, pa, sizeof pa);
        plan_output_path(q, i, pb, sizeof pb);
        assert_string_equal(pa, pb);
    }
    plan_free(p);
    plan_free(q);
}

static void test_synthesize_layout(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec();
    plan_model m = model10(1);
    char path[256];
    s.kind = GANQ__V1__JOB_KIND__KIND_SYNTHESIZE;
    s.per_class = 10;
    s.val_fraction = 0.2;
    s.count = 0;
    plan *p = must_init(&s, &m);
    int per[3][2] = {{0}};
    assert_int_equal(plan_total(p), 30);
    assert_int_equal(plan_layout(p), GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER);
    for (uint64_t i = 0; i < 30; i++) {
        plan_image im;
        int k;
        plan_image_at(p, i, &im);
        assert_non_null(im.split);
        /* val first: indices [0, 6) are val */
        assert_string_equal(im.split, i < 6 ? "val" : "train");
        for (k = 0; k < 3 && ids_buf[k] != im.class_id; k++)
            ;
        assert_true(k < 3);
        per[k][i < 6 ? 0 : 1]++;
    }
    for (int k = 0; k < 3; k++) {
        assert_int_equal(per[k][0], 2);
        assert_int_equal(per[k][1], 8);
    }
    plan_output_path(p, 0, path, sizeof path);
    assert_string_equal(path, "val/crane_3/000000.png");   /* class 3 is the 2nd "crane" */
    plan_output_path(p, 29, path, sizeof path);
    assert_string_equal(path, "train/crane_1/000029.png");
    assert_string_equal(plan_class_name(p, 2), "golden retriever");
    assert_string_equal(plan_class_folder(p, 2), "golden_retriever");
    assert_string_equal(plan_class_folder(p, 4), "a_b_c");
    assert_string_equal(plan_class_folder(p, 5), "class");
    assert_string_equal(plan_class_name(p, 6), "6");   /* empty name: the id */
    plan_free(p);

    /* flat layout allowed; val_fraction 0 gives no val split */
    s.layout = GANQ__V1__LAYOUT__LAYOUT_FLAT;
    s.val_fraction = 0;
    p = must_init(&s, &m);
    for (uint64_t i = 0; i < 30; i++) {
        plan_image im;
        plan_image_at(p, i, &im);
        assert_string_equal(im.split, "train");
        assert_int_equal(im.class_id, ids_buf[i / 10]);
    }
    plan_output_path(p, 12, path, sizeof path);
    assert_string_equal(path, "000012.png");
    plan_free(p);
}

/* Containers: each within one split and one shard_size block, contiguous, and tasks from
 * plan_task_end never straddle one. */
static void check_containers(plan *p, uint64_t shard)
{
    uint64_t n = plan_n_containers(p), prev_end = 0;
    assert_true(n > 0);
    for (uint64_t c = 0; c < n; c++) {
        uint64_t f, e;
        plan_container_range(p, c, &f, &e);
        assert_int_equal(f, prev_end);
        assert_true(e > f && e - f <= shard);
        assert_int_equal(f / shard, (e - 1) / shard);   /* inside one block */
        for (uint64_t i = f; i < e; i++) {
            plan_image a, b;
            assert_int_equal(plan_container_of(p, i), c);
            plan_image_at(p, i, &a);
            plan_image_at(p, f, &b);
            if (a.split || b.split)
                assert_string_equal(a.split, b.split);
        }
        prev_end = e;
    }
    assert_int_equal(prev_end, plan_total(p));
    for (uint64_t want = 0; want < 3 * shard; want++) {
        uint64_t s = 0;
        while (s < plan_total(p)) {
            uint64_t e = plan_task_end(p, s, want), cf, ce;
            assert_true(e > s && e <= plan_total(p));
            plan_container_range(p, plan_container_of(p, s), &cf, &ce);
            assert_int_equal(cf, s);                 /* starts on a container */
            plan_container_range(p, plan_container_of(p, e - 1), &cf, &ce);
            assert_int_equal(ce, e);                 /* ends on one */
            s = e;
        }
    }
}

static void test_containers(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec();
    plan_model m = model10(1);
    char path[256];
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
    s.shard_size = 4;
    plan *p = must_init(&s, &m);
    assert_int_equal(plan_layout(p), GANQ__V1__LAYOUT__LAYOUT_WDS);
    assert_int_equal(plan_n_containers(p), 3);
    assert_int_equal(plan_task_align(p), 4);
    assert_int_equal(plan_container_path(p, 2, path, sizeof path), 0);
    assert_string_equal(path, "samples-000002.tar");
    assert_int_equal(plan_output_path(p, 0, path, sizeof path), GQ_EINVAL);
    assert_int_equal(plan_image_key(p, 9, path, sizeof path), 0);
    assert_string_equal(path, "000009");
    check_containers(p, 4);
    plan_free(p);

    /* synthesize: val containers then train, boundary 6 not a multiple of 4: the block
     * [4, 8) is cut into val [4, 6) and train [6, 8) */
    s.kind = GANQ__V1__JOB_KIND__KIND_SYNTHESIZE;
    s.per_class = 10;
    s.val_fraction = 0.2;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ;
    p = must_init(&s, &m);
    assert_int_equal(plan_n_containers(p), 2 + 7);
    plan_container_path(p, 0, path, sizeof path);
    assert_string_equal(path, "val-000000.npz");
    plan_container_path(p, 1, path, sizeof path);
    assert_string_equal(path, "val-000001.npz");
    plan_container_path(p, 2, path, sizeof path);
    assert_string_equal(path, "train-000000.npz");
    plan_container_path(p, 8, path, sizeof path);
    assert_string_equal(path, "train-000006.npz");
    {
        uint64_t f, e;
        plan_container_range(p, 1, &f, &e);
        assert_int_equal(f, 4);
        assert_int_equal(e, 6);
        plan_container_range(p, 2, &f, &e);
        assert_int_equal(f, 6);
        assert_int_equal(e, 8);
        plan_container_range(p, 3, &f, &e);
        assert_int_equal(f, 8);
        assert_int_equal(e, 12);
        plan_container_range(p, 8, &f, &e);
        assert_int_equal(f, 28);
        assert_int_equal(e, 30);
        assert_int_equal(plan_container_of(p, 5), 1);
        assert_int_equal(plan_container_of(p, 6), 2);
        assert_int_equal(plan_container_of(p, 29), 8);
    }
    assert_int_equal(plan_task_end(p, 0, 100), 30);
    assert_int_equal(plan_task_end(p, 0, 5), 8);
    /* the broker's uniform split: every task of a multiple of 4 holds whole containers */
    for (uint64_t ts = 4; ts <= 12; ts += 4)
        for (uint64_t a = 0; a < 30; a += ts) {
            uint64_t b = a + ts < 30 ? a + ts : 30, f, e;
            plan_container_range(p, plan_container_of(p, a), &f, &e);
            assert_int_equal(f, a);
            plan_container_range(p, plan_container_of(p, b - 1), &f, &e);
            assert_int_equal(e, b);
        }
    check_containers(p, 4);
    plan_free(p);
}

static void test_sweep(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec();
    plan_model m = model10(1);
    char path[256];
    s.kind = GANQ__V1__JOB_KIND__KIND_SWEEP;
    tr_buf[0] = 0.25;
    tr_buf[1] = 0.5;
    tr_buf[2] = 1.0;
    s.n_truncations = 3;
    s.per_value = 4;
    plan *p = must_init(&s, &m);
    assert_int_equal(plan_total(p), 12);
    for (uint64_t i = 0; i < 12; i++) {
        plan_image im;
        plan_image_at(p, i, &im);
        assert_true(im.truncation == tr_buf[i / 4]);
        assert_int_equal(im.z_index, i % 4);    /* same samples at every value */
        assert_int_equal(im.z_seed, 42);
        assert_int_equal(im.class_id, ids_buf[(i % 4) % 3]);
    }
    plan_output_path(p, 5, path, sizeof path);
    assert_string_equal(path, "t0.50/000001.png");
    assert_string_equal(plan_value_folder(p, 0), "t0.25");
    plan_free(p);
    /* close values need more decimals */
    tr_buf[0] = 0.5;
    tr_buf[1] = 0.501;
    s.n_truncations = 2;
    p = must_init(&s, &m);
    assert_string_equal(plan_value_folder(p, 0), "t0.500");
    assert_string_equal(plan_value_folder(p, 1), "t0.501");
    plan_free(p);
    tr_buf[1] = 0.5;
    must_fail(&s, &m, "truncations");
    s.n_truncations = 0;
    must_fail(&s, &m, "truncations");
}

static void test_interpolate(void **st)
{
    (void)st;
    Ganq__V1__JobSpec s = gen_spec();
    plan_model m = model10(1);
    s.kind = GANQ__V1__JOB_KIND__KIND_INTERPOLATE;
    s.n_class_ids = 0;
    s.class_a = 1;
    s.class_b = 2;
    s.seed_a = 100;
    s.seed_b = 200;
    s.steps = 5;
    plan *p = must_init(&s, &m);   /* default BOTH */
    assert_int_equal(plan_total(p), 5);
    assert_int_equal(plan_uses_class_vectors(p), 1);
    for (uint64_t i = 0; i < 5; i++) {
        plan_image im;
        plan_image_at(p, i, &im);
        assert_int_equal(im.class_id, 1);
        assert_int_equal(im.class_b, 2);
        assert_true(fabsf(im.class_alpha - (float)i / 4.0f) < 1e-7f);
        assert_true(im.z_alpha == im.class_alpha);
        assert_int_equal(im.z_seed, 100);
        assert_int_equal(im.z_seed_b, 200);
        assert_int_equal(im.z_index, 0);
    }
    plan_free(p);
    s.interp = GANQ__V1__INTERP_MODE__INTERP_Z;
    p = must_init(&s, &m);
    assert_int_equal(plan_uses_class_vectors(p), 0);
    {
        plan_image im;
        plan_image_at(p, 4, &im);
        assert_int_equal(im.class_b, -1);
        assert_true(im.class_alpha == 0.0f);
        assert_true(im.z_alpha == 1.0f);
    }
    plan_free(p);
    s.interp = GANQ__V1__INTERP_MODE__INTERP_CLASS;
    p = must_init(&s, &m);
    {
        plan_image im;
        plan_image_at(p, 4, &im);
        assert_true(im.z_alpha == 0.0f);
        assert_int_equal(im.z_seed_b, 100);
        assert_true(im.class_alpha == 1.0f);
    }
    plan_free(p);
    s.steps = 1;
    must_fail(&s, &m, "steps");
    s.steps = PLAN_MAX_STEPS + 1;
    must_fail(&s, &m, "steps");
    s.steps = 5;
    s.class_b = 10;
    must_fail(&s, &m, "class_b");
    s.class_b = 2;
    s.class_a = -1;
    must_fail(&s, &m, "class_a");
    s.class_a = 1;
    s.n_truncations = 2;
    must_fail(&s, &m, "truncations");
    s.n_truncations = 1;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
    s.shard_size = 2;
    must_fail(&s, &m, "format");
}

static void test_validation(void **st)
{
    (void)st;
    plan_model m = model10(1), free_m = model10(0);
    Ganq__V1__JobSpec s = gen_spec();
    plan *p;

    ids_buf[1] = 10;
    must_fail(&s, &m, "class_ids");
    ids_buf[1] = -1;
    must_fail(&s, &m, "class_ids");
    ids_buf[1] = 7;
    s.n_class_ids = 0;
    must_fail(&s, &m, "class_ids");
    s.n_class_ids = 3;

    tr_buf[0] = 1.5;
    must_fail(&s, &m, "truncations");          /* standing stats: (0, 1] */
    p = must_init(&s, &free_m);                /* else (0, 2] */
    plan_free(p);
    tr_buf[0] = 2.5;
    must_fail(&s, &free_m, "truncations");
    tr_buf[0] = 0.0;
    must_fail(&s, &m, "truncations");
    tr_buf[0] = NAN;
    must_fail(&s, &m, "truncations");
    tr_buf[0] = INFINITY;
    must_fail(&s, &free_m, "truncations");
    tr_buf[0] = 1.0;
    p = must_init(&s, &m);
    plan_free(p);
    s.n_truncations = PLAN_MAX_TRUNCATIONS + 1;
    must_fail(&s, &m, "truncations");
    s.n_truncations = 0;     /* default 1.0 */
    p = must_init(&s, &m);
    assert_true(plan_truncation_at(p, 0) == 1.0);
    plan_free(p);
    s.n_truncations = 1;

    s.count = 0;
    must_fail(&s, &m, "count");
    s.count = PLAN_MAX_IMAGES + 1;
    must_fail(&s, &m, "count");
    s.count = 10;

    s.kind = GANQ__V1__JOB_KIND__KIND_SYNTHESIZE;
    s.per_class = 0;
    must_fail(&s, &m, "per_class");
    s.per_class = PLAN_MAX_IMAGES;     /* x 3 classes: over the limit */
    must_fail(&s, &m, "per_class");
    s.per_class = UINT64_MAX / 2;      /* overflow-safe */
    must_fail(&s, &m, "per_class");
    s.per_class = 10;
    s.val_fraction = 1.0;
    must_fail(&s, &m, "val_fraction");
    s.val_fraction = -0.1;
    must_fail(&s, &m, "val_fraction");
    s.val_fraction = NAN;
    must_fail(&s, &m, "val_fraction");
    s.val_fraction = 0.1;

    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
    s.shard_size = 0;
    must_fail(&s, &m, "shard_size");
    s.shard_size = PLAN_MAX_SHARD + 1;
    must_fail(&s, &m, "shard_size");
    s.shard_size = 5;
    s.layout = GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER;
    must_fail(&s, &m, "layout");
    s.layout = 0;
    s.wds_image = GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ;
    must_fail(&s, &m, "wds_image");
    s.wds_image = 0;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    s.layout = GANQ__V1__LAYOUT__LAYOUT_WDS;
    must_fail(&s, &m, "layout");
    s.layout = 0;
    s.format = 77;
    must_fail(&s, &m, "format");
    s.format = 0;
    s.png_level = 10;
    must_fail(&s, &m, "png_level");
    s.png_level = -1;
    p = must_init(&s, &m);
    assert_int_equal(plan_png_level(p), 0);
    plan_free(p);
    s.png_level = 0;
    s.jpeg_quality = 101;
    must_fail(&s, &m, "jpeg_quality");
    s.jpeg_quality = 0;

    s.kind = GANQ__V1__JOB_KIND__KIND_SWEEP;
    s.per_value = 2;
    s.layout = GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER;
    must_fail(&s, &m, "layout");
    s.layout = 0;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ;
    s.shard_size = 2;
    must_fail(&s, &m, "format");
    s.format = 0;
    s.per_value = 0;
    must_fail(&s, &m, "per_value");

    s = gen_spec();
    s.sheet = 1;
    s.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ;
    s.shard_size = 4;
    must_fail(&s, &m, "sheet");
    s.kind = 9;
    must_fail(&s, &m, "kind");
}

static void test_model_from_info(void **st)
{
    (void)st;
    Ganq__V1__ModelInfo info = GANQ__V1__MODEL_INFO__INIT;
    char *nm[] = {"a", "b"};
    plan_model m;
    info.num_classes = 2;
    info.class_names = nm;
    info.n_class_names = 2;
    info.standing_stats = 1;
    plan_model_from_info(&info, &m);
    assert_int_equal(m.num_classes, 2);
    assert_non_null(m.class_names);
    assert_string_equal(m.class_names[1], "b");
    assert_int_equal(m.standing_stats, 1);
    info.n_class_names = 1;
    plan_model_from_info(&info, &m);
    assert_null(m.class_names);
}

static void test_class_suggest(void **st)
{
    (void)st;
    static const char *nm[] = {"tench", "goldfish", "great white shark", "tiger shark",
                               "class3", "class_30", "golden retriever"};
    char buf[128];
    assert_int_equal(plan_class_suggest("goldfsh", 7, nm, 7, buf, sizeof buf), 1);
    assert_string_equal(buf, "\"goldfish\"");
    /* containment, several answers, best first */
    assert_int_equal(plan_class_suggest("shark", 5, nm, 7, buf, sizeof buf), 2);
    assert_string_equal(buf, "\"great white shark\", \"tiger shark\"");
    assert_int_equal(plan_class_suggest("clas3", 5, nm, 7, buf, sizeof buf), 1);
    assert_string_equal(buf, "\"class3\"");   /* class_30 is farther */
    assert_int_equal(plan_class_suggest("Tiger_Shark", 11, nm, 7, buf, sizeof buf), 1);
    assert_int_equal(plan_class_suggest("zebra", 5, nm, 7, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(plan_class_suggest("x", 1, NULL, 0, buf, sizeof buf), 0);
    /* a tiny buffer truncates cleanly */
    assert_true(plan_class_suggest("shark", 5, nm, 7, buf, 12) <= 1);
    assert_true(strlen(buf) < 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_indexing),
        cmocka_unit_test(test_truncation_list),
        cmocka_unit_test(test_pure_function),
        cmocka_unit_test(test_synthesize_layout),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_interpolate),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_model_from_info),
        cmocka_unit_test(test_class_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
