/* cli_show.c: JSON and human rendering of jobs, workers and events, and the watch loop. */
#include "client/cli_show.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/cli.h"
#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"

static double eta_s(const Ganq__V1__JobInfo *j)
{
    if (j->rate <= 0 || j->done >= j->total)
        return j->done >= j->total ? 0 : -1;
    return (double)(j->total - j->done) / j->rate;
}

static int terminal(int s)
{
    return s == GANQ__V1__JOB_STATE__JOB_DONE || s == GANQ__V1__JOB_STATE__JOB_FAILED ||
           s == GANQ__V1__JOB_STATE__JOB_CANCELLED;
}

void cli_json_job(gq_buf *b, const Ganq__V1__JobInfo *j, int with_outputs)
{
    const Ganq__V1__JobSpec *s = j->spec;
    gq_json_obj_begin(b);
    gq_json_kv_str(b, "job_id", j->job_id);
    gq_json_kv_str(b, "state", wire_job_state_name(j->state));
    gq_json_kv_str(b, "kind", s ? wire_job_kind_name(s->kind) : "unknown");
    gq_json_kv_str(b, "name", s ? s->name : "");
    gq_json_kv_str(b, "model", s ? s->model : "");
    gq_json_kv_str(b, "owner", s ? s->owner : "");
    gq_json_kv_int(b, "priority", s ? s->priority : 0);
    gq_json_kv_str(b, "out_dir", s ? s->out_dir : "");
    gq_json_key(b, "total");
    gq_json_uint(b, j->total);
    gq_json_key(b, "done");
    gq_json_uint(b, j->done);
    gq_json_kv_double(b, "rate", j->rate);
    double eta = eta_s(j);
    gq_json_key(b, "eta_s");
    if (eta < 0)
        gq_json_null(b);
    else
        gq_json_double(b, round(eta * 10) / 10);
    gq_json_kv_str(b, "reason", j->reason ? j->reason : "");
    gq_json_kv_str(b, "manifest", j->manifest ? j->manifest : "");
    gq_json_key(b, "tasks");
    gq_json_obj_begin(b);
    gq_json_kv_int(b, "total", j->tasks_total);
    gq_json_kv_int(b, "done", j->tasks_done);
    gq_json_kv_int(b, "failed", j->tasks_failed);
    gq_json_kv_int(b, "leased", j->tasks_leased);
    gq_json_obj_end(b);
    gq_json_kv_int(b, "created_ms", j->created_ms);
    gq_json_kv_int(b, "started_ms", j->started_ms);
    gq_json_kv_int(b, "finished_ms", j->finished_ms);
    if (with_outputs < 0) {
        gq_json_key(b, "outputs");
        gq_json_null(b);
    } else if (with_outputs) {
        uint64_t images = 0, bytes = 0;
        for (size_t i = 0; i < j->n_outputs; i++) {
            images += j->outputs[i]->images;
            bytes += j->outputs[i]->bytes;
        }
        gq_json_key(b, "outputs");
        gq_json_obj_begin(b);
        gq_json_key(b, "files");
        gq_json_uint(b, j->n_outputs);
        gq_json_key(b, "images");
        gq_json_uint(b, images);
        gq_json_key(b, "bytes");
        gq_json_uint(b, bytes);
        gq_json_obj_end(b);
    }
    gq_json_obj_end(b);
}

void cli_json_worker(gq_buf *b, const Ganq__V1__WorkerInfo *w)
{
    gq_json_obj_begin(b);
    gq_json_kv_str(b, "worker_id", w->worker_id);
    gq_json_kv_str(b, "name", w->name);
    gq_json_kv_str(b, "state", w->state);
    gq_json_key(b, "devices");
    gq_json_arr_begin(b);
    for (size_t i = 0; i < w->n_devices; i++)
        gq_json_str(b, w->devices[i]);
    gq_json_arr_end(b);
    gq_json_key(b, "models");
    gq_json_arr_begin(b);
    for (size_t i = 0; i < w->n_models; i++) {
        gq_json_obj_begin(b);
        gq_json_kv_str(b, "name", w->models[i]->name);
        gq_json_kv_str(b, "sha256", w->models[i]->sha256);
        gq_json_kv_str(b, "family", w->models[i]->family);
        gq_json_kv_int(b, "resolution", w->models[i]->resolution);
        gq_json_kv_int(b, "num_classes", w->models[i]->num_classes);
        gq_json_obj_end(b);
    }
    gq_json_arr_end(b);
    gq_json_kv_int(b, "tasks_leased", w->tasks_leased);
    gq_json_kv_int(b, "last_seen_ms", w->last_seen_ms);
    gq_json_key(b, "images_done");
    gq_json_uint(b, w->images_done);
    gq_json_obj_end(b);
}

void cli_print_job(FILE *f, const Ganq__V1__JobInfo *j, int with_outputs)
{
    const Ganq__V1__JobSpec *s = j->spec;
    fprintf(f, "job %s: %s\n", j->job_id, wire_job_state_name(j->state));
    if (s)
        fprintf(f, "  kind %s, model %s%s%s, out %s\n", wire_job_kind_name(s->kind), s->model,
                s->name && *s->name ? ", name " : "", s->name ? s->name : "", s->out_dir);
    double pct = j->total ? 100.0 * (double)j->done / (double)j->total : 0;
    fprintf(f, "  images %llu/%llu (%.1f%%), tasks %u/%u done, %u leased, %u failed\n",
            (unsigned long long)j->done, (unsigned long long)j->total, pct, j->tasks_done,
            j->tasks_total, j->tasks_leased, j->tasks_failed);
    if (!terminal(j->state) && j->rate > 0) {
        double eta = eta_s(j);
        fprintf(f, "  rate %.1f img/s, eta %.0f s\n", j->rate, eta < 0 ? 0 : eta);
    }
    if (j->reason && *j->reason)
        fprintf(f, "  reason: %s\n", j->reason);
    if (j->manifest && *j->manifest)
        fprintf(f, "  manifest: %s\n", j->manifest);
    if (with_outputs && j->n_outputs) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < j->n_outputs; i++)
            bytes += j->outputs[i]->bytes;
        fprintf(f, "  outputs: %zu files, %llu bytes\n", j->n_outputs,
                (unsigned long long)bytes);
    }
}

void cli_json_event(gq_buf *b, const Ganq__V1__EventInfo *e)
{
    gq_json_obj_begin(b);
    gq_json_key(b, "seq");
    gq_json_uint(b, e->seq);
    gq_json_kv_int(b, "ts_ms", e->ts_ms);
    gq_json_kv_str(b, "kind", e->kind ? e->kind : "");
    gq_json_kv_str(b, "job_id", e->job_id ? e->job_id : "");
    gq_json_key(b, "task_id");
    if (e->task_id < 0)
        gq_json_null(b);
    else
        gq_json_int(b, e->task_id);
    gq_json_kv_str(b, "worker_id", e->worker_id ? e->worker_id : "");
    gq_json_kv_str(b, "detail", e->detail ? e->detail : "");
    gq_json_obj_end(b);
}

#define EVENT_COLS "%8s  %-23s  %-13s %-12s %6s "   /* then WORKER and DETAIL */

void cli_print_event_header(FILE *f)
{
    fprintf(f, EVENT_COLS "%-10s %s\n", "SEQ", "TIME", "KIND", "JOB", "TASK", "WORKER",
            "DETAIL");
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

void cli_print_event(FILE *f, const Ganq__V1__EventInfo *e)
{
    char seq[24], when[40], task[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)e->seq);
    time_t t = (time_t)(e->ts_ms / 1000);
    struct tm tm;
    char day[24];
    if (localtime_r(&t, &tm) && strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm) > 0)
        snprintf(when, sizeof when, "%s.%03d", day, (int)(e->ts_ms % 1000));
    else
        snprintf(when, sizeof when, "%lld ms", (long long)e->ts_ms);
    if (e->task_id >= 0)
        snprintf(task, sizeof task, "%lld", (long long)e->task_id);
    else
        snprintf(task, sizeof task, "-");
    fprintf(f, EVENT_COLS, seq, when, or_dash(e->kind), or_dash(e->job_id), task);
    if (e->detail && *e->detail)   /* no padding at the end of a line without detail */
        fprintf(f, "%-10s %s\n", or_dash(e->worker_id), e->detail);
    else
        fprintf(f, "%s\n", or_dash(e->worker_id));
}

int cli_exit_of_status(int rc)
{
    if (rc == GQ_ETIMEOUT || rc == GQ_ENET)
        return CLI_EXIT_UNREACHABLE;
    return rc ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

int cli_report(const char *cmd, int rc, const gq_error *err)
{
    fprintf(stderr, "%s: %s\n", cmd, gq_error_str(err, rc));
    return cli_exit_of_status(rc);
}

/* ---- watch ---- */

typedef struct progress {
    int     tty;        /* stderr is a terminal: redraw one line */
    int     drawn;      /* a bar is on screen (needs a newline before other output) */
    int64_t last_ms;    /* last plain line */
} progress;

static void fmt_eta(char *buf, size_t n, double eta)
{
    if (eta < 0)
        snprintf(buf, n, "?");
    else if (eta < 100)
        snprintf(buf, n, "%.0fs", eta);
    else if (eta < 6000)
        snprintf(buf, n, "%.0fm%02.0fs", floor(eta / 60), fmod(eta, 60));
    else
        snprintf(buf, n, "%.1fh", eta / 3600);
}

/* The rate to show: the broker's recent rate while running; once the job has ended (the
 * recent window is then empty) the mean over the job's run, from its start and end times. */
static double shown_rate(const Ganq__V1__JobInfo *j)
{
    if (terminal(j->state) && j->started_ms > 0 && j->finished_ms > j->started_ms)
        return (double)j->done * 1000.0 / (double)(j->finished_ms - j->started_ms);
    return j->rate;
}

static void show(progress *p, const Ganq__V1__JobInfo *j, int interval_ms, int force)
{
    char eta[32];
    const double rate = shown_rate(j);
    fmt_eta(eta, sizeof eta, eta_s(j));
    double frac = j->total ? (double)j->done / (double)j->total : 0;
    if (frac > 1)
        frac = 1;
    if (p->tty) {
        char bar[31];
        int w = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < w ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r%s [%s] %llu/%llu %5.1f%% %.1f img/s eta %s   ", j->job_id, bar,
                (unsigned long long)j->done, (unsigned long long)j->total, frac * 100, rate,
                eta);
        p->drawn = 1;
        if (terminal(j->state)) {
            fputc('\n', stderr);
            p->drawn = 0;
        }
        fflush(stderr);
        return;
    }
    int64_t now = gq_mono_ms();
    if (!force && now - p->last_ms < interval_ms)
        return;
    p->last_ms = now;
    fprintf(stderr, "%s %s %llu/%llu images (%.1f%%) %.1f img/s eta %s\n", j->job_id,
            wire_job_state_name(j->state), (unsigned long long)j->done,
            (unsigned long long)j->total, frac * 100, rate, eta);
    fflush(stderr);
}

static int send_watch(cli_conn *c, const char *job_id, gq_error *err)
{
    Ganq__V1__Envelope env;
    Ganq__V1__Watch w = GANQ__V1__WATCH__INIT;
    wire_env_init(&env, 0);
    w.job_id = (char *)job_id;
    env.body_case = GANQ__V1__ENVELOPE__BODY_WATCH;
    env.watch = &w;
    return cli_send(c, &env, NULL, err);
}

int cli_watch_job(cli_conn *c, const char *job_id, int interval_ms, int *final_state,
                  gq_error *err)
{
    progress p = {isatty(2), 0, 0};
    *final_state = 0;
    int timeout = cli_conn_timeout_ms(c);
    int rc = send_watch(c, job_id, err);
    if (rc)
        return rc;
    int64_t last_msg = gq_mono_ms();
    int resent = 0;   /* a Watch was re-sent and is unanswered */
    for (;;) {
        Ganq__V1__Envelope *m;
        gq_error e;
        gq_error_clear(&e);
        rc = cli_recv(c, 250, &m, &e);
        int64_t now = gq_mono_ms();
        if (rc == GQ_ETIMEOUT) {
            if (now - last_msg < timeout)
                continue;
            if (resent) {
                if (p.drawn)
                    fputc('\n', stderr);
                return gq_fail(err, GQ_ETIMEOUT,
                               "broker not reachable at %s (no reply within %.1f s)%s",
                               cli_conn_endpoint(c), timeout / 1000.0,
                               cli_conn_timeout_hint(c));
            }
            /* Silence: the broker may have restarted and forgotten us. Subscribe again. */
            rc = send_watch(c, job_id, err);
            if (rc)
                return rc;
            resent = 1;
            last_msg = now;
            continue;
        }
        if (rc) {
            if (p.drawn)
                fputc('\n', stderr);
            return gq_fail(err, rc, "bad message from broker: %s", gq_error_str(&e, rc));
        }
        last_msg = now;
        resent = 0;
        if (m->body_case == GANQ__V1__ENVELOPE__BODY_ERROR) {
            int st = wire_status_of_error_code(m->error->code);
            if (p.drawn)
                fputc('\n', stderr);
            gq_fail(err, st, "%s", m->error->message ? m->error->message : "error");
            wire_free(m);
            return st;
        }
        if (m->body_case == GANQ__V1__ENVELOPE__BODY_JOB_INFO && m->job_info->job_id &&
            strcmp(m->job_info->job_id, job_id) == 0) {
            int t = terminal(m->job_info->state);
            show(&p, m->job_info, interval_ms, t);
            if (t) {
                *final_state = m->job_info->state;
                if (m->job_info->state == GANQ__V1__JOB_STATE__JOB_FAILED && m->job_info->reason)
                    gq_fail(err, GQ_EIO, "job %s failed: %s", job_id, m->job_info->reason);
                wire_free(m);
                return 0;
            }
        }
        wire_free(m);
    }
}
