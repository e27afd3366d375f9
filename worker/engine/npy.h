/* npy.h: a small, strict reader and writer of NumPy .npy files (format 1.0, 2.0, 3.0).
 *
 * Supported: little-endian float32 '<f4', float64 '<f8', int32 '<i4', int64 '<i8', uint8
 * '|u1'; C order only; up to NPY_MAX_DIM dimensions. Anything else is GQ_EFORMAT with a message
 * naming the field ("descr", "shape", "fortran_order", data length). Used by ganq-engine and
 * the parity tests; fuzzed by tests/fuzz/fuzz_npy.c.
 */
#ifndef GQ_ENGINE_NPY_H
#define GQ_ENGINE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"

#define NPY_MAX_DIM 8

enum npy_dtype { NPY_F32 = 0, NPY_F64 = 1, NPY_I32 = 2, NPY_I64 = 3, NPY_U8 = 4 };

typedef struct npy_array {
    int      dtype;              /* enum npy_dtype */
    int      ndim;
    int64_t  shape[NPY_MAX_DIM];
    size_t   count;              /* product of shape (1 for ndim 0) */
    void    *data;               /* owned (malloc); count elements */
} npy_array;

/* Size in bytes of one element of dtype. */
size_t npy_dtype_size(int dtype);

/* Parse an in-memory .npy image. OUT: *a (data copied; npy_release frees it); on failure *a
 * holds nothing to free. Returns 0, GQ_EFORMAT or GQ_ENOMEM. */
int npy_parse(const void *buf, size_t len, npy_array *a, gq_error *err);

/* Read a file. Returns 0, GQ_ENOTFOUND, GQ_EIO, GQ_EFORMAT or GQ_ENOMEM (err names the path). */
int npy_read_file(const char *path, npy_array *a, gq_error *err);

/* Write data (C order) as format 1.0 to path (through path.tmp + rename). Returns 0 or GQ_EIO. */
int npy_write_file(const char *path, int dtype, int ndim, const int64_t *shape, const void *data,
                   gq_error *err);

void npy_release(npy_array *a);

#endif
