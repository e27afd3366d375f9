/* cpu/model_cpu.c: TEMPORARY: loads and validates model files; generation lands next. */
#include <stdlib.h>

#include "worker/engine/engine_impl.h"
#include "worker/engine/model/model.h"

static void mfree(void *p) { model_free(p); }
static int mgen(void *impl, const engine_batch *b, float *out, gq_error *err)
{
    return gq_fail(err, GQ_EUNSUPPORTED, "model: CPU forward pass not written yet");
}
static const engine_iface tmp_iface = { "model/cpu", mfree, NULL, mgen, NULL };

int engine_model_open_cpu(const char *path, const engine_options *opts, engine *e, gq_error *err)
{
    model *m;
    int rc = model_open(path, &m, err);
    if (rc) return rc;
    e->iface = &tmp_iface;
    e->impl = m;
    model_describe(m, &e->arch);
    return 0;
}
