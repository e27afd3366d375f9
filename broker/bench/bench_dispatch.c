/* bench_dispatch.c: broker dispatch throughput. broker_run() on a thread over inproc://,
 * W fake workers (DEALER, credit 2 each) that answer every Task at once with Done and one
 * more Credit; one generate job of T single-image tasks. Prints tasks/s from the first Task
 * to the job's last Done (each Done is a task state change committed to SQLite, batched per
 * event-loop turn). Not part of `make`: build and run by hand from the repository root:
 *
 *   make -j2 && cc -std=c11 -D_GNU_SOURCE -O2 -I. -Ibuild/release/gen \
 *     broker/bench/bench_dispatch.c build/release/lib/libgq_broker.a \
 *     build/release/lib/libgq_store.a build/release/lib/libgq_out.a \
 *     build/release/lib/libgq_plan.a build/release/lib/libgq_engine.a \
 *     build/release/lib/libgq_wire.a build/release/lib/libgq_base.a \
 *     -lzmq -lprotobuf-c -lsqlite3 -lpng -ljpeg -lz -lopenblas -lm -pthread -o /tmp/bench_dispatch
 *   /tmp/bench_dispatch [WORKERS=4] [TASKS=5000] [DBDIR=/tmp]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "broker/broker.h"
#include "proto/base/gq_log.h"
#include "proto/base/gq_time.h"
#include "proto/wire/wire.h"

static broker_config cfg;
static atomic_int stop_flag;

static void *run(void *a)
{
    (void)a;
    gq_error e;
    gq_error_clear(&e);
    if (broker_run(&cfg, &e) < 0)
        fprintf(stderr, "broker: %s\n", e.msg);
    return NULL;
}

static int fake_fin(void *c, const char *id, const Ganq__V1__JobSpec *s, const plan *p,
                    gq_error *e)
{
    (void)c; (void)id; (void)s; (void)p; (void)e;
    return 0;
}

static void send_or_die(void *s, Ganq__V1__Envelope *env)
{
    gq_error e;
    gq_error_clear(&e);
    if (wire_send(s, NULL, 0, env, 0, &e) < 0) {
        fprintf(stderr, "send: %s\n", e.msg);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    int nw = argc > 1 ? atoi(argv[1]) : 4;
    int ntasks = argc > 2 ? atoi(argv[2]) : 5000;
    const char *dbdir = argc > 3 ? argv[3] : "/tmp";
    if (nw < 1 || nw > 256 || ntasks < 1)
        return 2;
    gq_log_init("bench", GQ_LOG_WARN);
    char dir[512], db[600];
    snprintf(dir, sizeof dir, "%s/bench-dispatch.XXXXXX", dbdir);
    if (!mkdtemp(dir))
        return 1;
    snprintf(db, sizeof db, "%s/ganq.db", dir);
    void *ctx = zmq_ctx_new();
    broker_config_init(&cfg);
    cfg.db_path = db;
    cfg.clients_ep = "inproc://bc";
    cfg.workers_ep = "inproc://bw";
    cfg.zmq_ctx = ctx;
    cfg.stop = &stop_flag;
    cfg.finalize = fake_fin;
    pthread_t th;
    pthread_create(&th, NULL, run, NULL);

    void *w[256];
    static const char sha[] = "7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d7e57ca4d";
    for (int i = 0; i < nw; i++) {
        w[i] = zmq_socket(ctx, ZMQ_DEALER);
        zmq_connect(w[i], "inproc://bw");
        char name[32];
        snprintf(name, sizeof name, "bench-%d", i);
        Ganq__V1__ModelInfo mi = GANQ__V1__MODEL_INFO__INIT;
        mi.name = "testcard";
        mi.sha256 = (char *)sha;
        mi.family = "testcard";
        mi.num_classes = 10;
        Ganq__V1__ModelInfo *mis[1] = {&mi};
        Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
        h.name = name;
        h.n_models = 1;
        h.models = mis;
        Ganq__V1__Envelope env;
        wire_env_init(&env, 0);
        env.body_case = GANQ__V1__ENVELOPE__BODY_HELLO;
        env.hello = &h;
        send_or_die(w[i], &env);
        Ganq__V1__Credit c = GANQ__V1__CREDIT__INIT;
        c.credits = 2;
        wire_env_init(&env, 0);
        env.body_case = GANQ__V1__ENVELOPE__BODY_CREDIT;
        env.credit = &c;
        send_or_die(w[i], &env);
    }
    void *cl = zmq_socket(ctx, ZMQ_DEALER);
    zmq_connect(cl, "inproc://bc");
    Ganq__V1__JobSpec sp = GANQ__V1__JOB_SPEC__INIT;
    sp.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    sp.model = "testcard";
    sp.count = (uint64_t)ntasks;
    sp.task_size = 1;
    sp.out_dir = dir;
    Ganq__V1__Submit sub = GANQ__V1__SUBMIT__INIT;
    sub.spec = &sp;
    Ganq__V1__Envelope env;
    wire_env_init(&env, 1);
    env.body_case = GANQ__V1__ENVELOPE__BODY_SUBMIT;
    env.submit = &sub;
    int64_t t_submit = gq_mono_ms();
    send_or_die(cl, &env);

    int done = 0;
    int64_t t_first = 0;
    zmq_pollitem_t it[256];
    for (int i = 0; i < nw; i++) {
        it[i].socket = w[i];
        it[i].fd = 0;
        it[i].events = ZMQ_POLLIN;
    }
    while (done < ntasks) {
        if (zmq_poll(it, nw, 10000) <= 0) {
            fprintf(stderr, "stalled at %d done\n", done);
            return 1;
        }
        for (int i = 0; i < nw; i++) {
            if (!(it[i].revents & ZMQ_POLLIN))
                continue;
            wire_msg m;
            wire_msg_init(&m);
            gq_error e;
            gq_error_clear(&e);
            while (wire_recv(w[i], 0, ZMQ_DONTWAIT, &m, &e) == 0) {
                if (m.env->body_case == GANQ__V1__ENVELOPE__BODY_HEARTBEAT) {
                    Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
                    Ganq__V1__Envelope r;
                    wire_env_init(&r, 0);
                    r.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
                    r.heartbeat = &hb;
                    send_or_die(w[i], &r);
                } else if (m.env->body_case == GANQ__V1__ENVELOPE__BODY_TASK) {
                    if (!t_first)
                        t_first = gq_mono_ms();
                    Ganq__V1__Task *t = m.env->task;
                    Ganq__V1__OutputRecord o = GANQ__V1__OUTPUT_RECORD__INIT;
                    char path[32];
                    snprintf(path, sizeof path, "%06" PRIu64 ".png", t->start);
                    o.path = path;
                    o.images = t->end - t->start;
                    o.first_index = t->start;
                    Ganq__V1__OutputRecord *os[1] = {&o};
                    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
                    d.job_id = t->job_id;
                    d.task_id = t->task_id;
                    d.attempt = t->attempt;
                    d.n_outputs = 1;
                    d.outputs = os;
                    Ganq__V1__Envelope r;
                    wire_env_init(&r, 0);
                    r.body_case = GANQ__V1__ENVELOPE__BODY_DONE;
                    r.done = &d;
                    send_or_die(w[i], &r);
                    Ganq__V1__Credit c = GANQ__V1__CREDIT__INIT;
                    c.credits = 1;   /* it holds the other one */
                    wire_env_init(&r, 0);
                    r.body_case = GANQ__V1__ENVELOPE__BODY_CREDIT;
                    r.credit = &c;
                    send_or_die(w[i], &r);
                    done++;
                }
                wire_msg_release(&m);
            }
            wire_msg_release(&m);
        }
    }
    int64_t t_end = gq_mono_ms();
    /* wait until the last Done is committed: poll Status until done */
    int64_t t_job = 0;
    for (int k = 0; k < 1000 && !t_job; k++) {
        Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
        st.job_id = "j000001";
        wire_env_init(&env, 100 + (uint64_t)k);
        env.body_case = GANQ__V1__ENVELOPE__BODY_STATUS;
        env.status = &st;
        send_or_die(cl, &env);
        for (;;) {
            wire_msg m;
            wire_msg_init(&m);
            gq_error e;
            gq_error_clear(&e);
            if (wire_recv(cl, 0, 0, &m, &e) < 0)
                return 1;
            int match = m.env->request_id == 100 + (uint64_t)k;
            int st_done = match && m.env->body_case == GANQ__V1__ENVELOPE__BODY_JOB_INFO &&
                          m.env->job_info->state == GANQ__V1__JOB_STATE__JOB_DONE;
            wire_msg_release(&m);
            if (match) {
                if (st_done)
                    t_job = gq_mono_ms();
                break;
            }
        }
        if (!t_job)
            gq_sleep_ms(5);
    }
    double secs = (double)(t_job - t_first) / 1000.0;
    printf("workers %d, tasks %d: submit->first task %" PRId64 " ms, first task->all Done sent "
           "%" PRId64 " ms, first task->job done %.3f s: %.0f tasks/s\n", nw, ntasks,
           t_first - t_submit, t_end - t_first, secs, ntasks / secs);
    atomic_store(&stop_flag, 1);
    pthread_join(th, NULL);
    for (int i = 0; i < nw; i++)
        zmq_close(w[i]);
    zmq_close(cl);
    zmq_ctx_term(ctx);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
