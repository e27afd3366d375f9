/* cli_ctx.c: the options every broker-talking command accepts (--broker, --timeout,
 * --broker-key, --curve-secret, --help) and how they update the command's cli_ctx (the two
 * CURVE key paths go to cli_conn_set_curve, which every later connection uses). */
#include "client/cli.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "proto/wire/curve.h"

enum { O_BROKER = CLI_O_HELP + 1, O_TIMEOUT, O_BROKER_KEY, O_CURVE_SECRET };
static const cli_opt conn_opts[] = {
    {"broker", 1, O_BROKER, "EP", "broker endpoint (default $GANQ_BROKER or " CLI_DEFAULT_BROKER ")"},
    {"timeout", 1, O_TIMEOUT, "SEC", "request timeout in seconds (default 5)"},
    {"broker-key", 1, O_BROKER_KEY, "FILE", "CURVE: the broker's public key (default $GANQ_BROKER_KEY)"},
    {"curve-secret", 1, O_CURVE_SECRET, "FILE", "CURVE: our secret key (default $GANQ_CURVE_SECRET)"},
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
    if (o->id == O_BROKER_KEY || o->id == O_CURVE_SECRET) {
        if (!*v) {
            cli_usage_fail(cmd, "--%s: must not be empty", o->name);
            return -1;
        }
        /* Checked now so a bad file is a usage error naming it, before any connection. */
        uint8_t k[WIRE_CURVE_KEY_LEN];
        gq_error e;
        gq_error_clear(&e);
        if (wire_curve_key_load(v, k, &e) != 0) {
            cli_usage_fail(cmd, "--%s: %s", o->name, e.msg);
            return -1;
        }
        memset(k, 0, sizeof k);
        if (o->id == O_BROKER_KEY)
            cli_conn_set_curve(v, NULL);
        else
            cli_conn_set_curve(NULL, v);
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

