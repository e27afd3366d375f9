/* cmd_submit.c: `ganq submit KIND [flags]`: build the JobSpec from flags (cli_spec), send
 * Submit, print the job id (or the SubmitReply as JSON with --json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "client/cli_show.h"
#include "client/cli_spec.h"
#include "proto/base/gq_buf.h"
#include "proto/wire/wire.h"

static const char submit_usage[] =
    "usage: ganq submit KIND [options]\n"
    "\n"
    "Submit a job to the broker and print its id. KIND is one of:\n"
    "  generate      N images cycling over classes\n"
    "  synthesize    a labelled train/val dataset (ImageFolder or WebDataset)\n"
    "  sweep         the same samples at many truncation values\n"
    "  interpolate   a path between two (class, seed) points\n"
    "\n"
    "Run 'ganq submit KIND --help' for the options of each kind.\n";

int cmd_submit(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(submit_usage, stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    int kind = cli_spec_kind(argv[1]);
    if (!kind && argv[1][0] == '-')
        return cli_usage_fail("ganq submit", "unknown option '%s' before the job kind (see "
                              "'ganq submit --help')", argv[1]);
    if (!kind)
        return cli_usage_fail("ganq submit",
                              "'%s' is not a job kind (generate|synthesize|sweep|interpolate)",
                              argv[1]);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "ganq submit %s", argv[1]);
    const cli_opt *tabs[] = {cli_spec_opts(kind), cli_conn_opts(), NULL};

    cli_spec s;
    cli_spec_init(&s, kind);
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, 2);
    const cli_opt *o;
    const char *v;
    int r, ex = CLI_EXIT_OK;
    while ((r = cli_next(&p, tabs, &o, &v)) != CLI_NEXT_END) {
        if (r == CLI_NEXT_ERR) {
            ex = CLI_EXIT_USAGE;
            goto out;
        }
        if (r == CLI_NEXT_POS) {
            ex = cli_usage_fail(cmd, "unexpected argument '%s'", v);
            goto out;
        }
        if (o->id == CLI_O_HELP) {
            char usage[96];
            snprintf(usage, sizeof usage, "%s [options]", cmd);
            cli_print_usage(stdout, usage, cli_spec_intro(kind), tabs);
            goto out;
        }
        int c = cli_conn_opt(ctx, cmd, o, v);
        if (c < 0 || (c == 0 && cli_spec_apply(&s, cmd, o, v))) {
            ex = CLI_EXIT_USAGE;
            goto out;
        }
    }
    Ganq__V1__Envelope env;
    Ganq__V1__Submit sub;
    if (cli_spec_submit_env(&s, cmd, &env, &sub)) {
        ex = CLI_EXIT_USAGE;
        goto out;
    }
    gq_error err;
    gq_error_clear(&err);
    cli_conn *conn;
    int rc = cli_conn_open(ctx->broker, ctx->timeout_ms, NULL, &conn, &err);
    if (rc) {
        ex = rc == GQ_ENET ? cli_usage_fail(cmd, "%s", err.msg) : cli_report(cmd, rc, &err);
        goto out;
    }
    Ganq__V1__Envelope *reply;
    rc = cli_request(conn, &env, &reply, &err);
    if (rc == 0 && reply->body_case != GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY) {
        rc = gq_fail(&err, GQ_EFORMAT, "unexpected %s reply to submit",
                     wire_body_name(reply->body_case));
        wire_free(reply);
    }
    if (rc) {
        ex = cli_report(cmd, rc, &err);
        cli_conn_free(conn);
        goto out;
    }
    if (s.json) {
        gq_buf b;
        gq_buf_init(&b);
        gq_json_obj_begin(&b);
        gq_json_kv_str(&b, "job_id", reply->submit_reply->job_id);
        gq_json_key(&b, "total");
        gq_json_uint(&b, reply->submit_reply->total);
        gq_json_kv_int(&b, "tasks", reply->submit_reply->tasks);
        gq_json_kv_str(&b, "out_dir", s.spec.out_dir);
        gq_json_obj_end(&b);
        printf("%s\n", b.data ? b.data : "{}");
        gq_buf_release(&b);
    } else {
        printf("%s\n", reply->submit_reply->job_id);
    }
    fflush(stdout);
    wire_free(reply);
    cli_conn_free(conn);
out:
    cli_spec_release(&s);
    return ex;
}
