/* test_out.c: storage/out encoders, atomic writes, the output directory rules, and the task
 * writer for file formats (png/jpeg).
 * Encoders: round trip through libpng/libjpeg decoders, deterministic bytes, bad options.
 * Atomic writes: content, no temporary left, bad relative paths, symlinks below out_dir,
 * and a real ENOSPC on a 64 KiB tmpfs (mounted in a private mount namespace of a child when
 * the test runs as root; skipped with a message otherwise). */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/plan/plan.h"
#include "storage/out/out.h"

static char scratch[512];

static int setup(void **st)
{
    const char *base = getenv("GANQ_TMP");
    (void)st;
    snprintf(scratch, sizeof scratch, "%s/test_out.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(scratch))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    char cmd[600];
    (void)st;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *pattern(int w, int h, unsigned seed)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    uint32_t x = seed * 2654435761u + 1;
    for (int k = 0; k < w * h * 3; k++) {
        int y = k / (w * 3), xx = (k / 3) % w, c = k % 3;
        x = x * 1664525u + 1013904223u;
        /* smooth gradient plus a little noise: realistic for JPEG */
        p[k] = (uint8_t)((xx * 255 / w + y * 128 / h + c * 60 + (int)(x >> 29)) & 255);
    }
    return p;
}

static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (strstr(de->d_name, needle))
            n++;
    closedir(d);
    return n;
}

static void test_png_round_trip(void **st)
{
    (void)st;
    const int w = 37, h = 23;
    uint8_t *img = pattern(w, h, 1), *back;
    char path[600];
    for (int level = 0; level <= 9; level += 3) {
        gq_buf a, b;
        gq_error e;
        int bw, bh;
        gq_buf_init(&a);
        gq_buf_init(&b);
        gq_error_clear(&e);
        assert_int_equal(out_encode_png(img, w, h, level, &a, &e), 0);
        assert_int_equal(out_encode_png(img, w, h, level, &b, &e), 0);
        assert_int_equal(a.len, b.len);                 /* deterministic */
        assert_memory_equal(a.data, b.data, a.len);
        assert_memory_equal(a.data, "\x89PNG", 4);
        snprintf(path, sizeof path, "%s/l%d.png", scratch, level);
        assert_int_equal(out_write_atomic(scratch, path + strlen(scratch) + 1, a.data, a.len, &e),
                         0);
        assert_int_equal(out_decode_image(path, &back, &bw, &bh, &e), 0);
        assert_int_equal(bw, w);
        assert_int_equal(bh, h);
        assert_memory_equal(back, img, (size_t)w * h * 3);   /* lossless */
        free(back);
        gq_buf_release(&a);
        gq_buf_release(&b);
    }
    {
        gq_buf a;
        gq_error e;
        gq_buf_init(&a);
        gq_error_clear(&e);
        assert_int_equal(out_encode_png(img, w, h, 10, &a, &e), GQ_EINVAL);
        assert_non_null(strstr(e.msg, "png_level"));
        gq_error_clear(&e);
        assert_int_equal(out_encode_png(img, 0, h, 6, &a, &e), GQ_EINVAL);
        gq_buf_release(&a);
    }
    free(img);
}

static void test_jpeg_round_trip(void **st)
{
    (void)st;
    const int w = 64, h = 48;
    uint8_t *img = pattern(w, h, 2), *back;
    gq_buf a, b;
    gq_error e;
    int bw, bh;
    double err_sum = 0;
    char path[600];
    gq_buf_init(&a);
    gq_buf_init(&b);
    gq_error_clear(&e);
    assert_int_equal(out_encode_jpeg(img, w, h, 95, &a, &e), 0);
    assert_int_equal(out_encode_jpeg(img, w, h, 95, &b, &e), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    snprintf(path, sizeof path, "%s/a.jpg", scratch);
    assert_int_equal(out_write_atomic(scratch, "a.jpg", a.data, a.len, &e), 0);
    assert_int_equal(out_decode_image(path, &back, &bw, &bh, &e), 0);
    assert_int_equal(bw, w);
    assert_int_equal(bh, h);
    for (int k = 0; k < w * h * 3; k++)
        err_sum += abs((int)back[k] - (int)img[k]);
    /* quality 95, 4:4:4: mean absolute error of a few levels at most */
    assert_true(err_sum / (w * h * 3) < 4.0);
    free(back);
    gq_buf_release(&b);
    gq_buf_init(&b);
    assert_int_equal(out_encode_jpeg(img, w, h, 20, &b, &e), 0);
    assert_true(b.len < a.len);    /* quality matters */
    gq_buf_release(&a);
    gq_buf_release(&b);
    gq_buf_init(&a);
    assert_int_equal(out_encode_jpeg(img, w, h, 0, &a, &e), GQ_EINVAL);
    assert_non_null(strstr(e.msg, "jpeg_quality"));
    gq_error_clear(&e);
    assert_int_equal(out_encode_jpeg(img, w, h, 101, &a, &e), GQ_EINVAL);
    gq_buf_release(&a);
    /* garbage does not decode, and does not crash */
    assert_int_equal(out_write_atomic(scratch, "bad.jpg", "\xff\xd8\xff\xe0garbage", 11, &e), 0);
    snprintf(path, sizeof path, "%s/bad.jpg", scratch);
    gq_error_clear(&e);
    assert_int_equal(out_decode_image(path, &back, &bw, &bh, &e), GQ_EFORMAT);
    assert_null(back);
    free(img);
}

static void test_atomic_write(void **st)
{
    (void)st;
    gq_error e;
    char path[700], link[700];
    FILE *fp;
    char buf[32] = {0};
    gq_error_clear(&e);
    assert_int_equal(out_write_atomic(scratch, "d1/d2/f.txt", "hello", 5, &e), 0);
    snprintf(path, sizeof path, "%s/d1/d2/f.txt", scratch);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(buf, 1, sizeof buf, fp), 5);
    fclose(fp);
    assert_string_equal(buf, "hello");
    /* overwrite: still one complete file, no temporary left */
    assert_int_equal(out_write_atomic(scratch, "d1/d2/f.txt", "bye", 3, &e), 0);
    snprintf(path, sizeof path, "%s/d1/d2", scratch);
    assert_int_equal(count_entries(path, ".tmp."), 0);
    assert_int_equal(count_entries(path, "f.txt"), 1);

    static const char *bad[] = {"../x", "/abs", "a/../b", "a//b", "./a", "", "a/."};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        gq_error_clear(&e);
        assert_int_equal(out_write_atomic(scratch, bad[k], "x", 1, &e), GQ_EINVAL);
        assert_non_null(strstr(e.msg, "path"));
    }
    /* a symlink below the dir is not followed */
    snprintf(link, sizeof link, "%s/escape", scratch);
    assert_int_equal(symlink("/tmp", link), 0);
    gq_error_clear(&e);
    assert_int_equal(out_write_atomic(scratch, "escape/x.txt", "x", 1, &e), GQ_EINVAL);
    assert_non_null(strstr(e.msg, "symlink"));
    /* the final name being a symlink: the rename replaces the link, never writes through */
    snprintf(link, sizeof link, "%s/l.txt", scratch);
    assert_int_equal(symlink("/nonexistent/target", link), 0);
    gq_error_clear(&e);
    assert_int_equal(out_write_atomic(scratch, "l.txt", "x", 1, &e), 0);
    {
        struct stat sb;
        assert_int_equal(lstat(link, &sb), 0);
        assert_true(S_ISREG(sb.st_mode));
    }
}

static Ganq__V1__JobSpec job(const char *dir, uint64_t count);
static const char *names4[4];

/* ENOSPC on a real tiny tmpfs, in a child with its own mount namespace: a plain atomic write
 * and a task writer filling the disk. */
static void test_enospc(void **st)
{
    (void)st;
    char mnt[600];
    pid_t pid;
    int status;
    if (geteuid() != 0) {
        print_message("skipped ENOSPC case: needs root to mount a 64 KiB tmpfs\n");
        skip();
    }
    snprintf(mnt, sizeof mnt, "%s/full", scratch);
    assert_int_equal(mkdir(mnt, 0755), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gq_error e;
        uint8_t *big;
        int rc;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0)
            _exit(77);
        gq_error_clear(&e);
        if (out_write_atomic(mnt, "small.bin", "ok", 2, &e) != 0)
            _exit(10);
        big = calloc(1, 1 << 20);
        gq_error_clear(&e);
        rc = out_write_atomic(mnt, "big.bin", big, 1 << 20, &e);
        free(big);
        if (rc != GQ_ENOSPC)
            _exit(11);
        if (!strstr(e.msg, "big.bin"))
            _exit(12);
        if (count_entries(mnt, "big.bin") != 0)   /* neither final nor temp */
            _exit(13);
        if (count_entries(mnt, "small.bin") != 1)
            _exit(14);
        /* a task writer filling the disk: GQ_ENOSPC, complete files only, no temporaries */
        {
            char jd[700];
            Ganq__V1__JobSpec s = job(jd, 40);
            plan *p = NULL;
            plan_model m = {4, names4, 8, 1};
            out_task_options o = {&s, NULL, 0, 40, 2};
            out_task *t;
            Ganq__V1__OutputRecord **r;
            size_t n;
            int rc2 = 0;
            snprintf(jd, sizeof jd, "%s/job", mnt);
            gq_error_clear(&e);
            if (plan_init(&s, &m, &p, &e) != 0)
                _exit(20);
            o.plan = p;
            if (out_task_open(&o, &t, &e) != 0)
                _exit(21);
            for (uint64_t i = 0; i < 40 && rc2 == 0; i++) {
                uint8_t *px = malloc(64 * 64 * 3);
                uint32_t x = (uint32_t)i * 2654435761u + 7;
                for (int k = 0; k < 64 * 64 * 3; k++) {   /* incompressible: ~12 KiB a png */
                    x = x * 1664525u + 1013904223u;
                    px[k] = (uint8_t)(x >> 24);
                }
                rc2 = out_task_add(t, &i, 1, px, 64, 64, &e);
                free(px);
            }
            if (rc2 == 0)
                rc2 = out_task_commit(t, &r, &n, &e);
            out_task_free(t);
            if (rc2 != GQ_ENOSPC)
                _exit(22);
            if (count_entries(jd, ".tmp.") != 0)
                _exit(23);
            plan_free(p);
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
        print_message("skipped ENOSPC case: cannot mount a tmpfs here\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- output dir rules ---- */
static const char *names4[4] = {"a", "b", "c", "d"};
static int32_t ids[2] = {0, 2};
static double tr[1] = {0.5};

static Ganq__V1__JobSpec job(const char *dir, uint64_t count)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    s.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    s.model = "testcard";
    s.seed = 7;
    s.class_ids = ids;
    s.n_class_ids = 2;
    s.count = count;
    s.truncations = tr;
    s.n_truncations = 1;
    s.out_dir = (char *)dir;
    return s;
}

static plan *mkplan(const Ganq__V1__JobSpec *s)
{
    plan_model m = {4, names4, 8, 1};
    plan *p = NULL;
    gq_error e;
    gq_error_clear(&e);
    if (plan_init(s, &m, &p, &e) != 0)
        fail_msg("plan_init: %s", e.msg);
    return p;
}

static void expect_dir(const char *dir, uint64_t count, int create, int code, const char *word)
{
    Ganq__V1__JobSpec s = job(dir, count);
    plan *p = mkplan(&s);
    gq_error e;
    gq_error_clear(&e);
    int rc = out_dir_check(&s, p, create, &e);
    if (rc != code)
        fail_msg("out_dir_check(%s) = %d (%s), want %d", dir, rc, e.msg, code);
    if (word && !strstr(e.msg, word))
        fail_msg("message \"%s\" lacks \"%s\"", e.msg, word);
    plan_free(p);
}

static void test_out_dir_rules(void **st)
{
    (void)st;
    char d[700], f[800], l[800];
    expect_dir("relative/dir", 4, 0, GQ_EINVAL, "absolute");
    snprintf(d, sizeof d, "%s/a/../b", scratch);
    expect_dir(d, 4, 0, GQ_EINVAL, "..");
    expect_dir("/", 4, 0, GQ_EINVAL, "out_dir");
    /* new dir: fine at submit, created and marked by a worker */
    snprintf(d, sizeof d, "%s/new/deep", scratch);
    expect_dir(d, 4, 0, 0, NULL);
    expect_dir(d, 4, 1, 0, NULL);
    snprintf(f, sizeof f, "%s/%s", d, OUT_MARKER);
    assert_int_equal(access(f, F_OK), 0);
    /* same job resumes; another job is refused */
    expect_dir(d, 4, 1, 0, NULL);
    expect_dir(d, 4, 0, 0, NULL);
    expect_dir(d, 5, 0, GQ_EEXIST, "another job");
    /* foreign: files ganq did not write */
    snprintf(d, sizeof d, "%s/foreign", scratch);
    mkdir(d, 0755);
    snprintf(f, sizeof f, "%s/photo.jpg", d);
    fclose(fopen(f, "w"));
    expect_dir(d, 4, 0, GQ_EEXIST, "did not write");
    expect_dir(d, 4, 1, GQ_EEXIST, "did not write");
    /* a concurrent writer's temporary marker is ganq's, not foreign */
    snprintf(d, sizeof d, "%s/racing", scratch);
    mkdir(d, 0755);
    snprintf(f, sizeof f, "%s/.%s.tmp.123.0", d, OUT_MARKER);
    fclose(fopen(f, "w"));
    expect_dir(d, 4, 1, 0, NULL);
    /* an empty existing dir is fine */
    snprintf(d, sizeof d, "%s/empty", scratch);
    mkdir(d, 0755);
    expect_dir(d, 4, 0, 0, NULL);
    /* symlinks: the dir itself, or a parent */
    snprintf(l, sizeof l, "%s/link", scratch);
    assert_int_equal(symlink(d, l), 0);
    expect_dir(l, 4, 0, GQ_EINVAL, "symlink");
    snprintf(f, sizeof f, "%s/link/sub", scratch);
    expect_dir(f, 4, 0, GQ_EINVAL, "symlink");
    /* a file where the dir should be */
    snprintf(f, sizeof f, "%s/foreign/photo.jpg", scratch);
    expect_dir(f, 4, 0, GQ_EINVAL, "not a directory");
    /* unwritable (root ignores permissions: then only the read-only /proc case) */
    expect_dir("/proc/ganq-out-test", 4, 1, GQ_EIO, NULL);
}

/* ---- the task writer, file formats ---- */
static void run_task(const Ganq__V1__JobSpec *s, const plan *p, uint64_t start, uint64_t end,
                     int add, Ganq__V1__OutputRecord ***recs, size_t *n, out_task **tp, int *rc)
{
    out_task_options o = {s, p, start, end, 2};
    gq_error e;
    out_task *t;
    gq_error_clear(&e);
    assert_int_equal(out_task_open(&o, &t, &e), 0);
    if (add) {
        for (uint64_t i = start; i < end; i += 3) {   /* batches of up to 3 */
            uint64_t idx[3];
            int k = 0;
            uint8_t *imgs = malloc(3 * 16 * 12 * 3);
            for (; k < 3 && i + (uint64_t)k < end; k++) {
                uint8_t *one = pattern(16, 12, (unsigned)(i + (uint64_t)k));
                idx[k] = i + (uint64_t)k;
                memcpy(imgs + (size_t)k * 16 * 12 * 3, one, 16 * 12 * 3);
                free(one);
            }
            assert_int_equal(out_task_add(t, idx, k, imgs, 16, 12, &e), 0);
            free(imgs);
        }
    }
    *rc = out_task_commit(t, recs, n, &e);
    *tp = t;
}

static void test_task_png(void **st)
{
    (void)st;
    char d[700], f[800];
    Ganq__V1__OutputRecord **recs;
    size_t n;
    out_task *t;
    int rc;
    struct stat before, after;
    snprintf(d, sizeof d, "%s/job", scratch);
    Ganq__V1__JobSpec s = job(d, 10);
    plan *p = mkplan(&s);
    out_task_options o = {&s, p, 0, 5, 2};

    assert_false(out_task_complete(&o));
    run_task(&s, p, 0, 5, 1, &recs, &n, &t, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 5);
    for (size_t k = 0; k < n; k++) {
        uint8_t *back, *want = pattern(16, 12, (unsigned)k);
        int w, h;
        gq_error e;
        char sha[65];
        uint8_t *bytes;
        FILE *fp;
        char name[32];
        snprintf(name, sizeof name, "%06zu.png", k);
        assert_string_equal(recs[k]->path, name);
        assert_int_equal(recs[k]->images, 1);
        assert_int_equal(recs[k]->first_index, k);
        snprintf(f, sizeof f, "%s/%s", d, recs[k]->path);
        gq_error_clear(&e);
        assert_int_equal(out_decode_image(f, &back, &w, &h, &e), 0);
        assert_int_equal(w, 16);
        assert_int_equal(h, 12);
        assert_memory_equal(back, want, 16 * 12 * 3);
        fp = fopen(f, "rb");
        bytes = malloc(recs[k]->bytes);
        assert_int_equal(fread(bytes, 1, recs[k]->bytes, fp), recs[k]->bytes);
        fclose(fp);
        gq_sha256_hex(bytes, recs[k]->bytes, sha);
        assert_string_equal(sha, recs[k]->sha256);
        free(bytes);
        free(back);
        free(want);
    }
    out_task_free(t);
    assert_true(out_task_complete(&o));
    assert_int_equal(count_entries(d, ".tmp."), 0);

    /* re-execution: identical bytes are not rewritten (same inode and mtime) */
    snprintf(f, sizeof f, "%s/000002.png", d);
    assert_int_equal(stat(f, &before), 0);
    run_task(&s, p, 0, 5, 1, &recs, &n, &t, &rc);
    assert_int_equal(rc, 0);
    out_task_free(t);
    assert_int_equal(stat(f, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);

    /* commit without adds reports what is on disk; a missing file is an error */
    run_task(&s, p, 0, 5, 0, &recs, &n, &t, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 5);
    assert_int_equal(recs[2]->bytes, (uint64_t)after.st_size);
    out_task_free(t);
    unlink(f);
    assert_false(out_task_complete(&o));
    run_task(&s, p, 0, 5, 0, &recs, &n, &t, &rc);
    assert_int_equal(rc, GQ_ESTATE);
    out_task_free(t);

    /* bad adds */
    {
        out_task_options o2 = {&s, p, 5, 10, 1};
        gq_error e;
        uint64_t idx[1] = {3};
        uint8_t px[16 * 12 * 3] = {0};
        gq_error_clear(&e);
        assert_int_equal(out_task_open(&o2, &t, &e), 0);
        assert_int_equal(out_task_add(t, idx, 1, px, 16, 12, &e), GQ_EINVAL);
        idx[0] = 5;
        gq_error_clear(&e);
        assert_int_equal(out_task_add(t, idx, 1, px, 16, 12, &e), 0);
        assert_int_equal(out_task_add(t, idx, 1, px, 16, 12, &e), GQ_EINVAL);   /* twice */
        idx[0] = 6;
        gq_error_clear(&e);
        assert_int_equal(out_task_add(t, idx, 1, px, 8, 12, &e), GQ_EINVAL);    /* size */
        out_task_free(t);   /* uncommitted: no temporaries left behind */
        assert_int_equal(count_entries(d, ".tmp."), 0);
        o2.end = 11;
        gq_error_clear(&e);
        assert_int_equal(out_task_open(&o2, &t, &e), GQ_EINVAL);
    }
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_jpeg_round_trip),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_enospc),
        cmocka_unit_test(test_out_dir_rules),
        cmocka_unit_test(test_task_png),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
