/* out_impl.h: internals shared by the files of storage/out (not for other modules).
 *
 * out_afile is one file being written under the atomic rule of out.h: a temporary
 * ".<name>.tmp.<pid>.<n>" in the final directory, opened through directory descriptors that
 * never follow a symlink (O_NOFOLLOW at every component below out_dir), written, fsync'd,
 * renamed into place and, unless the caller batches it, followed by an fsync of the directory.
 * On any failure the temporary is unlinked: nothing partial is ever left under a final name.
 */
#ifndef GQ_OUT_IMPL_H
#define GQ_OUT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_sha256.h"
#include "proto/base/gq_status.h"

typedef struct out_afile {
    int        dirfd;       /* the final directory, O_DIRECTORY */
    int        fd;          /* the temporary, -1 when closed */
    char       name[256];   /* final base name */
    char       tmp[320];    /* temporary base name */
    char       path[4096];  /* dir/rel, for messages */
    uint64_t   bytes;
    gq_sha256 sha;         /* over every byte written */
    int        dry;         /* 1: count and hash only, touch no file (out_afile_dry) */
} out_afile;

/* A file that only counts and hashes what would be written (to compare with a file on
 * disk before rewriting it). Commit/abort on it touch nothing. */
void out_afile_dry(out_afile *f, const char *path);

/* Check rel (relative, no "..", no empty or "." component, no leading '/'). */
int out_check_rel(const char *rel, gq_error *err);
/* Open dir/rel's directory (creating components under dir) without following symlinks.
 * OUT: *dirfd. base: pointer into rel at the file name. */
int out_open_parent(const char *dir, const char *rel, int *dirfd, const char **base,
                    gq_error *err);
int  out_afile_open(out_afile *f, const char *dir, const char *rel, gq_error *err);
int  out_afile_write(out_afile *f, const void *p, size_t n, gq_error *err);
/* Make durable and rename into place. sync_dir 0 leaves the directory fsync to the caller
 * (out_sync_dir). Closes the file either way; on failure the temporary is gone. */
int  out_afile_commit(out_afile *f, int sync_dir, char sha_hex[65], gq_error *err);
void out_afile_abort(out_afile *f);
/* fsync the directory dir/rel_dir ("" = dir itself). */
int  out_sync_dir(const char *dir, const char *rel_dir, gq_error *err);
/* Read a whole file dir/rel. OUT: *data malloc'd, *n. GQ_ENOTFOUND when absent. */
int  out_read_file(const char *dir, const char *rel, uint8_t **data, size_t *n, gq_error *err);

/* Map an errno from a write path to GQ_ENOSPC / GQ_EIO with the path in err. */
int  out_errno_fail(gq_error *err, int e, const char *what, const char *path);

/* Containers: stream an NPZ (x uint8 n x h x w x 3, y int64 n) / tar members into f. */
int out_npz_write(out_afile *f, const uint8_t *x, uint64_t n, int h, int w,
                  const int64_t *y, gq_error *err);
int out_tar_member(out_afile *f, const char *name, const void *data, size_t n, gq_error *err);
int out_tar_end(out_afile *f, gq_error *err);

/* A small RGB canvas (out_raster.c) for sheets and charts. */
typedef struct out_canvas {
    int      w, h;
    uint8_t *px;   /* h x w x 3 */
} out_canvas;
int  out_canvas_init(out_canvas *c, int w, int h, const uint8_t bg[3]);  /* 0 or GQ_ENOMEM */
void out_canvas_release(out_canvas *c);
void out_canvas_rect(out_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]);
void out_canvas_line(out_canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3],
                     int pen);
/* Draw src (sw x sh) scaled to tw x th at (x, y), nearest neighbour. */
void out_canvas_blit(out_canvas *c, int x, int y, int tw, int th, const uint8_t *src, int sw,
                     int sh);
/* 3x5 pixel font scaled by scale; 4*scale pixels per character. */
void out_canvas_text(out_canvas *c, int x, int y, int scale, const char *s,
                     const uint8_t rgb[3]);

/* Decode PNG or JPEG bytes (what names them in messages). OUT: *rgb malloc'd. */
int out_decode_mem(const uint8_t *data, size_t n, const char *what, uint8_t **rgb, int *w,
                   int *h, gq_error *err);

#endif
