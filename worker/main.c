/* main.c: ganq-worker, the worker daemon: parses arguments, installs SIGTERM/SIGINT
 * handlers that set the stop flag, reads the fault hooks from the environment and calls
 * worker_run() (worker/worker.h).
 *
 * Exit status: 0 after a clean stop, 2 for bad arguments, 1 for any other failure.
 *
 * Fault hooks (for integration tests only; unset in production):
 *   GANQ_FAULT_CRASH_AFTER_IMAGES=N  abort() mid-task once N images have been generated
 *   GANQ_FAULT_FAIL_TASKS=all|N      report every task, or the first N, FAILED(retryable)
 *   GANQ_FAULT_SLOW_MS=N             sleep N ms before every batch
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "proto/wire/curve.h"
#include "worker/worker.h"

static atomic_int g_stop;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&g_stop, 1);
}

static void usage(FILE *f)
{
    fputs("usage: ganq-worker --broker EP [--models DIR] [--device cpu] [--name N]\n"
          "                   [--credits N] [--threads N] [--encoders N] [--grace-ms N]\n"
          "                   [--broker-key FILE --curve-secret FILE]\n"
          "\n"
          "Runs ganq tasks leased by a broker.\n"
          "  --broker EP     broker worker endpoint (tcp://127.0.0.1:5556, ipc://PATH)\n"
          "  --models DIR    offer every DIR/*.safetensors besides the built-in testcard\n"
          "  --device D      cpu (default)\n"
          "  --name N        worker name shown by `ganq workers` (default host:pid)\n"
          "  --credits N     tasks held at once, 1..64 (default 2)\n"
          "  --threads N     engine threads (default: all cores)\n"
          "  --encoders N    PNG/JPEG encoder threads (default: all cores)\n"
          "  --grace-ms N    on SIGTERM/SIGINT, how long the running task may finish (10000)\n"
          "  --broker-key FILE    CURVE: the broker's public key (its .pub from `ganq keygen`)\n"
          "  --curve-secret FILE  CURVE: this worker's secret key; the broker must list the\n"
          "                  matching .pub in its --authorized-keys directory. A wrong or\n"
          "                  unauthorised key shows as a broker that does not answer HELLO:\n"
          "                  the worker logs it and keeps retrying with backoff.\n"
          "  --help          this text\n"
          "\n"
          "Environment: GANQ_LOG=error|warn|info|debug.\n"
          "Fault hooks for tests: GANQ_FAULT_CRASH_AFTER_IMAGES=N (abort after N images),\n"
          "GANQ_FAULT_FAIL_TASKS=all|N (fail tasks, retryable), GANQ_FAULT_SLOW_MS=N (per batch).\n",
          f);
}

/* Parse a decimal integer in [lo, hi]. Returns 0 or -1. */
static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int read_faults(worker_faults *f)
{
    const char *s;
    long long v;
    worker_faults_none(f);
    if ((s = getenv("GANQ_FAULT_CRASH_AFTER_IMAGES")) && *s) {
        if (parse_int(s, 1, INT64_MAX, &v) != 0) {
            fprintf(stderr, "ganq-worker: GANQ_FAULT_CRASH_AFTER_IMAGES: \"%s\" is not a "
                            "positive integer\n", s);
            return -1;
        }
        f->crash_after_images = v;
    }
    if ((s = getenv("GANQ_FAULT_FAIL_TASKS")) && *s) {
        if (strcmp(s, "all") == 0) f->fail_tasks = -1;
        else if (parse_int(s, 0, INT64_MAX, &v) == 0) f->fail_tasks = v;
        else {
            fprintf(stderr, "ganq-worker: GANQ_FAULT_FAIL_TASKS: \"%s\" is not all or a count\n",
                    s);
            return -1;
        }
    }
    if ((s = getenv("GANQ_FAULT_SLOW_MS")) && *s) {
        if (parse_int(s, 0, 3600000, &v) != 0) {
            fprintf(stderr, "ganq-worker: GANQ_FAULT_SLOW_MS: \"%s\" is not 0..3600000\n", s);
            return -1;
        }
        f->slow_ms = v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "broker", required_argument, NULL, 'b' },
        { "models", required_argument, NULL, 'm' },
        { "device", required_argument, NULL, 'd' },
        { "name", required_argument, NULL, 'n' },
        { "credits", required_argument, NULL, 'c' },
        { "threads", required_argument, NULL, 't' },
        { "encoders", required_argument, NULL, 'e' },
        { "grace-ms", required_argument, NULL, 'g' },
        { "broker-key", required_argument, NULL, 'K' },
        { "curve-secret", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    worker_config c;
    worker_config_init(&c);
    const char *broker_key = NULL, *curve_secret = NULL;
    static wire_curve_client curve;
    long long v;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "b:m:d:n:c:t:e:g:hK:S:", opts, NULL)) != -1) {
        switch (o) {
        case 'b': c.broker = optarg; break;
        case 'm': c.models_dir = optarg; break;
        case 'd': c.device = optarg; break;
        case 'n': c.name = optarg; break;
        case 'c':
            if (parse_int(optarg, 1, 64, &v) != 0) {
                fprintf(stderr, "ganq-worker: --credits: \"%s\" is not 1..64\n", optarg);
                return 2;
            }
            c.credits = (int)v;
            break;
        case 't':
        case 'e':
            if (parse_int(optarg, 0, 1024, &v) != 0) {
                fprintf(stderr, "ganq-worker: --%s: \"%s\" is not 0..1024\n",
                        o == 't' ? "threads" : "encoders", optarg);
                return 2;
            }
            if (o == 't') c.engine_threads = (int)v;
            else c.encoder_threads = (int)v;
            break;
        case 'g':
            if (parse_int(optarg, 1, 3600000, &v) != 0) {
                fprintf(stderr, "ganq-worker: --grace-ms: \"%s\" is not 1..3600000\n", optarg);
                return 2;
            }
            c.grace_ms = (int)v;
            break;
        case 'K': broker_key = optarg; break;
        case 'S': curve_secret = optarg; break;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "ganq-worker: unknown or incomplete option \"%s\"\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ganq-worker: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!c.broker) {
        fprintf(stderr, "ganq-worker: --broker is required\n");
        usage(stderr);
        return 2;
    }
    if (read_faults(&c.faults) != 0) return 2;
    if (!broker_key != !curve_secret) {
        fprintf(stderr, "ganq-worker: --broker-key and --curve-secret go together (CURVE "
                        "needs the broker's public key and this worker's secret key)\n");
        return 2;
    }
    if (broker_key) {
        gq_error kerr;
        gq_error_clear(&kerr);
        if (wire_curve_client_load(broker_key, curve_secret, &curve, &kerr) != 0) {
            fprintf(stderr, "ganq-worker: %s\n", kerr.msg);
            return 2;
        }
        c.curve = &curve;
    }
    gq_log_init("ganq-worker", -1);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    c.stop = &g_stop;

    gq_error err;
    gq_error_clear(&err);
    int rc = worker_run(&c, &err);
    if (rc != 0) {
        gq_err("%s", gq_error_str(&err, rc));
        return rc == GQ_EINVAL ? 2 : 1;
    }
    gq_info("stopped");
    return 0;
}
