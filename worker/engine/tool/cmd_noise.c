/* cmd_noise.c: `ganq-engine noise`, engine_noise() to a float32 [count, z_dim] .npy file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/engine/engine.h"
#include "worker/engine/npy.h"
#include "worker/engine/tool/tool.h"

static const char USAGE[] =
    "usage: ganq-engine noise --seed S --index I --count N --truncation T --z-dim D --out Z.npy\n"
    "\n"
    "Writes float32 [N, D]: row k is truncation * TN(-2, 2) noise of image index I + k under\n"
    "seed S (Philox4x32-10; identical on every machine, see worker/engine/noise.c).\n"
    "  --seed S        unsigned 64-bit seed\n"
    "  --index I       first image index (unsigned 64-bit, default 0)\n"
    "  --count N       number of rows, 1..1000000\n"
    "  --truncation T  scale, in (0, 1]\n"
    "  --z-dim D       dimensions per row, 1..4096\n"
    "  --out Z.npy     output file\n";

int cmd_noise(int argc, char **argv)
{
    const char *C = "noise";
    unsigned long long seed = 0, index = 0;
    long long count = -1, zdim = -1;
    double t = -1;
    const char *out = NULL;
    int have_seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return TOOL_EXIT_OK;
        } else if (strcmp(argv[i], "--seed") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_u64(C, "--seed", v, &seed)) return TOOL_EXIT_USAGE;
            have_seed = 1;
        } else if (strcmp(argv[i], "--index") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_u64(C, "--index", v, &index)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--count") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_int(C, "--count", v, 1, 1000000, &count)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--z-dim") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_int(C, "--z-dim", v, 1, 4096, &zdim)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--truncation") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_double(C, "--truncation", v, &t)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--out") == 0) {
            if (!(out = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else {
            tool_error(C, "unknown option '%s'", argv[i]);
            fputs(USAGE, stderr);
            return TOOL_EXIT_USAGE;
        }
    }
    if (!have_seed || count < 0 || zdim < 0 || !out || t < 0) {
        tool_error(C, "--seed, --count, --z-dim, --truncation and --out are required");
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    if (!(t > 0.0 && t <= 1.0)) {
        tool_error(C, "--truncation: %g is outside (0, 1]", t);
        return TOOL_EXIT_USAGE;
    }
    float *z = malloc((size_t)count * (size_t)zdim * sizeof *z);
    if (!z) { tool_error(C, "out of memory"); return TOOL_EXIT_FAIL; }
    engine_noise(seed, index, (int)count, (int)zdim, t, z);
    int64_t shape[2] = { count, zdim };
    gq_error err;
    gq_error_clear(&err);
    int rc = npy_write_file(out, NPY_F32, 2, shape, z, &err);
    free(z);
    if (rc) { tool_error(C, "%s", gq_error_str(&err, rc)); return TOOL_EXIT_FAIL; }
    return TOOL_EXIT_OK;
}
