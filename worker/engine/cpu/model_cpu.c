/* cpu/model_cpu.c: opening model files on the CPU backend (TEMPORARY: the safetensors loader
 * is being written; until it lands every model file is refused with GQ_EUNSUPPORTED). */
#include "worker/engine/engine_impl.h"

int engine_model_open_cpu(const char *path, const engine_options *opts, engine *e, gq_error *err)
{
    (void)opts; (void)e;
    return gq_fail(err, GQ_EUNSUPPORTED, "model: '%s': model files are not loadable yet", path);
}
