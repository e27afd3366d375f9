/* cli_args.c: option walking, usage rendering and value parsing for the `ganq` commands. */
#include "client/cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/cli.h"

void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv, int first)
{
    p->argc = argc;
    p->argv = argv;
    p->i = first;
    p->no_more = 0;
    p->cmd = cmd;
}

int cli_usage_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

static const cli_opt *find_opt(const cli_opt *const *tabs, const char *name, size_t n)
{
    for (; *tabs; tabs++)
        for (const cli_opt *o = *tabs; o->name; o++)
            if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
                return o;
    return NULL;
}

int cli_next(cli_parser *p, const cli_opt *const *tabs, const cli_opt **opt, const char **val)
{
    *opt = NULL;
    *val = NULL;
    if (p->i >= p->argc)
        return CLI_NEXT_END;
    const char *a = p->argv[p->i++];
    if (p->no_more || a[0] != '-' || a[1] == '\0') {
        *val = a;
        return CLI_NEXT_POS;
    }
    if (strcmp(a, "--") == 0) {
        p->no_more = 1;
        return cli_next(p, tabs, opt, val);
    }
    const char *name;
    if (a[1] == '-')
        name = a + 2;
    else if (strcmp(a, "-h") == 0)
        name = "help";
    else {
        cli_usage_fail(p->cmd, "unknown option '%s' (options are --long-names; see --help)", a);
        return CLI_NEXT_ERR;
    }
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const cli_opt *o = find_opt(tabs, name, n);
    if (!o) {
        cli_usage_fail(p->cmd, "unknown option '--%.*s' (see '%s --help')", (int)n, name, p->cmd);
        return CLI_NEXT_ERR;
    }
    if (o->has_arg) {
        if (eq)
            *val = eq + 1;
        else if (p->i < p->argc)
            *val = p->argv[p->i++];
        else {
            cli_usage_fail(p->cmd, "--%s: needs a value (%s)", o->name,
                           o->arg_name ? o->arg_name : "VALUE");
            return CLI_NEXT_ERR;
        }
    } else if (eq) {
        cli_usage_fail(p->cmd, "--%s: takes no value", o->name);
        return CLI_NEXT_ERR;
    }
    *opt = o;
    return CLI_NEXT_OPT;
}

void cli_print_usage(FILE *f, const char *usage, const char *intro, const cli_opt *const *tabs)
{
    fprintf(f, "usage: %s\n", usage);
    if (intro && *intro)
        fprintf(f, "\n%s\n", intro);
    fprintf(f, "\noptions:\n");
    for (; *tabs; tabs++)
        for (const cli_opt *o = *tabs; o->name; o++) {
            char left[64];
            snprintf(left, sizeof left, "--%s%s%s", o->name, o->has_arg ? " " : "",
                     o->has_arg ? (o->arg_name ? o->arg_name : "VALUE") : "");
            fprintf(f, "  %-24s %s\n", left, o->help ? o->help : "");
        }
}

int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t lo, uint64_t hi,
                  uint64_t *out)
{
    const char *q = s;
    while (*q == ' ')
        q++;
    if (*q < '0' || *q > '9') {
        cli_usage_fail(cmd, "--%s: '%s' is not a whole number (%llu..%llu)", flag, s,
                       (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(q, &end, 10);
    if (errno || *end) {
        cli_usage_fail(cmd, "--%s: '%s' is not a whole number (%llu..%llu)", flag, s,
                       (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_usage_fail(cmd, "--%s: %llu is outside %llu..%llu", flag, v, (unsigned long long)lo,
                       (unsigned long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_i64(const char *cmd, const char *flag, const char *s, int64_t lo, int64_t hi,
                  int64_t *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        cli_usage_fail(cmd, "--%s: '%s' is not a whole number (%lld..%lld)", flag, s,
                       (long long)lo, (long long)hi);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_usage_fail(cmd, "--%s: %lld is outside %lld..%lld", flag, v, (long long)lo,
                       (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_d(const char *s, double *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *flag, const char *s, double *out)
{
    if (parse_d(s, out)) {
        cli_usage_fail(cmd, "--%s: '%s' is not a finite number", flag, s);
        return -1;
    }
    return 0;
}

#define MAX_VALUES 100000

int cli_parse_doubles(const char *cmd, const char *flag, const char *s, int allow_range,
                      double **vals, size_t *n)
{
    *vals = NULL;
    *n = 0;
    if (allow_range && strchr(s, ':')) {
        char *cp = strdup(s);
        if (!cp)
            return -1;
        char *a = cp, *b = strchr(a, ':');
        *b++ = '\0';
        char *c = strchr(b, ':');
        double lo, hi, step;
        if (!c || (*c++ = '\0', strchr(c, ':')) || parse_d(a, &lo) || parse_d(b, &hi) ||
            parse_d(c, &step)) {
            free(cp);
            cli_usage_fail(cmd, "--%s: '%s' is not START:STOP:STEP (e.g. 0.1:1.0:0.1)", flag, s);
            return -1;
        }
        free(cp);
        if (step <= 0 || hi < lo) {
            cli_usage_fail(cmd, "--%s: '%s' needs STOP >= START and STEP > 0", flag, s);
            return -1;
        }
        double cnt = floor((hi - lo) / step + 1e-9) + 1;
        if (cnt > MAX_VALUES) {
            cli_usage_fail(cmd, "--%s: '%s' gives more than %d values", flag, s, MAX_VALUES);
            return -1;
        }
        size_t k = (size_t)cnt;
        double *v = malloc(k * sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < k; i++)   /* round to 1e-9 so 0.1*3 prints as 0.3 */
            v[i] = round((lo + (double)i * step) * 1e9) / 1e9;
        *vals = v;
        *n = k;
        return 0;
    }
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    if (cap > MAX_VALUES) {
        cli_usage_fail(cmd, "--%s: more than %d values", flag, MAX_VALUES);
        return -1;
    }
    double *v = malloc(cap * sizeof *v);
    char *cp = strdup(s);
    if (!v || !cp) {
        free(v);
        free(cp);
        return -1;
    }
    size_t k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(cp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (parse_d(tok, &v[k])) {
            cli_usage_fail(cmd, "--%s: '%s' is not a finite number", flag, tok);
            free(v);
            free(cp);
            return -1;
        }
        k++;
    }
    free(cp);
    if (k == 0) {
        free(v);
        cli_usage_fail(cmd, "--%s: needs at least one number", flag);
        return -1;
    }
    *vals = v;
    *n = k;
    return 0;
}

int cli_parse_choice(const char *cmd, const char *flag, const char *s, const char *const *names,
                     int *idx)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) {
            *idx = i;
            return 0;
        }
    char list[256] = "";
    for (int i = 0; names[i]; i++) {
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    cli_usage_fail(cmd, "--%s: '%s' is not one of %s", flag, s, list);
    return -1;
}

int cli_abs_path(const char *cmd, const char *flag, const char *path, char **out)
{
    *out = NULL;
    if (!*path) {
        cli_usage_fail(cmd, "--%s: must not be empty", flag);
        return -1;
    }
    char cwd[4096];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        cli_usage_fail(cmd, "--%s: cannot read the current directory: %s", flag,
                       strerror(errno));
        return -1;
    }
    size_t n = strlen(path) + (path[0] == '/' ? 0 : strlen(cwd) + 1) + 2;
    char *joined = malloc(n), *res = malloc(n);
    if (!joined || !res) {
        free(joined);
        free(res);
        return -1;
    }
    if (path[0] == '/')
        snprintf(joined, n, "%s", path);
    else
        snprintf(joined, n, "%s/%s", cwd, path);
    /* Lexical normalisation: components into res. */
    size_t len = 0;
    char *save = NULL;
    for (char *c = strtok_r(joined, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            while (len > 0 && res[len - 1] != '/')
                len--;
            if (len > 0)
                len--;   /* drop the slash too */
            continue;
        }
        res[len++] = '/';
        size_t cl = strlen(c);
        memcpy(res + len, c, cl);
        len += cl;
    }
    if (len == 0)
        res[len++] = '/';
    res[len] = '\0';
    free(joined);
    *out = res;
    return 0;
}
