/* plan.c: the job plan (see plan.h for the index layout, defaults and paths).
 *
 * plan_init validates a resolved JobSpec against the model and the limits, applies the
 * defaults, and copies what image lookups need: the class list, the truncation list, the
 * per-model class folders and the split/container geometry. Everything after plan_init is a
 * pure function of the plan, so broker and worker agree on every image without talking.
 *
 * Subtle points:
 *   - totals are computed with overflow checks before any multiplication is trusted;
 *   - synthesize puts the val images first (plan.h), so a split is one contiguous range and
 *     its containers are contiguous too; containers follow the global shard_size grid (cut
 *     once more at the val/train boundary), so uniform task sizes never cut one;
 *   - the hash picking a truncation from a list is splitmix64, fixed forever: changing it
 *     changes every image of such jobs.
 * plan_fill_inputs lives in plan_inputs.c, which alone needs the engine's noise.
 */
#include "proto/plan/plan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "proto/plan/plan_impl.h"

#define PLAN_MAX_CLASS_LIST 1000000  /* entries of class_ids */
#define PLAN_MAX_MODEL_CLASSES 100000

uint64_t plan_hash(uint64_t seed, uint64_t i)
{
    uint64_t x = seed ^ (i * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static int digits_of(uint64_t v)
{
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static int pad_width(uint64_t n)   /* digits for indices [0, n) */
{
    int d = digits_of(n ? n - 1 : 0);
    return d < 6 ? 6 : d;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* Folder-safe form of a class name (plan.h). OUT: malloc'd. */
static char *sanitize(const char *name)
{
    size_t n = strlen(name);
    int only_dots = 1;
    char *p = malloc(n + 7);
    if (!p)
        return NULL;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)name[k];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        p[k] = ok ? (char)c : '_';
        if (c != '.')
            only_dots = 0;
    }
    p[n] = '\0';
    if (only_dots)
        strcpy(p, "class");
    return p;
}

static int cmp_folder(const void *a, const void *b, void *ctx)
{
    char *const *f = ctx;
    int ia = *(const int *)a, ib = *(const int *)b;
    int c = strcmp(f[ia], f[ib]);
    return c ? c : (ia > ib) - (ia < ib);
}

/* Names and folders for every model class. */
static int build_names(plan *p, const plan_model *m, gq_error *err)
{
    int n = m->num_classes;
    int *order = NULL;
    char **raw = NULL;
    p->names = calloc((size_t)n, sizeof *p->names);
    p->folders = calloc((size_t)n, sizeof *p->folders);
    raw = calloc((size_t)n, sizeof *raw);
    order = malloc((size_t)n * sizeof *order);
    if (!p->names || !p->folders || !raw || !order)
        goto oom;
    for (int k = 0; k < n; k++) {
        char idbuf[24];
        const char *nm = m->class_names ? m->class_names[k] : NULL;
        if (!nm || !*nm) {
            snprintf(idbuf, sizeof idbuf, "%d", k);
            nm = idbuf;
        }
        p->names[k] = dup_str(nm);
        raw[k] = p->names[k] ? sanitize(p->names[k]) : NULL;
        if (!p->names[k] || !raw[k])
            goto oom;
        order[k] = k;
    }
    qsort_r(order, (size_t)n, sizeof *order, cmp_folder, raw);
    for (int a = 0; a < n;) {
        int b = a + 1;
        while (b < n && strcmp(raw[order[a]], raw[order[b]]) == 0)
            b++;
        for (int k = a; k < b; k++) {
            int id = order[k];
            if (b - a == 1) {
                p->folders[id] = raw[id];
                raw[id] = NULL;
            } else {
                size_t len = strlen(raw[id]) + 24;
                p->folders[id] = malloc(len);
                if (!p->folders[id])
                    goto oom;
                snprintf(p->folders[id], len, "%s_%d", raw[id], id);
            }
        }
        a = b;
    }
    for (int k = 0; k < n; k++)
        free(raw[k]);
    free(raw);
    free(order);
    return 0;
oom:
    if (raw)
        for (int k = 0; k < n; k++)
            free(raw[k]);
    free(raw);
    free(order);
    return gq_fail(err, GQ_ENOMEM, "plan: out of memory for %d class names", n);
}

static int check_class(const plan_model *m, const char *field, int32_t id, gq_error *err)
{
    if (id < 0 || id >= m->num_classes)
        return gq_fail(err, GQ_EINVAL, "%s: class id %d is outside [0, %d) of the model", field,
                       (int)id, m->num_classes);
    return 0;
}

static int check_truncation(const plan_model *m, double t, gq_error *err)
{
    double hi = m->standing_stats ? 1.0 : 2.0;
    if (!isfinite(t) || t <= 0.0 || t > hi)
        return gq_fail(err, GQ_EINVAL,
                       "truncations: %g is outside (0, %g]%s", t, hi,
                       m->standing_stats ? " (the model uses standing statistics)" : "");
    return 0;
}

static int mul_ok(uint64_t a, uint64_t b, uint64_t *r)
{
    if (a && b > UINT64_MAX / a)
        return 0;
    *r = a * b;
    return 1;
}

static const char *kind_name(int k)
{
    switch (k) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:    return "generate";
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:  return "synthesize";
    case GANQ__V1__JOB_KIND__KIND_SWEEP:       return "sweep";
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE: return "interpolate";
    default:                                   return "unknown";
    }
}

static const char *format_name(int f)
{
    switch (f) {
    case GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG:  return "png";
    case GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG: return "jpeg";
    case GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ:  return "npz";
    case GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS:  return "wds";
    default:                                   return "unspecified";
    }
}

/* Formats, layouts, levels, shard size. */
static int resolve_output(plan *p, const Ganq__V1__JobSpec *s, gq_error *err)
{
    int kind = p->kind;
    int gen_syn = kind == GANQ__V1__JOB_KIND__KIND_GENERATE ||
                  kind == GANQ__V1__JOB_KIND__KIND_SYNTHESIZE;
    int f = s->format, l = s->layout;

    if (f < GANQ__V1__OUTPUT_FORMAT__FORMAT_UNSPECIFIED || f > GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS)
        return gq_fail(err, GQ_EINVAL, "format: %d is not png, jpeg, npz or wds", f);
    if (l < GANQ__V1__LAYOUT__LAYOUT_UNSPECIFIED || l > GANQ__V1__LAYOUT__LAYOUT_WDS)
        return gq_fail(err, GQ_EINVAL, "layout: %d is not flat, imagefolder or wds", l);
    if (f == GANQ__V1__OUTPUT_FORMAT__FORMAT_UNSPECIFIED)
        f = l == GANQ__V1__LAYOUT__LAYOUT_WDS ? GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS
                                              : GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    if (l == GANQ__V1__LAYOUT__LAYOUT_UNSPECIFIED) {
        if (f == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS)
            l = GANQ__V1__LAYOUT__LAYOUT_WDS;
        else if (kind == GANQ__V1__JOB_KIND__KIND_SYNTHESIZE &&
                 f != GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ)
            l = GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER;
        else
            l = GANQ__V1__LAYOUT__LAYOUT_FLAT;
    }
    if (f == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ || f == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS) {
        if (!gen_syn)
            return gq_fail(err, GQ_EINVAL, "format: %s is for generate and synthesize jobs, "
                           "not %s (use png or jpeg)", format_name(f), kind_name(kind));
        if (s->shard_size < 1)
            return gq_fail(err, GQ_EINVAL, "shard_size: 0 is not allowed for %s; give the "
                           "images per %s, 1..%d", format_name(f),
                           f == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS ? "shard" : "file",
                           PLAN_MAX_SHARD);
        if (s->shard_size > PLAN_MAX_SHARD)
            return gq_fail(err, GQ_EINVAL, "shard_size: %u is above %d", s->shard_size,
                           PLAN_MAX_SHARD);
    }
    if (f == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS && l != GANQ__V1__LAYOUT__LAYOUT_WDS)
        return gq_fail(err, GQ_EINVAL, "layout: format wds needs layout wds");
    if (l == GANQ__V1__LAYOUT__LAYOUT_WDS && f != GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS)
        return gq_fail(err, GQ_EINVAL, "layout: wds needs format wds, not %s", format_name(f));
    if (f == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ && l != GANQ__V1__LAYOUT__LAYOUT_FLAT)
        return gq_fail(err, GQ_EINVAL, "layout: format npz writes flat files only");
    if (l == GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER && !gen_syn)
        return gq_fail(err, GQ_EINVAL, "layout: imagefolder is for generate and synthesize, "
                       "not %s", kind_name(kind));
    if (s->sheet && (kind != GANQ__V1__JOB_KIND__KIND_GENERATE ||
                     (f != GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG &&
                      f != GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG)))
        return gq_fail(err, GQ_EINVAL, "sheet: only generate jobs writing png or jpeg have a "
                       "sheet");
    p->format = f;
    p->layout = l;
    p->shard = s->shard_size;

    p->wds_image = s->wds_image ? (int)s->wds_image : GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    if (p->wds_image != GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG &&
        p->wds_image != GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG)
        return gq_fail(err, GQ_EINVAL, "wds_image: %s is not allowed inside shards (png or "
                       "jpeg)", format_name(p->wds_image));
    if (s->png_level < -1 || s->png_level > 9)
        return gq_fail(err, GQ_EINVAL, "png_level: %d is outside 0..9 (-1 = store)",
                       (int)s->png_level);
    p->png_level = s->png_level == 0 ? 6 : s->png_level == -1 ? 0 : s->png_level;
    if (s->jpeg_quality < 0 || s->jpeg_quality > 100)
        return gq_fail(err, GQ_EINVAL, "jpeg_quality: %d is outside 1..100",
                       (int)s->jpeg_quality);
    p->jpeg_quality = s->jpeg_quality ? s->jpeg_quality : 95;
    return 0;
}

/* Split ranges and container geometry (container formats only). */
static void build_splits(plan *p)
{
    p->n_splits = 0;
    if (p->kind == GANQ__V1__JOB_KIND__KIND_SYNTHESIZE) {
        uint64_t v = (uint64_t)p->n_cls * p->n_val;
        if (v > 0)
            p->splits[p->n_splits++] = (plan_split){"val", 0, v, 0, 0};
        if (v < p->total)
            p->splits[p->n_splits++] = (plan_split){"train", v, p->total, 0, 0};
    } else {
        p->splits[p->n_splits++] = (plan_split){NULL, 0, p->total, 0, 0};
    }
    p->n_containers = 0;
    if (!p->shard)
        return;
    /* containers are the shard_size blocks of the global index grid, cut again where a split
     * ends: every container lies inside one block, so tasks of any multiple of shard_size
     * starting at 0 hold whole containers */
    for (int k = 0; k < p->n_splits; k++) {
        plan_split *sp = &p->splits[k];
        sp->first_container = p->n_containers;
        sp->n_containers = (sp->end + p->shard - 1) / p->shard - sp->first / p->shard;
        p->n_containers += sp->n_containers;
    }
}

/* Sweep folder names: fewest decimals >= 2 telling all values apart. */
static int build_value_folders(plan *p, gq_error *err)
{
    int n = p->n_trunc;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++)
            if (p->trunc[a] == p->trunc[b])
                return gq_fail(err, GQ_EINVAL, "truncations: %g appears twice in the sweep",
                               p->trunc[a]);
    p->value_folders = calloc((size_t)n, sizeof *p->value_folders);
    if (!p->value_folders)
        return gq_fail(err, GQ_ENOMEM, "plan: out of memory");
    for (int d = 2; d <= 17; d++) {
        int clash = 0;
        for (int a = 0; a < n; a++) {
            char buf[64];
            snprintf(buf, sizeof buf, "t%.*f", d, p->trunc[a]);
            free(p->value_folders[a]);
            p->value_folders[a] = dup_str(buf);
            if (!p->value_folders[a])
                return gq_fail(err, GQ_ENOMEM, "plan: out of memory");
        }
        for (int a = 0; a < n && !clash; a++)
            for (int b = a + 1; b < n && !clash; b++)
                clash = strcmp(p->value_folders[a], p->value_folders[b]) == 0;
        if (!clash)
            return 0;
    }
    return gq_fail(err, GQ_EINVAL, "truncations: sweep values cannot be told apart in folder "
                   "names");
}

int plan_init(const Ganq__V1__JobSpec *s, const plan_model *m, plan **out, gq_error *err)
{
    plan *p = NULL;
    int rc;

    *out = NULL;
    if (!s || !m)
        return gq_fail(err, GQ_EINVAL, "plan: spec and model are required");
    if (m->num_classes < 1 || m->num_classes > PLAN_MAX_MODEL_CLASSES)
        return gq_fail(err, GQ_EINVAL, "model: num_classes %d is outside 1..%d",
                       m->num_classes, PLAN_MAX_MODEL_CLASSES);
    if (m->z_dim < 0 || m->z_dim > 100000)
        return gq_fail(err, GQ_EINVAL, "model: z_dim %d is outside 0..100000", m->z_dim);
    if (s->kind < GANQ__V1__JOB_KIND__KIND_GENERATE || s->kind > GANQ__V1__JOB_KIND__KIND_INTERPOLATE)
        return gq_fail(err, GQ_EINVAL, "kind: %d is not generate, synthesize, sweep or "
                       "interpolate", (int)s->kind);
    p = calloc(1, sizeof *p);
    if (!p)
        return gq_fail(err, GQ_ENOMEM, "plan: out of memory");
    p->kind = s->kind;
    p->seed = s->seed;
    p->num_classes = m->num_classes;
    p->z_dim = m->z_dim;
    p->standing = m->standing_stats;
    p->class_a = p->class_b = -1;

    /* classes */
    if (p->kind != GANQ__V1__JOB_KIND__KIND_INTERPOLATE) {
        if (s->n_class_ids < 1) {
            rc = gq_fail(err, GQ_EINVAL, "class_ids: the job names no class (classes \"%s\" "
                         "resolved to nothing)", s->classes ? s->classes : "");
            goto fail;
        }
        if (s->n_class_ids > PLAN_MAX_CLASS_LIST) {
            rc = gq_fail(err, GQ_EINVAL, "class_ids: %zu entries, at most %d", s->n_class_ids,
                         PLAN_MAX_CLASS_LIST);
            goto fail;
        }
        for (size_t k = 0; k < s->n_class_ids; k++)
            if ((rc = check_class(m, "class_ids", s->class_ids[k], err)) < 0)
                goto fail;
        p->n_cls = (int)s->n_class_ids;
        p->cls = malloc((size_t)p->n_cls * sizeof *p->cls);
        if (!p->cls)
            goto oom;
        memcpy(p->cls, s->class_ids, (size_t)p->n_cls * sizeof *p->cls);
    }

    /* truncations */
    if (s->n_truncations > PLAN_MAX_TRUNCATIONS) {
        rc = gq_fail(err, GQ_EINVAL, "truncations: %zu values, at most %d", s->n_truncations,
                     PLAN_MAX_TRUNCATIONS);
        goto fail;
    }
    for (size_t k = 0; k < s->n_truncations; k++)
        if ((rc = check_truncation(m, s->truncations[k], err)) < 0)
            goto fail;
    if (s->n_truncations == 0 && p->kind == GANQ__V1__JOB_KIND__KIND_SWEEP) {
        rc = gq_fail(err, GQ_EINVAL, "truncations: a sweep needs at least one value");
        goto fail;
    }
    if (s->n_truncations > 1 && p->kind == GANQ__V1__JOB_KIND__KIND_INTERPOLATE) {
        rc = gq_fail(err, GQ_EINVAL, "truncations: an interpolation takes one value, not %zu",
                     s->n_truncations);
        goto fail;
    }
    p->n_trunc = s->n_truncations ? (int)s->n_truncations : 1;
    p->trunc = malloc((size_t)p->n_trunc * sizeof *p->trunc);
    if (!p->trunc)
        goto oom;
    if (s->n_truncations)
        memcpy(p->trunc, s->truncations, s->n_truncations * sizeof *p->trunc);
    else
        p->trunc[0] = 1.0;

    /* counts */
    switch (p->kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        if (s->count < 1 || s->count > PLAN_MAX_IMAGES) {
            rc = gq_fail(err, GQ_EINVAL, "count: %llu is outside 1..%llu",
                         (unsigned long long)s->count, PLAN_MAX_IMAGES);
            goto fail;
        }
        p->total = s->count;
        break;
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE: {
        double vf = s->val_fraction;
        if (s->per_class < 1 || s->per_class > PLAN_MAX_IMAGES) {
            rc = gq_fail(err, GQ_EINVAL, "per_class: %llu is outside 1..%llu",
                         (unsigned long long)s->per_class, PLAN_MAX_IMAGES);
            goto fail;
        }
        if (!mul_ok(s->per_class, (uint64_t)p->n_cls, &p->total) || p->total > PLAN_MAX_IMAGES) {
            rc = gq_fail(err, GQ_EINVAL, "per_class: %llu images for each of %d classes is "
                         "above the limit of %llu images", (unsigned long long)s->per_class,
                         p->n_cls, PLAN_MAX_IMAGES);
            goto fail;
        }
        if (!isfinite(vf) || vf < 0.0 || vf >= 1.0) {
            rc = gq_fail(err, GQ_EINVAL, "val_fraction: %g is outside [0, 1)", vf);
            goto fail;
        }
        p->per_class = s->per_class;
        p->val_fraction = vf;
        p->n_val = (uint64_t)floor(vf * (double)s->per_class + 0.5);
        if (p->n_val > p->per_class)
            p->n_val = p->per_class;
        break;
    }
    case GANQ__V1__JOB_KIND__KIND_SWEEP:
        if (s->per_value < 1 || s->per_value > PLAN_MAX_IMAGES) {
            rc = gq_fail(err, GQ_EINVAL, "per_value: %llu is outside 1..%llu",
                         (unsigned long long)s->per_value, PLAN_MAX_IMAGES);
            goto fail;
        }
        if (!mul_ok(s->per_value, (uint64_t)p->n_trunc, &p->total) ||
            p->total > PLAN_MAX_IMAGES) {
            rc = gq_fail(err, GQ_EINVAL, "per_value: %llu samples at each of %d values is "
                         "above the limit of %llu images", (unsigned long long)s->per_value,
                         p->n_trunc, PLAN_MAX_IMAGES);
            goto fail;
        }
        p->per_value = s->per_value;
        if ((rc = build_value_folders(p, err)) < 0)
            goto fail;
        break;
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE:
        if (s->steps < 2 || s->steps > PLAN_MAX_STEPS) {
            rc = gq_fail(err, GQ_EINVAL, "steps: %u is outside 2..%d", s->steps, PLAN_MAX_STEPS);
            goto fail;
        }
        if ((rc = check_class(m, "class_a", s->class_a, err)) < 0 ||
            (rc = check_class(m, "class_b", s->class_b, err)) < 0)
            goto fail;
        if (s->interp < GANQ__V1__INTERP_MODE__INTERP_UNSPECIFIED ||
            s->interp > GANQ__V1__INTERP_MODE__INTERP_BOTH) {
            rc = gq_fail(err, GQ_EINVAL, "interp: %d is not z, class or both", (int)s->interp);
            goto fail;
        }
        p->interp = s->interp ? (int)s->interp : GANQ__V1__INTERP_MODE__INTERP_BOTH;
        p->class_a = s->class_a;
        p->class_b = s->class_b;
        p->seed_a = s->seed_a;
        p->seed_b = s->seed_b;
        p->total = s->steps;
        /* the class list of an interpolation is its two endpoints */
        p->n_cls = 2;
        p->cls = malloc(2 * sizeof *p->cls);
        if (!p->cls)
            goto oom;
        p->cls[0] = s->class_a;
        p->cls[1] = s->class_b;
        break;
    }
    p->width = pad_width(p->total);

    if ((rc = resolve_output(p, s, err)) < 0)
        goto fail;
    if ((rc = build_names(p, m, err)) < 0)
        goto fail;
    build_splits(p);
    *out = p;
    return 0;
oom:
    rc = gq_fail(err, GQ_ENOMEM, "plan: out of memory");
fail:
    plan_free(p);
    return rc;
}

void plan_free(plan *p)
{
    if (!p)
        return;
    if (p->names)
        for (int k = 0; k < p->num_classes; k++)
            free(p->names[k]);
    if (p->folders)
        for (int k = 0; k < p->num_classes; k++)
            free(p->folders[k]);
    if (p->value_folders)
        for (int k = 0; k < p->n_trunc; k++)
            free(p->value_folders[k]);
    free(p->value_folders);
    free(p->names);
    free(p->folders);
    free(p->cls);
    free(p->trunc);
    free(p);
}

uint64_t plan_total(const plan *p) { return p->total; }

static double pick_truncation(const plan *p, uint64_t i)
{
    if (p->n_trunc == 1)
        return p->trunc[0];
    return p->trunc[plan_hash(p->seed, i) % (uint64_t)p->n_trunc];
}

void plan_image_at(const plan *p, uint64_t i, plan_image *o)
{
    GQ_ASSERT(i < p->total);
    memset(o, 0, sizeof *o);
    o->index = i;
    o->class_b = -1;
    o->z_seed = p->seed;
    o->z_index = i;
    o->z_seed_b = p->seed;
    switch (p->kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        o->class_id = p->cls[i % (uint64_t)p->n_cls];
        o->truncation = pick_truncation(p, i);
        break;
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE: {
        uint64_t v = (uint64_t)p->n_cls * p->n_val;
        if (i < v) {
            o->class_id = p->cls[i / p->n_val];
            o->split = "val";
        } else {
            uint64_t nt = p->per_class - p->n_val;
            o->class_id = p->cls[(i - v) / nt];
            o->split = "train";
        }
        o->truncation = pick_truncation(p, i);
        break;
    }
    case GANQ__V1__JOB_KIND__KIND_SWEEP: {
        uint64_t v = i / p->per_value, s = i % p->per_value;
        o->truncation = p->trunc[v];
        o->class_id = p->cls[s % (uint64_t)p->n_cls];
        o->z_index = s;
        break;
    }
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE: {
        float a = (float)((double)i / (double)(p->total - 1));
        o->class_id = p->class_a;
        o->truncation = p->trunc[0];
        o->z_seed = p->seed_a;
        o->z_index = 0;
        o->z_seed_b = p->seed_a;
        if (p->interp != GANQ__V1__INTERP_MODE__INTERP_Z) {
            o->class_b = p->class_b;
            o->class_alpha = a;
        }
        if (p->interp != GANQ__V1__INTERP_MODE__INTERP_CLASS) {
            o->z_seed_b = p->seed_b;
            o->z_alpha = a;
        }
        break;
    }
    default:
        GQ_ASSERT(!"plan kind");
    }
}

int plan_uses_class_vectors(const plan *p)
{
    return p->kind == GANQ__V1__JOB_KIND__KIND_INTERPOLATE &&
           p->interp != GANQ__V1__INTERP_MODE__INTERP_Z;
}

static const char *ext_of(int format)
{
    return format == GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG ? "jpg" : "png";
}

static int put(char *buf, size_t n, int len)
{
    return len < 0 || (size_t)len >= n ? GQ_EINVAL : 0;
}

int plan_image_key(const plan *p, uint64_t i, char *buf, size_t n)
{
    return put(buf, n, snprintf(buf, n, "%0*llu", p->width, (unsigned long long)i));
}

int plan_output_path(const plan *p, uint64_t i, char *buf, size_t n)
{
    plan_image im;
    const char *ext = ext_of(p->format);
    if (p->format != GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG &&
        p->format != GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG)
        return GQ_EINVAL;
    if (i >= p->total)
        return GQ_EINVAL;
    plan_image_at(p, i, &im);
    if (p->kind == GANQ__V1__JOB_KIND__KIND_SWEEP) {
        uint64_t v = i / p->per_value, s = i % p->per_value;
        return put(buf, n, snprintf(buf, n, "%s/%0*llu.%s", p->value_folders[v],
                                    pad_width(p->per_value), (unsigned long long)s, ext));
    }
    if (p->layout == GANQ__V1__LAYOUT__LAYOUT_IMAGEFOLDER) {
        if (im.split)
            return put(buf, n, snprintf(buf, n, "%s/%s/%0*llu.%s", im.split,
                                        p->folders[im.class_id], p->width,
                                        (unsigned long long)i, ext));
        return put(buf, n, snprintf(buf, n, "%s/%0*llu.%s", p->folders[im.class_id], p->width,
                                    (unsigned long long)i, ext));
    }
    return put(buf, n, snprintf(buf, n, "%0*llu.%s", p->width, (unsigned long long)i, ext));
}

static const plan_split *split_of(const plan *p, uint64_t i)
{
    for (int k = 0; k < p->n_splits; k++)
        if (i < p->splits[k].end)
            return &p->splits[k];
    GQ_ASSERT(!"index beyond the last split");
    return NULL;
}

uint64_t plan_n_containers(const plan *p) { return p->n_containers; }

uint64_t plan_container_of(const plan *p, uint64_t i)
{
    const plan_split *sp;
    GQ_ASSERT(p->shard > 0 && i < p->total);
    sp = split_of(p, i);
    return sp->first_container + (i / p->shard - sp->first / p->shard);
}

static const plan_split *split_of_container(const plan *p, uint64_t c)
{
    for (int k = 0; k < p->n_splits; k++)
        if (c < p->splits[k].first_container + p->splits[k].n_containers)
            return &p->splits[k];
    return NULL;
}

int plan_container_path(const plan *p, uint64_t c, char *buf, size_t n)
{
    const plan_split *sp;
    if (!p->shard || c >= p->n_containers)
        return GQ_EINVAL;
    sp = split_of_container(p, c);
    return put(buf, n, snprintf(buf, n, "%s-%06llu.%s", sp->name ? sp->name : "samples",
                                (unsigned long long)(c - sp->first_container),
                                p->format == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ ? "npz" : "tar"));
}

void plan_container_range(const plan *p, uint64_t c, uint64_t *first, uint64_t *end)
{
    const plan_split *sp;
    uint64_t block;
    GQ_ASSERT(p->shard > 0 && c < p->n_containers);
    sp = split_of_container(p, c);
    block = sp->first / p->shard + (c - sp->first_container);
    *first = block * p->shard < sp->first ? sp->first : block * p->shard;
    *end = (block + 1) * p->shard > sp->end ? sp->end : (block + 1) * p->shard;
}

uint64_t plan_task_align(const plan *p) { return p->shard ? p->shard : 1; }

uint64_t plan_task_end(const plan *p, uint64_t start, uint64_t want)
{
    uint64_t align = plan_task_align(p);
    GQ_ASSERT(start < p->total);
    if (want < 1)
        want = 1;
    want = (want + align - 1) / align * align;
    return p->total - start < want ? p->total : start + want;
}

const char *plan_class_name(const plan *p, int32_t id)
{
    GQ_ASSERT(id >= 0 && id < p->num_classes);
    return p->names[id];
}

const char *plan_class_folder(const plan *p, int32_t id)
{
    GQ_ASSERT(id >= 0 && id < p->num_classes);
    return p->folders[id];
}

Ganq__V1__JobKind plan_kind(const plan *p) { return (Ganq__V1__JobKind)p->kind; }
Ganq__V1__OutputFormat plan_format(const plan *p) { return (Ganq__V1__OutputFormat)p->format; }
Ganq__V1__Layout plan_layout(const plan *p) { return (Ganq__V1__Layout)p->layout; }
Ganq__V1__OutputFormat plan_wds_image(const plan *p)
{
    return (Ganq__V1__OutputFormat)p->wds_image;
}
int plan_png_level(const plan *p) { return p->png_level; }
int plan_jpeg_quality(const plan *p) { return p->jpeg_quality; }
uint64_t plan_seed(const plan *p) { return p->seed; }
int plan_n_classes(const plan *p) { return p->n_cls; }
int32_t plan_class_at(const plan *p, int k)
{
    GQ_ASSERT(k >= 0 && k < p->n_cls);
    return p->cls[k];
}
int plan_n_truncations(const plan *p) { return p->n_trunc; }
double plan_truncation_at(const plan *p, int k)
{
    GQ_ASSERT(k >= 0 && k < p->n_trunc);
    return p->trunc[k];
}
uint64_t plan_per_value(const plan *p) { return p->per_value; }
const char *plan_value_folder(const plan *p, int v)
{
    if (p->kind != GANQ__V1__JOB_KIND__KIND_SWEEP || v < 0 || v >= p->n_trunc)
        return NULL;
    return p->value_folders[v];
}

void plan_model_from_info(const Ganq__V1__ModelInfo *info, plan_model *m)
{
    memset(m, 0, sizeof *m);
    m->num_classes = (int)info->num_classes;
    m->class_names = info->n_class_names >= info->num_classes && info->num_classes
                         ? (const char *const *)info->class_names
                         : NULL;
    m->z_dim = 0;   /* not in ModelInfo: the broker's plans never fill engine inputs */
    m->standing_stats = info->standing_stats;
}
