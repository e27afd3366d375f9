/* test_model_fuzz_replay.c: the plain replay driver of the fuzz targets in tests/fuzz/:
 * runs every corpus file (tests/fuzz/corpus/{safetensors,npy}) and, from each seed (plus a
 * valid crafted model file and .npy images written here), every truncation and a fixed set
 * of deterministic byte mutations, under ASan/UBSan in `make test`. libFuzzer itself
 * (`make fuzz`) explores further; crashes it finds go into the corpus and stay here. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fuzz/fuzz_npy.c"
#include "tests/fuzz/fuzz_safetensors.c"
#include "tests/unit/helpers/engine_files.h"

typedef int (*target_fn)(const uint8_t *, size_t);

static uint32_t rng = 99;
static uint32_t next(void) { rng = rng * 1664525u + 1013904223u; return rng >> 8; }

/* The seed, its truncations and `mutations` mutated copies; mutate only the first `span`
 * bytes (the header: mutating tensor payloads tests nothing). */
static void replay(target_fn fn, const uint8_t *seed, size_t n, size_t span, int mutations)
{
    fn(seed, n);
    uint8_t *buf = malloc(n + 1);
    assert_non_null(buf);
    size_t step = n > 512 ? n / 256 : 1;
    for (size_t k = 0; k < n; k += (k < 512 ? 1 : step)) {
        memcpy(buf, seed, k);
        fn(buf, k);
    }
    if (span > n) span = n;
    for (int m = 0; m < mutations && span > 0; m++) {
        memcpy(buf, seed, n);
        int edits = 1 + (int)(next() % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = next() % span;
            switch (next() % 4) {
            case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
            case 1: buf[at] = (uint8_t)next(); break;
            case 2: buf[at] = "{}[],:\"0-9e.\\"[next() % 13]; break;
            default: buf[at] = at > 0 ? buf[at - 1] : 0; break;
            }
        }
        fn(buf, n);
    }
    free(buf);
}

static int replay_dir(const char *dir, target_fn fn)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        replay(fn, buf, n, n, 300);
        files++;
    }
    closedir(d);
    return files;
}

static const char *root(void)
{
    const char *r = getenv("GANQ_ROOT");
    return r ? r : ".";
}

static void test_corpus_safetensors(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/safetensors", root());
    assert_true(replay_dir(dir, fuzz_safetensors_one) >= 4);
}

static void test_corpus_npy(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/npy", root());
    assert_true(replay_dir(dir, fuzz_npy_one) >= 4);
}

static void test_crafted_model(void **state)
{
    (void)state;
    char *h;
    uint8_t *d, *img;
    size_t dl, len;
    assert_int_equal(ef_build("biggan", EF_ARCH_BIGGAN32, "F16", 5, &h, &d, &dl), 0);
    img = ef_image(h, d, dl, &len);
    assert_non_null(img);
    /* the valid file is accepted by the target's model_open_mem path */
    model *m;
    assert_int_equal(model_open_mem(img, len, "x", &m, NULL), 0);
    model_free(m);
    replay(fuzz_safetensors_one, img, len, 8 + strlen(h), 400);
    free(h); free(d); free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_safetensors),
        cmocka_unit_test(test_corpus_npy),
        cmocka_unit_test(test_crafted_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
