/* fuzz_npy.c: fuzz target for the .npy reader (npy_parse). See fuzz_safetensors.c for how
 * it is built and replayed. */
#include <stdint.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "worker/engine/npy.h"

int fuzz_npy_one(const uint8_t *data, size_t size)
{
    npy_array a;
    gq_error err;
    gq_error_clear(&err);
    int rc = npy_parse(data, size, &a, &err);
    if (rc == 0) {
        size_t es = npy_dtype_size(a.dtype);
        GQ_ASSERT(es > 0 && a.ndim >= 0 && a.ndim <= NPY_MAX_DIM);
        volatile uint8_t sink = 0;
        if (a.count) sink ^= ((uint8_t *)a.data)[a.count * es - 1];   /* the whole payload is owned */
        (void)sink;
        npy_release(&a);
    } else {
        GQ_ASSERT(err.msg[0] != 0);
    }
    return 0;
}

#ifdef GQ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_npy_one(data, size); }
#endif
