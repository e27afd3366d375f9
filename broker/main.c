/* main.c: `ganq-broker`, the command line around broker_run() (broker/broker.h).
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 2 usage error (bad option, bad key file,
 * a non-loopback endpoint without CURVE or --insecure), 1 any other failure
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
#include "proto/wire/curve.h"

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
        "                   [--liveness N] [--max-attempts N] [--lease-ms N]\n"
        "                   [--events-keep N]\n"
        "                   [--curve-secret FILE --authorized-keys DIR | --insecure]\n"
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
        "  --events-keep N    keep the newest N events of the log `ganq events` reads;\n"
        "                     older ones are deleted (default 1000000; 0 keeps all)\n"
        "  --curve-secret FILE  CURVE: encrypt and authenticate both endpoints with the\n"
        "                     broker secret key in FILE (from `ganq keygen`; workers and\n"
        "                     clients get the matching .pub as --broker-key)\n"
        "  --authorized-keys DIR  with --curve-secret: admit only clients and workers whose\n"
        "                     public key is in DIR/*.pub (one Z85 key per file; re-read\n"
        "                     when DIR changes); refusals are logged with the key's\n"
        "                     fingerprint\n"
        "  --insecure         without CURVE, allow binding non-loopback endpoints anyway:\n"
        "                     traffic is plain text and anyone who can reach the port can\n"
        "                     submit jobs\n"
        "  --help             this text\n"
        "\n"
        "Endpoints: tcp://127.0.0.1:PORT, tcp://localhost:PORT, tcp://[::1]:PORT, ipc://PATH;\n"
        "others (e.g. tcp://0.0.0.0:PORT) only with CURVE or --insecure. SIGTERM or SIGINT\n"
        "stops the broker cleanly.\n"
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
    const char *curve_secret_path = NULL;
    wire_curve_pair pair;
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
        else if (!strcmp(a, "--curve-secret"))
            curve_secret_path = v;
        else if (!strcmp(a, "--authorized-keys"))
            cfg.authorized_keys_dir = v;
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
        } else if (!strcmp(a, "--events-keep")) {
            if (parse_int(a, v, 0, 1000000000000L, &x) < 0)
                return 2;
            cfg.events_keep = x;
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
    if (!curve_secret_path != !cfg.authorized_keys_dir) {
        fprintf(stderr, "ganq-broker: --curve-secret and --authorized-keys go together\n");
        return 2;
    }
    if (curve_secret_path && cfg.insecure) {
        fprintf(stderr, "ganq-broker: --insecure cannot be combined with CURVE "
                        "(--curve-secret)\n");
        return 2;
    }
    if (curve_secret_path) {
        gq_error kerr;
        gq_error_clear(&kerr);
        int krc = wire_curve_secret_load(curve_secret_path, &pair, &kerr);
        if (krc < 0) {
            fprintf(stderr, "ganq-broker: --curve-secret: %s\n", kerr.msg);
            return 2;
        }
        cfg.curve_secret = pair.sec;
        char pz[WIRE_CURVE_Z85_LEN + 1];
        wire_curve_z85(pair.pub, pz);
        gq_info("CURVE public key %s (give workers and clients this as --broker-key)", pz);
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
    memset(&pair, 0, sizeof pair);
    if (rc < 0) {
        gq_err("%s", gq_error_str(&err, rc));
        return rc == GQ_EINVAL ? 2 : 1;
    }
    return 0;
}
