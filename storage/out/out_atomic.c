/* out_atomic.c: the atomic write rule of out.h (temp, fsync, rename, fsync dir), relative
 * path checks, and directory walking that never follows a symlink below the output dir.
 *
 * Temporaries are named ".<name>.tmp.<pid>.<counter>" in the final directory, so the rename
 * never crosses filesystems and a crashed writer's leftovers are recognisable (hidden, with
 * ".tmp." in the name). A write that fails (ENOSPC included) unlinks its temporary before
 * returning, so a full disk leaves no partial file under any name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/out/out.h"
#include "storage/out/out_impl.h"

static atomic_uint tmp_counter;

int out_errno_fail(gq_error *err, int e, const char *what, const char *path)
{
    if (e == ENOSPC || e == EDQUOT)
        return gq_fail(err, GQ_ENOSPC, "%s %s: %s", what, path, strerror(e));
    return gq_fail(err, GQ_EIO, "%s %s: %s", what, path, strerror(e));
}

int out_check_rel(const char *rel, gq_error *err)
{
    const char *p = rel;
    if (!rel || !*rel)
        return gq_fail(err, GQ_EINVAL, "path: empty relative path");
    if (*rel == '/')
        return gq_fail(err, GQ_EINVAL, "path: \"%s\" must be relative to out_dir", rel);
    if (strlen(rel) > 1024)
        return gq_fail(err, GQ_EINVAL, "path: longer than 1024 bytes");
    while (*p) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return gq_fail(err, GQ_EINVAL, "path: \"%s\" has an empty, \".\" or \"..\" "
                           "component", rel);
        if (n > 200)
            return gq_fail(err, GQ_EINVAL, "path: a component of \"%s\" is over 200 bytes",
                           rel);
        p += n;
        if (*p == '/')
            p++;
    }
    return 0;
}

int out_open_parent(const char *dir, const char *rel, int *dirfd, const char **base,
                    gq_error *err)
{
    int fd, rc;
    const char *p = rel;
    char comp[256];

    *dirfd = -1;
    if ((rc = out_check_rel(rel, err)) < 0)
        return rc;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return out_errno_fail(err, errno, "open directory", dir);
    for (;;) {
        const char *q = strchr(p, '/');
        int nfd;
        size_t n;
        if (!q)
            break;
        n = (size_t)(q - p);
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            close(fd);
            return out_errno_fail(err, e, "create directory", comp);
        }
        nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            int e = errno;
            close(fd);
            if (e == ELOOP || e == ENOTDIR)
                return gq_fail(err, GQ_EINVAL, "path: %s/%s: \"%s\" is a symlink or not a "
                               "directory; ganq does not follow links below out_dir", dir, rel,
                               comp);
            return out_errno_fail(err, e, "open directory", comp);
        }
        close(fd);
        fd = nfd;
        p = q + 1;
    }
    *dirfd = fd;
    *base = p;
    return 0;
}

int out_afile_open(out_afile *f, const char *dir, const char *rel, gq_error *err)
{
    const char *base;
    int rc;
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->dirfd = -1;
    snprintf(f->path, sizeof f->path, "%s/%s", dir, rel);
    if ((rc = out_open_parent(dir, rel, &f->dirfd, &base, err)) < 0)
        return rc;
    snprintf(f->name, sizeof f->name, "%s", base);
    snprintf(f->tmp, sizeof f->tmp, ".%s.tmp.%ld.%u", base, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    f->fd = openat(f->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0644);
    if (f->fd < 0) {
        int e = errno;
        close(f->dirfd);
        f->dirfd = -1;
        return out_errno_fail(err, e, "create", f->path);
    }
    gq_sha256_init(&f->sha);
    return 0;
}

void out_afile_dry(out_afile *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    f->dirfd = -1;
    f->dry = 1;
    snprintf(f->path, sizeof f->path, "%s", path);
    gq_sha256_init(&f->sha);
}

int out_afile_write(out_afile *f, const void *data, size_t n, gq_error *err)
{
    const uint8_t *p = data;
    if (f->dry) {
        gq_sha256_update(&f->sha, data, n);
        f->bytes += n;
        return 0;
    }
    if (f->fd < 0)
        return gq_fail(err, GQ_EIO, "write %s: file is not open", f->path);
    gq_sha256_update(&f->sha, data, n);
    f->bytes += n;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            out_afile_abort(f);
            return out_errno_fail(err, e, "write", f->path);
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void out_afile_abort(out_afile *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        unlinkat(f->dirfd, f->tmp, 0);
    }
    if (f->dirfd >= 0) {
        close(f->dirfd);
        f->dirfd = -1;
    }
}

int out_afile_commit(out_afile *f, int sync_dir, char sha_hex[65], gq_error *err)
{
    int e;
    if (f->dry) {
        if (sha_hex)
            gq_sha256_final_hex(&f->sha, sha_hex);
        return 0;
    }
    if (f->fd < 0)
        return gq_fail(err, GQ_EIO, "commit %s: file is not open", f->path);
    if (fsync(f->fd) < 0) {
        e = errno;
        out_afile_abort(f);
        return out_errno_fail(err, e, "fsync", f->path);
    }
    if (close(f->fd) < 0) {
        e = errno;
        f->fd = -1;
        unlinkat(f->dirfd, f->tmp, 0);
        close(f->dirfd);
        f->dirfd = -1;
        return out_errno_fail(err, e, "close", f->path);
    }
    f->fd = -1;
    if (renameat(f->dirfd, f->tmp, f->dirfd, f->name) < 0) {
        e = errno;
        unlinkat(f->dirfd, f->tmp, 0);
        close(f->dirfd);
        f->dirfd = -1;
        return out_errno_fail(err, e, "rename into", f->path);
    }
    if (sync_dir && fsync(f->dirfd) < 0) {
        e = errno;
        close(f->dirfd);
        f->dirfd = -1;
        return out_errno_fail(err, e, "fsync directory of", f->path);
    }
    close(f->dirfd);
    f->dirfd = -1;
    if (sha_hex)
        gq_sha256_final_hex(&f->sha, sha_hex);
    return 0;
}

int out_sync_dir(const char *dir, const char *rel_dir, gq_error *err)
{
    char path[4200];
    int fd;
    snprintf(path, sizeof path, "%s%s%s", dir, *rel_dir ? "/" : "", rel_dir);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return out_errno_fail(err, errno, "open directory", path);
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return out_errno_fail(err, e, "fsync directory", path);
    }
    close(fd);
    return 0;
}

int out_write_atomic(const char *dir, const char *rel, const void *data, size_t n,
                     gq_error *err)
{
    out_afile f;
    int rc;
    if ((rc = out_afile_open(&f, dir, rel, err)) < 0)
        return rc;
    if ((rc = out_afile_write(&f, data, n, err)) < 0)
        return rc;
    return out_afile_commit(&f, 1, NULL, err);
}

int out_read_file(const char *dir, const char *rel, uint8_t **data, size_t *n, gq_error *err)
{
    char path[4200];
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd, rc;

    *data = NULL;
    *n = 0;
    if ((rc = out_check_rel(rel, err)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return GQ_ENOTFOUND;
        return out_errno_fail(err, errno, "open", path);
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return gq_fail(err, GQ_EIO, "read %s: not a regular file", path);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return gq_fail(err, GQ_ENOMEM, "read %s: out of memory", path);
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return out_errno_fail(err, e, "read", path);
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *n = got;
    return 0;
}
