/* out_dir.c: the output directory rules of out.h (absolute, no "..", no symlinks, not
 * foreign) and the job marker that lets a resubmitted job resume in its own directory.
 *
 * The marker holds the job's output fingerprint, a sha256 over the spec fields that decide
 * which bytes land in the directory. Priority, owner, task size, name and attempts are not
 * in it: resubmitting the same job with another priority resumes. The model's sha256 is not
 * in it either (it may be empty at submit and filled by the broker later); the model name is.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/base/gq_buf.h"
#include "storage/out/out.h"
#include "storage/out/out_impl.h"

static void upd(gq_sha256 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void upd(gq_sha256 *s, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        gq_sha256_update(s, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void out_fingerprint(const Ganq__V1__JobSpec *spec, const plan *p, char hex[65])
{
    gq_sha256 s;
    gq_sha256_init(&s);
    upd(&s, "ganq-out-v1|kind=%d|model=%s|seed=%llu|classes=", (int)plan_kind(p),
        spec->model ? spec->model : "", (unsigned long long)spec->seed);
    for (int k = 0; k < plan_n_classes(p); k++)
        upd(&s, "%d,", (int)plan_class_at(p, k));
    upd(&s, "|count=%llu|per_class=%llu|per_value=%llu|val=%.17g|truncs=",
        (unsigned long long)spec->count, (unsigned long long)spec->per_class,
        (unsigned long long)spec->per_value, spec->val_fraction);
    for (int k = 0; k < plan_n_truncations(p); k++)
        upd(&s, "%.17g,", plan_truncation_at(p, k));
    upd(&s, "|format=%d|layout=%d|wds=%d|png=%d|jpeg=%d|shard=%u", (int)plan_format(p),
        (int)plan_layout(p), (int)plan_wds_image(p), plan_png_level(p), plan_jpeg_quality(p),
        spec->shard_size);
    upd(&s, "|interp=%d|a=%d,%llu|b=%d,%llu|steps=%u", (int)spec->interp, (int)spec->class_a,
        (unsigned long long)spec->seed_a, (int)spec->class_b, (unsigned long long)spec->seed_b,
        spec->steps);
    gq_sha256_final_hex(&s, hex);
}

static const char *kind_word(int k)
{
    static const char *w[] = {"unspecified", "generate", "synthesize", "sweep", "interpolate"};
    return k >= 0 && k <= 4 ? w[k] : "unknown";
}

/* Path without trailing slashes, checked for absoluteness and "."/".." components. */
static int clean_path(const char *in, char *out, size_t n, gq_error *err)
{
    size_t len;
    const char *p;
    if (!in || !*in)
        return gq_fail(err, GQ_EINVAL, "out_dir: empty; give an absolute directory path");
    if (in[0] != '/')
        return gq_fail(err, GQ_EINVAL, "out_dir: \"%s\" is not an absolute path", in);
    len = strlen(in);
    if (len >= n || len >= PATH_MAX)
        return gq_fail(err, GQ_EINVAL, "out_dir: longer than %zu bytes", n - 1);
    memcpy(out, in, len + 1);
    while (len > 1 && out[len - 1] == '/')
        out[--len] = '\0';
    if (len == 1)
        return gq_fail(err, GQ_EINVAL, "out_dir: \"/\" is not allowed");
    for (p = out; *p;) {
        const char *q;
        size_t c;
        while (*p == '/')
            p++;
        q = strchr(p, '/');
        c = q ? (size_t)(q - p) : strlen(p);
        if ((c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
            return gq_fail(err, GQ_EINVAL, "out_dir: \"%s\" has a \".\" or \"..\" component",
                           in);
        p += c;
    }
    return 0;
}

static int same_real(const char *path, gq_error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real))
        return out_errno_fail(err, errno, "resolve", path);
    if (strcmp(real, path) != 0)
        return gq_fail(err, GQ_EINVAL, "out_dir: %s resolves through a symlink to %s; give "
                       "the real path", path, real);
    return 0;
}

/* mkdir -p for an absolute clean path. */
static int make_dirs(const char *path, gq_error *err)
{
    char tmp[PATH_MAX];
    size_t len = strlen(path);
    memcpy(tmp, path, len + 1);
    for (size_t k = 1; k <= len; k++) {
        if (tmp[k] == '/' || tmp[k] == '\0') {
            char c = tmp[k];
            tmp[k] = '\0';
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return out_errno_fail(err, errno, "out_dir: cannot create", tmp);
            tmp[k] = c;
        }
    }
    return 0;
}

/* 1 if the directory has no entry besides ganq temporaries, 0 if it has, negative on
 * error. Stops at the first such entry: called for every task, it must not list a directory
 * of a million images. */
static int dir_empty(const char *path, gq_error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int empty = 1;
    if (!d)
        return out_errno_fail(err, errno, "out_dir: cannot list", path);
    while (empty && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        /* another writer's temporary (".<name>.tmp.<pid>.<n>", e.g. a concurrent worker
         * writing the marker): ganq's own, not foreign */
        if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp."))
            continue;
        empty = 0;
    }
    closedir(d);
    return empty;
}

static void marker_text(const Ganq__V1__JobSpec *spec, const plan *p, gq_buf *b)
{
    char fp[65];
    out_fingerprint(spec, p, fp);
    gq_json_obj_begin(b);
    gq_json_kv_int(b, "ganq_job_marker", 1);
    gq_json_kv_str(b, "fingerprint", fp);
    gq_json_kv_str(b, "kind", kind_word((int)plan_kind(p)));
    gq_json_kv_str(b, "model", spec->model ? spec->model : "");
    gq_json_obj_end(b);
    gq_buf_puts(b, "\n");
}

int out_dir_check(const Ganq__V1__JobSpec *spec, const plan *p, int create, gq_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    int rc, has_marker, empty;

    if ((rc = clean_path(spec->out_dir, path, sizeof path, err)) < 0)
        return rc;
    if (lstat(path, &st) < 0) {
        char anc[PATH_MAX];
        if (errno != ENOENT)
            return out_errno_fail(err, errno, "out_dir: cannot stat", path);
        /* missing: the nearest existing ancestor must be real and writable */
        memcpy(anc, path, strlen(path) + 1);
        for (;;) {
            char *slash = strrchr(anc, '/');
            if (slash == anc)
                anc[1] = '\0';
            else
                *slash = '\0';
            if (stat(anc, &st) == 0)
                break;
            if (errno != ENOENT)
                return out_errno_fail(err, errno, "out_dir: cannot stat", anc);
        }
        if (!S_ISDIR(st.st_mode))
            return gq_fail(err, GQ_EINVAL, "out_dir: %s is not a directory", anc);
        if (strcmp(anc, "/") != 0 && (rc = same_real(anc, err)) < 0)
            return rc;
        if (access(anc, W_OK | X_OK) < 0)
            return gq_fail(err, GQ_EIO, "out_dir: cannot create %s: %s is not writable", path,
                           anc);
        if (!create)
            return 0;
        if ((rc = make_dirs(path, err)) < 0)
            return rc;
        if (lstat(path, &st) < 0)
            return out_errno_fail(err, errno, "out_dir: cannot stat", path);
    }
    if (S_ISLNK(st.st_mode))
        return gq_fail(err, GQ_EINVAL, "out_dir: %s is a symlink; give the real path", path);
    if (!S_ISDIR(st.st_mode))
        return gq_fail(err, GQ_EINVAL, "out_dir: %s exists and is not a directory", path);
    if ((rc = same_real(path, err)) < 0)
        return rc;
    if (access(path, W_OK | X_OK) < 0)
        return gq_fail(err, GQ_EIO, "out_dir: %s is not writable", path);
    /* List first, look for the marker second. Workers of one job check and create the
     * directory concurrently, and each writes the marker (atomically) before any output;
     * so any finished entry the listing saw was renamed in after the marker, which the
     * lstat below then finds. The other order (marker first) reads another worker's first
     * image as foreign when it lands between the two steps. */
    empty = dir_empty(path, err);
    if (empty < 0)
        return empty;
    {
        char mpath[PATH_MAX + 32];
        struct stat ms;
        snprintf(mpath, sizeof mpath, "%s/%s", path, OUT_MARKER);
        has_marker = lstat(mpath, &ms) == 0;
    }
    if (!empty && !has_marker)
        return gq_fail(err, GQ_EEXIST, "out_dir: %s holds files ganq did not write (no %s "
                       "marker); choose an empty or new directory", path, OUT_MARKER);
    {
        gq_buf want;
        uint8_t *have = NULL;
        size_t have_n = 0;
        gq_buf_init(&want);
        marker_text(spec, p, &want);
        if (!gq_buf_ok(&want)) {
            gq_buf_release(&want);
            return gq_fail(err, GQ_ENOMEM, "out_dir: out of memory");
        }
        if (has_marker) {
            rc = out_read_file(path, OUT_MARKER, &have, &have_n, err);
            if (rc == 0 && (have_n != want.len || memcmp(have, want.data, have_n) != 0))
                rc = gq_fail(err, GQ_EEXIST, "out_dir: %s holds the outputs of another job "
                             "(its %s has another fingerprint); choose another directory",
                             path, OUT_MARKER);
            free(have);
        } else if (create) {
            rc = out_write_atomic(path, OUT_MARKER, want.data, want.len, err);
        } else {
            rc = 0;
        }
        gq_buf_release(&want);
    }
    return rc;
}
