/* wk_batch.h: how the worker cuts a task into engine batches.
 *
 * The engine takes one truncation per call, so a task's images are grouped by truncation
 * (a job with a truncation list samples one value per image), and each group is cut into
 * batches of at most max_batch images. Batches come out ordered by their first image, and
 * within a batch images are in ascending index order, so a task whose images share one
 * truncation is generated strictly in index order. Pure logic: no engine, no plan; the
 * caller passes the truncation of each image of the task.
 */
#ifndef GQ_WK_BATCH_H
#define GQ_WK_BATCH_H

#include <stddef.h>

typedef struct wk_batch {
    size_t first;       /* offset of the batch's first entry in the order array */
    size_t n;           /* entries in the batch, 1..max_batch */
    double truncation;  /* shared by every image of the batch */
} wk_batch;

/* Plan the batches of n images whose truncations are trunc[0..n).
 * OUT: order[0..n) (caller-provided) receives item positions (0..n-1) so that batch k is
 * order[batches[k].first .. + batches[k].n); *batches a malloc'd array of *n_batches (free
 * it), NULL when n == 0. Returns 0, GQ_EINVAL (max_batch < 1), GQ_ENOMEM. */
int wk_batch_plan(const double *trunc, size_t n, int max_batch, size_t *order,
                  wk_batch **batches, size_t *n_batches);

#endif
