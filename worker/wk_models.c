/* wk_models.c: opening the worker's models and describing them for HELLO (see
 * wk_models.h). Files are opened in name order so that HELLO is stable. */
#include "worker/wk_models.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"

typedef struct wk_model {
    engine              *e;
    Ganq__V1__ModelInfo  info;     /* strings borrowed from the engine's arch */
} wk_model;

struct wk_models {
    wk_model             *v;
    size_t                n, cap;
    Ganq__V1__ModelInfo **infos;   /* n pointers into v[i].info */
};

static int add_engine(wk_models *m, engine *e)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4;
        wk_model *v = realloc(m->v, cap * sizeof *v);
        if (!v) return GQ_ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    const engine_arch *a = engine_get_arch(e);
    wk_model *w = &m->v[m->n++];
    w->e = e;
    ganq__v1__model_info__init(&w->info);
    w->info.name = (char *)a->name;
    w->info.sha256 = (char *)a->sha256;
    w->info.family = (char *)a->family_name;
    w->info.resolution = (uint32_t)a->resolution;
    w->info.num_classes = (uint32_t)a->num_classes;
    w->info.n_class_names = a->class_names ? (size_t)a->num_classes : 0;
    w->info.class_names = (char **)a->class_names;
    w->info.standing_stats = a->standing_stats ? 1 : 0;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), k = strlen(suf);
    return n > k && strcmp(s + n - k, suf) == 0;
}

/* Collect the names of DIR/<stem>.safetensors, sorted. OUT: *names (malloc'd strings). */
static int list_dir(const char *dir, char ***names, size_t *n, gq_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return gq_fail(err, errno == ENOENT ? GQ_ENOTFOUND : GQ_EIO, "models: cannot open %s: %s",
                       dir, strerror(errno));
    size_t cap = 0;
    char **v = NULL;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".safetensors")) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) { rc = GQ_ENOMEM; break; }
            v = nv;
        }
        if (!(v[*n] = strdup(de->d_name))) { rc = GQ_ENOMEM; break; }
        (*n)++;
    }
    closedir(d);
    if (rc == 0 && *n) qsort(v, *n, sizeof *v, cmp_str);
    *names = v;
    return rc ? gq_fail(err, rc, "models: out of memory listing %s", dir) : 0;
}

int wk_models_open(const char *dir, const engine_options *eo, wk_models **out, gq_error *err)
{
    *out = NULL;
    wk_models *m = calloc(1, sizeof *m);
    if (!m) return gq_fail(err, GQ_ENOMEM, "models: out of memory");
    char **names = NULL;
    size_t n_names = 0;
    engine *e = NULL;
    int rc = engine_open("testcard", eo, &e, err);
    if (rc != 0) goto fail;
    if ((rc = add_engine(m, e)) != 0) {
        engine_free(e);
        gq_fail(err, rc, "models: out of memory");
        goto fail;
    }
    if (dir) {
        if ((rc = list_dir(dir, &names, &n_names, err)) != 0) goto fail;
        for (size_t i = 0; i < n_names; i++) {
            size_t dl = strlen(dir), nl = strlen(names[i]);
            char *path = malloc(dl + nl + 2);
            if (!path) { rc = gq_fail(err, GQ_ENOMEM, "models: out of memory"); goto fail; }
            snprintf(path, dl + nl + 2, "%s/%s", dir, names[i]);
            gq_error e2;
            gq_error_clear(&e2);
            e = NULL;
            int r = engine_open(path, eo, &e, &e2);
            if (r != 0) {
                gq_err("model %s skipped: %s", path, gq_error_str(&e2, r));
                free(path);
                continue;
            }
            const char *name = engine_get_arch(e)->name;
            if (wk_models_find(m, name)) {
                gq_warn("model %s skipped: a model named \"%s\" is already offered", path, name);
                engine_free(e);
                free(path);
                continue;
            }
            free(path);
            if ((rc = add_engine(m, e)) != 0) {
                engine_free(e);
                gq_fail(err, rc, "models: out of memory");
                goto fail;
            }
            gq_info("model %s: %s, %dpx, %d classes, sha256 %.12s",
                    name, engine_get_arch(e)->family_name, engine_get_arch(e)->resolution,
                    engine_get_arch(e)->num_classes, engine_get_arch(e)->sha256);
        }
    }
    m->infos = malloc((m->n ? m->n : 1) * sizeof *m->infos);
    if (!m->infos) { rc = gq_fail(err, GQ_ENOMEM, "models: out of memory"); goto fail; }
    for (size_t i = 0; i < m->n; i++) m->infos[i] = &m->v[i].info;
    for (size_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    *out = m;
    return 0;
fail:
    for (size_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    wk_models_free(m);
    return rc;
}

void wk_models_free(wk_models *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) engine_free(m->v[i].e);
    free(m->v);
    free(m->infos);
    free(m);
}

size_t wk_models_count(const wk_models *m) { return m->n; }
Ganq__V1__ModelInfo **wk_models_infos(const wk_models *m) { return m->infos; }

int wk_models_max_batch(const wk_models *m)
{
    int best = 0;
    for (size_t i = 0; i < m->n; i++) {
        int b = engine_max_batch(m->v[i].e);
        if (best == 0 || b < best) best = b;
    }
    return best > 0 ? best : 1;
}

engine *wk_models_find(const wk_models *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(engine_get_arch(m->v[i].e)->name, name) == 0) return m->v[i].e;
    return NULL;
}
