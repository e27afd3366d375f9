/* cmd_sample.c: `ganq-engine sample`: images from z and class inputs in .npy files, written
 * as float32 [B, 3, H, W] (NCHW, [-1, 1]); what the parity tests compare with PyTorch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/engine/engine.h"
#include "worker/engine/npy.h"
#include "worker/engine/tool/tool.h"

static const char USAGE[] =
    "usage: ganq-engine sample MODEL --z Z.npy (--classes C.npy | --class-vectors Y.npy)\n"
    "                          --truncation T --out OUT.npy [--device cpu] [--threads N]\n"
    "\n"
    "  --z Z.npy             float32 [B, z_dim], already scaled by the truncation\n"
    "  --classes C.npy       int32 or int64 [B] class ids\n"
    "  --class-vectors Y.npy float32 [B, num_classes] (one-hot or soft mixtures)\n"
    "  --truncation T        the truncation z was drawn with (selects BigGAN-deep BN stats)\n"
    "  --out OUT.npy         float32 [B, 3, H, W] in [-1, 1]\n"
    "  --device cpu          backend (cuda is not built in this version)\n"
    "  --threads N           CPU threads (0 = all cores, default)\n";

int cmd_sample(int argc, char **argv)
{
    const char *C = "sample";
    const char *model = NULL, *zp = NULL, *cp = NULL, *yp = NULL, *outp = NULL, *dev = "cpu";
    double t = -1;
    long long threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return TOOL_EXIT_OK;
        } else if (strcmp(argv[i], "--z") == 0) {
            if (!(zp = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--classes") == 0) {
            if (!(cp = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--class-vectors") == 0) {
            if (!(yp = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--out") == 0) {
            if (!(outp = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--device") == 0) {
            if (!(dev = tool_value(C, argc, argv, &i))) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--truncation") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_double(C, "--truncation", v, &t)) return TOOL_EXIT_USAGE;
        } else if (strcmp(argv[i], "--threads") == 0) {
            if (!(v = tool_value(C, argc, argv, &i)) || tool_parse_int(C, "--threads", v, 0, 1024, &threads)) return TOOL_EXIT_USAGE;
        } else if (argv[i][0] == '-' || model) {
            tool_error(C, "unexpected argument '%s'", argv[i]);
            fputs(USAGE, stderr);
            return TOOL_EXIT_USAGE;
        } else {
            model = argv[i];
        }
    }
    if (!model || !zp || !outp || t < 0 || (!cp == !yp)) {
        tool_error(C, "MODEL, --z, --truncation, --out and one of --classes/--class-vectors are required");
        fputs(USAGE, stderr);
        return TOOL_EXIT_USAGE;
    }
    gq_error err;
    gq_error_clear(&err);
    engine *e = NULL;
    npy_array z = { 0 }, c = { 0 };
    int32_t *ids = NULL;
    float *out = NULL;
    int status = TOOL_EXIT_FAIL;
    engine_options o = { dev, (int)threads, 0 };
    int rc = engine_open(model, &o, &e, &err);
    if (rc) goto fail;
    const engine_arch *a = engine_get_arch(e);
    if ((rc = npy_read_file(zp, &z, &err))) goto fail;
    if (z.dtype != NPY_F32 || z.ndim != 2 || z.shape[1] != a->z_dim || z.shape[0] < 1) {
        rc = gq_fail(&err, GQ_EINVAL, "--z: %s must be float32 [B, %d] with B >= 1", zp, a->z_dim);
        goto fail;
    }
    int B = (int)z.shape[0];
    if (z.shape[0] > 1000000) { rc = gq_fail(&err, GQ_EINVAL, "--z: B above 1000000"); goto fail; }
    if (cp) {
        if ((rc = npy_read_file(cp, &c, &err))) goto fail;
        if ((c.dtype != NPY_I32 && c.dtype != NPY_I64) || c.ndim != 1 || c.shape[0] != B) {
            rc = gq_fail(&err, GQ_EINVAL, "--classes: %s must be int32/int64 [%d]", cp, B);
            goto fail;
        }
        ids = malloc((size_t)B * sizeof *ids);
        if (!ids) { rc = gq_fail(&err, GQ_ENOMEM, "out of memory"); goto fail; }
        for (int i = 0; i < B; i++) {
            int64_t v = c.dtype == NPY_I32 ? ((int32_t *)c.data)[i] : ((int64_t *)c.data)[i];
            if (v < 0 || v >= a->num_classes) {
                rc = gq_fail(&err, GQ_EINVAL, "--classes: [%d] = %lld is outside [0, %d)", i,
                             (long long)v, a->num_classes);
                goto fail;
            }
            ids[i] = (int32_t)v;
        }
    } else {
        if ((rc = npy_read_file(yp, &c, &err))) goto fail;
        if (c.dtype != NPY_F32 || c.ndim != 2 || c.shape[0] != B || c.shape[1] != a->num_classes) {
            rc = gq_fail(&err, GQ_EINVAL, "--class-vectors: %s must be float32 [%d, %d]", yp, B,
                         a->num_classes);
            goto fail;
        }
    }
    size_t per = 3 * (size_t)a->resolution * (size_t)a->resolution;
    out = malloc((size_t)B * per * sizeof *out);
    if (!out) { rc = gq_fail(&err, GQ_ENOMEM, "out of memory for %d images", B); goto fail; }
    int mb = engine_max_batch(e);
    for (int s = 0; s < B; s += mb) {
        int n = B - s < mb ? B - s : mb;
        engine_batch b = { n, (const float *)z.data + (size_t)s * (size_t)a->z_dim,
                           ids ? ids + s : NULL,
                           ids ? NULL : (const float *)c.data + (size_t)s * (size_t)a->num_classes,
                           t };
        if ((rc = engine_generate_f32(e, &b, out + (size_t)s * per, &err))) goto fail;
    }
    int64_t shape[4] = { B, 3, a->resolution, a->resolution };
    if ((rc = npy_write_file(outp, NPY_F32, 4, shape, out, &err))) goto fail;
    status = TOOL_EXIT_OK;
    goto done;
fail:
    tool_error(C, "%s", gq_error_str(&err, rc));
    if (rc == GQ_EINVAL) status = TOOL_EXIT_USAGE;
done:
    free(out);
    free(ids);
    npy_release(&z);
    npy_release(&c);
    engine_free(e);
    return status;
}
