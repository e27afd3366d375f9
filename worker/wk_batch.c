/* wk_batch.c: grouping a task's images by truncation into engine batches (see wk_batch.h).
 *
 * Method: sort positions by (truncation, position), cut each run of equal truncation into
 * pieces of max_batch, then order the pieces by their first position and lay the order
 * array out piece after piece. Truncations are compared exactly: they come from the job's
 * list, so equal values are bit-identical. */
#include "worker/wk_batch.h"

#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_status.h"

typedef struct pos_key {
    double t;
    size_t pos;
} pos_key;

static int cmp_key(const void *a, const void *b)
{
    const pos_key *x = a, *y = b;
    if (x->t < y->t) return -1;
    if (x->t > y->t) return 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

typedef struct piece {
    size_t key_first;   /* offset into the sorted key array */
    size_t n;
    size_t first_pos;
    double t;
} piece;

static int cmp_piece(const void *a, const void *b)
{
    const piece *x = a, *y = b;
    return (x->first_pos > y->first_pos) - (x->first_pos < y->first_pos);
}

int wk_batch_plan(const double *trunc, size_t n, int max_batch, size_t *order,
                  wk_batch **batches, size_t *n_batches)
{
    *batches = NULL;
    *n_batches = 0;
    if (max_batch < 1) return GQ_EINVAL;
    if (n == 0) return 0;

    pos_key *keys = malloc(n * sizeof *keys);
    piece *pieces = malloc(n * sizeof *pieces);   /* at most one piece per image */
    if (!keys || !pieces) {
        free(keys);
        free(pieces);
        return GQ_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        keys[i].t = trunc[i];
        keys[i].pos = i;
    }
    qsort(keys, n, sizeof *keys, cmp_key);

    size_t np = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && keys[j].t == keys[i].t) j++;   /* run [i, j) of one truncation */
        for (size_t k = i; k < j; k += (size_t)max_batch) {
            size_t len = j - k < (size_t)max_batch ? j - k : (size_t)max_batch;
            pieces[np++] = (piece){ .key_first = k, .n = len, .first_pos = keys[k].pos,
                                    .t = keys[k].t };
        }
        i = j;
    }
    qsort(pieces, np, sizeof *pieces, cmp_piece);

    wk_batch *out = malloc(np * sizeof *out);
    if (!out) {
        free(keys);
        free(pieces);
        return GQ_ENOMEM;
    }
    size_t off = 0;
    for (size_t p = 0; p < np; p++) {
        out[p] = (wk_batch){ .first = off, .n = pieces[p].n, .truncation = pieces[p].t };
        for (size_t k = 0; k < pieces[p].n; k++) order[off++] = keys[pieces[p].key_first + k].pos;
    }
    free(keys);
    free(pieces);
    *batches = out;
    *n_batches = np;
    return 0;
}
