/* fuzz_safetensors.c: fuzz target for the model-file decoders: the JSON parser on raw
 * bytes, the safetensors container (st_parse), fp32 conversion of every tensor it accepts,
 * and the full model validation (model_open_mem). Nothing may crash, hang, leak or read out
 * of bounds; every rejection must come with a message.
 *
 * Built two ways: with -DGQ_LIBFUZZER by `make fuzz` (clang -fsanitize=fuzzer), and
 * #included by tests/unit/test_model_fuzz_replay.c, which replays the corpus and
 * deterministic mutations under ASan in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "worker/engine/model/json.h"
#include "worker/engine/model/model.h"
#include "worker/engine/model/safetensors.h"

int fuzz_safetensors_one(const uint8_t *data, size_t size)
{
    gq_error err;
    json_value *j = NULL;
    gq_error_clear(&err);
    if (json_parse((const char *)data, size, &j, &err) == 0) json_free(j);
    else GQ_ASSERT(err.msg[0] != 0);
    st_file *f = NULL;
    gq_error_clear(&err);
    int rc = st_parse(data, size, &f, &err);
    if (rc == 0) {
        for (size_t i = 0; i < st_count(f); i++) {
            const st_tensor *t = st_tensor_at(f, i);
            if (t->count > ((size_t)1 << 22)) continue;      /* bounded work per input */
            float *buf = malloc((size_t)(t->count ? t->count : 1) * sizeof(float));
            if (!buf) continue;
            st_to_f32(t, buf);
            free(buf);
        }
        st_close(f);
    } else {
        GQ_ASSERT(rc == GQ_EFORMAT || rc == GQ_ENOMEM);
        GQ_ASSERT(err.msg[0] != 0);
    }
    model *m = NULL;
    gq_error_clear(&err);
    rc = model_open_mem(data, size, "fuzz", &m, &err);
    if (rc == 0) model_free(m);
    else GQ_ASSERT(err.msg[0] != 0 && m == NULL);
    return 0;
}

#ifdef GQ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_safetensors_one(data, size); }
#endif
