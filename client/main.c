/* main.c: `ganq`, the command-line client. A git-style command table dispatches the first
 * word to its cmd_* function (one file per command family); global options before the
 * command set the broker endpoint and timeout for all of them.
 *
 *   ganq [--broker EP] [--timeout SEC] [--broker-key F --curve-secret F] COMMAND [ARGS]
 *
 * GANQ_BROKER_KEY / GANQ_CURVE_SECRET set the CURVE key files unless the flags do; those
 * files are checked when a connection opens (the flags check theirs at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "proto/base/gq_log.h"

struct cmd {
    const char *name;
    cli_cmd_fn  fn;
    const char *help;   /* NULL: hidden (for tests) */
};

static const struct cmd commands[] = {
    {"submit", cmd_submit, "submit a job: generate|synthesize|sweep|interpolate"},
    {"run", cmd_run, "run a job in this process (embedded broker + workers)"},
    {"status", cmd_status, "show a job (--json for a JSON object)"},
    {"watch", cmd_watch, "follow a job's progress until it ends"},
    {"list", cmd_list, "list jobs"},
    {"cancel", cmd_cancel, "cancel a job"},
    {"workers", cmd_workers, "list workers"},
    {"events", cmd_events, "show a job's (or the cluster's) event history"},
    {"keygen", cmd_keygen, "write a CURVE key pair (--out DIR): NAME.pub, NAME.secret"},
    {"debug-send", cmd_debug_send, NULL},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ganq [--broker EP] [--timeout SEC] [--broker-key FILE --curve-secret FILE]\n"
            "            COMMAND [ARGS]\n"
            "\n"
            "Submit and follow image-generation jobs on a ganq broker.\n"
            "\n"
            "commands:\n");
    for (const struct cmd *c = commands; c->name; c++)
        if (c->help)
            fprintf(f, "  %-10s %s\n", c->name, c->help);
    fprintf(f,
            "  %-10s %s\n"
            "\n"
            "global options (also accepted after the command):\n"
            "  --broker EP     broker client endpoint (default $GANQ_BROKER, else %s)\n"
            "  --timeout SEC   request timeout (default $GANQ_TIMEOUT, else %d s)\n"
            "  --broker-key FILE    CURVE: the broker's public key ($GANQ_BROKER_KEY)\n"
            "  --curve-secret FILE  CURVE: our secret key ($GANQ_CURVE_SECRET); the broker\n"
            "                  must list our .pub in its --authorized-keys (see 'ganq keygen')\n"
            "  --help          this text; 'ganq COMMAND --help' for a command\n"
            "\n"
            "exit codes:\n"
            "  0  ok (for watch, run and events JOB --follow: the job is done)\n"
            "  1  the job failed or was cancelled, or the broker refused the request\n"
            "  2  usage error: unknown command or option, bad value (the message names it)\n"
            "  3  broker not reachable, or no reply within the timeout (with CURVE, also a\n"
            "     wrong --broker-key or a key the broker does not authorise)\n",
            "help", "show help for a command", CLI_DEFAULT_BROKER,
            CLI_DEFAULT_TIMEOUT_MS / 1000);
}

static const struct cmd *find(const char *name)
{
    for (const struct cmd *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int main(int argc, char **argv)
{
    gq_log_init("ganq", -1);
    cli_ctx ctx = {CLI_DEFAULT_BROKER, CLI_DEFAULT_TIMEOUT_MS};
    const char *envb = getenv("GANQ_BROKER");
    if (envb && *envb)
        ctx.broker = envb;
    const char *envt = getenv("GANQ_TIMEOUT");
    if (envt && *envt) {
        double d;
        if (cli_parse_double("ganq", "timeout (GANQ_TIMEOUT)", envt, &d) || d <= 0 || d > 86400)
            return cli_usage_fail("ganq", "GANQ_TIMEOUT: '%s' is not a number of seconds in "
                                  "(0, 86400]", envt);
        ctx.timeout_ms = (int)(d * 1000 + 0.5);
    }

    const char *envk = getenv("GANQ_BROKER_KEY"), *envs = getenv("GANQ_CURVE_SECRET");
    cli_conn_set_curve(envk && *envk ? envk : NULL, envs && *envs ? envs : NULL);

    /* Global options, up to the command word. */
    const cli_opt *tabs[] = {cli_conn_opts(), NULL};
    cli_parser p;
    cli_parser_init(&p, "ganq", argc, argv, 1);
    const cli_opt *o;
    const char *v;
    int r;
    for (;;) {
        int at = p.i;
        r = cli_next(&p, tabs, &o, &v);
        if (r == CLI_NEXT_END) {
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        if (r == CLI_NEXT_ERR)
            return CLI_EXIT_USAGE;
        if (r == CLI_NEXT_POS) {
            p.i = at;
            break;
        }
        if (o->id == CLI_O_HELP) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (cli_conn_opt(&ctx, "ganq", o, v) < 0)
            return CLI_EXIT_USAGE;
    }
    const char *name = argv[p.i];
    int sub_argc = argc - p.i;
    char **sub_argv = argv + p.i;
    if (strcmp(name, "help") == 0) {
        if (sub_argc < 2) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        const struct cmd *c = find(sub_argv[1]);
        if (!c)
            return cli_usage_fail("ganq help", "'%s' is not a ganq command", sub_argv[1]);
        char *hargv[] = {(char *)c->name, "--help", NULL};
        return c->fn(&ctx, 2, hargv);
    }
    const struct cmd *c = find(name);
    if (!c)
        return cli_usage_fail("ganq", "'%s' is not a ganq command (see 'ganq help')", name);
    return c->fn(&ctx, sub_argc, sub_argv);
}
