/* cmd_events.c: `ganq events [JOB]`: the broker's event log, oldest first, one job's history
 * or the whole cluster's. It asks Events pages of up to WIRE_MAX_EVENTS on one connection
 * (after_seq = the last seq seen) until the broker says there are no more, or --limit is
 * reached; --follow then keeps asking every FOLLOW_MS. A followed job ends the command once
 * Status reports it terminal and one last page has drained what came before that; without
 * JOB it follows until interrupted.
 *
 * A broker restart while following: a request in flight when it died is lost, so one
 * unanswered request is asked again (like `watch` re-subscribing); the log lives in SQLite
 * and after_seq is ours, so the next page carries on where the last one stopped. Two
 * timeouts in a row end the command with exit 3 (broker not reachable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "client/cli_show.h"
#include "proto/base/gq_buf.h"
#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"

#define FOLLOW_MS  500            /* between polls with --follow */
#define MAX_LIMIT  1000000000ull  /* --limit's upper bound */

enum { O_KIND = 1, O_AFTER, O_LIMIT, O_JSON, O_FOLLOW };

static const cli_opt events_opts[] = {
    {"kind", 1, O_KIND, "K", "only events of kind K (submit, lease, done, requeue, ...)"},
    {"after", 1, O_AFTER, "SEQ", "only events after sequence number SEQ (paging)"},
    {"limit", 1, O_LIMIT, "N", "at most N events (default: all)"},
    {"json", 0, O_JSON, NULL, "print a JSON array (with --follow: one object per line)"},
    {"follow", 0, O_FOLLOW, NULL, "keep printing new events until JOB ends (no JOB: Ctrl-C)"},
    {NULL, 0, 0, NULL, NULL},
};

static const char events_usage[] =
    "ganq events [JOB] [--kind K] [--after SEQ] [--limit N] [--json] [--follow]";
static const char events_intro[] =
    "Show the broker's event log, oldest first: JOB's history (submit, lease, done,\n"
    "requeue, adopt, job_done, job_failed, job_cancelled), or without JOB every job's and\n"
    "the cluster's own (hello, worker_dead, broker_start). One line per event: SEQ, time,\n"
    "kind, job, task, worker, detail. --follow keeps polling; with JOB it exits like\n"
    "'ganq watch' when the job ends: 0 done, 1 failed or cancelled.";

typedef struct ev_args {
    const char *job;
    int         kind;      /* index into wire_event_kinds, -1 = any */
    uint64_t    after;
    uint64_t    limit;     /* 0 = all */
    int         json;
    int         follow;
} ev_args;

/* Returns -1 to continue, else the exit code (help printed, or usage error). */
static int parse(cli_ctx *ctx, const char *cmd, ev_args *a, int argc, char **argv)
{
    const cli_opt *tabs[] = {events_opts, cli_conn_opts(), NULL};
    cli_parser p;
    cli_parser_init(&p, cmd, argc, argv, 1);
    const cli_opt *o;
    const char *v;
    int r;
    while ((r = cli_next(&p, tabs, &o, &v)) != CLI_NEXT_END) {
        if (r == CLI_NEXT_ERR)
            return CLI_EXIT_USAGE;
        if (r == CLI_NEXT_POS) {
            if (a->job)
                return cli_usage_fail(cmd, "unexpected argument '%s'", v);
            a->job = v;
            continue;
        }
        if (o->id == CLI_O_HELP) {
            cli_print_usage(stdout, events_usage, events_intro, tabs);
            return CLI_EXIT_OK;
        }
        int c = cli_conn_opt(ctx, cmd, o, v);
        if (c < 0)
            return CLI_EXIT_USAGE;
        if (c > 0)
            continue;
        switch (o->id) {
        case O_KIND:
            if (cli_parse_choice(cmd, o->name, v, wire_event_kinds, &a->kind))
                return CLI_EXIT_USAGE;
            break;
        case O_AFTER:
            if (cli_parse_u64(cmd, o->name, v, 0, INT64_MAX, &a->after))
                return CLI_EXIT_USAGE;
            break;
        case O_LIMIT:
            if (cli_parse_u64(cmd, o->name, v, 1, MAX_LIMIT, &a->limit))
                return CLI_EXIT_USAGE;
            break;
        case O_JSON: a->json = 1; break;
        case O_FOLLOW: a->follow = 1; break;
        default: break;
        }
    }
    if (a->follow && a->limit)
        return cli_usage_fail(cmd, "--limit: not with --follow (follow prints every new event)");
    return -1;
}

/* Where the output goes: human lines, one JSON array (buffered until the end), or JSON
 * lines (--follow). */
typedef struct sink {
    int    json, follow;
    gq_buf arr;            /* the array of --json without --follow */
} sink;

static void sink_event(sink *k, const Ganq__V1__EventInfo *e)
{
    if (!k->json) {
        cli_print_event(stdout, e);
        return;
    }
    if (!k->follow) {
        cli_json_event(&k->arr, e);
        return;
    }
    gq_buf b;
    gq_buf_init(&b);
    cli_json_event(&b, e);
    printf("%s\n", b.data ? b.data : "");
    gq_buf_release(&b);
}

/* One request; with retry, a timeout is asked once more (see the top of the file).
 * OUT: *reply (wire_free() it) on 0; else the status with err filled. */
static int ask(cli_conn *c, Ganq__V1__Envelope *env, int want, int retry,
               Ganq__V1__Envelope **reply, gq_error *err)
{
    int rc = cli_request(c, env, reply, err);
    if (rc == GQ_ETIMEOUT && retry) {
        gq_error_clear(err);
        rc = cli_request(c, env, reply, err);
    }
    if (rc == 0 && (int)(*reply)->body_case != want) {
        rc = gq_fail(err, GQ_EFORMAT, "unexpected %s reply", wire_body_name((*reply)->body_case));
        wire_free(*reply);
        *reply = NULL;
    }
    return rc;
}

/* The job's state (JobState) and, when it failed, its reason into reason. */
static int job_state(cli_conn *c, const char *job, int *state, char *reason, size_t n,
                     gq_error *err)
{
    Ganq__V1__Envelope env, *reply;
    Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
    wire_env_init(&env, 0);
    st.job_id = (char *)job;
    env.body_case = GANQ__V1__ENVELOPE__BODY_STATUS;
    env.status = &st;
    int rc = ask(c, &env, GANQ__V1__ENVELOPE__BODY_JOB_INFO, 1, &reply, err);
    if (rc)
        return rc;
    *state = reply->job_info->state;
    snprintf(reason, n, "%s", reply->job_info->reason ? reply->job_info->reason : "");
    wire_free(reply);
    return 0;
}

static int terminal(int s)
{
    return s == GANQ__V1__JOB_STATE__JOB_DONE || s == GANQ__V1__JOB_STATE__JOB_FAILED ||
           s == GANQ__V1__JOB_STATE__JOB_CANCELLED;
}

int cmd_events(cli_ctx *ctx, int argc, char **argv)
{
    const char *cmd = "ganq events";
    ev_args a = {.kind = -1};
    int ex = parse(ctx, cmd, &a, argc, argv);
    if (ex >= 0)
        return ex;
    Ganq__V1__Envelope env;
    Ganq__V1__Events q = GANQ__V1__EVENTS__INIT;
    wire_env_init(&env, 0);
    q.job_id = (char *)(a.job ? a.job : "");
    q.kind = (char *)(a.kind >= 0 ? wire_event_kinds[a.kind] : "");
    q.after_seq = a.after;
    q.limit = WIRE_MAX_EVENTS;
    env.body_case = GANQ__V1__ENVELOPE__BODY_EVENTS;
    env.events = &q;
    gq_error err;
    gq_error_clear(&err);
    if (wire_validate(&env, &err))   /* a malformed JOB id: nothing is sent */
        return cli_usage_fail(cmd, "%s", err.msg);
    cli_conn *c;
    int rc = cli_conn_open(ctx->broker, ctx->timeout_ms, NULL, &c, &err);
    if (rc)
        return rc == GQ_ENET ? cli_usage_fail(cmd, "%s", err.msg) : cli_report(cmd, rc, &err);

    sink k = {a.json, a.follow, {0}};
    gq_buf_init(&k.arr);
    if (a.json && !a.follow)
        gq_json_arr_begin(&k.arr);
    int header = !a.json;   /* the human header, printed with the first reply */
    uint64_t shown = 0;
    int final = 0;          /* --follow JOB: the terminal state Status reported */
    char reason[WIRE_MAX_TEXT + 1] = "";
    int more = 0;
    for (;;) {
        if (a.limit && a.limit - shown < WIRE_MAX_EVENTS)
            q.limit = (uint32_t)(a.limit - shown);
        Ganq__V1__Envelope *reply;
        if ((rc = ask(c, &env, GANQ__V1__ENVELOPE__BODY_EVENT_LIST, a.follow, &reply, &err)))
            break;
        const Ganq__V1__EventList *l = reply->event_list;
        if (header) {
            cli_print_event_header(stdout);
            header = 0;
        }
        for (size_t i = 0; i < l->n_events; i++) {
            sink_event(&k, l->events[i]);
            q.after_seq = l->events[i]->seq;
        }
        shown += l->n_events;
        more = l->more;
        wire_free(reply);
        fflush(stdout);
        if (a.limit && shown >= a.limit)
            break;
        if (more)
            continue;
        if (!a.follow || final)
            break;
        if (a.job) {
            /* Status after the page: once it is terminal, one more page holds everything up
             * to the job's last event (written in the same turn as its state). */
            int st;
            if ((rc = job_state(c, a.job, &st, reason, sizeof reason, &err)))
                break;
            if (terminal(st)) {
                final = st;
                continue;
            }
        }
        gq_sleep_ms(FOLLOW_MS);
    }
    cli_conn_free(c);
    if (rc) {
        gq_buf_release(&k.arr);
        return cli_report(cmd, rc, &err);
    }
    if (a.json && !a.follow) {
        gq_json_arr_end(&k.arr);
        if (!gq_buf_ok(&k.arr)) {
            gq_buf_release(&k.arr);
            return cli_report(cmd, GQ_ENOMEM, &err);
        }
        printf("%s\n", k.arr.data ? k.arr.data : "[]");
    }
    gq_buf_release(&k.arr);
    if (more)
        fprintf(stderr, "%s: more events after seq %llu (--after %llu shows them)\n", cmd,
                (unsigned long long)q.after_seq, (unsigned long long)q.after_seq);
    if (final && final != GANQ__V1__JOB_STATE__JOB_DONE) {
        if (final == GANQ__V1__JOB_STATE__JOB_FAILED && reason[0])
            fprintf(stderr, "%s: job %s %s: %s\n", cmd, a.job, wire_job_state_name(final),
                    reason);
        else
            fprintf(stderr, "%s: job %s %s\n", cmd, a.job, wire_job_state_name(final));
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}
