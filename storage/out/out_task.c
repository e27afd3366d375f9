/* out_task.c: a task's writer (out_task_* in out.h).
 *
 * One writer per task [start, end). out_task_add() copies each image into a job on a small
 * queue and returns; a pool of encoder threads (created at open, joined at free) encodes PNG
 * or JPEG. For file formats the thread also writes the file under the atomic rule, except
 * that the directory fsyncs are batched at commit (every directory that got a file is
 * fsync'd once before commit returns, so DONE is only sent for durable files). For WDS the
 * encoded bytes are kept and the shards are assembled at commit; NPZ keeps the raw pixels.
 *
 * Reuse: before writing, a file already under its final name is compared with the new bytes
 * (containers by size + sha256 of a dry run); identical files are left untouched, so a
 * resubmitted or re-executed task writes nothing new. Images never added but already on disk
 * (out_task_complete() said so, and the worker skipped them) are reported from the disk.
 *
 * Back-pressure: add blocks while more than `queue_cap` images wait, bounding memory.
 * Errors: the first failure of any thread is kept; later adds and commit return it.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/gq_log.h"
#include "storage/out/out.h"
#include "storage/out/out_impl.h"

enum { SLOT_EMPTY = 0, SLOT_QUEUED = 1, SLOT_DONE = 2 };

typedef struct slot {
    int      state;
    int      wrote;        /* file formats: this writer renamed a new file into place */
    gq_buf   enc;          /* WDS: the encoded image, kept until commit */
    uint64_t bytes;
    char     sha[65];
} slot;

typedef struct job {
    struct job *next;
    uint64_t    index;
    uint8_t    *rgb;
} job;

struct out_task {
    const Ganq__V1__JobSpec *spec;
    const plan *p;
    char        dir[PATH_MAX];   /* out_dir without trailing slashes */
    uint64_t    start, end;
    int         fmt;             /* encoding of each image: PNG, JPEG, or 0 (NPZ raw) */
    int         container;       /* 1 for NPZ/WDS */
    int         w, h;            /* image size, fixed by the first add */
    slot       *slots;           /* end - start */
    uint8_t    *raw;             /* NPZ: (end - start) x h x w x 3 */

    pthread_mutex_t mu;
    pthread_cond_t  cv_work;     /* a job is queued, or stop */
    pthread_cond_t  cv_idle;     /* queue shrank */
    pthread_t      *threads;
    int             n_threads;
    job            *head, *tail;
    int             queued;      /* jobs waiting or being encoded */
    int             queue_cap;
    int             stop;
    gq_error        fail;        /* first failure (code GQ_OK if none) */

    Ganq__V1__OutputRecord  *recs;
    Ganq__V1__OutputRecord **recp;
    size_t                   n_recs;
    char                   **strs;  /* owned strings of the records */
    size_t                   n_strs;
    int                      committed;
};

static void set_fail(out_task *t, const gq_error *e, int code)
{
    pthread_mutex_lock(&t->mu);
    if (t->fail.code == GQ_OK) {
        t->fail.code = code;
        snprintf(t->fail.msg, sizeof t->fail.msg, "%s", gq_error_str(e, code));
    }
    pthread_mutex_unlock(&t->mu);
}

static int encode(out_task *t, const uint8_t *rgb, gq_buf *b, gq_error *err)
{
    if (t->fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG)
        return out_encode_jpeg(rgb, t->w, t->h, plan_jpeg_quality(t->p), b, err);
    return out_encode_png(rgb, t->w, t->h, plan_png_level(t->p), b, err);
}

/* Write one file-format image, unless identical bytes are already there. */
static int write_file(out_task *t, uint64_t i, slot *s, gq_error *err)
{
    char rel[1200];
    uint8_t *have = NULL;
    size_t have_n = 0;
    int rc;
    if (plan_output_path(t->p, i, rel, sizeof rel) < 0)
        return gq_fail(err, GQ_EINVAL, "path of image %llu is too long",
                       (unsigned long long)i);
    gq_sha256_hex(s->enc.data, s->enc.len, s->sha);
    s->bytes = s->enc.len;
    rc = out_read_file(t->dir, rel, &have, &have_n, err);
    if (rc == 0 && have_n == s->enc.len && memcmp(have, s->enc.data, have_n) == 0) {
        free(have);
        return 0;
    }
    free(have);
    if (rc < 0 && rc != GQ_ENOTFOUND)
        return rc;
    {
        out_afile f;
        if ((rc = out_afile_open(&f, t->dir, rel, err)) < 0)
            return rc;
        if ((rc = out_afile_write(&f, s->enc.data, s->enc.len, err)) < 0)
            return rc;
        if ((rc = out_afile_commit(&f, 0, NULL, err)) < 0)
            return rc;
    }
    s->wrote = 1;
    return 0;
}

static void *encoder_main(void *arg)
{
    out_task *t = arg;
    for (;;) {
        job *j;
        gq_error e;
        int rc = 0, failed;
        slot *s;
        pthread_mutex_lock(&t->mu);
        while (!t->head && !t->stop)
            pthread_cond_wait(&t->cv_work, &t->mu);
        if (!t->head) {
            pthread_mutex_unlock(&t->mu);
            return NULL;
        }
        j = t->head;
        t->head = j->next;
        if (!t->head)
            t->tail = NULL;
        failed = t->fail.code != GQ_OK || t->stop;
        pthread_mutex_unlock(&t->mu);

        s = &t->slots[j->index - t->start];
        gq_error_clear(&e);
        if (!failed) {
            rc = encode(t, j->rgb, &s->enc, &e);
            if (rc == 0 && !t->container) {
                rc = write_file(t, j->index, s, &e);
                gq_buf_release(&s->enc);
            }
            if (rc < 0)
                set_fail(t, &e, rc);
        }
        free(j->rgb);
        free(j);
        pthread_mutex_lock(&t->mu);
        if (rc == 0 && !failed)
            s->state = SLOT_DONE;
        t->queued--;
        pthread_cond_broadcast(&t->cv_idle);
        pthread_mutex_unlock(&t->mu);
    }
}

int out_task_open(const out_task_options *o, out_task **out, gq_error *err)
{
    out_task *t;
    int fmt = plan_format(o->plan), n, rc;
    uint64_t n_img;
    size_t len;

    *out = NULL;
    if (!o->spec || !o->plan || o->start >= o->end || o->end > plan_total(o->plan))
        return gq_fail(err, GQ_EINVAL, "task: range [%llu, %llu) is not inside the job's %llu "
                       "images", (unsigned long long)o->start, (unsigned long long)o->end,
                       o->plan ? (unsigned long long)plan_total(o->plan) : 0ULL);
    if (o->end - o->start > 10000000ULL)
        return gq_fail(err, GQ_EINVAL, "task: %llu images is above 10000000 per task",
                       (unsigned long long)(o->end - o->start));
    if (fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ || fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS) {
        uint64_t cf, ce, cl, le;
        plan_container_range(o->plan, plan_container_of(o->plan, o->start), &cf, &ce);
        plan_container_range(o->plan, plan_container_of(o->plan, o->end - 1), &cl, &le);
        if (cf != o->start || le != o->end)
            return gq_fail(err, GQ_EINVAL, "task: range [%llu, %llu) cuts a container (they "
                           "run [%llu, %llu) .. [%llu, %llu)); split tasks with plan_task_end",
                           (unsigned long long)o->start, (unsigned long long)o->end,
                           (unsigned long long)cf, (unsigned long long)ce,
                           (unsigned long long)cl, (unsigned long long)le);
    }
    if ((rc = out_dir_check(o->spec, o->plan, 1, err)) < 0)
        return rc;
    t = calloc(1, sizeof *t);
    if (!t)
        return gq_fail(err, GQ_ENOMEM, "task: out of memory");
    t->spec = o->spec;
    t->p = o->plan;
    len = strlen(o->spec->out_dir);
    while (len > 1 && o->spec->out_dir[len - 1] == '/')
        len--;
    memcpy(t->dir, o->spec->out_dir, len);
    t->dir[len] = '\0';
    t->start = o->start;
    t->end = o->end;
    t->container = fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ ||
                   fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
    t->fmt = fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS ? (int)plan_wds_image(o->plan)
             : fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ ? 0
                                                          : fmt;
    n_img = o->end - o->start;
    t->slots = calloc((size_t)n_img, sizeof *t->slots);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv_work, NULL);
    pthread_cond_init(&t->cv_idle, NULL);
    gq_error_clear(&t->fail);
    if (!t->slots) {
        out_task_free(t);
        return gq_fail(err, GQ_ENOMEM, "task: out of memory for %llu images",
                       (unsigned long long)n_img);
    }
    n = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 64)
        n = 64;
    if ((uint64_t)n > n_img)
        n = (int)n_img;
    if (t->fmt == 0)
        n = 0;   /* NPZ: nothing to encode */
    t->queue_cap = 4 * n + 16;
    t->threads = calloc((size_t)(n ? n : 1), sizeof *t->threads);
    if (!t->threads) {
        out_task_free(t);
        return gq_fail(err, GQ_ENOMEM, "task: out of memory");
    }
    for (int k = 0; k < n; k++) {
        if (pthread_create(&t->threads[k], NULL, encoder_main, t) != 0) {
            out_task_free(t);
            return gq_fail(err, GQ_ENOMEM, "task: cannot start encoder thread %d", k);
        }
        t->n_threads++;
    }
    *out = t;
    return 0;
}

int out_task_add(out_task *t, const uint64_t *indices, int n, const uint8_t *images, int w,
                 int h, gq_error *err)
{
    size_t isz;
    if (t->committed)
        return gq_fail(err, GQ_ESTATE, "task: add after commit");
    if (n < 0 || w < 1 || h < 1 || w > 65536 || h > 65536)
        return gq_fail(err, GQ_EINVAL, "task: bad batch (n %d, %dx%d)", n, w, h);
    if (t->w == 0) {
        t->w = w;
        t->h = h;
        if (t->fmt == 0) {
            size_t total = (size_t)(t->end - t->start) * (size_t)w * (size_t)h * 3;
            t->raw = malloc(total ? total : 1);
            if (!t->raw)
                return gq_fail(err, GQ_ENOMEM, "task: out of memory for %zu bytes of pixels",
                               total);
        }
    } else if (w != t->w || h != t->h) {
        return gq_fail(err, GQ_EINVAL, "task: image size %dx%d differs from %dx%d", w, h, t->w,
                       t->h);
    }
    isz = (size_t)w * (size_t)h * 3;
    for (int k = 0; k < n; k++) {
        uint64_t i = indices[k];
        slot *s;
        job *j;
        if (i < t->start || i >= t->end)
            return gq_fail(err, GQ_EINVAL, "task: image %llu is outside [%llu, %llu)",
                           (unsigned long long)i, (unsigned long long)t->start,
                           (unsigned long long)t->end);
        s = &t->slots[i - t->start];
        pthread_mutex_lock(&t->mu);
        if (t->fail.code != GQ_OK) {
            int code = t->fail.code;
            gq_fail(err, code, "%s", t->fail.msg);
            pthread_mutex_unlock(&t->mu);
            return code;
        }
        if (s->state != SLOT_EMPTY) {
            pthread_mutex_unlock(&t->mu);
            return gq_fail(err, GQ_EINVAL, "task: image %llu was added twice",
                           (unsigned long long)i);
        }
        if (t->fmt == 0) {
            memcpy(t->raw + (i - t->start) * isz, images + (size_t)k * isz, isz);
            s->state = SLOT_DONE;
            pthread_mutex_unlock(&t->mu);
            continue;
        }
        while (t->queued >= t->queue_cap && t->fail.code == GQ_OK)
            pthread_cond_wait(&t->cv_idle, &t->mu);
        pthread_mutex_unlock(&t->mu);
        j = malloc(sizeof *j);
        if (j)
            j->rgb = malloc(isz);
        if (!j || !j->rgb) {
            free(j);
            return gq_fail(err, GQ_ENOMEM, "task: out of memory");
        }
        memcpy(j->rgb, images + (size_t)k * isz, isz);
        j->index = i;
        j->next = NULL;
        pthread_mutex_lock(&t->mu);
        s->state = SLOT_QUEUED;
        if (t->tail)
            t->tail->next = j;
        else
            t->head = j;
        t->tail = j;
        t->queued++;
        pthread_cond_signal(&t->cv_work);
        pthread_mutex_unlock(&t->mu);
    }
    return 0;
}

static char *keep(out_task *t, const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1), **ns;
    if (!p)
        return NULL;
    memcpy(p, s, n + 1);
    ns = realloc(t->strs, (t->n_strs + 1) * sizeof *ns);
    if (!ns) {
        free(p);
        return NULL;
    }
    t->strs = ns;
    t->strs[t->n_strs++] = p;
    return p;
}

static int add_record(out_task *t, const char *path, uint64_t images, uint64_t bytes,
                      const char *sha, uint64_t first, gq_error *err)
{
    Ganq__V1__OutputRecord *r = &t->recs[t->n_recs];
    ganq__v1__output_record__init(r);
    r->path = keep(t, path);
    r->sha256 = keep(t, sha);
    if (!r->path || !r->sha256)
        return gq_fail(err, GQ_ENOMEM, "task: out of memory");
    r->images = images;
    r->bytes = bytes;
    r->first_index = first;
    t->recp[t->n_recs] = r;
    t->n_recs++;
    return 0;
}

/* Record a file already on disk (not produced in this session). */
static int record_existing(out_task *t, const char *rel, uint64_t images, uint64_t first,
                           gq_error *err)
{
    uint8_t *data;
    size_t n;
    char sha[65];
    int rc = out_read_file(t->dir, rel, &data, &n, err);
    if (rc == GQ_ENOTFOUND)
        return gq_fail(err, GQ_ESTATE, "task: %s/%s was neither written by this task nor "
                       "present on disk", t->dir, rel);
    if (rc < 0)
        return rc;
    gq_sha256_hex(data, n, sha);
    free(data);
    return add_record(t, rel, images, n, sha, first, err);
}

/* fsync every distinct parent directory that received a new file. */
static int sync_dirs(out_task *t, gq_error *err)
{
    char **seen = NULL;
    size_t n_seen = 0;
    int rc = 0;
    for (uint64_t i = t->start; i < t->end && rc == 0; i++) {
        char rel[1200], *slash;
        size_t k;
        if (!t->slots[i - t->start].wrote)
            continue;
        if (plan_output_path(t->p, i, rel, sizeof rel) < 0)
            continue;
        slash = strrchr(rel, '/');
        if (slash)
            *slash = '\0';
        else
            rel[0] = '\0';
        for (k = 0; k < n_seen; k++)
            if (!strcmp(seen[k], rel))
                break;
        if (k < n_seen)
            continue;
        {
            char **ns = realloc(seen, (n_seen + 1) * sizeof *ns);
            char *cp = malloc(strlen(rel) + 1);
            if (!ns || !cp) {
                free(cp);
                if (ns)
                    seen = ns;
                rc = gq_fail(err, GQ_ENOMEM, "task: out of memory");
                break;
            }
            seen = ns;
            strcpy(cp, rel);
            seen[n_seen++] = cp;
        }
        rc = out_sync_dir(t->dir, rel, err);
    }
    for (size_t k = 0; k < n_seen; k++)
        free(seen[k]);
    free(seen);
    return rc;
}

/* Stream container c (images [f, e)) into af. */
static int write_container(out_task *t, uint64_t f, uint64_t e, out_afile *af, gq_error *err)
{
    int rc;
    if (plan_format(t->p) == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ) {
        size_t isz = (size_t)t->w * (size_t)t->h * 3;
        int64_t *y = malloc((size_t)(e - f) * sizeof *y);
        if (!y)
            return gq_fail(err, GQ_ENOMEM, "npz: out of memory");
        for (uint64_t i = f; i < e; i++) {
            plan_image im;
            plan_image_at(t->p, i, &im);
            y[i - f] = im.class_id;
        }
        rc = out_npz_write(af, t->raw + (f - t->start) * isz, e - f, t->h, t->w, y, err);
        free(y);
        return rc;
    }
    for (uint64_t i = f; i < e; i++) {
        plan_image im;
        char key[32], name[64];
        gq_buf js;
        const char *ext = t->fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG ? "jpg" : "png";
        slot *s = &t->slots[i - t->start];
        plan_image_at(t->p, i, &im);
        plan_image_key(t->p, i, key, sizeof key);
        snprintf(name, sizeof name, "%s.%s", key, ext);
        if ((rc = out_tar_member(af, name, s->enc.data, s->enc.len, err)) < 0)
            return rc;
        snprintf(name, sizeof name, "%s.cls", key);
        {
            char cls[16];
            int cn = snprintf(cls, sizeof cls, "%d", (int)im.class_id);
            if ((rc = out_tar_member(af, name, cls, (size_t)cn, err)) < 0)
                return rc;
        }
        gq_buf_init(&js);
        gq_json_obj_begin(&js);
        gq_json_kv_int(&js, "class", im.class_id);
        gq_json_kv_str(&js, "class_name", plan_class_name(t->p, im.class_id));
        gq_json_key(&js, "seed");
        gq_json_uint(&js, im.z_seed);
        gq_json_key(&js, "index");
        gq_json_uint(&js, i);
        gq_json_kv_double(&js, "truncation", im.truncation);
        if (im.split)
            gq_json_kv_str(&js, "split", im.split);
        gq_json_obj_end(&js);
        snprintf(name, sizeof name, "%s.json", key);
        if (!gq_buf_ok(&js)) {
            gq_buf_release(&js);
            return gq_fail(err, GQ_ENOMEM, "wds: out of memory");
        }
        rc = out_tar_member(af, name, js.data, js.len, err);
        gq_buf_release(&js);
        if (rc < 0)
            return rc;
    }
    return out_tar_end(af, err);
}

static int commit_container(out_task *t, uint64_t c, gq_error *err)
{
    char rel[256], sha[65], have_sha[65];
    uint64_t f, e;
    uint8_t *have = NULL;
    size_t have_n = 0;
    int all = 1, rc;
    out_afile af;

    plan_container_range(t->p, c, &f, &e);
    plan_container_path(t->p, c, rel, sizeof rel);
    for (uint64_t i = f; i < e; i++)
        if (t->slots[i - t->start].state != SLOT_DONE)
            all = 0;
    if (!all)
        return record_existing(t, rel, e - f, f, err);
    /* identical container already there: leave it */
    rc = out_read_file(t->dir, rel, &have, &have_n, err);
    if (rc < 0 && rc != GQ_ENOTFOUND)
        return rc;
    if (rc == 0) {
        gq_sha256_hex(have, have_n, have_sha);
        free(have);
        out_afile_dry(&af, rel);
        if ((rc = write_container(t, f, e, &af, err)) < 0)
            return rc;
        out_afile_commit(&af, 0, sha, err);
        if (af.bytes == have_n && !strcmp(sha, have_sha))
            return add_record(t, rel, e - f, have_n, sha, f, err);
    }
    if ((rc = out_afile_open(&af, t->dir, rel, err)) < 0)
        return rc;
    if ((rc = write_container(t, f, e, &af, err)) < 0) {
        out_afile_abort(&af);
        return rc;
    }
    {
        uint64_t bytes = af.bytes;
        if ((rc = out_afile_commit(&af, 1, sha, err)) < 0)
            return rc;
        return add_record(t, rel, e - f, bytes, sha, f, err);
    }
}

int out_task_commit(out_task *t, Ganq__V1__OutputRecord ***records, size_t *n_records,
                    gq_error *err)
{
    uint64_t n_img = t->end - t->start;
    size_t n_files;
    int rc = 0;

    *records = NULL;
    *n_records = 0;
    if (t->committed)
        return gq_fail(err, GQ_ESTATE, "task: committed twice");
    pthread_mutex_lock(&t->mu);
    while (t->queued > 0)
        pthread_cond_wait(&t->cv_idle, &t->mu);
    if (t->fail.code != GQ_OK) {
        int code = t->fail.code;
        gq_fail(err, code, "%s", t->fail.msg);
        pthread_mutex_unlock(&t->mu);
        return code;
    }
    pthread_mutex_unlock(&t->mu);

    if (t->container) {
        uint64_t c0 = plan_container_of(t->p, t->start), c1 = plan_container_of(t->p, t->end - 1);
        n_files = (size_t)(c1 - c0 + 1);
        t->recs = calloc(n_files, sizeof *t->recs);
        t->recp = calloc(n_files, sizeof *t->recp);
        if (!t->recs || !t->recp)
            return gq_fail(err, GQ_ENOMEM, "task: out of memory");
        for (uint64_t c = c0; c <= c1 && rc == 0; c++)
            rc = commit_container(t, c, err);
    } else {
        n_files = (size_t)n_img;
        t->recs = calloc(n_files, sizeof *t->recs);
        t->recp = calloc(n_files, sizeof *t->recp);
        if (!t->recs || !t->recp)
            return gq_fail(err, GQ_ENOMEM, "task: out of memory");
        for (uint64_t i = t->start; i < t->end && rc == 0; i++) {
            char rel[1200];
            slot *s = &t->slots[i - t->start];
            if (plan_output_path(t->p, i, rel, sizeof rel) < 0)
                return gq_fail(err, GQ_EINVAL, "path of image %llu is too long",
                               (unsigned long long)i);
            if (s->state == SLOT_DONE)
                rc = add_record(t, rel, 1, s->bytes, s->sha, i, err);
            else
                rc = record_existing(t, rel, 1, i, err);
        }
        if (rc == 0)
            rc = sync_dirs(t, err);
    }
    if (rc < 0)
        return rc;
    t->committed = 1;
    *records = t->recp;
    *n_records = t->n_recs;
    return 0;
}

void out_task_free(out_task *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->cv_work);
    pthread_mutex_unlock(&t->mu);
    for (int k = 0; k < t->n_threads; k++)
        pthread_join(t->threads[k], NULL);
    while (t->head) {   /* jobs left by a stopped pool */
        job *j = t->head;
        t->head = j->next;
        free(j->rgb);
        free(j);
    }
    if (t->slots)
        for (uint64_t i = 0; i < t->end - t->start; i++)
            gq_buf_release(&t->slots[i].enc);
    for (size_t k = 0; k < t->n_strs; k++)
        free(t->strs[k]);
    free(t->strs);
    free(t->recs);
    free(t->recp);
    free(t->slots);
    free(t->raw);
    free(t->threads);
    pthread_cond_destroy(&t->cv_work);
    pthread_cond_destroy(&t->cv_idle);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static int file_present(const char *dir, const char *rel)
{
    char path[PATH_MAX + 1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

int out_task_complete(const out_task_options *o)
{
    const plan *p = o->plan;
    const char *dir = o->spec->out_dir;
    int fmt = plan_format(p);
    if (o->start >= o->end || o->end > plan_total(p))
        return 0;
    if (fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ || fmt == GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS) {
        uint64_t c0 = plan_container_of(p, o->start), c1 = plan_container_of(p, o->end - 1);
        for (uint64_t c = c0; c <= c1; c++) {
            char rel[256];
            if (plan_container_path(p, c, rel, sizeof rel) < 0 || !file_present(dir, rel))
                return 0;
        }
        return 1;
    }
    for (uint64_t i = o->start; i < o->end; i++) {
        char rel[1200];
        if (plan_output_path(p, i, rel, sizeof rel) < 0 || !file_present(dir, rel))
            return 0;
    }
    return 1;
}
