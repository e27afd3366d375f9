/* cmd_info.c: `ganq-engine info MODEL [--json]`: what engine_open makes of a model. */
#include <stdio.h>
#include <string.h>

#include "proto/base/gq_buf.h"
#include "worker/engine/engine.h"
#include "worker/engine/tool/tool.h"

static const char USAGE[] =
    "usage: ganq-engine info MODEL [--json]\n"
    "\n"
    "Loads MODEL (\"testcard\", \"testcard:RES\" or a .safetensors model file), validating every\n"
    "tensor, and prints family, resolution, z_dim, classes, width, parameter count, dtype,\n"
    "sha256 and provenance. --json prints one JSON object instead.\n";

int cmd_info(int argc, char **argv)
{
    const char *C = "info";
    const char *model = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return TOOL_EXIT_OK;
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
    engine *e;
    gq_error err;
    gq_error_clear(&err);
    engine_options o = { "cpu", 1, 0 };
    int rc = engine_open(model, &o, &e, &err);
    if (rc) { tool_error(C, "%s", gq_error_str(&err, rc)); return TOOL_EXIT_FAIL; }
    const engine_arch *a = engine_get_arch(e);
    if (json) {
        gq_buf b;
        gq_buf_init(&b);
        gq_json_obj_begin(&b);
        gq_json_kv_str(&b, "name", a->name);
        gq_json_kv_str(&b, "family", a->family_name);
        gq_json_kv_int(&b, "resolution", a->resolution);
        gq_json_kv_int(&b, "z_dim", a->z_dim);
        gq_json_kv_int(&b, "num_classes", a->num_classes);
        gq_json_kv_int(&b, "ch", a->ch);
        gq_json_kv_bool(&b, "standing_stats", a->standing_stats);
        gq_json_key(&b, "num_params");
        gq_json_uint(&b, a->num_params);
        gq_json_kv_str(&b, "dtype", a->dtype);
        gq_json_kv_str(&b, "sha256", a->sha256);
        gq_json_kv_int(&b, "max_batch", engine_max_batch(e));
        gq_json_key(&b, "class_names");
        gq_json_arr_begin(&b);
        for (int k = 0; k < a->num_classes; k++) gq_json_str(&b, a->class_names[k]);
        gq_json_arr_end(&b);
        gq_json_kv_str(&b, "provenance", a->provenance);
        gq_json_obj_end(&b);
        if (!gq_buf_ok(&b)) rc = -1;
        else printf("%s\n", b.data);
        gq_buf_release(&b);
    } else {
        printf("name:        %s\n", a->name);
        printf("family:      %s\n", a->family_name);
        printf("resolution:  %d\n", a->resolution);
        printf("z_dim:       %d\n", a->z_dim);
        printf("classes:     %d (", a->num_classes);
        for (int k = 0; k < a->num_classes && k < 5; k++)
            printf("%s%s", k ? ", " : "", a->class_names[k]);
        printf("%s)\n", a->num_classes > 5 ? ", ..." : "");
        printf("ch:          %d\n", a->ch);
        printf("standing:    %s\n", a->standing_stats ? "yes (truncation in (0, 1])" : "no");
        printf("parameters:  %llu\n", (unsigned long long)a->num_params);
        printf("dtype:       %s\n", a->dtype);
        printf("sha256:      %s\n", a->sha256);
        if (a->provenance[0]) printf("provenance:  %s\n", a->provenance);
    }
    engine_free(e);
    if (rc) { tool_error(C, "out of memory"); return TOOL_EXIT_FAIL; }
    return TOOL_EXIT_OK;
}
