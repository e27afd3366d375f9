/* cmd_bench.c: `ganq-engine bench MODEL --batch B --iters N`: images/s of engine_generate_f32
 * on z from engine_noise (seed 0, truncation 0.5 scaled) and classes i mod num_classes.
 * One warm-up call is not timed; the figure is B * N / (wall seconds of the N timed calls). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/base/gq_buf.h"
#include "worker/engine/engine.h"
#include "worker/engine/tool/tool.h"

static const char USAGE[] =
    "usage: ganq-engine bench MODEL --batch B --iters N [--threads N] [--device cpu] [--json]\n"
    "\n"
    "Times N calls of B images after one untimed warm-up; prints images/s.\n";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cmd_bench(int argc, char **argv)
{
    const char *C = "bench";
    const char *model = NULL, *dev = "cpu";
    long long batch = 1, iters = 3, threads = 0;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return TOOL_EXIT_OK;
        } else if (strcmp(argv[i], "--batch") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_int(C, "--batch", v, 1, 4096, &batch)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--iters") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_int(C, "--iters", v, 1, 1000000, &iters)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--threads") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_int(C, "--threads", v, 0, 1024, &threads)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--device") == 0) {
            if (!(dev = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' || model) {
            tool_error(C, "unexpected argument '%s'", argv[i]);
            fputs(USAGE, stderr);
            return TOOL_EXIT_USAGE;
        } else {
            model = argv[i];
        }
    }
    if (!model) { tool_error(C, "MODEL is required"); fputs(USAGE, stderr); return TOOL_EXIT_USAGE; }
    gq_error err;
    gq_error_clear(&err);
    engine *e = NULL;
    engine_options o = { dev, (int)threads, (int)batch };
    int rc = engine_open(model, &o, &e, &err);
    if (rc) { tool_error(C, "%s", gq_error_str(&err, rc)); return TOOL_EXIT_FAIL; }
    const engine_arch *a = engine_get_arch(e);
    int B = (int)batch;
    float *z = malloc((size_t)B * (size_t)a->z_dim * sizeof *z);
    int32_t *ids = malloc((size_t)B * sizeof *ids);
    float *out = malloc((size_t)B * 3 * (size_t)a->resolution * (size_t)a->resolution * sizeof *out);
    int status = TOOL_EXIT_FAIL;
    if (!z || !ids || !out) { tool_error(C, "out of memory"); goto done; }
    engine_noise(0, 0, B, a->z_dim, 0.5, z);
    for (int i = 0; i < B; i++) ids[i] = i % a->num_classes;
    engine_batch b = { B, z, ids, NULL, 0.5 };
    if ((rc = engine_generate_f32(e, &b, out, &err))) goto fail;
    double t0 = now_s();
    for (long long k = 0; k < iters; k++)
        if ((rc = engine_generate_f32(e, &b, out, &err))) goto fail;
    double dt = now_s() - t0;
    double ips = (double)B * (double)iters / dt;
    if (json) {
        gq_buf j;
        gq_buf_init(&j);
        gq_json_obj_begin(&j);
        gq_json_kv_str(&j, "model", a->name);
        gq_json_kv_str(&j, "family", a->family_name);
        gq_json_kv_int(&j, "batch", B);
        gq_json_kv_int(&j, "iters", iters);
        gq_json_kv_int(&j, "threads", threads);
        gq_json_kv_double(&j, "seconds", dt);
        gq_json_kv_double(&j, "images_per_s", ips);
        gq_json_obj_end(&j);
        if (!gq_buf_ok(&j)) { gq_buf_release(&j); tool_error(C, "out of memory"); goto done; }
        printf("%s\n", j.data);
        gq_buf_release(&j);
    } else
        printf("%s: batch %d, %lld iters, %.3f s: %.3f images/s\n", a->name, B, iters, dt, ips);
    status = TOOL_EXIT_OK;
    goto done;
fail:
    tool_error(C, "%s", gq_error_str(&err, rc));
done:
    free(z);
    free(ids);
    free(out);
    engine_free(e);
    return status;
}
