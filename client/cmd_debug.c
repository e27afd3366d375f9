/* cmd_debug.c: `ganq debug-send --hex HEX`: send raw bytes as one frame from a DEALER to
 * the broker (either of its endpoints) and print the reply as one JSON line. For tests that
 * must send what the real client never would (garbage, wrong versions, absurd counts built
 * by hand); not listed in `ganq help`. Exit 0 when a reply came (whatever it says), 3 when
 * none came within the timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "client/cli_show.h"
#include "proto/base/gq_buf.h"
#include "proto/wire/wire.h"

#include <zmq.h>

enum { O_HEX = 1 };
static const cli_opt debug_opts[] = {
    {"hex", 1, O_HEX, "HEX", "the frame's bytes in hex (\"\" for an empty frame)"},
    {NULL, 0, 0, NULL, NULL},
};

static int unhex(const char *s, uint8_t **out, size_t *n)
{
    size_t l = strlen(s);
    if (l % 2)
        return -1;
    uint8_t *b = malloc(l / 2 + 1);
    if (!b)
        return -1;
    for (size_t i = 0; i < l / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            free(b);
            return -1;
        }
        b[i] = (uint8_t)v;
    }
    *out = b;
    *n = l / 2;
    return 0;
}

int cmd_debug_send(cli_ctx *ctx, int argc, char **argv)
{
    const char *cmd = "ganq debug-send";
    const cli_opt *tabs[] = {debug_opts, cli_conn_opts(), NULL};
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, 1);
    const cli_opt *o;
    const char *v, *hex = NULL;
    int r;
    while ((r = cli_next(&p, tabs, &o, &v)) != CLI_NEXT_END) {
        if (r == CLI_NEXT_ERR)
            return CLI_EXIT_USAGE;
        if (r == CLI_NEXT_POS)
            return cli_usage_fail(cmd, "unexpected argument '%s'", v);
        if (o->id == CLI_O_HELP) {
            cli_print_usage(stdout, "ganq debug-send --hex HEX [--broker EP]",
                            "Send one raw frame and print the reply (for tests).", tabs);
            return CLI_EXIT_OK;
        }
        int c = cli_conn_opt(ctx, cmd, o, v);
        if (c < 0)
            return CLI_EXIT_USAGE;
        if (c == 0 && o->id == O_HEX)
            hex = v;
    }
    if (!hex)
        return cli_usage_fail(cmd, "--hex is required");
    uint8_t *buf;
    size_t len;
    if (unhex(hex, &buf, &len))
        return cli_usage_fail(cmd, "--hex: not an even number of hex digits");

    void *zctx = zmq_ctx_new();
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(s, ctx->broker) != 0) {
        free(buf);
        zmq_close(s);
        zmq_ctx_term(zctx);
        return cli_usage_fail(cmd, "--broker: cannot connect to '%s'", ctx->broker);
    }
    gq_error err;
    gq_error_clear(&err);
    int rc = wire_send_bytes(s, NULL, 0, buf, len, 0, &err);
    free(buf);
    int ex = CLI_EXIT_OK;
    if (rc == 0) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, ctx->timeout_ms);
        if (n <= 0) {
            fprintf(stderr, "%s: no reply from %s within %.1f s\n", cmd, ctx->broker,
                    ctx->timeout_ms / 1000.0);
            ex = CLI_EXIT_UNREACHABLE;
        } else {
            wire_msg m;
            wire_msg_init(&m);
            rc = wire_recv(s, 0, 0, &m, &err);
            gq_buf b;
            gq_buf_init(&b);
            gq_json_obj_begin(&b);
            if (rc) {
                gq_json_kv_str(&b, "body", "undecodable");
                gq_json_kv_str(&b, "message", gq_error_str(&err, rc));
                ex = CLI_EXIT_FAILED;
            } else {
                gq_json_kv_str(&b, "body", wire_body_name(m.env->body_case));
                gq_json_key(&b, "request_id");
                gq_json_uint(&b, m.env->request_id);
                if (m.env->body_case == GANQ__V1__ENVELOPE__BODY_ERROR) {
                    gq_json_kv_str(&b, "code", wire_error_code_name(m.env->error->code));
                    gq_json_kv_str(&b, "field", m.env->error->field);
                    gq_json_kv_str(&b, "message", m.env->error->message);
                } else if (m.env->body_case == GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY) {
                    gq_json_kv_str(&b, "job_id", m.env->submit_reply->job_id);
                }
            }
            gq_json_obj_end(&b);
            printf("%s\n", b.data ? b.data : "{}");
            gq_buf_release(&b);
            wire_msg_release(&m);
        }
    } else {
        ex = cli_report(cmd, rc, &err);
    }
    zmq_close(s);
    zmq_ctx_term(zctx);
    return ex;
}
