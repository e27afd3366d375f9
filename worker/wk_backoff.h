/* wk_backoff.h: the reconnect delay schedule of the worker: exponential from min_ms,
 * doubling on every failed attempt, capped at max_ms (100 ms .. 5 s by default), back to
 * min_ms once the broker answers a HELLO. Pure logic. */
#ifndef GQ_WK_BACKOFF_H
#define GQ_WK_BACKOFF_H

#include <stdint.h>

#define WK_BACKOFF_MIN_MS 100
#define WK_BACKOFF_MAX_MS 5000

typedef struct wk_backoff {
    int64_t min_ms;   /* first delay */
    int64_t max_ms;   /* cap */
    int64_t next_ms;  /* the delay the next wk_backoff_next() returns */
    int     attempts; /* failed attempts since the last reset */
} wk_backoff;

/* min_ms >= 1, max_ms >= min_ms (asserted). */
void    wk_backoff_init(wk_backoff *b, int64_t min_ms, int64_t max_ms);
/* The delay before the next attempt; advances the schedule. */
int64_t wk_backoff_next(wk_backoff *b);
/* The broker answered: start again from min_ms. */
void    wk_backoff_reset(wk_backoff *b);

#endif
