/* cli.h: the `ganq` command-line client: exit codes, the global context every command gets,
 * and the command functions (one file per command family, dispatched from client/main.c's
 * command table the way git's builtin table does).
 *
 * Exit codes (documented in `ganq --help`):
 *   0  ok
 *   1  the job failed or was cancelled, or the broker refused the operation
 *   2  usage error: unknown command or flag, bad value (one line naming it)
 *   3  broker not reachable, or no reply within the request timeout
 */
#ifndef GQ_CLI_H
#define GQ_CLI_H

enum cli_exit {
    CLI_EXIT_OK          = 0,
    CLI_EXIT_FAILED      = 1,
    CLI_EXIT_USAGE       = 2,
    CLI_EXIT_UNREACHABLE = 3,
};

#define CLI_DEFAULT_BROKER     "tcp://127.0.0.1:5555"
#define CLI_DEFAULT_TIMEOUT_MS 5000

/* What every command gets: the broker endpoint and request timeout (from the global flags,
 * GANQ_BROKER / GANQ_TIMEOUT, or the defaults; a command's own --broker/--timeout override
 * them). Not owned: strings point into argv or the environment. */
typedef struct cli_ctx {
    const char *broker;
    int         timeout_ms;
} cli_ctx;

struct cli_opt;
#define CLI_O_HELP 1000   /* option id of --help in cli_conn_opts() */

/* The connection options table (--broker EP, --timeout SEC, --help), to add to a command's
 * option tables; cli_conn_opt() applies one: returns 1 if o was a connection option
 * (ctx updated), 0 if not, -1 on a bad value (message printed). --help is not handled. */
const struct cli_opt *cli_conn_opts(void);
int cli_conn_opt(cli_ctx *ctx, const char *cmd, const struct cli_opt *o, const char *v);

/* A command: argv[0] is the command name ("status", or "submit"). Returns the exit code. */
typedef int (*cli_cmd_fn)(cli_ctx *ctx, int argc, char **argv);

int cmd_submit(cli_ctx *ctx, int argc, char **argv);   /* cmd_submit.c */
int cmd_run(cli_ctx *ctx, int argc, char **argv);      /* cmd_run.c */
int cmd_status(cli_ctx *ctx, int argc, char **argv);   /* cmd_jobs.c */
int cmd_watch(cli_ctx *ctx, int argc, char **argv);
int cmd_list(cli_ctx *ctx, int argc, char **argv);
int cmd_cancel(cli_ctx *ctx, int argc, char **argv);
int cmd_workers(cli_ctx *ctx, int argc, char **argv);
int cmd_events(cli_ctx *ctx, int argc, char **argv);   /* cmd_events.c */
int cmd_debug_send(cli_ctx *ctx, int argc, char **argv); /* cmd_debug.c (tests only) */
int cmd_keygen(cli_ctx *ctx, int argc, char **argv);   /* cmd_keygen.c */

#endif
