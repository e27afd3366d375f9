/* tool.h: ganq-engine's subcommands (one file each) and their shared helpers.
 *
 * Each cmd_* takes argv after the subcommand name and returns the process exit status:
 * 0 success, 1 failure (the message is printed to stderr), 2 usage error.
 */
#ifndef GQ_ENGINE_TOOL_H
#define GQ_ENGINE_TOOL_H

#define TOOL_EXIT_OK    0
#define TOOL_EXIT_FAIL  1
#define TOOL_EXIT_USAGE 2

int cmd_info(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_noise(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Print "ganq-engine CMD: MSG" to stderr. */
void tool_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse helpers: 0 on success, -1 (after printing a message) on a bad value. */
int tool_parse_int(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
                   long long *out);
int tool_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out);
int tool_parse_double(const char *cmd, const char *opt, const char *s, double *out);

/* argv[*i] is an option needing a value: return it (advancing *i) or NULL after a message. */
const char *tool_value(const char *cmd, int argc, char **argv, int *i);

#endif
