/* safetensors.h: a strict safetensors reader over mmap (format: 8-byte little-endian header
 * length N, N bytes of JSON header, tensor bytes). See FORMAT.md for what ganq adds.
 *
 * st_open checks the container itself: header length within the file and <= 100 MB, the
 * header a JSON object whose entries are tensors {dtype, shape, data_offsets} (plus an
 * optional "__metadata__" object of string values), dtype one of F32/F16/BF16, shape
 * non-negative integers, end - begin == elements * dtype size, offsets inside the data area,
 * no two tensors overlapping. Names and shapes against an architecture are model.c's job.
 * st_parse does the same on a memory image (for the fuzzer and tests).
 */
#ifndef GQ_ENGINE_SAFETENSORS_H
#define GQ_ENGINE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "worker/engine/model/json.h"

#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_MAX_DIM 8

enum st_dtype { ST_F32 = 0, ST_F16 = 1, ST_BF16 = 2 };

typedef struct st_tensor {
    const char   *name;          /* owned by the st_file's header tree */
    int           dtype;         /* enum st_dtype */
    int           ndim;
    int64_t       shape[ST_MAX_DIM];
    uint64_t      count;         /* elements */
    const uint8_t *data;         /* count * size bytes inside the mapping */
} st_tensor;

typedef struct st_file st_file;

/* Open and map path. OUT: *out (st_close it), NULL on failure.
 * Returns 0, GQ_ENOTFOUND, GQ_EIO, GQ_EFORMAT (err names the tensor/field), GQ_ENOMEM. */
int st_open(const char *path, st_file **out, gq_error *err);

/* Parse a memory image (not copied: buf must outlive the st_file). Same checks and returns. */
int st_parse(const void *buf, size_t len, st_file **out, gq_error *err);

void st_close(st_file *f);

size_t           st_count(const st_file *f);
const st_tensor *st_tensor_at(const st_file *f, size_t i);
const st_tensor *st_find(const st_file *f, const char *name);   /* NULL if absent */
/* The "__metadata__" object, or NULL when the file has none. */
const json_value *st_metadata(const st_file *f);
/* The whole file's bytes (for hashing). */
const uint8_t *st_bytes(const st_file *f, size_t *len);
const char    *st_dtype_name(int dtype);
size_t         st_dtype_size(int dtype);

/* Convert a tensor to fp32 into out[count]. */
void st_to_f32(const st_tensor *t, float *out);

#endif
