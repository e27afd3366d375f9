/* gq_time.c: clock_gettime wrappers. */
#include "proto/base/gq_time.h"
#include <time.h>

static int64_t ms_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t gq_mono_ms(void) { return ms_of(CLOCK_MONOTONIC); }
int64_t gq_wall_ms(void) { return ms_of(CLOCK_REALTIME); }

void gq_sleep_ms(int64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}
