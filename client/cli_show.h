/* cli_show.h: how `ganq` shows jobs, workers and events: JSON objects (--json) and human lines, the
 * live progress display of `watch` and `run`, and the mapping of statuses to exit codes.
 *
 * JobInfo as JSON (ganq status --json; one object per job in `list --json`):
 *   {"job_id", "state", "kind", "name", "model", "owner", "priority", "out_dir",
 *    "total", "done", "rate", "eta_s", "reason", "manifest",
 *    "tasks": {"total", "done", "failed", "leased"},
 *    "created_ms", "started_ms", "finished_ms",
 *    "outputs": {"files", "images", "bytes"}   (status only: the broker's output records)}
 *
 * EventInfo as JSON (one element of `events --json`; one line each with --follow):
 *   {"seq", "ts_ms", "kind", "job_id", "task_id", "worker_id", "detail"}
 *   absent strings are "", an absent task_id is null.
 * As a human line: SEQ, local time to the millisecond, KIND, JOB, TASK, WORKER, DETAIL
 *   ("-" for absent), under the header cli_print_event_header() writes.
 */
#ifndef GQ_CLI_SHOW_H
#define GQ_CLI_SHOW_H

#include <stdio.h>

#include "client/cli_conn.h"
#include "proto/base/gq_buf.h"
#include "proto/ganq.pb-c.h"

/* with_outputs: 1 summarise j->outputs, 0 leave "outputs" out, -1 write "outputs": null. */
void cli_json_job(gq_buf *b, const Ganq__V1__JobInfo *j, int with_outputs);
void cli_json_worker(gq_buf *b, const Ganq__V1__WorkerInfo *w);
void cli_print_job(FILE *f, const Ganq__V1__JobInfo *j, int with_outputs);
void cli_json_event(gq_buf *b, const Ganq__V1__EventInfo *e);
void cli_print_event_header(FILE *f);
void cli_print_event(FILE *f, const Ganq__V1__EventInfo *e);

/* Exit code for a status from a broker conversation: timeouts and network errors 3, else 1. */
int cli_exit_of_status(int rc);

/* Print err's message as "<cmd>: <message>" to stderr and return cli_exit_of_status(rc). */
int cli_report(const char *cmd, int rc, const gq_error *err);

/* Watch a job until it is terminal: subscribe with Watch, show progress on stderr (a bar
 * redrawn in place on a TTY, otherwise a plain line at most every interval_ms), re-subscribe
 * when the broker is silent for the connection timeout (survives a broker restart as long
 * as it comes back within another timeout). OUT: *final_state (JobState).
 * Returns 0 when the job reached a terminal state; GQ_ETIMEOUT when the broker stopped
 * answering; other codes from the broker (unknown job). */
int cli_watch_job(cli_conn *c, const char *job_id, int interval_ms, int *final_state,
                  gq_error *err);

#endif
