/* wk_models.h: the models a worker offers.
 *
 * "testcard" is always offered; every DIR/<stem>.safetensors is opened with engine_open at
 * start-up and offered under its stem, with the sha256, family, resolution, class names
 * and standing_stats from engine_get_arch. A file that does not open is skipped with an
 * error line (the worker still serves the others). The set is built once by the socket
 * thread before any task runs and is read-only afterwards, except that each engine is used
 * by the executor thread alone.
 */
#ifndef GQ_WK_MODELS_H
#define GQ_WK_MODELS_H

#include <stddef.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"
#include "worker/engine/engine.h"

typedef struct wk_models wk_models;

/* dir may be NULL (testcard only). OUT: *out on success. Returns 0, GQ_ENOTFOUND (dir
 * missing), GQ_ENOMEM, or the error of opening testcard. */
int  wk_models_open(const char *dir, const engine_options *eo, wk_models **out, gq_error *err);
void wk_models_free(wk_models *m);   /* frees every engine; NULL allowed */

size_t wk_models_count(const wk_models *m);
/* ModelInfo messages for Hello, owned by m. */
Ganq__V1__ModelInfo **wk_models_infos(const wk_models *m);
/* The smallest engine_max_batch over the models (what Hello announces). */
int wk_models_max_batch(const wk_models *m);
/* The engine of model `name`, or NULL. */
engine *wk_models_find(const wk_models *m, const char *name);

#endif
