/* cli_args.h: the option parser every `ganq` command uses, and the value parsers.
 *
 * A command describes its options in a table of cli_opt (name without "--", whether it takes
 * a value, an id, help text); cli_next() walks argv and yields options ("--name VALUE" or
 * "--name=VALUE") and positional arguments; "--" ends options. cli_print_usage() renders the
 * table as the command's --help. Every failure prints ONE line to stderr naming the command
 * and the flag ("ganq submit generate: --count: 'x' is not a whole number") and the caller
 * returns CLI_EXIT_USAGE.
 */
#ifndef GQ_CLI_ARGS_H
#define GQ_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_opt {
    const char *name;     /* without the leading "--"; NULL ends a table */
    int         has_arg;  /* 1: takes a value */
    int         id;       /* returned by cli_next */
    const char *arg_name; /* shown in help ("N", "DIR") */
    const char *help;     /* one line */
} cli_opt;

typedef struct cli_parser {
    int         argc;
    char      **argv;
    int         i;        /* next argv index */
    int         no_more;  /* "--" seen */
    const char *cmd;      /* "ganq submit generate", for messages */
} cli_parser;

enum { CLI_NEXT_END = 0, CLI_NEXT_OPT = 1, CLI_NEXT_POS = 2, CLI_NEXT_ERR = -1 };

/* Start parsing argv[first..argc). */
void cli_parser_init(cli_parser *p, const char *cmd, int argc, char **argv, int first);

/* Next item. Tables are searched in order (tabs: NULL-terminated array of tables).
 * OUT: *opt and *val (NULL when the option takes no value) for CLI_NEXT_OPT; *val for
 * CLI_NEXT_POS. CLI_NEXT_ERR: an unknown option, a missing value or a value given to a flag;
 * the message is already printed. */
int cli_next(cli_parser *p, const cli_opt *const *tabs, const cli_opt **opt, const char **val);

/* Print "usage: <usage>\n\n<intro>\n\noptions:\n  --name ARG  help ..." to f. */
void cli_print_usage(FILE *f, const char *usage, const char *intro, const cli_opt *const *tabs);

/* Print "<cmd>: <message>" to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Value parsers: 0 on success, else print "<cmd>: --<flag>: <why>" and return -1. */
int cli_parse_u64(const char *cmd, const char *flag, const char *s, uint64_t lo, uint64_t hi,
                  uint64_t *out);
int cli_parse_i64(const char *cmd, const char *flag, const char *s, int64_t lo, int64_t hi,
                  int64_t *out);
int cli_parse_double(const char *cmd, const char *flag, const char *s, double *out);
/* "0.5" or "0.2,0.5,1.0"; or, with allow_range, "0.1:1.0:0.1" (start:stop:step, stop
 * included when reached within 1e-9). OUT: *vals (malloc'd) and *n. */
int cli_parse_doubles(const char *cmd, const char *flag, const char *s, int allow_range,
                      double **vals, size_t *n);
/* Pick one of names[] (NULL-terminated); OUT: *idx. */
int cli_parse_choice(const char *cmd, const char *flag, const char *s, const char *const *names,
                     int *idx);

/* Make path absolute against the current directory and normalise it lexically ("." and ".."
 * components, repeated slashes). OUT: malloc'd string in *out. Returns 0 or -1 (message
 * printed). */
int cli_abs_path(const char *cmd, const char *flag, const char *path, char **out);

#endif
