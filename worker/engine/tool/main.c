/* main.c: ganq-engine, the engine's command-line tool (git style: a command table, one file
 * per subcommand, usage text per command, `--help` on each).
 *
 *   ganq-engine info MODEL [--json]
 *   ganq-engine sample MODEL --z Z.npy (--classes C.npy | --class-vectors Y.npy)
 *                      --truncation T --out OUT.npy [--device cpu] [--threads N]
 *   ganq-engine noise --seed S --index I --count N --truncation T --z-dim D --out Z.npy
 *   ganq-engine bench MODEL --batch B --iters N [--threads N] [--json]
 *
 * Exit status: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "worker/engine/tool/tool.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} COMMANDS[] = {
    { "info",   cmd_info,   "print a model's architecture, parameter count, classes, sha256" },
    { "sample", cmd_sample, "generate images from z and classes in .npy files" },
    { "noise",  cmd_noise,  "write engine_noise() z vectors to a .npy file" },
    { "bench",  cmd_bench,  "measure images/s" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ganq-engine <command> [options]   (ganq-engine <command> --help)\n\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-7s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
}

void tool_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ganq-engine %s: %s\n", cmd, msg);
}

int tool_parse_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
                   long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        tool_error(cmd, "%s: '%s' is not an integer in [%lld, %lld]", opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int tool_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (s[0] == '-') { tool_error(cmd, "%s: '%s' is negative", opt, s); return -1; }
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        tool_error(cmd, "%s: '%s' is not an unsigned 64-bit integer", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int tool_parse_double(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        tool_error(cmd, "%s: '%s' is not a number", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

const char *tool_value(const char *cmd, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        tool_error(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int main(int argc, char **argv)
{
    gq_log_init("ganq-engine", -1);
    if (argc < 2) { usage(stderr); return TOOL_EXIT_USAGE; }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TOOL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "ganq-engine: '%s' is not a command\n", argv[1]);
    usage(stderr);
    return TOOL_EXIT_USAGE;
}
