/* model.h: a ganq model file (FORMAT.md) loaded, validated and converted to fp32.
 *
 * model_open maps the safetensors file, checks `__metadata__` (format version, family, arch,
 * class names, provenance), derives the architecture (arch.h), checks that the file holds
 * exactly the tensors that architecture needs with the right shapes (missing, unexpected,
 * wrong shape: GQ_EFORMAT naming the tensor), converts every tensor to fp32 in one owned
 * arena, hashes the file (sha256) and unmaps it. Backends then fetch tensors by name.
 */
#ifndef GQ_ENGINE_MODEL_H
#define GQ_ENGINE_MODEL_H

#include <stdint.h>

#include "proto/base/gq_status.h"
#include "worker/engine/engine.h"
#include "worker/engine/model/arch.h"

typedef struct model model;

/* Open path. OUT: *out (model_free it), NULL on failure.
 * Returns 0, GQ_ENOTFOUND, GQ_EIO, GQ_EFORMAT (err names the tensor or field), GQ_ENOMEM. */
int model_open(const char *path, model **out, gq_error *err);
/* Same from a memory image (tests, fuzzing); the bytes are not kept. */
int model_open_mem(const void *buf, size_t len, const char *name, model **out, gq_error *err);
void model_free(model *m);

const model_arch *model_get_arch(const model *m);
/* Fill the public description; strings point into m. */
void model_describe(const model *m, engine_arch *out);
/* The fp32 data of a tensor the architecture requires (validated at open: never NULL for
 * those names; aborts through GQ_ASSERT on a name the architecture does not have). */
const float *model_tensor(const model *m, const char *name);
/* printf-style name. */
const float *model_tensorf(const model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* List the tensors (name, shape) a model of `family` with `ganq.arch` = arch_json must hold,
 * in the order the loader checks them (scalars are reported as [1]). For tests and tools
 * that build model files. Returns 0 or GQ_EFORMAT (bad arch). */
typedef void (*model_tensor_cb)(void *ctx, const char *name, int ndim, const int64_t *shape);
int model_expected(const char *family, const char *arch_json, model_tensor_cb cb, void *ctx, gq_error *err);

#endif
