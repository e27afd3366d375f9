/* out.h: output writers. Workers write images through these; the broker's finalizer writes
 * job-level products (manifest, labels, sheets, sweep summary) through out_finalize_job().
 *
 * The atomic rule: every file is written to a temporary name in the same directory
 * (".<name>.tmp.<pid>.<n>"), fsync'd, renamed into place, and the directory fsync'd (a task
 * writer fsyncs each directory once, at commit). A file under its final name is therefore
 * always complete; a re-executed task produces identical bytes under the same deterministic
 * name and leaves an identical file untouched. Encoders are pure functions of the pixels and
 * the options, so the bytes are identical on every machine with the same libpng/zlib/
 * libjpeg-turbo: PNG 8-bit RGB, no interlace, no time/text chunks, zlib level as given,
 * filter NONE at level 0 else adaptive; JPEG baseline, 4:4:4 (no chroma subsampling), islow
 * DCT, optimised Huffman tables, JFIF header, quality as given (spec default 95).
 *
 * Container formats (written by the task writer at commit, see out_container.c):
 *   NPZ  zip, stored, fixed 1980-01-01 times: x.npy uint8 (N, H, W, 3) and y.npy int64 (N,)
 *        class ids, .npy v1.0 with 64-aligned headers (numpy.load reads it).
 *   WDS  POSIX ustar, mode 0644, mtime 0, uid/gid 0; per sample, in index order,
 *        <key>.png|jpg, <key>.cls (the class id as decimal text, no newline) and <key>.json
 *        {"class", "class_name", "seed", "index", "truncation"[, "split"]}; two zero blocks.
 *
 * Errors: GQ_ENOSPC (disk full: nothing left under a final name), GQ_EIO (with path in err),
 * GQ_EINVAL (bad options, e.g. jpeg quality outside 1..100).
 */
#ifndef GQ_OUT_H
#define GQ_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_buf.h"
#include "proto/base/gq_sha256.h"
#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"
#include "proto/plan/plan.h"

/* ---- encoders (to memory) ---- */
/* rgb: h x w x 3 bytes. level: 0..9 (zlib). OUT: *out receives the file bytes. */
int out_encode_png(const uint8_t *rgb, int w, int h, int level, gq_buf *out, gq_error *err);
int out_encode_jpeg(const uint8_t *rgb, int w, int h, int quality, gq_buf *out, gq_error *err);
/* Decode a PNG or JPEG file back to rgb (for sheets and sweep statistics). OUT: *rgb malloc'd. */
int out_decode_image(const char *path, uint8_t **rgb, int *w, int *h, gq_error *err);

/* ---- atomic files ---- */
/* Write bytes to dir/rel (creating parent directories inside dir) by temp-then-rename with
 * fsync. rel must not contain ".." or start with "/". */
int out_write_atomic(const char *dir, const char *rel, const void *data, size_t n, gq_error *err);

/* ---- the output directory ----
 * Rules, checked by out_dir_check() (the broker at submit, create = 0) and by
 * out_task_open() before anything is written (create = 1):
 *   - out_dir must be absolute, contain no "." or ".." component, and resolve to itself
 *     (realpath): no component may be a symlink (no symlink escape);
 *   - it may be missing (create = 1 makes it, parents included) or an empty directory;
 *   - a non-empty directory must hold the marker file OUT_MARKER written by ganq for a job
 *     with the same output fingerprint (same kind, model, seed, classes, counts,
 *     truncations, format/layout/levels, shard size, interpolation endpoints): that is a
 *     resume, and existing outputs are reused. A directory without the marker is "foreign"
 *     and refused (GQ_EEXIST); one whose marker has another fingerprint holds another job's
 *     outputs and is refused too (GQ_EEXIST);
 *   - create = 1 writes the marker (atomically, identical bytes from every worker) when
 *     absent. Unwritable directories give GQ_EIO naming the path.
 * Below out_dir, writers never follow symlinks (O_NOFOLLOW on every component). */
#define OUT_MARKER ".ganq-job.json"
int out_dir_check(const Ganq__V1__JobSpec *spec, const plan *p, int create, gq_error *err);
/* The output fingerprint of a job (hex sha256 over the fields listed above). */
void out_fingerprint(const Ganq__V1__JobSpec *spec, const plan *p, char hex[65]);

/* ---- a task's writer ----
 * The worker opens one writer per task, hands it each batch of uint8 HWC images in index
 * order, then commits. File formats (PNG/JPEG) are encoded on the writer's thread pool while
 * the engine computes the next batch; containers (NPZ/WDS) are assembled and written at
 * commit. out_task_commit() waits for every pending encode, makes every file durable, and
 * fills the output records (paths relative to out_dir) for the DONE message. */
typedef struct out_task out_task;

typedef struct out_task_options {
    const Ganq__V1__JobSpec *spec;   /* resolved spec: format, levels, out_dir */
    const plan              *plan;
    uint64_t                 start, end; /* the task's image range */
    int                      threads;    /* encoder threads (0 = online cores) */
} out_task_options;

int  out_task_open(const out_task_options *o, out_task **out, gq_error *err);
/* images: n x H x W x 3, for indices[0..n) (ascending, inside [start, end)). The writer
 * copies what it needs before returning; it blocks only while ~4 images per encoder thread
 * are already waiting. An encode/write failure of an earlier image is returned here or by
 * commit. Tasks of NPZ/WDS jobs must cover whole containers (plan_task_end). */
int  out_task_add(out_task *t, const uint64_t *indices, int n, const uint8_t *images,
                  int w, int h, gq_error *err);
/* OUT: *records, an array of *n_records filled Ganq__V1__OutputRecord pointers (one per
 * file: png/jpeg one per image, NPZ/WDS one per container). The array, the records and their
 * strings belong to the task: valid until out_task_free, never freed by the caller.
 * Images of the range that were never added are taken from disk when their file is there
 * (a worker that found some files present need not regenerate them); otherwise GQ_ESTATE.
 * Files already holding identical bytes are not rewritten. Directory fsyncs happen here. */
int  out_task_commit(out_task *t, Ganq__V1__OutputRecord ***records, size_t *n_records,
                     gq_error *err);
void out_task_free(out_task *t);  /* also discards uncommitted temp files */

/* True when every file of the task [start, end) is already present and complete (a
 * resubmitted job reuses them). */
int out_task_complete(const out_task_options *o);

/* ---- job-level products, written once when every task is done (idempotent) ----
 * manifest.jsonl + manifest.csv (index, class id, class name, seed, truncation, split, file
 * or shard + key), labels.txt (synthesize), sheets (generate --sheet, sweep per value),
 * sweep summary.csv / summary.json / summary.png, interpolation strip.png. */
int out_finalize_job(const char *job_id, const Ganq__V1__JobSpec *spec, const plan *p,
                     gq_error *err);

#endif
