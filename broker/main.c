/* main.c: `ganq-broker`, the command line around broker_run() (broker/broker.h).
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 2 usage error, 1 any other failure
 * (the last log line says why: bind failed, database locked or from a newer ganq, ...).
 * Logs go to stderr, one line each, flushed (gq_log).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker.h"
#include "proto/base/gq_log.h"

static atomic_int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, 1);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ganq-broker --db FILE [--clients EP] [--workers EP] [--heartbeat-ms N]\n"
        "                   [--liveness N] [--max-attempts N] [--lease-ms N] [--insecure]\n"
        "\n"
        "Serve the ganq job queue: clients submit and watch jobs on --clients, workers take\n"
        "tasks on --workers. Jobs, tasks, workers and outputs are kept in the SQLite file\n"
        "--db (one broker per file: FILE.lock is held while it runs).\n"
        "\n"
        "  --db FILE          the job database (created if missing)\n"
        "  --clients EP       client endpoint (default tcp://127.0.0.1:5555)\n"
        "  --workers EP       worker endpoint (default tcp://127.0.0.1:5556)\n"
        "  --heartbeat-ms N   heartbeat interval, both ways (default 1000)\n"
        "  --liveness N       missed heartbeats before a worker is dead (default 3)\n"
        "  --max-attempts N   attempts per task when a job does not say (default 3)\n"
        "  --lease-ms N       task lease; each Progress extends it (default 120000)\n"
        "  --insecure         allow binding non-loopback endpoints. CURVE encryption and\n"
        "                     authentication are NOT implemented: traffic is plain text and\n"
        "                     anyone who can reach the port can submit jobs.\n"
        "  --help             this text\n"
        "\n"
        "Endpoints: tcp://127.0.0.1:PORT, tcp://localhost:PORT, tcp://[::1]:PORT, ipc://PATH;\n"
        "others only with --insecure. SIGTERM or SIGINT stops the broker cleanly.\n"
        "Environment: GANQ_LOG=error|warn|info|debug; fault hooks for tests are described in\n"
        "broker/broker.h (GANQ_BROKER_FAULT, GANQ_BROKER_FINALIZE_FAIL).\n"
        "Exit status: 0 clean stop, 1 failure, 2 usage error.\n");
}

static int parse_int(const char *opt, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        fprintf(stderr, "ganq-broker: %s: \"%s\" is not an integer in %ld..%ld\n", opt,
                v ? v : "", lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    gq_log_init("ganq-broker", -1);
    broker_config cfg;
    broker_config_init(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--insecure")) {
            cfg.insecure = 1;
            continue;
        }
        if (!v || strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "ganq-broker: %s: %s\n", a,
                    strncmp(a, "--", 2) ? "unexpected argument" : "needs a value");
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--db"))
            cfg.db_path = v;
        else if (!strcmp(a, "--clients"))
            cfg.clients_ep = v;
        else if (!strcmp(a, "--workers"))
            cfg.workers_ep = v;
        else if (!strcmp(a, "--heartbeat-ms")) {
            if (parse_int(a, v, 10, 600000, &x) < 0)
                return 2;
            cfg.heartbeat_ms = (int)x;
        } else if (!strcmp(a, "--liveness")) {
            if (parse_int(a, v, 1, 1000, &x) < 0)
                return 2;
            cfg.liveness = (int)x;
        } else if (!strcmp(a, "--max-attempts")) {
            if (parse_int(a, v, 1, 100, &x) < 0)
                return 2;
            cfg.max_attempts = (int)x;
        } else if (!strcmp(a, "--lease-ms")) {
            if (parse_int(a, v, 100, 86400000L, &x) < 0)
                return 2;
            cfg.lease_ms = x;
        } else {
            fprintf(stderr, "ganq-broker: %s: unknown option\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!cfg.db_path) {
        fprintf(stderr, "ganq-broker: --db FILE is required\n");
        usage(stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    cfg.stop = &stop_flag;
    gq_error err;
    gq_error_clear(&err);
    int rc = broker_run(&cfg, &err);
    if (rc < 0) {
        gq_err("%s", gq_error_str(&err, rc));
        return 1;
    }
    return 0;
}
