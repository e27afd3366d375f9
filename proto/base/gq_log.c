/* gq_log.c: timestamped stderr logging with a level threshold; invariant aborts. */
#include "proto/base/gq_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *g_prog = "ganq";
static int g_level = GQ_LOG_INFO;

static int level_from_env(void)
{
    const char *v = getenv("GANQ_LOG");
    if (!v)
        return GQ_LOG_INFO;
    if (!strcmp(v, "error")) return GQ_LOG_ERROR;
    if (!strcmp(v, "warn"))  return GQ_LOG_WARN;
    if (!strcmp(v, "debug")) return GQ_LOG_DEBUG;
    return GQ_LOG_INFO;
}

void gq_log_init(const char *prog, int level)
{
    if (prog)
        g_prog = prog;
    g_level = level >= 0 ? level : level_from_env();
}

int gq_log_enabled(int level) { return level <= g_level; }

void gq_log(int level, const char *fmt, ...)
{
    static const char *names[] = { "error", "warn", "info", "debug" };
    char line[2048], ts[32];
    struct timeval tv;
    struct tm tm;
    va_list ap;
    int n;

    if (level > g_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s.%03ldZ %s[%d] %s: ", ts, (long)(tv.tv_usec / 1000),
                 g_prog, (int)getpid(), names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}

void gq_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s: %s:%d: invariant broken: %s\n", g_prog, file, line, expr);
    abort();
}
