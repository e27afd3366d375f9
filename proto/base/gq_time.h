/* gq_time.h: clocks. Monotonic milliseconds for deadlines and intervals (immune to clock
 * jumps); wall-clock milliseconds since the epoch for what is stored or shown to users. */
#ifndef GQ_TIME_H
#define GQ_TIME_H
#include <stdint.h>
int64_t gq_mono_ms(void);
int64_t gq_wall_ms(void);
void    gq_sleep_ms(int64_t ms);
#endif
