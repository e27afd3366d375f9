/* cmd_run.c: `ganq run KIND [job flags] [--db FILE] [--workers N] [--models DIR]
 * [--device cpu]`: the embedded mode. One process runs broker_run() in a thread and N
 * worker_run() threads, all over inproc:// sockets of one shared zmq context, then submits
 * the job through the same client code as `ganq submit`, follows it with the progress bar
 * of `ganq watch`, stops everything and exits 0 when the job is done. Same code paths as the
 * distributed mode; only the transport differs. The database (default ./ganq.db) persists
 * like the broker's: an interrupted run can be resumed by running it again into the same
 * --out (finished files are kept and not regenerated).
 */
#include "client/cli.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "broker/broker.h"
#include "client/cli_args.h"
#include "client/cli_conn.h"
#include "client/cli_show.h"
#include "client/cli_spec.h"
#include "proto/base/gq_log.h"
#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"
#include "worker/worker.h"

#define RUN_MAX_WORKERS 64

enum { O_DB = 2000, O_WORKERS, O_MODELS, O_DEVICE, O_THREADS, O_TIMEOUT };
static const cli_opt run_opts[] = {
    {"db", 1, O_DB, "FILE", "job database (default ./ganq.db)"},
    {"workers", 1, O_WORKERS, "N", "worker threads (default 1)"},
    {"models", 1, O_MODELS, "DIR", "directory of *.safetensors models (testcard is built in)"},
    {"device", 1, O_DEVICE, "DEV", "cpu (default)"},
    {"threads", 1, O_THREADS, "N", "engine threads per worker (default: all cores)"},
    {"timeout", 1, O_TIMEOUT, "SEC", "request timeout (default 5)"},
    {"help", 0, CLI_O_HELP, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL},
};

typedef struct broker_thread {
    broker_config cfg;
    gq_error      err;
    int           rc;
    atomic_int    exited;
} broker_thread;

typedef struct worker_thread {
    worker_config cfg;
    gq_error      err;
    int           rc;
    char          name[32];
} worker_thread;

static void *broker_main(void *arg)
{
    broker_thread *b = arg;
    b->rc = broker_run(&b->cfg, &b->err);
    atomic_store(&b->exited, 1);
    return NULL;
}

static void *worker_main(void *arg)
{
    worker_thread *w = arg;
    w->rc = worker_run(&w->cfg, &w->err);
    return NULL;
}

/* Until the embedded broker lists n live workers (or the broker thread ended, or timeout). */
static int wait_workers(cli_conn *conn, uint64_t n, int timeout_ms, broker_thread *bt,
                        gq_error *err)
{
    int64_t deadline = gq_mono_ms() + timeout_ms;
    for (;;) {
        if (atomic_load(&bt->exited))
            return gq_fail(err, bt->rc ? bt->rc : GQ_ESTATE, "embedded broker stopped");
        Ganq__V1__Envelope env, *reply = NULL;
        Ganq__V1__Workers w = GANQ__V1__WORKERS__INIT;
        wire_env_init(&env, 0);
        env.body_case = GANQ__V1__ENVELOPE__BODY_WORKERS;
        env.workers = &w;
        gq_error e;
        gq_error_clear(&e);
        if (cli_request(conn, &env, &reply, &e) == 0) {
            uint64_t live = 0;
            if (reply->body_case == GANQ__V1__ENVELOPE__BODY_WORKER_LIST)
                for (size_t i = 0; i < reply->worker_list->n_workers; i++)
                    live += strcmp(reply->worker_list->workers[i]->state, "dead") != 0;
            wire_free(reply);
            if (live >= n)
                return 0;
        }
        if (gq_mono_ms() > deadline)
            return gq_fail(err, GQ_ETIMEOUT, "the embedded workers did not register within "
                           "%.1f s", timeout_ms / 1000.0);
        gq_sleep_ms(20);
    }
}

int cmd_run(cli_ctx *ctx, int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs("usage: ganq run KIND [options]\n"
              "\n"
              "Run one job in this process: an embedded broker and --workers worker threads\n"
              "over inproc:// sockets, with the same job flags as 'ganq submit KIND'\n"
              "(generate|synthesize|sweep|interpolate). Shows a progress bar and exits 0\n"
              "when the job is done, 1 when it failed. Run 'ganq run KIND --help' for the\n"
              "options of each kind.\n",
              stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    int kind = cli_spec_kind(argv[1]);
    if (!kind)
        return cli_usage_fail("ganq run",
                              "'%s' is not a job kind (generate|synthesize|sweep|interpolate)",
                              argv[1]);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "ganq run %s", argv[1]);
    const cli_opt *tabs[] = {cli_spec_opts(kind), run_opts, NULL};

    const char *db = "ganq.db", *models = NULL, *device = "cpu";
    uint64_t n_workers = 1, threads = 0;
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
        switch (o->id) {
        case CLI_O_HELP: {
            char usage[96];
            snprintf(usage, sizeof usage, "%s [options]", cmd);
            cli_print_usage(stdout, usage, cli_spec_intro(kind), tabs);
            goto out;
        }
        case O_DB:
            if (!*v) {
                ex = cli_usage_fail(cmd, "--db: must not be empty");
                goto out;
            }
            db = v;
            break;
        case O_WORKERS:
            if (cli_parse_u64(cmd, o->name, v, 1, RUN_MAX_WORKERS, &n_workers)) {
                ex = CLI_EXIT_USAGE;
                goto out;
            }
            break;
        case O_MODELS: models = v; break;
        case O_DEVICE:
            if (strcmp(v, "cpu") != 0) {
                ex = cli_usage_fail(cmd, "--device: '%s' is not available (cpu)", v);
                goto out;
            }
            device = v;
            break;
        case O_THREADS:
            if (cli_parse_u64(cmd, o->name, v, 1, 1024, &threads)) {
                ex = CLI_EXIT_USAGE;
                goto out;
            }
            break;
        case O_TIMEOUT: {
            double d;
            if (cli_parse_double(cmd, o->name, v, &d) || d <= 0 || d > 86400) {
                ex = cli_usage_fail(cmd, "--timeout: '%s' is not a number of seconds in "
                                    "(0, 86400]", v);
                goto out;
            }
            ctx->timeout_ms = (int)(d * 1000 + 0.5);
            break;
        }
        default:
            if (cli_spec_apply(&s, cmd, o, v)) {
                ex = CLI_EXIT_USAGE;
                goto out;
            }
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

    /* Only errors under the progress bar unless the user asked (GANQ_LOG=warn|info|debug):
     * what fails reaches the user through the job's state and reason anyway. */
    gq_log_init("ganq run", getenv("GANQ_LOG") ? -1 : GQ_LOG_ERROR);

    char cep[64], wep[64];
    snprintf(cep, sizeof cep, "inproc://ganq-run-clients-%ld", (long)getpid());
    snprintf(wep, sizeof wep, "inproc://ganq-run-workers-%ld", (long)getpid());
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        fprintf(stderr, "%s: zmq_ctx_new: %s\n", cmd, zmq_strerror(zmq_errno()));
        ex = CLI_EXIT_FAILED;
        goto out;
    }
    atomic_int bstop = 0, wstop = 0;
    broker_thread bt;
    memset(&bt, 0, sizeof bt);
    broker_config_init(&bt.cfg);
    bt.cfg.db_path = db;
    bt.cfg.clients_ep = cep;
    bt.cfg.workers_ep = wep;
    bt.cfg.zmq_ctx = zctx;
    bt.cfg.stop = &bstop;
    gq_error_clear(&bt.err);
    pthread_t btid, wtid[RUN_MAX_WORKERS];
    worker_thread wt[RUN_MAX_WORKERS];
    size_t started = 0;
    int broker_started = 0;
    cli_conn *conn = NULL;
    if (pthread_create(&btid, NULL, broker_main, &bt) != 0) {
        fprintf(stderr, "%s: cannot start the broker thread\n", cmd);
        ex = CLI_EXIT_FAILED;
        goto stop;
    }
    broker_started = 1;
    for (size_t i = 0; i < n_workers; i++) {
        worker_thread *w = &wt[i];
        memset(w, 0, sizeof *w);
        worker_config_init(&w->cfg);
        snprintf(w->name, sizeof w->name, "run-%zu", i + 1);
        w->cfg.broker = wep;
        w->cfg.models_dir = models;
        w->cfg.device = device;
        w->cfg.name = w->name;
        w->cfg.zmq_ctx = zctx;
        w->cfg.engine_threads = (int)threads;
        w->cfg.stop = &wstop;
        gq_error_clear(&w->err);
        if (pthread_create(&wtid[i], NULL, worker_main, w) != 0) {
            fprintf(stderr, "%s: cannot start worker thread %zu\n", cmd, i + 1);
            ex = CLI_EXIT_FAILED;
            goto stop;
        }
        started++;
    }

    int rc = cli_conn_open(cep, ctx->timeout_ms, zctx, &conn, &err);
    if (rc) {
        ex = cli_report(cmd, rc, &err);
        goto stop;
    }
    Ganq__V1__Envelope *reply = NULL;
    int64_t t0 = gq_mono_ms();
    /* Submit once the workers have registered, so that the job is resolved against their
     * models (model_sha256 filled) the same way on every run. */
    rc = wait_workers(conn, n_workers, ctx->timeout_ms, &bt, &err);
    if (rc) {
        ex = CLI_EXIT_FAILED;
        fprintf(stderr, "%s: %s\n", cmd, atomic_load(&bt.exited) ? gq_error_str(&bt.err, bt.rc)
                                                                  : gq_error_str(&err, rc));
        goto stop;
    }
    rc = cli_request(conn, &env, &reply, &err);
    if (rc && atomic_load(&bt.exited)) {   /* the broker could not start (db held?) */
        fprintf(stderr, "%s: embedded broker: %s\n", cmd, gq_error_str(&bt.err, bt.rc));
        ex = CLI_EXIT_FAILED;
        goto stop;
    }
    if (rc == 0 && reply->body_case != GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY)
        rc = gq_fail(&err, GQ_EFORMAT, "unexpected %s reply to submit",
                     wire_body_name(reply->body_case));
    if (rc) {
        wire_free(reply);
        ex = rc == GQ_ETIMEOUT ? CLI_EXIT_FAILED : cli_exit_of_status(rc);
        fprintf(stderr, "%s: %s\n", cmd, gq_error_str(&err, rc));
        goto stop;
    }
    char job[WIRE_MAX_ID + 1];
    snprintf(job, sizeof job, "%s", reply->submit_reply->job_id);
    uint64_t total = reply->submit_reply->total;
    wire_free(reply);
    printf("%s\n", job);
    fflush(stdout);
    int final = 0;
    rc = cli_watch_job(conn, job, 1000, &final, &err);
    double secs = (double)(gq_mono_ms() - t0) / 1000.0;
    if (rc) {
        fprintf(stderr, "%s: %s\n", cmd, gq_error_str(&err, rc));
        ex = CLI_EXIT_FAILED;
    } else if (final == GANQ__V1__JOB_STATE__JOB_DONE) {
        fprintf(stderr, "%s: job %s done: %llu images in %.1f s (%.1f img/s) in %s\n", cmd, job,
                (unsigned long long)total, secs, secs > 0 ? (double)total / secs : 0.0,
                s.spec.out_dir);
    } else {
        fprintf(stderr, "%s: %s\n", cmd,
                err.msg[0] ? err.msg : wire_job_state_name(final));
        ex = CLI_EXIT_FAILED;
    }

stop:
    cli_conn_free(conn);
    atomic_store(&wstop, 1);
    for (size_t i = 0; i < started; i++) {
        pthread_join(wtid[i], NULL);
        if (wt[i].rc)
            fprintf(stderr, "%s: worker %s: %s\n", cmd, wt[i].name,
                    gq_error_str(&wt[i].err, wt[i].rc));
    }
    atomic_store(&bstop, 1);
    if (broker_started) {
        pthread_join(btid, NULL);
        if (bt.rc && ex == CLI_EXIT_OK) {
            fprintf(stderr, "%s: embedded broker: %s\n", cmd, gq_error_str(&bt.err, bt.rc));
            ex = CLI_EXIT_FAILED;
        }
    }
    zmq_ctx_term(zctx);
out:
    cli_spec_release(&s);
    return ex;
}
