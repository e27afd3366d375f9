/* test_out_containers.c: NPZ and WebDataset tar containers written by the task writer:
 * layout checked byte by byte here (zip signatures, .npy headers, ustar headers and their
 * checksums, member order), then read back by numpy.load and tarfile with Debian's
 * /usr/bin/python3 when it has numpy (that part skips with a message otherwise);
 * determinism across two output directories and task splits; tasks cutting a container. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/plan/plan.h"
#include "storage/out/out.h"

static char scratch[512];

static int setup(void **st)
{
    const char *base = getenv("GANQ_TMP");
    (void)st;
    snprintf(scratch, sizeof scratch, "%s/test_outc.XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(scratch) ? 0 : -1;
}

static int teardown(void **st)
{
    char cmd[600];
    (void)st;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : -1;
}

enum { W = 8, H = 6 };

static void pixels(uint64_t i, uint8_t *px)
{
    for (int k = 0; k < W * H * 3; k++)
        px[k] = (uint8_t)(i * 31 + (uint64_t)k * 7);
}

static const char *names[] = {"zero", "one", "two", "three"};
static int32_t ids[3] = {1, 3, 0};
static double tr[1] = {0.75};

static Ganq__V1__JobSpec spec_of(const char *dir, int kind, int format)
{
    Ganq__V1__JobSpec s = GANQ__V1__JOB_SPEC__INIT;
    s.kind = kind;
    s.model = "testcard";
    s.seed = 11;
    s.class_ids = ids;
    s.n_class_ids = 3;
    s.count = 10;
    s.per_class = 5;
    s.val_fraction = 0.4;
    s.truncations = tr;
    s.n_truncations = 1;
    s.format = format;
    s.shard_size = 4;
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

/* Run the whole job in tasks of about `want` images. OUT: concatenated "path sha\n" lines. */
static void run_job(const Ganq__V1__JobSpec *s, const plan *p, uint64_t want, char *log,
                    size_t logn)
{
    uint64_t total = plan_total(p);
    size_t used = 0;
    log[0] = '\0';
    for (uint64_t a = 0; a < total;) {
        uint64_t b = plan_task_end(p, a, want);
        out_task_options o = {s, p, a, b, 2};
        out_task *t;
        gq_error e;
        Ganq__V1__OutputRecord **r;
        size_t n;
        gq_error_clear(&e);
        assert_int_equal(out_task_open(&o, &t, &e), 0);
        for (uint64_t i = a; i < b; i++) {
            uint8_t px[W * H * 3];
            pixels(i, px);
            assert_int_equal(out_task_add(t, &i, 1, px, W, H, &e), 0);
        }
        if (out_task_commit(t, &r, &n, &e) != 0)
            fail_msg("commit: %s", e.msg);
        for (size_t k = 0; k < n; k++)
            used += (size_t)snprintf(log + used, logn - used, "%s %llu %llu %s\n", r[k]->path,
                                     (unsigned long long)r[k]->first_index,
                                     (unsigned long long)r[k]->images, r[k]->sha256);
        out_task_free(t);
        a = b;
    }
}

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *b;
    long len;
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    b = malloc((size_t)len);
    assert_int_equal(fread(b, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    *n = (size_t)len;
    return b;
}

static int have_numpy(void)
{
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

static void test_wds(void **st)
{
    (void)st;
    char d1[700], d2[700], path[800];
    static char log1[8192], log2[8192];
    snprintf(d1, sizeof d1, "%s/wds1", scratch);
    snprintf(d2, sizeof d2, "%s/wds2", scratch);
    Ganq__V1__JobSpec s1 = spec_of(d1, GANQ__V1__JOB_KIND__KIND_GENERATE,
                                   GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS);
    Ganq__V1__JobSpec s2 = spec_of(d2, GANQ__V1__JOB_KIND__KIND_GENERATE,
                                   GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS);
    plan *p1 = mkplan(&s1), *p2 = mkplan(&s2);
    run_job(&s1, p1, 4, log1, sizeof log1);   /* one container a task */
    run_job(&s2, p2, 8, log2, sizeof log2);   /* two containers a task */
    assert_string_equal(log1, log2);          /* same paths and bytes */
    assert_non_null(strstr(log1, "samples-000000.tar 0 4 "));
    assert_non_null(strstr(log1, "samples-000002.tar 8 2 "));

    /* ustar layout of the first shard */
    snprintf(path, sizeof path, "%s/samples-000000.tar", d1);
    {
        size_t n, off = 0;
        uint8_t *b = slurp(path, &n);
        const char *want[] = {"000000.png", "000000.cls", "000000.json", "000001.png"};
        assert_int_equal(n % 512, 0);
        for (int m = 0; m < 4; m++) {
            unsigned sum = 0, stored;
            unsigned long long size;
            assert_string_equal((char *)b + off, want[m]);
            assert_memory_equal(b + off + 257, "ustar\0" "00", 8);
            for (int k = 0; k < 512; k++)
                sum += (k >= 148 && k < 156) ? ' ' : b[off + (size_t)k];
            sscanf((char *)b + off + 148, "%o", &stored);
            assert_int_equal(sum, stored);
            sscanf((char *)b + off + 124, "%llo", &size);
            if (m == 1)
                assert_memory_equal(b + off + 512, "1", 1);   /* image 0 has class ids[0] */
            off += 512 + (size + 511) / 512 * 512;
        }
        free(b);
    }
    if (have_numpy()) {
        char cmd[2000];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 - '%s' <<'EOF'\n"
                 "import sys, tarfile, json, io\n"
                 "from PIL import Image\n"
                 "d = sys.argv[1]\n"
                 "seen = []\n"
                 "for k in range(3):\n"
                 "    t = tarfile.open(f'{d}/samples-{k:06d}.tar')\n"
                 "    for m in t.getmembers():\n"
                 "        data = t.extractfile(m).read()\n"
                 "        key, ext = m.name.split('.')\n"
                 "        i = int(key)\n"
                 "        if ext == 'png':\n"
                 "            im = Image.open(io.BytesIO(data)); assert im.size == (8, 6), im.size\n"
                 "            px = im.convert('RGB').tobytes()\n"
                 "            assert px == bytes((i*31 + k*7) & 255 for k in range(144))\n"
                 "            seen.append(i)\n"
                 "        elif ext == 'cls':\n"
                 "            assert int(data) == [1, 3, 0][i %% 3], (i, data)\n"
                 "        else:\n"
                 "            j = json.loads(data)\n"
                 "            assert j['index'] == i and j['seed'] == 11 and j['truncation'] == 0.75\n"
                 "            assert j['class_name'] == ['zero','one','two','three'][j['class']]\n"
                 "assert seen == list(range(10)), seen\n"
                 "EOF",
                 d1);
        assert_int_equal(system(cmd), 0);
    } else {
        print_message("python3 with numpy/PIL missing: tarfile read-back skipped\n");
    }
    plan_free(p1);
    plan_free(p2);
}

static void test_npz(void **st)
{
    (void)st;
    char d[700], path[800];
    static char log[8192];
    snprintf(d, sizeof d, "%s/npz", scratch);
    Ganq__V1__JobSpec s = spec_of(d, GANQ__V1__JOB_KIND__KIND_SYNTHESIZE,
                                  GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ);
    plan *p = mkplan(&s);
    /* 3 classes x 5, val 2 each: val [0, 6) -> [0, 4) [4, 6); train [6, 15) -> [6, 8)
     * [8, 12) [12, 15) (the shard_size grid, cut at the split) */
    assert_int_equal(plan_n_containers(p), 5);
    run_job(&s, p, 1, log, sizeof log);
    assert_non_null(strstr(log, "val-000000.npz 0 4 "));
    assert_non_null(strstr(log, "val-000001.npz 4 2 "));
    assert_non_null(strstr(log, "train-000000.npz 6 2 "));
    assert_non_null(strstr(log, "train-000002.npz 12 3 "));
    snprintf(path, sizeof path, "%s/val-000000.npz", d);
    {
        size_t n;
        uint8_t *b = slurp(path, &n);
        assert_memory_equal(b, "PK\x03\x04", 4);
        assert_memory_equal(b + 30, "x.npy", 5);
        assert_memory_equal(b + 35, "\x93NUMPY\x01\x00", 8);
        assert_non_null(memmem(b, n, "'shape': (4, 6, 8, 3)", 21));
        assert_non_null(memmem(b, n, "'descr': '<i8'", 14));
        assert_memory_equal(b + n - 22, "PK\x05\x06", 4);
        /* x data starts 64-aligned inside the member */
        assert_int_equal((b[43] | b[44] << 8) + 10, 128);
        free(b);
    }
    if (have_numpy()) {
        char cmd[1500];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 - '%s' <<'EOF'\n"
                 "import sys, numpy as np\n"
                 "d = sys.argv[1]\n"
                 "f = np.load(f'{d}/val-000001.npz')\n"
                 "x, y = f['x'], f['y']\n"
                 "assert x.dtype == np.uint8 and x.shape == (2, 6, 8, 3), x.shape\n"
                 "assert y.dtype == np.int64 and list(y) == [0, 0], list(y)\n"
                 "for k, i in enumerate([4, 5]):\n"
                 "    want = np.array([(i*31 + j*7) & 255 for j in range(144)], np.uint8)\n"
                 "    assert (x[k].reshape(-1) == want).all()\n"
                 "t = np.load(f'{d}/train-000001.npz')\n"
                 "assert list(t['y']) == [1, 3, 3, 3], list(t['y'])\n"
                 "EOF",
                 d);
        assert_int_equal(system(cmd), 0);
    } else {
        print_message("python3 with numpy missing: numpy.load read-back skipped\n");
    }
    /* a re-run rewrites nothing and reports the same records */
    {
        static char log2[8192];
        run_job(&s, p, 100, log2, sizeof log2);
        assert_string_equal(log, log2);
    }
    /* a task that cuts a container is refused */
    {
        out_task_options o = {&s, p, 0, 3, 1};
        out_task *t;
        gq_error e;
        gq_error_clear(&e);
        assert_int_equal(out_task_open(&o, &t, &e), GQ_EINVAL);
        assert_non_null(strstr(e.msg, "container"));
        o.start = 5;
        o.end = 8;   /* starts inside val-000001 [4, 6) */
        gq_error_clear(&e);
        assert_int_equal(out_task_open(&o, &t, &e), GQ_EINVAL);
    }
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wds),
        cmocka_unit_test(test_npz),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
