/* cmd_jobs.c: the job and worker queries: `ganq status`, `watch`, `list`, `cancel`,
 * `workers`. Each parses its flags, opens a connection, sends one request and prints the
 * reply (human lines, or JSON with --json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "client/cli_show.h"
#include "proto/base/gq_buf.h"
#include "proto/wire/wire.h"

enum { O_JSON = 1, O_STATE, O_LIMIT, O_OWNER, O_INTERVAL, O_NO_OUTPUTS };

static const cli_opt json_opt[] = {
    {"json", 0, O_JSON, NULL, "print JSON"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_opt status_opts[] = {
    {"json", 0, O_JSON, NULL, "print a JSON object (state, done, total, tasks, rate, ...)"},
    {"no-outputs", 0, O_NO_OUTPUTS, NULL, "do not ask for the output records"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_opt list_opts[] = {
    {"state", 1, O_STATE, "S", "queued|running|done|failed|cancelled"},
    {"limit", 1, O_LIMIT, "N", "at most N jobs"},
    {"owner", 1, O_OWNER, "O", "only this owner's jobs"},
    {"json", 0, O_JSON, NULL, "print a JSON array"},
    {NULL, 0, 0, NULL, NULL},
};
static const cli_opt watch_opts[] = {
    {"interval", 1, O_INTERVAL, "SEC", "seconds between plain progress lines (default 1)"},
    {NULL, 0, 0, NULL, NULL},
};

typedef struct args {
    const char *cmd;
    const char *job;      /* positional JOB, when the command takes one */
    int         json;
    int         state;
    uint64_t    limit;
    const char *owner;
    int         interval_ms;
    int         no_outputs;
} args;

/* Parse argv with the command's own table plus the connection options.
 * Returns -1 to continue, else the exit code (help printed, or usage error). */
static int parse(cli_ctx *ctx, args *a, int argc, char **argv, const cli_opt *own,
                 const char *usage, const char *intro, int want_job)
{
    const cli_opt *tabs[] = {own, cli_conn_opts(), NULL};
    cli_parser p;
    cli_parser_init(&p, a->cmd, argc, argv, 1);
    const cli_opt *o;
    const char *v;
    int r;
    while ((r = cli_next(&p, tabs, &o, &v)) != CLI_NEXT_END) {
        if (r == CLI_NEXT_ERR)
            return CLI_EXIT_USAGE;
        if (r == CLI_NEXT_POS) {
            if (want_job && !a->job) {
                a->job = v;
                continue;
            }
            return cli_usage_fail(a->cmd, "unexpected argument '%s'", v);
        }
        if (o->id == CLI_O_HELP) {
            cli_print_usage(stdout, usage, intro, tabs);
            return CLI_EXIT_OK;
        }
        int c = cli_conn_opt(ctx, a->cmd, o, v);
        if (c < 0)
            return CLI_EXIT_USAGE;
        if (c > 0)
            continue;
        switch (o->id) {
        case O_JSON: a->json = 1; break;
        case O_NO_OUTPUTS: a->no_outputs = 1; break;
        case O_STATE: {
            static const char *const st[] = {"queued", "running", "done", "failed", "cancelled",
                                             NULL};
            int k;
            if (cli_parse_choice(a->cmd, o->name, v, st, &k))
                return CLI_EXIT_USAGE;
            a->state = k + 1;
            break;
        }
        case O_LIMIT:
            if (cli_parse_u64(a->cmd, o->name, v, 1, WIRE_MAX_JOBS, &a->limit))
                return CLI_EXIT_USAGE;
            break;
        case O_OWNER: a->owner = v; break;
        case O_INTERVAL: {
            double d;
            if (cli_parse_double(a->cmd, o->name, v, &d))
                return CLI_EXIT_USAGE;
            if (d <= 0 || d > 3600)
                return cli_usage_fail(a->cmd, "--interval: %g is outside (0, 3600]", d);
            a->interval_ms = (int)(d * 1000);
            break;
        }
        default:
            break;
        }
    }
    if (want_job && !a->job)
        return cli_usage_fail(a->cmd, "needs a JOB id (see '%s --help')", a->cmd);
    return -1;
}

/* Open, send env, expect body `want`. Returns 0 with *reply, else the exit code; the failure
 * is printed unless quiet, and its status and message are left in *rc_out / *err_out (either
 * may be NULL). */
static int ask_q(cli_ctx *ctx, const char *cmd, Ganq__V1__Envelope *env, int want,
                 Ganq__V1__Envelope **reply, int quiet, int *rc_out, gq_error *err_out)
{
    gq_error err;
    gq_error_clear(&err);
    *reply = NULL;
    if (wire_validate(env, &err))
        return cli_usage_fail(cmd, "%s", err.msg);
    cli_conn *c;
    int rc = cli_conn_open(ctx->broker, ctx->timeout_ms, NULL, &c, &err);
    if (rc)
        return rc == GQ_ENET ? cli_usage_fail(cmd, "%s", err.msg) : cli_report(cmd, rc, &err);
    rc = cli_request(c, env, reply, &err);
    if (rc == 0 && (int)(*reply)->body_case != want) {
        rc = gq_fail(&err, GQ_EFORMAT, "unexpected %s reply", wire_body_name((*reply)->body_case));
        wire_free(*reply);
        *reply = NULL;
    }
    cli_conn_free(c);
    if (rc_out)
        *rc_out = rc;
    if (err_out)
        *err_out = err;
    if (rc)
        return quiet ? cli_exit_of_status(rc) : cli_report(cmd, rc, &err);
    return 0;
}

static int ask(cli_ctx *ctx, const char *cmd, Ganq__V1__Envelope *env, int want,
               Ganq__V1__Envelope **reply)
{
    return ask_q(ctx, cmd, env, want, reply, 0, NULL, NULL);
}

static void print_buf(gq_buf *b)
{
    printf("%s\n", b->data ? b->data : "");
    gq_buf_release(b);
}

int cmd_status(cli_ctx *ctx, int argc, char **argv)
{
    args a = {.cmd = "ganq status"};
    int outputs_null = 0;
    int ex = parse(ctx, &a, argc, argv, status_opts, "ganq status JOB [--json]",
                   "Show a job: state, images done of total, tasks, rate, reason, outputs.", 1);
    if (ex >= 0)
        return ex;
    Ganq__V1__Envelope env, *reply;
    Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
    wire_env_init(&env, 0);
    st.job_id = (char *)a.job;
    st.with_outputs = !a.no_outputs;
    env.body_case = GANQ__V1__ENVELOPE__BODY_STATUS;
    env.status = &st;
    int st_rc = 0;
    gq_error st_err;
    gq_error_clear(&st_err);
    ex = ask_q(ctx, a.cmd, &env, GANQ__V1__ENVELOPE__BODY_JOB_INFO, &reply, 1, &st_rc, &st_err);
    if (ex == CLI_EXIT_FAILED && st.with_outputs && st_rc != GQ_ENOTFOUND &&
        st_rc != GQ_EINVAL) {
        /* The broker could not send the output records (too many for one reply?): ask
         * again without them; the JSON then has "outputs": null. */
        st.with_outputs = 0;
        a.no_outputs = 1;
        ex = ask(ctx, a.cmd, &env, GANQ__V1__ENVELOPE__BODY_JOB_INFO, &reply);
        if (ex == 0)
            fprintf(stderr, "%s: output records unavailable (%s)\n", a.cmd,
                    gq_error_str(&st_err, st_rc));
        outputs_null = 1;
    } else if (ex) {
        if (st_rc)   /* failures before the request were printed already */
            cli_report(a.cmd, st_rc, &st_err);
        return ex;
    }
    if (ex)
        return ex;
    if (a.json) {
        gq_buf b;
        gq_buf_init(&b);
        cli_json_job(&b, reply->job_info, outputs_null ? -1 : !a.no_outputs);
        print_buf(&b);
    } else {
        cli_print_job(stdout, reply->job_info, !a.no_outputs);
    }
    wire_free(reply);
    return CLI_EXIT_OK;
}

int cmd_watch(cli_ctx *ctx, int argc, char **argv)
{
    args a = {.cmd = "ganq watch", .interval_ms = 1000};
    int ex = parse(ctx, &a, argc, argv, watch_opts, "ganq watch JOB [--interval SEC]",
                   "Follow a job until it ends: a progress bar on a terminal, otherwise one line\n"
                   "per interval (done/total, img/s, ETA) on stderr. Exits 0 when the job is\n"
                   "done, 1 when it failed or was cancelled, 3 when the broker stops answering.",
                   1);
    if (ex >= 0)
        return ex;
    Ganq__V1__Watch w = GANQ__V1__WATCH__INIT;
    Ganq__V1__Envelope env;
    wire_env_init(&env, 0);
    w.job_id = (char *)a.job;
    env.body_case = GANQ__V1__ENVELOPE__BODY_WATCH;
    env.watch = &w;
    gq_error err;
    gq_error_clear(&err);
    if (wire_validate(&env, &err))
        return cli_usage_fail(a.cmd, "%s", err.msg);
    cli_conn *c;
    int rc = cli_conn_open(ctx->broker, ctx->timeout_ms, NULL, &c, &err);
    if (rc)
        return rc == GQ_ENET ? cli_usage_fail(a.cmd, "%s", err.msg) : cli_report(a.cmd, rc, &err);
    int final;
    rc = cli_watch_job(c, a.job, a.interval_ms, &final, &err);
    cli_conn_free(c);
    if (rc)
        return cli_report(a.cmd, rc, &err);
    if (final == GANQ__V1__JOB_STATE__JOB_DONE)
        return CLI_EXIT_OK;
    if (err.msg[0])   /* "job J failed: <reason>" */
        fprintf(stderr, "%s: %s\n", a.cmd, err.msg);
    else
        fprintf(stderr, "%s: job %s %s\n", a.cmd, a.job, wire_job_state_name(final));
    return CLI_EXIT_FAILED;
}

int cmd_list(cli_ctx *ctx, int argc, char **argv)
{
    args a = {.cmd = "ganq list"};
    int ex = parse(ctx, &a, argc, argv, list_opts, "ganq list [--state S] [--json]",
                   "List jobs, newest first.", 0);
    if (ex >= 0)
        return ex;
    Ganq__V1__Envelope env, *reply;
    Ganq__V1__List l = GANQ__V1__LIST__INIT;
    wire_env_init(&env, 0);
    l.state = a.state;
    l.limit = (uint32_t)a.limit;
    l.owner = (char *)a.owner;
    env.body_case = GANQ__V1__ENVELOPE__BODY_LIST;
    env.list = &l;
    ex = ask(ctx, a.cmd, &env, GANQ__V1__ENVELOPE__BODY_JOB_LIST, &reply);
    if (ex)
        return ex;
    const Ganq__V1__JobList *jl = reply->job_list;
    if (a.json) {
        gq_buf b;
        gq_buf_init(&b);
        gq_json_arr_begin(&b);
        for (size_t i = 0; i < jl->n_jobs; i++)
            cli_json_job(&b, jl->jobs[i], 0);
        gq_json_arr_end(&b);
        print_buf(&b);
    } else {
        printf("%-20s %-10s %-12s %21s  %-10s %s\n", "JOB", "STATE", "KIND", "DONE/TOTAL",
               "OWNER", "NAME");
        for (size_t i = 0; i < jl->n_jobs; i++) {
            const Ganq__V1__JobInfo *j = jl->jobs[i];
            char dt[48];
            snprintf(dt, sizeof dt, "%llu/%llu", (unsigned long long)j->done,
                     (unsigned long long)j->total);
            printf("%-20s %-10s %-12s %21s  %-10s %s\n", j->job_id,
                   wire_job_state_name(j->state),
                   j->spec ? wire_job_kind_name(j->spec->kind) : "-", dt,
                   j->spec && j->spec->owner && *j->spec->owner ? j->spec->owner : "-",
                   j->spec && j->spec->name ? j->spec->name : "");
        }
    }
    wire_free(reply);
    return CLI_EXIT_OK;
}

int cmd_cancel(cli_ctx *ctx, int argc, char **argv)
{
    args a = {.cmd = "ganq cancel"};
    int ex = parse(ctx, &a, argc, argv, json_opt, "ganq cancel JOB",
                   "Cancel a job: pending tasks are dropped, running ones stop between batches.",
                   1);
    if (ex >= 0)
        return ex;
    Ganq__V1__Envelope env, *reply;
    Ganq__V1__Cancel c = GANQ__V1__CANCEL__INIT;
    wire_env_init(&env, 0);
    c.job_id = (char *)a.job;
    env.body_case = GANQ__V1__ENVELOPE__BODY_CANCEL;
    env.cancel = &c;
    ex = ask(ctx, a.cmd, &env, GANQ__V1__ENVELOPE__BODY_JOB_INFO, &reply);
    if (ex)
        return ex;
    if (a.json) {
        gq_buf b;
        gq_buf_init(&b);
        cli_json_job(&b, reply->job_info, 0);
        print_buf(&b);
    } else {
        printf("%s %s\n", reply->job_info->job_id, wire_job_state_name(reply->job_info->state));
    }
    wire_free(reply);
    return CLI_EXIT_OK;
}

int cmd_workers(cli_ctx *ctx, int argc, char **argv)
{
    args a = {.cmd = "ganq workers"};
    int ex = parse(ctx, &a, argc, argv, json_opt, "ganq workers [--json]",
                   "List the workers the broker knows: state, leased tasks, images, models.", 0);
    if (ex >= 0)
        return ex;
    Ganq__V1__Envelope env, *reply;
    Ganq__V1__Workers w = GANQ__V1__WORKERS__INIT;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_WORKERS;
    env.workers = &w;
    ex = ask(ctx, a.cmd, &env, GANQ__V1__ENVELOPE__BODY_WORKER_LIST, &reply);
    if (ex)
        return ex;
    const Ganq__V1__WorkerList *wl = reply->worker_list;
    if (a.json) {
        gq_buf b;
        gq_buf_init(&b);
        gq_json_arr_begin(&b);
        for (size_t i = 0; i < wl->n_workers; i++)
            cli_json_worker(&b, wl->workers[i]);
        gq_json_arr_end(&b);
        print_buf(&b);
    } else {
        printf("%-16s %-24s %-6s %6s %10s  %s\n", "WORKER", "NAME", "STATE", "TASKS", "IMAGES",
               "MODELS");
        for (size_t i = 0; i < wl->n_workers; i++) {
            const Ganq__V1__WorkerInfo *x = wl->workers[i];
            char models[256] = "";
            for (size_t k = 0; k < x->n_models; k++) {
                strncat(models, k ? "," : "", sizeof models - strlen(models) - 1);
                strncat(models, x->models[k]->name, sizeof models - strlen(models) - 1);
            }
            printf("%-16s %-24s %-6s %6u %10llu  %s\n", x->worker_id, x->name ? x->name : "",
                   x->state ? x->state : "", x->tasks_leased,
                   (unsigned long long)x->images_done, models);
        }
    }
    wire_free(reply);
    return CLI_EXIT_OK;
}
