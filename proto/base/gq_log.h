/* gq_log.h: logging to stderr and invariant checks.
 *
 * Lines look like `2026-12-07T01:02:03.456Z ganq-broker[123] warn: worker w3 missed 3 beats`.
 * The level threshold comes from gq_log_init() or GANQ_LOG (error|warn|info|debug).
 * Logging is thread-safe (one fprintf per line).
 * GQ_ASSERT(cond) aborts with file:line on a broken invariant, in every build: it is for bugs,
 * never for bad input.
 */
#ifndef GQ_LOG_H
#define GQ_LOG_H

enum gq_log_level { GQ_LOG_ERROR = 0, GQ_LOG_WARN = 1, GQ_LOG_INFO = 2, GQ_LOG_DEBUG = 3 };

/* Set the program name shown in each line and the threshold (-1: from GANQ_LOG, default info). */
void gq_log_init(const char *prog, int level);
int  gq_log_enabled(int level);
void gq_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gq_err(...)   gq_log(GQ_LOG_ERROR, __VA_ARGS__)
#define gq_warn(...)  gq_log(GQ_LOG_WARN, __VA_ARGS__)
#define gq_info(...)  gq_log(GQ_LOG_INFO, __VA_ARGS__)
#define gq_debug(...) gq_log(GQ_LOG_DEBUG, __VA_ARGS__)

void gq_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define GQ_ASSERT(c) ((c) ? (void)0 : gq_assert_fail(#c, __FILE__, __LINE__))

#endif
