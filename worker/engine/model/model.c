/* model.c: model file validation and fp32 conversion (see model.h, FORMAT.md).
 *
 * The list of expected tensors is generated from the architecture by expect_deep() and
 * expect_biggan(); each expectation looks the tensor up, checks its shape and marks it
 * used; afterwards any unused tensor is "unexpected". Tensor names follow the source
 * checkpoints (biggan-reference.md sections 2 and 4) with spectral norm folded in:
 *   biggan-deep: embeddings.weight, generator.gen_z.*, generator.layers.<m>.{bn_j.*, conv_j.*},
 *                generator.layers.<attn>.{snconv1x1_theta,phi,g,o_conv}.weight, .gamma,
 *                generator.bn.*, generator.conv_to_rgb.*
 *   biggan:      shared.weight, linear.*, blocks.<i>.0.{bn1,bn2}.{gain,bias}.weight,
 *                .stored_mean/var, {conv1,conv2,conv_sc}.{weight,bias},
 *                blocks.<i>.1.{theta,phi,g,o}.weight, .gamma, output_layer.{0,2}.*
 * Scalars (gamma) may be stored as shape [] or [1]; conv_to_rgb may keep all ch output
 * rows (as HF stores it) or only the 3 used ones.
 */
#include "worker/engine/model/model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "worker/engine/model/safetensors.h"
#include "proto/base/gq_sha256.h"

typedef struct mtensor {
    char  *name;
    float *data;           /* into arena */
} mtensor;

struct model {
    model_arch   arch;
    char        *name;
    char         family_name[16];
    char        *provenance;
    char       **class_names;
    int          nclass;
    char         sha256[65];
    const char  *dtype;
    uint64_t     num_params;
    mtensor     *t;
    size_t       nt;
    float       *arena;
};

typedef struct check {
    const st_file *f;
    unsigned char *used;
    gq_error      *err;
    int            rc;
    model_tensor_cb cb;      /* listing mode (model_expected): report instead of checking */
    void          *cbctx;
} check;

/* Expect tensor `name` with shape dims[0..ndim). ndim -1: a scalar ([] or [1]). alt0 > 0: the
 * first dimension may also be alt0. */
static void want_alt(check *c, const char *name, int alt0, int ndim, const int64_t *dims)
{
    if (c->rc) return;
    if (c->cb) {
        int64_t one = 1;
        c->cb(c->cbctx, name, ndim < 0 ? 1 : ndim, ndim < 0 ? &one : dims);
        return;
    }
    const st_tensor *t = st_find(c->f, name);
    if (!t) { c->rc = gq_fail(c->err, GQ_EFORMAT, "tensor '%s': missing", name); return; }
    size_t idx = (size_t)(t - st_tensor_at(c->f, 0));
    c->used[idx] = 1;
    int ok;
    if (ndim < 0) ok = t->ndim == 0 || (t->ndim == 1 && t->shape[0] == 1);
    else {
        ok = t->ndim == ndim;
        for (int i = 0; ok && i < ndim; i++)
            ok = t->shape[i] == dims[i] || (i == 0 && alt0 > 0 && t->shape[0] == alt0);
    }
    if (!ok) {
        char got[128] = "", exp[128] = "";
        size_t n = 0;
        for (int i = 0; i < t->ndim; i++) n += (size_t)snprintf(got + n, sizeof got - n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
        n = 0;
        for (int i = 0; i < (ndim < 0 ? 1 : ndim); i++) n += (size_t)snprintf(exp + n, sizeof exp - n, "%s%lld", i ? ", " : "", ndim < 0 ? 1LL : (long long)dims[i]);
        c->rc = gq_fail(c->err, GQ_EFORMAT, "tensor '%s': shape [%s], the architecture needs [%s]", name, got, exp);
    }
}

static void want(check *c, int ndim, const int64_t *dims, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void want(check *c, int ndim, const int64_t *dims, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    want_alt(c, name, 0, ndim, dims);
}

#define D(...) ((const int64_t[]){ __VA_ARGS__ })
#define W1(c, a, ...)          want(c, 1, D(a), __VA_ARGS__)
#define W2(c, a, b, ...)       want(c, 2, D(a, b), __VA_ARGS__)
#define W4(c, a, b, e, f, ...) want(c, 4, D(a, b, e, f), __VA_ARGS__)

static void expect_attn(check *c, const char *pfx, int C, const char *o_name)
{
    W4(c, C / 8, C, 1, 1, "%s.%s.weight", pfx, strcmp(o_name, "o") == 0 ? "theta" : "snconv1x1_theta");
    W4(c, C / 8, C, 1, 1, "%s.%s.weight", pfx, strcmp(o_name, "o") == 0 ? "phi" : "snconv1x1_phi");
    W4(c, C / 2, C, 1, 1, "%s.%s.weight", pfx, strcmp(o_name, "o") == 0 ? "g" : "snconv1x1_g");
    W4(c, C, C / 2, 1, 1, "%s.%s.weight", pfx, o_name);
    want(c, -1, NULL, "%s.gamma", pfx);
}

static void expect_deep(check *c, const model_arch *a)
{
    int64_t cd = a->cond_dim, S = a->n_stats, ch = a->ch;
    W2(c, a->z_dim, a->num_classes, "embeddings.weight");
    W2(c, 16 * 16 * ch, cd, "generator.gen_z.weight");
    W1(c, 16 * 16 * ch, "generator.gen_z.bias");
    for (int i = 0; i < a->nblocks; i++) {
        const arch_block *b = &a->blocks[i];
        int64_t mid = b->cin / 4;
        int64_t cj[4] = { b->cin, mid, mid, mid };
        for (int j = 0; j < 4; j++) {
            W2(c, cj[j], cd, "generator.layers.%d.bn_%d.scale.weight", b->module, j);
            W2(c, cj[j], cd, "generator.layers.%d.bn_%d.offset.weight", b->module, j);
            W2(c, S, cj[j], "generator.layers.%d.bn_%d.running_means", b->module, j);
            W2(c, S, cj[j], "generator.layers.%d.bn_%d.running_vars", b->module, j);
        }
        W4(c, mid, b->cin, 1, 1, "generator.layers.%d.conv_0.weight", b->module);
        W4(c, mid, mid, 3, 3, "generator.layers.%d.conv_1.weight", b->module);
        W4(c, mid, mid, 3, 3, "generator.layers.%d.conv_2.weight", b->module);
        W4(c, b->cout, mid, 1, 1, "generator.layers.%d.conv_3.weight", b->module);
        W1(c, mid, "generator.layers.%d.conv_0.bias", b->module);
        W1(c, mid, "generator.layers.%d.conv_1.bias", b->module);
        W1(c, mid, "generator.layers.%d.conv_2.bias", b->module);
        W1(c, b->cout, "generator.layers.%d.conv_3.bias", b->module);
    }
    if (a->attn_after >= 0) {
        char pfx[64];
        snprintf(pfx, sizeof pfx, "generator.layers.%d", a->attn_module);
        expect_attn(c, pfx, a->attn_ch, "snconv1x1_o_conv");
    }
    W1(c, ch, "generator.bn.weight");
    W1(c, ch, "generator.bn.bias");
    W2(c, S, ch, "generator.bn.running_means");
    W2(c, S, ch, "generator.bn.running_vars");
    want_alt(c, "generator.conv_to_rgb.weight", 3, 4, D(ch, ch, 3, 3));
    want_alt(c, "generator.conv_to_rgb.bias", 3, 1, D(ch));
}

static void expect_biggan(check *c, const model_arch *a)
{
    int64_t cd = a->cond_dim;
    W2(c, a->num_classes, a->shared_dim, "shared.weight");
    int64_t c0 = a->blocks[0].cin;
    W2(c, c0 * 16, a->z_chunk, "linear.weight");
    W1(c, c0 * 16, "linear.bias");
    for (int i = 0; i < a->nblocks; i++) {
        const arch_block *b = &a->blocks[i];
        int64_t bc[3] = { 0, b->cin, b->cout };
        for (int j = 1; j <= 2; j++) {
            W2(c, bc[j], cd, "blocks.%d.0.bn%d.gain.weight", i, j);
            W2(c, bc[j], cd, "blocks.%d.0.bn%d.bias.weight", i, j);
            W1(c, bc[j], "blocks.%d.0.bn%d.stored_mean", i, j);
            W1(c, bc[j], "blocks.%d.0.bn%d.stored_var", i, j);
        }
        W4(c, b->cout, b->cin, 3, 3, "blocks.%d.0.conv1.weight", i);
        W1(c, b->cout, "blocks.%d.0.conv1.bias", i);
        W4(c, b->cout, b->cout, 3, 3, "blocks.%d.0.conv2.weight", i);
        W1(c, b->cout, "blocks.%d.0.conv2.bias", i);
        W4(c, b->cout, b->cin, 1, 1, "blocks.%d.0.conv_sc.weight", i);
        W1(c, b->cout, "blocks.%d.0.conv_sc.bias", i);
    }
    if (a->attn_after >= 0) {
        char pfx[64];
        snprintf(pfx, sizeof pfx, "blocks.%d.1", a->attn_after);
        expect_attn(c, pfx, a->attn_ch, "o");
    }
    int64_t co = a->blocks[a->nblocks - 1].cout;
    W1(c, co, "output_layer.0.gain");
    W1(c, co, "output_layer.0.bias");
    W1(c, co, "output_layer.0.stored_mean");
    W1(c, co, "output_layer.0.stored_var");
    W4(c, 3, co, 3, 3, "output_layer.2.weight");
    W1(c, 3, "output_layer.2.bias");
}

void model_free(model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nt; i++) free(m->t[i].name);
    free(m->t);
    free(m->arena);
    if (m->class_names)
        for (int i = 0; i < m->nclass; i++) free(m->class_names[i]);
    free(m->class_names);
    free(m->provenance);
    free(m->name);
    free(m);
}

static const char *meta_str(const json_value *meta, const char *key)
{
    const json_value *v = json_get(meta, key);
    return v && v->type == JSON_STRING ? v->str : NULL;
}

static int is_buffer(const char *name)
{
    const char *dot = strrchr(name, '.');
    dot = dot ? dot + 1 : name;
    return !strcmp(dot, "running_means") || !strcmp(dot, "running_vars") ||
           !strcmp(dot, "stored_mean") || !strcmp(dot, "stored_var");
}

static int load(const st_file *f, const char *name, model **out, gq_error *err)
{
    *out = NULL;
    model *m = calloc(1, sizeof *m);
    json_value *archj = NULL, *namesj = NULL;
    check c = { f, NULL, err, 0, NULL, NULL };
    int rc = 0;
    if (!m) return gq_fail(err, GQ_ENOMEM, "model: out of memory");
    m->name = strdup(name);
    if (!m->name) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory"); goto fail; }
    const json_value *meta = st_metadata(f);
    if (!meta) { rc = gq_fail(err, GQ_EFORMAT, "__metadata__: missing (not a ganq model file)"); goto fail; }
    const char *ver = meta_str(meta, "ganq.format_version");
    if (!ver) { rc = gq_fail(err, GQ_EFORMAT, "__metadata__: ganq.format_version missing (not a ganq model file)"); goto fail; }
    if (strcmp(ver, "1") != 0) { rc = gq_fail(err, GQ_EFORMAT, "ganq.format_version: '%s' is not supported (only \"1\")", ver); goto fail; }
    const char *fam = meta_str(meta, "ganq.family");
    if (!fam) { rc = gq_fail(err, GQ_EFORMAT, "ganq.family: missing"); goto fail; }
    snprintf(m->family_name, sizeof m->family_name, "%s", fam);
    const char *as = meta_str(meta, "ganq.arch");
    if (!as) { rc = gq_fail(err, GQ_EFORMAT, "ganq.arch: missing"); goto fail; }
    gq_error je;
    gq_error_clear(&je);
    if ((rc = json_parse(as, strlen(as), &archj, &je))) { gq_fail(err, rc, "ganq.arch: %s", je.msg); goto fail; }
    if ((rc = arch_from_json(fam, archj, &m->arch, err))) goto fail;
    const char *cs = meta_str(meta, "ganq.class_names");
    m->class_names = calloc((size_t)m->arch.num_classes, sizeof *m->class_names);
    if (!m->class_names) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory"); goto fail; }
    m->nclass = m->arch.num_classes;
    if (cs) {
        gq_error_clear(&je);
        if ((rc = json_parse(cs, strlen(cs), &namesj, &je))) { gq_fail(err, rc, "ganq.class_names: %s", je.msg); goto fail; }
        if (namesj->type != JSON_ARRAY || namesj->len != (size_t)m->arch.num_classes) {
            rc = gq_fail(err, GQ_EFORMAT, "ganq.class_names: must be an array of %d strings", m->arch.num_classes);
            goto fail;
        }
    }
    for (int i = 0; i < m->nclass; i++) {
        char buf[32];
        const char *s = buf;
        if (namesj) {
            if (namesj->items[i].type != JSON_STRING) {
                rc = gq_fail(err, GQ_EFORMAT, "ganq.class_names[%d]: not a string", i);
                goto fail;
            }
            s = namesj->items[i].str;
        } else {
            snprintf(buf, sizeof buf, "%d", i);
        }
        if (!(m->class_names[i] = strdup(s))) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory"); goto fail; }
    }
    const char *prov = meta_str(meta, "ganq.provenance");
    if (!(m->provenance = strdup(prov ? prov : ""))) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory"); goto fail; }
    for (size_t k = 0; k < meta->len; k++)
        if (strncmp(meta->keys[k], "ganq.", 5) == 0 && strcmp(meta->keys[k], "ganq.format_version") &&
            strcmp(meta->keys[k], "ganq.family") && strcmp(meta->keys[k], "ganq.arch") &&
            strcmp(meta->keys[k], "ganq.class_names") && strcmp(meta->keys[k], "ganq.provenance")) {
            rc = gq_fail(err, GQ_EFORMAT, "__metadata__.%s: unknown ganq key", meta->keys[k]);
            goto fail;
        }
    /* Tensors: exactly the expected set. */
    size_t n = st_count(f);
    c.used = calloc(n ? n : 1, 1);
    if (!c.used) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory"); goto fail; }
    if (m->arch.family == ENGINE_FAMILY_BIGGAN_DEEP) expect_deep(&c, &m->arch);
    else expect_biggan(&c, &m->arch);
    if ((rc = c.rc)) goto fail;
    for (size_t i = 0; i < n; i++)
        if (!c.used[i]) {
            rc = gq_fail(err, GQ_EFORMAT, "tensor '%s': unexpected for a %s %d model", st_tensor_at(f, i)->name, fam, m->arch.resolution);
            goto fail;
        }
    /* Convert. */
    uint64_t total = 0;
    int dtype = -1;
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        total += t->count;
        if (!is_buffer(t->name)) m->num_params += t->count;
        if (dtype < 0) dtype = t->dtype;
        else if (dtype != t->dtype) dtype = ST_F32 + 100;   /* mixed */
    }
    m->dtype = dtype == ST_F32 + 100 ? "mixed" : st_dtype_name(dtype < 0 ? ST_F32 : dtype);
    if (total > ((uint64_t)1 << 34)) { rc = gq_fail(err, GQ_EFORMAT, "model: %llu weights is too many", (unsigned long long)total); goto fail; }
    m->arena = malloc((size_t)(total ? total : 1) * sizeof(float));
    m->t = calloc(n ? n : 1, sizeof *m->t);
    if (!m->arena || !m->t) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory for %llu weights", (unsigned long long)total); goto fail; }
    float *p = m->arena;
    for (size_t i = 0; i < n; i++) {
        const st_tensor *t = st_tensor_at(f, i);
        m->t[i].name = strdup(t->name);
        m->nt = i + 1;
        if (!m->t[i].name) { rc = gq_fail(err, GQ_ENOMEM, "model: out of memory"); goto fail; }
        m->t[i].data = p;
        st_to_f32(t, p);
        p += t->count;
    }
    size_t len;
    const uint8_t *bytes = st_bytes(f, &len);
    gq_sha256_hex(bytes, len, m->sha256);
    free(c.used);
    json_free(archj);
    json_free(namesj);
    *out = m;
    return 0;
fail:
    free(c.used);
    json_free(archj);
    json_free(namesj);
    model_free(m);
    return rc;
}

static char *stem(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    const char *ext = strstr(b, ".safetensors");
    if (ext && ext[12] == 0) n = (size_t)(ext - b);
    char *s = malloc(n + 1);
    if (s) { memcpy(s, b, n); s[n] = 0; }
    return s;
}

int model_open(const char *path, model **out, gq_error *err)
{
    *out = NULL;
    st_file *f;
    int rc = st_open(path, &f, err);
    if (rc) return rc;
    char *nm = stem(path);
    if (!nm) { st_close(f); return gq_fail(err, GQ_ENOMEM, "model: out of memory"); }
    gq_error e2;
    gq_error_clear(&e2);
    rc = load(f, nm, out, &e2);
    if (rc) gq_fail(err, rc, "%s: %s", path, e2.msg);
    free(nm);
    st_close(f);
    return rc;
}

int model_open_mem(const void *buf, size_t len, const char *name, model **out, gq_error *err)
{
    *out = NULL;
    st_file *f;
    int rc = st_parse(buf, len, &f, err);
    if (rc) return rc;
    rc = load(f, name, out, err);
    st_close(f);
    return rc;
}

const model_arch *model_get_arch(const model *m) { return &m->arch; }

void model_describe(const model *m, engine_arch *a)
{
    memset(a, 0, sizeof *a);
    a->family = m->arch.family;
    a->family_name = m->family_name;
    a->name = m->name;
    a->resolution = m->arch.resolution;
    a->z_dim = m->arch.z_dim;
    a->num_classes = m->arch.num_classes;
    a->class_names = (const char *const *)m->class_names;
    a->standing_stats = m->arch.family == ENGINE_FAMILY_BIGGAN_DEEP;
    a->ch = m->arch.ch;
    a->num_params = m->num_params;
    memcpy(a->sha256, m->sha256, sizeof a->sha256);
    a->dtype = m->dtype;
    a->provenance = m->provenance;
}

const float *model_tensor(const model *m, const char *name)
{
    for (size_t i = 0; i < m->nt; i++)
        if (strcmp(m->t[i].name, name) == 0) return m->t[i].data;
    gq_err("model: tensor '%s' requested but not in the architecture", name);
    GQ_ASSERT(0);
    return NULL;
}

const float *model_tensorf(const model *m, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return model_tensor(m, name);
}

int model_expected(const char *family, const char *arch_json, model_tensor_cb cb, void *ctx, gq_error *err)
{
    json_value *j = NULL;
    int rc = json_parse(arch_json, strlen(arch_json), &j, err);
    if (rc) return rc;
    model_arch a;
    rc = arch_from_json(family, j, &a, err);
    json_free(j);
    if (rc) return rc;
    check c = { NULL, NULL, err, 0, cb, ctx };
    if (a.family == ENGINE_FAMILY_BIGGAN_DEEP) expect_deep(&c, &a);
    else expect_biggan(&c, &a);
    return 0;
}
