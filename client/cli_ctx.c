/* cli_ctx.c: the options every broker-talking command accepts (--broker, --timeout, --help)
 * and how they update the command's cli_ctx. */
#include "client/cli.h"

#include <stdio.h>

#include "client/cli_args.h"

enum { O_BROKER = CLI_O_HELP + 1, O_TIMEOUT };
static const cli_opt conn_opts[] = {
    {"broker", 1, O_BROKER, "EP", "broker endpoint (default $GANQ_BROKER or " CLI_DEFAULT_BROKER ")"},
    {"timeout", 1, O_TIMEOUT, "SEC", "request timeout in seconds (default 5)"},
    {"help", 0, CLI_O_HELP, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL},
};


const cli_opt *cli_conn_opts(void) { return conn_opts; }

int cli_conn_opt(cli_ctx *ctx, const char *cmd, const cli_opt *o, const char *v)
{
    if (o->id == O_BROKER) {
        if (!*v) {
            cli_usage_fail(cmd, "--broker: must not be empty");
            return -1;
        }
        ctx->broker = v;
        return 1;
    }
    if (o->id == O_TIMEOUT) {
        double d;
        if (cli_parse_double(cmd, o->name, v, &d))
            return -1;
        if (d <= 0 || d > 86400) {
            cli_usage_fail(cmd, "--timeout: %g is outside (0, 86400] seconds", d);
            return -1;
        }
        ctx->timeout_ms = (int)(d * 1000 + 0.5);
        if (ctx->timeout_ms < 1)
            ctx->timeout_ms = 1;
        return 1;
    }
    return 0;
}

