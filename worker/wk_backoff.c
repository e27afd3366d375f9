/* wk_backoff.c: exponential reconnect delays (see wk_backoff.h). */
#include "worker/wk_backoff.h"

#include "proto/base/gq_log.h"

void wk_backoff_init(wk_backoff *b, int64_t min_ms, int64_t max_ms)
{
    GQ_ASSERT(min_ms >= 1 && max_ms >= min_ms);
    b->min_ms = min_ms;
    b->max_ms = max_ms;
    b->next_ms = min_ms;
    b->attempts = 0;
}

int64_t wk_backoff_next(wk_backoff *b)
{
    int64_t d = b->next_ms;
    b->next_ms = d > b->max_ms / 2 ? b->max_ms : d * 2;
    b->attempts++;
    return d;
}

void wk_backoff_reset(wk_backoff *b)
{
    b->next_ms = b->min_ms;
    b->attempts = 0;
}
