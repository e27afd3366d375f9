/* cli_spec.c: job flags -> JobSpec (see cli_spec.h). Only syntax and the user's intent are
 * handled here; ranges are the wire codec's (checked again before sending) and meaning
 * (class names, model limits) is the broker's. */
#include "client/cli_spec.h"

#include <stdlib.h>
#include <string.h>

#include "proto/plan/plan.h"
#include "proto/wire/wire.h"

enum {
    O_MODEL = 1, O_SEED, O_CLASSES, O_FORMAT, O_OUT, O_PRIORITY, O_OWNER, O_TASK_SIZE,
    O_PNG_LEVEL, O_JPEG_Q, O_NAME, O_JSON, O_MAX_ATTEMPTS, O_SHA, O_COUNT, O_TRUNC, O_SHEET,
    O_PER_CLASS, O_VAL_FRACTION, O_LAYOUT, O_SHARD, O_TRUNCS, O_PER_VALUE, O_FROM, O_TO,
    O_STEPS, O_MODE,
};

#define COMMON_OPTS                                                                          \
    {"model", 1, O_MODEL, "NAME", "model name (\"testcard\", or a file stem in the workers' "  \
                                  "--models dir); required"},                                \
    {"seed", 1, O_SEED, "S", "noise seed (default 0)"},                                      \
    {"out", 1, O_OUT, "DIR", "output directory (made absolute); required"},                  \
    {"format", 1, O_FORMAT, "FMT", "png|jpeg|npz|wds (default png)"},                        \
    {"priority", 1, O_PRIORITY, "P", "-100..100, higher first (default 0)"},                 \
    {"owner", 1, O_OWNER, "O", "fair-share owner (default $USER)"},                          \
    {"task-size", 1, O_TASK_SIZE, "N", "images per task (default: the broker decides)"},     \
    {"png-level", 1, O_PNG_LEVEL, "L", "PNG compression 0..9 (default 6)"},                  \
    {"jpeg-quality", 1, O_JPEG_Q, "Q", "JPEG quality 1..100 (default 95)"},                  \
    {"name", 1, O_NAME, "NAME", "label shown by `ganq list`"},                               \
    {"max-attempts", 1, O_MAX_ATTEMPTS, "N", "attempts per task before the job fails"},      \
    {"model-sha256", 1, O_SHA, "HEX", "require this exact model file"},                      \
    {"json", 0, O_JSON, NULL, "print the reply as JSON"}

static const cli_opt gen_opts[] = {
    {"count", 1, O_COUNT, "N", "images to generate; required"},
    {"classes", 1, O_CLASSES, "EXPR", "\"0-9\", \"3,7\", class names, or \"all\""},
    {"truncation", 1, O_TRUNC, "T[,T..]", "truncation, or a list sampled per image"},
    {"sheet", 0, O_SHEET, NULL, "also write a contact sheet (classes as rows)"},
    {"shard-size", 1, O_SHARD, "N", "images per NPZ file or WebDataset shard (default 1000)"},
    COMMON_OPTS,
    {NULL, 0, 0, NULL, NULL},
};
static const cli_opt syn_opts[] = {
    {"per-class", 1, O_PER_CLASS, "N", "images per class; required"},
    {"classes", 1, O_CLASSES, "EXPR", "\"0-9\", \"3,7\", class names, or \"all\""},
    {"val-fraction", 1, O_VAL_FRACTION, "F", "fraction of each class in the val split"},
    {"layout", 1, O_LAYOUT, "L", "flat|imagefolder|wds (default imagefolder)"},
    {"shard-size", 1, O_SHARD, "N", "samples per WebDataset shard or NPZ file (default 1000)"},
    {"truncation", 1, O_TRUNC, "T[,T..]", "truncation, or a list sampled per image"},
    COMMON_OPTS,
    {NULL, 0, 0, NULL, NULL},
};
static const cli_opt sweep_opts[] = {
    {"truncations", 1, O_TRUNCS, "A:B:S|LIST", "values swept: 0.1:1.0:0.1 or 0.25,0.5,1"},
    {"per-value", 1, O_PER_VALUE, "N", "samples per value (the same at every value)"},
    {"classes", 1, O_CLASSES, "EXPR", "\"0-9\", \"3,7\", class names, or \"all\""},
    COMMON_OPTS,
    {NULL, 0, 0, NULL, NULL},
};
static const cli_opt interp_opts[] = {
    {"from", 1, O_FROM, "CLASS:SEED", "start point (class id or name, seed)"},
    {"to", 1, O_TO, "CLASS:SEED", "end point"},
    {"steps", 1, O_STEPS, "N", "images along the path, 2..10000"},
    {"mode", 1, O_MODE, "M", "z|class|both: what is interpolated (default both)"},
    {"truncation", 1, O_TRUNC, "T", "truncation"},
    COMMON_OPTS,
    {NULL, 0, 0, NULL, NULL},
};

/* Images per NPZ file / WDS shard when --shard-size is not given. */
#define CLI_DEFAULT_SHARD_SIZE 1000

int cli_spec_kind(const char *w)
{
    if (!w)
        return 0;
    if (!strcmp(w, "generate"))    return GANQ__V1__JOB_KIND__KIND_GENERATE;
    if (!strcmp(w, "synthesize"))  return GANQ__V1__JOB_KIND__KIND_SYNTHESIZE;
    if (!strcmp(w, "sweep"))       return GANQ__V1__JOB_KIND__KIND_SWEEP;
    if (!strcmp(w, "interpolate")) return GANQ__V1__JOB_KIND__KIND_INTERPOLATE;
    return 0;
}

const cli_opt *cli_spec_opts(int kind)
{
    switch (kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:    return gen_opts;
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:  return syn_opts;
    case GANQ__V1__JOB_KIND__KIND_SWEEP:       return sweep_opts;
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE: return interp_opts;
    default:                                   return NULL;
    }
}

const char *cli_spec_intro(int kind)
{
    switch (kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        return "Generate --count images; image i has class classes[i % n] and noise (seed, i).";
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:
        return "Synthesize a labelled dataset: --per-class images of every class, split into\n"
               "train/val, as an ImageFolder tree or WebDataset shards.";
    case GANQ__V1__JOB_KIND__KIND_SWEEP:
        return "Sample the same --per-value noise draws at every truncation value, with a\n"
               "contact sheet per value (BigGAN's truncation curves).";
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE:
        return "Interpolate between two (class, seed) points in --steps images.";
    default:
        return "";
    }
}

void cli_spec_init(cli_spec *s, int kind)
{
    memset(s, 0, sizeof *s);
    ganq__v1__job_spec__init(&s->spec);
    s->spec.kind = kind;
    s->spec.interp = GANQ__V1__INTERP_MODE__INTERP_BOTH;
    const char *user = getenv("USER");
    s->spec.owner = (char *)(user && *user ? user : "");
}

void cli_spec_release(cli_spec *s)
{
    free(s->out_dir);
    free(s->truncs);
    free(s->from_name);
    free(s->to_name);
    memset(s, 0, sizeof *s);
}

/* "CLASS:SEED": CLASS a number (class id) or a name; SEED a whole number. */
static int parse_point(const char *cmd, const char *flag, const char *v, int32_t *cls,
                       char **name, uint64_t *seed)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v) {
        cli_usage_fail(cmd, "--%s: '%s' is not CLASS:SEED (e.g. 207:1 or goldfish:1)", flag, v);
        return -1;
    }
    if (cli_parse_u64(cmd, flag, colon + 1, 0, UINT64_MAX, seed))
        return -1;
    size_t n = (size_t)(colon - v);
    char *c = strndup(v, n);
    if (!c)
        return -1;
    char *end;
    long id = strtol(c, &end, 10);
    free(*name);
    *name = NULL;
    if (*end == '\0' && id >= 0 && id < WIRE_MAX_CLASS_ID) {
        *cls = (int32_t)id;
        free(c);
    } else {
        *cls = 0;
        *name = c;   /* resolved by the broker */
    }
    return 0;
}

int cli_spec_apply(cli_spec *s, const char *cmd, const cli_opt *o, const char *v)
{
    Ganq__V1__JobSpec *p = &s->spec;
    uint64_t u;
    int64_t i;
    int k;
    switch (o->id) {
    case O_MODEL:   p->model = (char *)v; return 0;
    case O_SEED:
        if (cli_parse_u64(cmd, o->name, v, 0, UINT64_MAX, &u)) return -1;
        p->seed = u;
        return 0;
    case O_CLASSES: p->classes = (char *)v; return 0;
    case O_FORMAT: {
        static const char *const f[] = {"png", "jpeg", "npz", "wds", "jpg", NULL};
        if (cli_parse_choice(cmd, o->name, v, f, &k)) return -1;
        static const int map[] = {GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG,
                                  GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG,
                                  GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ,
                                  GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS,
                                  GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG};
        p->format = map[k];
        return 0;
    }
    case O_OUT:
        free(s->out_dir);
        if (cli_abs_path(cmd, o->name, v, &s->out_dir)) return -1;
        p->out_dir = s->out_dir;
        return 0;
    case O_PRIORITY:
        if (cli_parse_i64(cmd, o->name, v, -100, 100, &i)) return -1;
        p->priority = (int32_t)i;
        return 0;
    case O_OWNER:   p->owner = (char *)v; return 0;
    case O_TASK_SIZE:
        if (cli_parse_u64(cmd, o->name, v, 1, PLAN_MAX_IMAGES, &u)) return -1;
        p->task_size = (uint32_t)u;
        return 0;
    case O_PNG_LEVEL:
        if (cli_parse_i64(cmd, o->name, v, 0, 9, &i)) return -1;
        p->png_level = i == 0 ? -1 : (int32_t)i;   /* 0 on the wire means "default" */
        return 0;
    case O_JPEG_Q:
        if (cli_parse_i64(cmd, o->name, v, 1, 100, &i)) return -1;
        p->jpeg_quality = (int32_t)i;
        return 0;
    case O_NAME:    p->name = (char *)v; return 0;
    case O_MAX_ATTEMPTS:
        if (cli_parse_u64(cmd, o->name, v, 1, WIRE_MAX_ATTEMPTS, &u)) return -1;
        p->max_attempts = (uint32_t)u;
        return 0;
    case O_SHA:     p->model_sha256 = (char *)v; return 0;
    case O_JSON:    s->json = 1; return 0;
    case O_COUNT:
        if (cli_parse_u64(cmd, o->name, v, 1, PLAN_MAX_IMAGES, &u)) return -1;
        p->count = u;
        return 0;
    case O_TRUNC:
    case O_TRUNCS: {
        double *vals;
        size_t n;
        if (cli_parse_doubles(cmd, o->name, v, o->id == O_TRUNCS, &vals, &n)) return -1;
        for (size_t j = 0; j < n; j++)
            if (!(vals[j] > 0 && vals[j] <= WIRE_MAX_TRUNC_VAL)) {
                cli_usage_fail(cmd, "--%s: %g is outside (0, %g]", o->name, vals[j],
                               WIRE_MAX_TRUNC_VAL);
                free(vals);
                return -1;
            }
        if (n > PLAN_MAX_TRUNCATIONS) {
            cli_usage_fail(cmd, "--%s: %zu values is more than %d", o->name, n,
                           PLAN_MAX_TRUNCATIONS);
            free(vals);
            return -1;
        }
        if (p->kind == GANQ__V1__JOB_KIND__KIND_INTERPOLATE && n != 1) {
            cli_usage_fail(cmd, "--%s: interpolate takes one value", o->name);
            free(vals);
            return -1;
        }
        free(s->truncs);
        s->truncs = vals;
        p->truncations = vals;
        p->n_truncations = n;
        return 0;
    }
    case O_SHEET:   p->sheet = 1; return 0;
    case O_PER_CLASS:
        if (cli_parse_u64(cmd, o->name, v, 1, PLAN_MAX_IMAGES, &u)) return -1;
        p->per_class = u;
        return 0;
    case O_VAL_FRACTION: {
        double d;
        if (cli_parse_double(cmd, o->name, v, &d)) return -1;
        if (d < 0 || d > 1) {
            cli_usage_fail(cmd, "--%s: %g is outside [0, 1]", o->name, d);
            return -1;
        }
        p->val_fraction = d;
        return 0;
    }
    case O_LAYOUT: {
        static const char *const l[] = {"flat", "imagefolder", "wds", NULL};
        if (cli_parse_choice(cmd, o->name, v, l, &k)) return -1;
        p->layout = k + 1;
        return 0;
    }
    case O_SHARD:
        if (cli_parse_u64(cmd, o->name, v, 1, PLAN_MAX_SHARD, &u)) return -1;
        p->shard_size = (uint32_t)u;
        return 0;
    case O_PER_VALUE:
        if (cli_parse_u64(cmd, o->name, v, 1, PLAN_MAX_IMAGES, &u)) return -1;
        p->per_value = u;
        return 0;
    case O_FROM:
        if (parse_point(cmd, o->name, v, &p->class_a, &s->from_name, &u)) return -1;
        p->seed_a = u;
        s->have_from = 1;
        p->class_a_name = s->from_name;
        return 0;
    case O_TO:
        if (parse_point(cmd, o->name, v, &p->class_b, &s->to_name, &u)) return -1;
        p->seed_b = u;
        s->have_to = 1;
        p->class_b_name = s->to_name;
        return 0;
    case O_STEPS:
        if (cli_parse_u64(cmd, o->name, v, 2, PLAN_MAX_STEPS, &u)) return -1;
        p->steps = (uint32_t)u;
        return 0;
    case O_MODE: {
        static const char *const m[] = {"z", "class", "both", NULL};
        if (cli_parse_choice(cmd, o->name, v, m, &k)) return -1;
        p->interp = k + 1;
        return 0;
    }
    default:
        cli_usage_fail(cmd, "--%s: not handled (a bug)", o->name);
        return -1;
    }
}

static int need(const char *cmd, int ok, const char *flag)
{
    if (!ok) {
        cli_usage_fail(cmd, "--%s is required (see '%s --help')", flag, cmd);
        return -1;
    }
    return 0;
}

int cli_spec_finish(cli_spec *s, const char *cmd)
{
    Ganq__V1__JobSpec *p = &s->spec;
    if (need(cmd, p->model && *p->model, "model") || need(cmd, s->out_dir != NULL, "out"))
        return -1;
    switch (p->kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        if (need(cmd, p->count > 0, "count"))
            return -1;
        break;
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:
        if (need(cmd, p->per_class > 0, "per-class"))
            return -1;
        if (!p->layout)   /* npz files hold many images: no class folders */
            p->layout = p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS
                            ? GANQ__V1__LAYOUT__LAYOUT_WDS
                        : p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ
                            ? GANQ__V1__LAYOUT__LAYOUT_FLAT
                            : GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER;
        if (p->layout == GANQ__V1__LAYOUT__LAYOUT_WDS) {
            /* --format names the image encoding inside the shards. */
            if (p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG ||
                p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG)
                p->wds_image = p->format;
            else if (p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ) {
                cli_usage_fail(cmd, "--format: npz cannot go inside wds shards (png or jpeg)");
                return -1;
            }
            p->format = GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
        }
        break;
    case GANQ__V1__JOB_KIND__KIND_SWEEP:
        if (need(cmd, p->n_truncations > 0, "truncations") ||
            need(cmd, p->per_value > 0, "per-value"))
            return -1;
        break;
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE:
        if (need(cmd, s->have_from, "from") || need(cmd, s->have_to, "to") ||
            need(cmd, p->steps > 0, "steps"))
            return -1;
        break;
    default:
        break;
    }
    if (!p->format)
        p->format = GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    /* Container formats need a size; --shard-size refuses 0, so 0 here means "not given". */
    if (!p->shard_size && (p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ ||
                           p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS))
        p->shard_size = CLI_DEFAULT_SHARD_SIZE;
    return 0;
}

int cli_spec_submit_env(cli_spec *s, const char *cmd, Ganq__V1__Envelope *env,
                        Ganq__V1__Submit *sub)
{
    gq_error err;
    if (cli_spec_finish(s, cmd))
        return -1;
    ganq__v1__submit__init(sub);
    wire_env_init(env, 0);
    sub->spec = &s->spec;
    env->body_case = GANQ__V1__ENVELOPE__BODY_SUBMIT;
    env->submit = sub;
    gq_error_clear(&err);
    if (wire_validate(env, &err)) {
        cli_usage_fail(cmd, "%s", err.msg);
        return -1;
    }
    return 0;
}
