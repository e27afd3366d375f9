/* test_wire.c: units of proto/wire: round trips of every message family, validation of
 * each field rule with the exact field path in the error, version and framing errors, a
 * mutation run over valid frames (random byte flips, insertions and truncations must never
 * crash: each result is rejected with a status, or decodes to an envelope that validates
 * and re-encodes), and send/recv over inproc ZeroMQ sockets with and without identities.
 * Events / EventList (the event log query) have their round trip and field rules too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "proto/plan/plan.h"
#include "proto/wire/wire.h"
#include "tests/fuzz/fuzz_wire.c"

/* ---- fixtures ---- */

typedef struct spec_fix {
    Ganq__V1__JobSpec spec;
    double            truncs[3];
    int32_t           cls[3];
} spec_fix;

static void spec_generate(spec_fix *f)
{
    ganq__v1__job_spec__init(&f->spec);
    f->spec.kind = GANQ__V1__JOB_KIND__KIND_GENERATE;
    f->spec.model = "testcard";
    f->spec.seed = 42;
    f->spec.classes = "0-2";
    f->cls[0] = 0; f->cls[1] = 1; f->cls[2] = 2;
    f->spec.class_ids = f->cls;
    f->spec.n_class_ids = 3;
    f->spec.count = 100;
    f->truncs[0] = 0.5; f->truncs[1] = 1.0; f->truncs[2] = 0.25;
    f->spec.truncations = f->truncs;
    f->spec.n_truncations = 1;
    f->spec.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_PNG;
    f->spec.out_dir = "/tmp/out";
    f->spec.priority = 5;
    f->spec.owner = "alice";
    f->spec.name = "my job";
}

static uint8_t *enc(Ganq__V1__Envelope *env, size_t *len)
{
    uint8_t *buf = NULL;
    gq_error e;
    gq_error_clear(&e);
    int rc = wire_encode(env, &buf, len, &e);
    if (rc)
        fail_msg("encode failed: %s", e.msg);
    return buf;
}

/* Encode without validation, decode, expect code and a message starting with prefix. */
static void expect_reject(Ganq__V1__Envelope *env, int code, const char *prefix)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode_raw(env, &buf, &len), 0);
    Ganq__V1__Envelope *out = (Ganq__V1__Envelope *)1;
    gq_error e;
    gq_error_clear(&e);
    int rc = wire_decode(buf, len, &out, NULL, &e);
    free(buf);
    if (rc != code || strncmp(e.msg, prefix, strlen(prefix)) != 0)
        fail_msg("want %d \"%s...\", got %d \"%s\"", code, prefix, rc, e.msg);
    assert_null(out);
    /* wire_encode refuses the same envelope, with the same message. */
    gq_error e2;
    gq_error_clear(&e2);
    uint8_t *b2;
    size_t l2;
    assert_int_equal(wire_encode(env, &b2, &l2, &e2), code);
    assert_null(b2);
    assert_string_equal(e.msg, e2.msg);
}

static void submit_env(Ganq__V1__Envelope *env, Ganq__V1__Submit *s, Ganq__V1__JobSpec *spec)
{
    wire_env_init(env, 7);
    ganq__v1__submit__init(s);
    s->spec = spec;
    env->body_case = GANQ__V1__ENVELOPE__BODY_SUBMIT;
    env->submit = s;
}

/* ---- round trips ---- */

static void test_roundtrip_submit(void **state)
{
    spec_fix f;
    spec_generate(&f);
    f.spec.n_truncations = 3;
    Ganq__V1__Envelope env;
    Ganq__V1__Submit s;
    submit_env(&env, &s, &f.spec);
    env.version = 99; /* wire_encode stamps the version */
    size_t len;
    uint8_t *buf = enc(&env, &len);
    assert_int_equal(env.version, WIRE_VERSION);

    Ganq__V1__Envelope *out;
    uint64_t rid;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_decode(buf, len, &out, &rid, &e), 0);
    free(buf);
    assert_int_equal(rid, 7);
    assert_int_equal(out->body_case, GANQ__V1__ENVELOPE__BODY_SUBMIT);
    const Ganq__V1__JobSpec *g = out->submit->spec;
    assert_string_equal(g->model, "testcard");
    assert_int_equal(g->seed, 42);
    assert_int_equal(g->count, 100);
    assert_int_equal(g->n_truncations, 3);
    assert_true(g->truncations[2] == 0.25);
    assert_int_equal(g->n_class_ids, 3);
    assert_int_equal(g->class_ids[2], 2);
    assert_string_equal(g->out_dir, "/tmp/out");
    assert_int_equal(g->priority, 5);
    assert_string_equal(g->name, "my job");
    wire_free(out);
}

static void test_roundtrip_task_done(void **state)
{
    spec_fix f;
    spec_generate(&f);
    Ganq__V1__Envelope env;
    Ganq__V1__Task t = GANQ__V1__TASK__INIT;
    wire_env_init(&env, 0);
    t.job_id = "j-000001";
    t.task_id = 9;
    t.attempt = 2;
    t.start = 10;
    t.end = 20;
    t.spec = &f.spec;
    t.lease_ms = 30000;
    env.body_case = GANQ__V1__ENVELOPE__BODY_TASK;
    env.task = &t;
    size_t len;
    uint8_t *buf = enc(&env, &len);
    Ganq__V1__Envelope *out;
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_int_equal(out->task->start, 10);
    assert_int_equal(out->task->end, 20);
    assert_int_equal(out->task->attempt, 2);
    assert_string_equal(out->task->spec->model, "testcard");
    wire_free(out);

    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
    Ganq__V1__OutputRecord o[2] = {GANQ__V1__OUTPUT_RECORD__INIT, GANQ__V1__OUTPUT_RECORD__INIT};
    Ganq__V1__OutputRecord *op[2] = {&o[0], &o[1]};
    o[0].path = "000010.png";
    o[0].images = 1;
    o[0].sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    o[1].path = "train/goldfish/000011.png";
    o[1].images = 1;
    o[1].first_index = 11;
    d.job_id = "j-000001";
    d.task_id = 9;
    d.outputs = op;
    d.n_outputs = 2;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_DONE;
    env.done = &d;
    buf = enc(&env, &len);
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_int_equal(out->done->n_outputs, 2);
    assert_string_equal(out->done->outputs[1]->path, "train/goldfish/000011.png");
    assert_int_equal(out->done->outputs[1]->first_index, 11);
    wire_free(out);
}

static void test_roundtrip_hello_lists(void **state)
{
    Ganq__V1__Envelope env;
    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    Ganq__V1__ModelInfo m = GANQ__V1__MODEL_INFO__INIT;
    Ganq__V1__ModelInfo *mp = &m;
    char *devs[] = {"cpu"};
    char *names[] = {"tench", "goldfish"};
    Ganq__V1__RunningTask r = GANQ__V1__RUNNING_TASK__INIT;
    Ganq__V1__RunningTask *rp = &r;
    m.name = "testcard";
    m.family = "testcard";
    m.resolution = 32;
    m.num_classes = 2;
    m.class_names = names;
    m.n_class_names = 2;
    h.name = "host:123";
    h.devices = devs;
    h.n_devices = 1;
    h.models = &mp;
    h.n_models = 1;
    h.max_batch = 8;
    r.job_id = "j1";
    r.task_id = 3;
    h.running = &rp;
    h.n_running = 1;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    size_t len;
    uint8_t *buf = enc(&env, &len);
    Ganq__V1__Envelope *out;
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_string_equal(out->hello->models[0]->class_names[1], "goldfish");
    assert_int_equal(out->hello->running[0]->task_id, 3);
    wire_free(out);

    /* JobList with a JobInfo carrying a (non-strict) spec */
    Ganq__V1__JobInfo ji = GANQ__V1__JOB_INFO__INIT;
    Ganq__V1__JobInfo *jp = &ji;
    Ganq__V1__JobList jl = GANQ__V1__JOB_LIST__INIT;
    Ganq__V1__JobSpec empty = GANQ__V1__JOB_SPEC__INIT;
    ji.job_id = "j1";
    ji.state = GANQ__V1__JOB_STATE__JOB_RUNNING;
    ji.spec = &empty;
    ji.total = 10;
    ji.done = 4;
    ji.rate = 2.5;
    jl.jobs = &jp;
    jl.n_jobs = 1;
    wire_env_init(&env, 3);
    env.body_case = GANQ__V1__ENVELOPE__BODY_JOB_LIST;
    env.job_list = &jl;
    buf = enc(&env, &len);
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_int_equal(out->job_list->jobs[0]->done, 4);
    assert_true(out->job_list->jobs[0]->rate == 2.5);
    wire_free(out);

    /* empty bodies */
    Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    buf = enc(&env, &len);
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_int_equal(out->body_case, GANQ__V1__ENVELOPE__BODY_HEARTBEAT);
    wire_free(out);

    /* Events and an EventList (job and cluster events, "none" as "" and task_id -1) */
    Ganq__V1__Events q = GANQ__V1__EVENTS__INIT;
    q.job_id = "j7";
    q.after_seq = 41;
    q.limit = WIRE_MAX_EVENTS;
    q.kind = "requeue";
    wire_env_init(&env, 9);
    env.body_case = GANQ__V1__ENVELOPE__BODY_EVENTS;
    env.events = &q;
    buf = enc(&env, &len);
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_string_equal(out->events->job_id, "j7");
    assert_int_equal(out->events->after_seq, 41);
    assert_int_equal(out->events->limit, WIRE_MAX_EVENTS);
    assert_string_equal(out->events->kind, "requeue");
    wire_free(out);
    Ganq__V1__EventInfo ev[2] = {GANQ__V1__EVENT_INFO__INIT, GANQ__V1__EVENT_INFO__INIT};
    Ganq__V1__EventInfo *evp[2] = {&ev[0], &ev[1]};
    Ganq__V1__EventList el = GANQ__V1__EVENT_LIST__INIT;
    ev[0].seq = 42;
    ev[0].ts_ms = 1700000000123;
    ev[0].kind = "requeue";
    ev[0].job_id = "j7";
    ev[0].task_id = 3;
    ev[0].worker_id = "w2";
    ev[0].detail = "worker w2 is dead\t(no heartbeat)";
    ev[1].seq = 43;
    ev[1].kind = "broker_start";
    ev[1].task_id = -1;
    el.events = evp;
    el.n_events = 2;
    el.more = 1;
    wire_env_init(&env, 9);
    env.body_case = GANQ__V1__ENVELOPE__BODY_EVENT_LIST;
    env.event_list = &el;
    buf = enc(&env, &len);
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_int_equal(out->event_list->n_events, 2);
    assert_true(out->event_list->more);
    assert_int_equal(out->event_list->events[0]->ts_ms, 1700000000123);
    assert_int_equal(out->event_list->events[0]->task_id, 3);
    assert_string_equal(out->event_list->events[0]->worker_id, "w2");
    assert_int_equal(out->event_list->events[1]->task_id, -1);
    assert_string_equal(out->event_list->events[1]->job_id, "");
    assert_string_equal(wire_body_name(out->body_case), "event_list");
    wire_free(out);
}

/* ---- envelope-level errors ---- */

static void test_version_and_body(void **state)
{
    Ganq__V1__Envelope env;
    Ganq__V1__Heartbeat hb = GANQ__V1__HEARTBEAT__INIT;
    wire_env_init(&env, 77);
    env.version = 2;
    env.body_case = GANQ__V1__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &hb;
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode_raw(&env, &buf, &len), 0);
    Ganq__V1__Envelope *out;
    uint64_t rid = 0;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_decode(buf, len, &out, &rid, &e), GQ_EVERSION);
    free(buf);
    assert_null(out);
    assert_int_equal(rid, 77);   /* known so the receiver can answer */
    assert_string_equal(e.msg, "envelope.version: 2 is not supported (this is 1)");

    env.version = 0;   /* a peer that never set it */
    assert_int_equal(wire_encode_raw(&env, &buf, &len), 0);
    gq_error_clear(&e);
    assert_int_equal(wire_decode(buf, len, &out, &rid, &e), GQ_EVERSION);
    free(buf);

    wire_env_init(&env, 1);
    expect_reject(&env, GQ_EINVAL, "envelope.body: missing");

    /* garbage */
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
    gq_error_clear(&e);
    assert_int_equal(wire_decode(junk, sizeof junk, &out, &rid, &e), GQ_EFORMAT);
    assert_null(out);
    assert_int_equal(rid, 0);
    assert_non_null(strstr(e.msg, "do not decode"));
    /* empty frame: parses as an envelope with version 0 */
    gq_error_clear(&e);
    assert_int_equal(wire_decode("", 0, &out, &rid, &e), GQ_EVERSION);
    /* oversize */
    gq_error_clear(&e);
    assert_int_equal(wire_decode(junk, (size_t)WIRE_MAX_FRAME + 1, &out, &rid, &e), GQ_EFORMAT);
}

/* ---- JobSpec validation: one case per rule ---- */

typedef void (*mutate_fn)(spec_fix *f);
struct spec_case {
    const char *name;
    mutate_fn   fn;
    const char *want;  /* message prefix */
};

#define M(n, body) static void n(spec_fix *f) { body; }
M(m_count0, f->spec.count = 0)
M(m_count_big, f->spec.count = PLAN_MAX_IMAGES + 1)
M(m_kind0, f->spec.kind = 0)
M(m_kind9, f->spec.kind = 9)
M(m_model_empty, f->spec.model = "")
M(m_model_slash, f->spec.model = "../etc/passwd")
M(m_model_dot, f->spec.model = ".hidden")
M(m_model_long, { static char b[400]; memset(b, 'a', 399); b[399] = 0; f->spec.model = b; })
M(m_sha_short, f->spec.model_sha256 = "abc")
M(m_sha_nonhex, f->spec.model_sha256 =
      "zz3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85")
M(m_trunc_nan, f->truncs[0] = NAN)
M(m_trunc_inf, f->truncs[0] = INFINITY)
M(m_trunc_zero, f->truncs[0] = 0.0)
M(m_trunc_neg, { f->spec.n_truncations = 2; f->truncs[1] = -1.0; })
M(m_trunc_big, f->truncs[0] = 5.0)
M(m_trunc_many, f->spec.n_truncations = PLAN_MAX_TRUNCATIONS + 1)
M(m_prio_hi, f->spec.priority = 101)
M(m_prio_lo, f->spec.priority = -101)
M(m_png_hi, f->spec.png_level = 10)
M(m_png_lo, f->spec.png_level = -2)
M(m_jpeg_hi, f->spec.jpeg_quality = 101)
M(m_jpeg_neg, f->spec.jpeg_quality = -5)
M(m_shard_big, f->spec.shard_size = PLAN_MAX_SHARD + 1)
M(m_format, f->spec.format = 17)
M(m_layout, f->spec.layout = -1)
M(m_wds_image, f->spec.wds_image = GANQ__V1__OUTPUT_FORMAT__FORMAT_NPZ)
M(m_interp, f->spec.interp = 4)
M(m_out_empty, f->spec.out_dir = "")
M(m_out_rel, f->spec.out_dir = "out/x")
M(m_out_dotdot, f->spec.out_dir = "/tmp/../etc")
M(m_out_dotdot_end, f->spec.out_dir = "/tmp/a/..")
M(m_out_ctrl, f->spec.out_dir = "/tmp/a\nb")
M(m_class_neg, f->cls[1] = -3)
M(m_class_big, f->cls[2] = WIRE_MAX_CLASS_ID)
M(m_classes_many, f->spec.n_class_ids = WIRE_MAX_CLASS_IDS + 1)
M(m_valfrac, f->spec.val_fraction = 1.5)
M(m_valfrac_nan, f->spec.val_fraction = NAN)
M(m_attempts, f->spec.max_attempts = WIRE_MAX_ATTEMPTS + 1)
M(m_owner_ctrl, f->spec.owner = "bob\x01")
M(m_synth0, { f->spec.kind = GANQ__V1__JOB_KIND__KIND_SYNTHESIZE; f->spec.per_class = 0; })
M(m_sweep_novals, { f->spec.kind = GANQ__V1__JOB_KIND__KIND_SWEEP; f->spec.per_value = 4;
                    f->spec.n_truncations = 0; })
M(m_sweep0, { f->spec.kind = GANQ__V1__JOB_KIND__KIND_SWEEP; f->spec.per_value = 0; })
M(m_sweep_total, { f->spec.kind = GANQ__V1__JOB_KIND__KIND_SWEEP; f->spec.n_truncations = 3;
                   f->spec.per_value = PLAN_MAX_IMAGES; })
M(m_interp_steps1, { f->spec.kind = GANQ__V1__JOB_KIND__KIND_INTERPOLATE; f->spec.steps = 1; })
M(m_interp_steps_big, { f->spec.kind = GANQ__V1__JOB_KIND__KIND_INTERPOLATE;
                        f->spec.steps = PLAN_MAX_STEPS + 1; })
M(m_class_a, f->spec.class_a = -1)

static const struct spec_case spec_cases[] = {
    {"count0", m_count0, "submit.spec.count: 0 is not allowed (1..100000000)"},
    {"count_big", m_count_big, "submit.spec.count: 100000001 is outside 1..100000000"},
    {"kind0", m_kind0, "submit.spec.kind: 0 is not a known value (1..4)"},
    {"kind9", m_kind9, "submit.spec.kind: 9 is not a known value"},
    {"model_empty", m_model_empty, "submit.spec.model: must not be empty"},
    {"model_slash", m_model_slash, "submit.spec.model: \"../etc/passwd\" is not a model name"},
    {"model_dot", m_model_dot, "submit.spec.model: \".hidden\" is not a model name"},
    {"model_long", m_model_long, "submit.spec.model: 399 characters is too long"},
    {"sha_short", m_sha_short, "submit.spec.model_sha256: must be 64 hex digits"},
    {"sha_nonhex", m_sha_nonhex, "submit.spec.model_sha256: must be 64 hex digits"},
    {"trunc_nan", m_trunc_nan, "submit.spec.truncations[0]: nan is outside (0, 4]"},
    {"trunc_inf", m_trunc_inf, "submit.spec.truncations[0]: inf is outside"},
    {"trunc_zero", m_trunc_zero, "submit.spec.truncations[0]: 0 is outside"},
    {"trunc_neg", m_trunc_neg, "submit.spec.truncations[1]: -1 is outside"},
    {"trunc_big", m_trunc_big, "submit.spec.truncations[0]: 5 is outside"},
    {"trunc_many", m_trunc_many, "submit.spec.truncations: 1001 entries is too many"},
    {"prio_hi", m_prio_hi, "submit.spec.priority: 101 is outside -100..100"},
    {"prio_lo", m_prio_lo, "submit.spec.priority: -101 is outside -100..100"},
    {"png_hi", m_png_hi, "submit.spec.png_level: 10 is outside -1..9"},
    {"png_lo", m_png_lo, "submit.spec.png_level: -2 is outside -1..9"},
    {"jpeg_hi", m_jpeg_hi, "submit.spec.jpeg_quality: 101 is outside 0..100"},
    {"jpeg_neg", m_jpeg_neg, "submit.spec.jpeg_quality: -5 is outside"},
    {"shard_big", m_shard_big, "submit.spec.shard_size: 1000001 is outside 0..1000000"},
    {"format", m_format, "submit.spec.format: 17 is not a known value"},
    {"layout", m_layout, "submit.spec.layout: -1 is not a known value"},
    {"wds_image", m_wds_image, "submit.spec.wds_image: 3 is not a known value"},
    {"interp", m_interp, "submit.spec.interp: 4 is not a known value"},
    {"out_empty", m_out_empty, "submit.spec.out_dir: must not be empty"},
    {"out_rel", m_out_rel, "submit.spec.out_dir: \"out/x\" must be an absolute path"},
    {"out_dotdot", m_out_dotdot, "submit.spec.out_dir: \"/tmp/../etc\" must not contain \"..\""},
    {"out_dotdot_end", m_out_dotdot_end, "submit.spec.out_dir: \"/tmp/a/..\" must not contain"},
    {"out_ctrl", m_out_ctrl, "submit.spec.out_dir: contains a character that is not allowed"},
    {"class_neg", m_class_neg, "submit.spec.class_ids[1]: -3 is outside 0..999999"},
    {"class_big", m_class_big, "submit.spec.class_ids[2]: 1000000 is outside"},
    {"classes_many", m_classes_many, "submit.spec.class_ids: 100001 entries is too many"},
    {"valfrac", m_valfrac, "submit.spec.val_fraction: 1.5 is outside [0, 1]"},
    {"valfrac_nan", m_valfrac_nan, "submit.spec.val_fraction: nan is outside"},
    {"attempts", m_attempts, "submit.spec.max_attempts: 101 is outside 0..100"},
    {"owner_ctrl", m_owner_ctrl, "submit.spec.owner: contains a character"},
    {"synth0", m_synth0, "submit.spec.per_class: 0 is not allowed"},
    {"sweep_novals", m_sweep_novals, "submit.spec.truncations: a sweep needs at least one"},
    {"sweep0", m_sweep0, "submit.spec.per_value: 0 is not allowed"},
    {"sweep_total", m_sweep_total, "submit.spec.per_value: 3 values x 100000000 images"},
    {"interp_steps1", m_interp_steps1, "submit.spec.steps: 1 is outside 2..10000"},
    {"interp_steps_big", m_interp_steps_big, "submit.spec.steps: 10001 is outside 2..10000"},
    {"class_a", m_class_a, "submit.spec.class_a: -1 is outside"},
};

static void test_spec_rules(void **state)
{
    /* the base spec is valid */
    {
        spec_fix f;
        spec_generate(&f);
        gq_error e;
        gq_error_clear(&e);
        assert_int_equal(wire_validate_spec(&f.spec, 1, "submit.spec", &e), 0);
    }
    /* arrays larger than the fixture for the "too many" cases */
    static int32_t many_cls[WIRE_MAX_CLASS_IDS + 1];
    static double many_tr[PLAN_MAX_TRUNCATIONS + 1];
    for (size_t i = 0; i < sizeof spec_cases / sizeof spec_cases[0]; i++) {
        spec_fix f;
        spec_generate(&f);
        spec_cases[i].fn(&f);
        if (f.spec.n_class_ids > 3)
            f.spec.class_ids = many_cls;
        if (f.spec.n_truncations > 3) {
            for (size_t k = 0; k < f.spec.n_truncations; k++)
                many_tr[k] = 0.5;
            f.spec.truncations = many_tr;
        }
        Ganq__V1__Envelope env;
        Ganq__V1__Submit s;
        submit_env(&env, &s, &f.spec);
        print_message("case %s\n", spec_cases[i].name);
        expect_reject(&env, GQ_EINVAL, spec_cases[i].want);
    }
    /* missing spec */
    Ganq__V1__Envelope env;
    Ganq__V1__Submit s;
    submit_env(&env, &s, NULL);
    expect_reject(&env, GQ_EINVAL, "submit.spec: missing");
}

static void test_spec_kinds_valid(void **state)
{
    spec_fix f;
    gq_error e;
    spec_generate(&f);
    f.spec.kind = GANQ__V1__JOB_KIND__KIND_SYNTHESIZE;
    f.spec.per_class = 10;
    f.spec.val_fraction = 0.2;
    f.spec.layout = GANQ__V1__LAYOUT__LAYOUT_WDS;
    f.spec.format = GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS;
    f.spec.wds_image = GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG;
    f.spec.jpeg_quality = 90;
    f.spec.shard_size = 1000;
    gq_error_clear(&e);
    assert_int_equal(wire_validate_spec(&f.spec, 1, "s", &e), 0);
    spec_generate(&f);
    f.spec.kind = GANQ__V1__JOB_KIND__KIND_SWEEP;
    f.spec.per_value = 5;
    f.spec.n_truncations = 3;
    assert_int_equal(wire_validate_spec(&f.spec, 1, "s", &e), 0);
    spec_generate(&f);
    f.spec.kind = GANQ__V1__JOB_KIND__KIND_INTERPOLATE;
    f.spec.count = 0;
    f.spec.steps = 8;
    f.spec.class_a_name = "goldfish";
    f.spec.interp = GANQ__V1__INTERP_MODE__INTERP_BOTH;
    f.spec.png_level = -1;
    assert_int_equal(wire_validate_spec(&f.spec, 1, "s", &e), 0);
    /* non-strict (JobInfo echo): an empty spec is fine */
    Ganq__V1__JobSpec empty = GANQ__V1__JOB_SPEC__INIT;
    assert_int_equal(wire_validate_spec(&empty, 0, "s", &e), 0);
    assert_int_equal(wire_validate_spec(&empty, 1, "s", &e), GQ_EINVAL);
}

/* ---- other message rules ---- */

static void test_message_rules(void **state)
{
    Ganq__V1__Envelope env;
    spec_fix f;
    spec_generate(&f);

    Ganq__V1__Status st = GANQ__V1__STATUS__INIT;
    wire_env_init(&env, 1);
    env.body_case = GANQ__V1__ENVELOPE__BODY_STATUS;
    env.status = &st;
    expect_reject(&env, GQ_EINVAL, "status.job_id: must not be empty");
    st.job_id = "j 1";
    expect_reject(&env, GQ_EINVAL, "status.job_id: contains a character that is not allowed");
    static char longid[100];
    memset(longid, 'x', 99);
    st.job_id = longid;
    expect_reject(&env, GQ_EINVAL, "status.job_id: 99 characters is too long (at most 64)");

    Ganq__V1__Task t = GANQ__V1__TASK__INIT;
    t.job_id = "j1";
    t.start = 5;
    t.end = 5;
    t.spec = &f.spec;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_TASK;
    env.task = &t;
    expect_reject(&env, GQ_EINVAL, "task.start: 5 must be below end (5)");
    t.end = 6;
    t.lease_ms = -1;
    expect_reject(&env, GQ_EINVAL, "task.lease_ms: -1 is outside");
    t.lease_ms = 1000;
    f.spec.count = 0;
    expect_reject(&env, GQ_EINVAL, "task.spec.count: 0 is not allowed");
    f.spec.count = 10;
    t.spec = NULL;
    expect_reject(&env, GQ_EINVAL, "task.spec: missing");

    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
    Ganq__V1__OutputRecord o[3] = {GANQ__V1__OUTPUT_RECORD__INIT, GANQ__V1__OUTPUT_RECORD__INIT,
                                   GANQ__V1__OUTPUT_RECORD__INIT};
    Ganq__V1__OutputRecord *op[3] = {&o[0], &o[1], &o[2]};
    o[0].path = "a.png";
    o[1].path = "b.png";
    o[2].path = "../x";
    d.job_id = "j1";
    d.outputs = op;
    d.n_outputs = 3;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_DONE;
    env.done = &d;
    expect_reject(&env, GQ_EINVAL, "done.outputs[2].path: \"../x\" must not contain \"..\"");
    o[2].path = "/etc/passwd";
    expect_reject(&env, GQ_EINVAL, "done.outputs[2].path: \"/etc/passwd\" must be relative");
    o[2].path = "";
    expect_reject(&env, GQ_EINVAL, "done.outputs[2].path: must not be empty");
    o[2].path = "c.png";
    o[1].sha256 = "12";
    expect_reject(&env, GQ_EINVAL, "done.outputs[1].sha256: must be 64 hex digits");

    Ganq__V1__Credit c = GANQ__V1__CREDIT__INIT;
    c.credits = 5000;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_CREDIT;
    env.credit = &c;
    expect_reject(&env, GQ_EINVAL, "credit.credits: 5000 is outside 0..1024");

    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    Ganq__V1__ModelInfo m = GANQ__V1__MODEL_INFO__INIT;
    Ganq__V1__ModelInfo *mp = &m;
    char *names[] = {"a", "b"};
    m.name = "testcard";
    m.num_classes = 3;
    m.class_names = names;
    m.n_class_names = 2;
    h.models = &mp;
    h.n_models = 1;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    expect_reject(&env, GQ_EINVAL, "hello.models[0].class_names: 2 names for 3 classes");

    Ganq__V1__Error er = GANQ__V1__ERROR__INIT;
    er.code = 99;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_ERROR;
    env.error = &er;
    expect_reject(&env, GQ_EINVAL, "error.code: 99 is not a known value");

    Ganq__V1__List l = GANQ__V1__LIST__INIT;
    l.state = 6;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_LIST;
    env.list = &l;
    expect_reject(&env, GQ_EINVAL, "list.state: 6 is not a known value");

    Ganq__V1__JobInfo ji = GANQ__V1__JOB_INFO__INIT;
    Ganq__V1__JobInfo *jp[2] = {&ji, &ji};
    Ganq__V1__JobList jl = GANQ__V1__JOB_LIST__INIT;
    ji.job_id = "j1";
    ji.rate = NAN;
    jl.jobs = jp;
    jl.n_jobs = 2;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_JOB_LIST;
    env.job_list = &jl;
    expect_reject(&env, GQ_EINVAL, "job_list.jobs[0].rate: nan must be finite");

    /* Events: job_id optional but id-like, limit 0..WIRE_MAX_EVENTS, a known kind */
    Ganq__V1__Events q = GANQ__V1__EVENTS__INIT;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_EVENTS;
    env.events = &q;
    uint8_t *buf;
    size_t len;
    buf = enc(&env, &len);    /* all defaults: every event, broker's default limit */
    free(buf);
    q.job_id = "j 1";
    expect_reject(&env, GQ_EINVAL, "events.job_id: contains a character that is not allowed");
    q.job_id = "j1";
    q.limit = WIRE_MAX_EVENTS + 1;
    expect_reject(&env, GQ_EINVAL, "events.limit: 1001 is outside 0..1000");
    q.limit = 10;
    q.after_seq = (uint64_t)INT64_MAX + 1;
    expect_reject(&env, GQ_EINVAL, "events.after_seq: 9223372036854775808 is outside");
    q.after_seq = 5;
    q.kind = "leas";
    expect_reject(&env, GQ_EINVAL, "events.kind: \"leas\" is not an event kind (submit, lease,");
    q.kind = "lease;drop";
    expect_reject(&env, GQ_EINVAL, "events.kind: contains a character that is not allowed");
    for (size_t i = 0; wire_event_kinds[i]; i++) {
        q.kind = (char *)wire_event_kinds[i];
        buf = enc(&env, &len);
        free(buf);
    }
    assert_false(wire_event_kind_known("nope"));
    assert_false(wire_event_kind_known(NULL));

    /* EventList: each event's fields, with its index in the path */
    Ganq__V1__EventInfo ev[2] = {GANQ__V1__EVENT_INFO__INIT, GANQ__V1__EVENT_INFO__INIT};
    Ganq__V1__EventInfo *evp[2] = {&ev[0], &ev[1]};
    Ganq__V1__EventList el = GANQ__V1__EVENT_LIST__INIT;
    ev[0].seq = 1;
    ev[0].kind = "submit";
    ev[1].seq = 2;
    ev[1].kind = "lease";
    ev[1].task_id = -2;
    el.events = evp;
    el.n_events = 2;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_EVENT_LIST;
    env.event_list = &el;
    expect_reject(&env, GQ_EINVAL, "event_list.events[1].task_id: -2 is outside -1..");
    ev[1].task_id = 0;
    ev[1].seq = 0;
    expect_reject(&env, GQ_EINVAL, "event_list.events[1].seq: 0 is not allowed");
    ev[1].seq = 2;
    ev[1].kind = "";
    expect_reject(&env, GQ_EINVAL, "event_list.events[1].kind: must not be empty");
    ev[1].kind = "some_future_kind";   /* replies may carry kinds this client does not know */
    buf = enc(&env, &len);
    free(buf);
    ev[0].detail = "line\nbreak";
    expect_reject(&env, GQ_EINVAL, "event_list.events[0].detail: contains a character");
    ev[0].detail = "";
    ev[0].ts_ms = -1;
    expect_reject(&env, GQ_EINVAL, "event_list.events[0].ts_ms: -1 is outside");
    ev[0].ts_ms = 0;
    static Ganq__V1__EventInfo *many[WIRE_MAX_EVENTS + 1];
    for (size_t i = 0; i <= WIRE_MAX_EVENTS; i++)
        many[i] = &ev[0];
    el.events = many;
    el.n_events = WIRE_MAX_EVENTS + 1;
    expect_reject(&env, GQ_EINVAL, "event_list.events: 1001 entries is too many (at most 1000)");
}

/* ---- error helpers ---- */

static void test_error_helpers(void **state)
{
    gq_error e;
    char f[64];
    gq_error_clear(&e);
    gq_fail(&e, GQ_EINVAL, "submit.spec.count: 0 is not allowed (1..100000000)");
    assert_string_equal(wire_error_field(&e, f, sizeof f), "submit.spec.count");
    gq_error_clear(&e);
    gq_fail(&e, GQ_EINVAL, "done.outputs[2].path: bad");
    assert_string_equal(wire_error_field(&e, f, sizeof f), "done.outputs[2].path");
    gq_error_clear(&e);
    gq_fail(&e, GQ_ENOTFOUND, "unknown model \"x\"");
    assert_string_equal(wire_error_field(&e, f, sizeof f), "");
    assert_string_equal(wire_error_field(NULL, f, sizeof f), "");

    Ganq__V1__Envelope env;
    Ganq__V1__Error er;
    gq_error_clear(&e);
    gq_fail(&e, GQ_EINVAL, "submit.spec.priority: 300 is outside -100..100");
    wire_make_error(&env, &er, 42, GQ_EINVAL, &e, f, sizeof f);
    size_t len;
    uint8_t *buf = enc(&env, &len);
    Ganq__V1__Envelope *out;
    assert_int_equal(wire_decode(buf, len, &out, NULL, NULL), 0);
    free(buf);
    assert_int_equal(out->request_id, 42);
    assert_int_equal(out->error->code, GANQ__V1__ERROR_CODE__ERR_INVALID);
    assert_string_equal(out->error->field, "submit.spec.priority");
    assert_string_equal(out->error->message, "submit.spec.priority: 300 is outside -100..100");
    wire_free(out);

    int codes[] = {GQ_EVERSION, GQ_EFORMAT, GQ_EINVAL, GQ_ENOTFOUND, GQ_ESTATE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        assert_int_equal(wire_status_of_error_code(wire_error_code_of_status(codes[i])),
                         codes[i]);
    assert_int_equal(wire_error_code_of_status(GQ_EDB), GANQ__V1__ERROR_CODE__ERR_INTERNAL);
    assert_string_equal(wire_body_name(GANQ__V1__ENVELOPE__BODY_JOB_INFO), "job_info");
    assert_string_equal(wire_job_state_name(GANQ__V1__JOB_STATE__JOB_DONE), "done");
}

/* ---- mutation run ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void mutate_and_check(const uint8_t *frame, size_t len, int rounds, int *n_ok, int *n_bad)
{
    uint8_t *b = malloc(len + 16);
    assert_non_null(b);
    for (int r = 0; r < rounds; r++) {
        size_t n = len;
        memcpy(b, frame, len);
        int op = (int)(rng() % 4);
        if (op == 0 || op == 3) {   /* 1..4 byte flips */
            int k = 1 + (int)(rng() % 4);
            for (int j = 0; j < k; j++)
                b[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
        }
        if (op == 1 || op == 3)     /* truncate */
            n = (size_t)(rng() % (len + 1));
        if (op == 2) {              /* random byte at a random spot */
            size_t at = (size_t)(rng() % (len + 1));
            memmove(b + at + 1, b + at, len - at);
            b[at] = (uint8_t)rng();
            n = len + 1;
        }
        /* the fuzz target checks the contract (asserting); count the outcome here */
        fuzz_wire_one(b, n);
        Ganq__V1__Envelope *out;
        gq_error e;
        gq_error_clear(&e);
        if (wire_decode(b, n, &out, NULL, &e) == 0) {
            (*n_ok)++;
            wire_free(out);
        } else {
            (*n_bad)++;
        }
    }
    free(b);
}

static void test_mutation_run(void **state)
{
    spec_fix f;
    spec_generate(&f);
    f.spec.n_truncations = 3;
    f.spec.kind = GANQ__V1__JOB_KIND__KIND_SWEEP;
    f.spec.per_value = 3;
    Ganq__V1__Envelope env;
    Ganq__V1__Submit s;
    submit_env(&env, &s, &f.spec);
    int ok = 0, bad = 0;
    size_t len;
    uint8_t *frame = enc(&env, &len);
    mutate_and_check(frame, len, 20000, &ok, &bad);
    free(frame);

    Ganq__V1__Done d = GANQ__V1__DONE__INIT;
    Ganq__V1__OutputRecord o = GANQ__V1__OUTPUT_RECORD__INIT;
    Ganq__V1__OutputRecord *op = &o;
    o.path = "train/000001.png";
    o.images = 1;
    o.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    d.job_id = "j-1";
    d.outputs = &op;
    d.n_outputs = 1;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_DONE;
    env.done = &d;
    frame = enc(&env, &len);
    mutate_and_check(frame, len, 20000, &ok, &bad);
    free(frame);
    /* a Task carrying a full spec, and a Hello with models and class names */
    Ganq__V1__Task t = GANQ__V1__TASK__INIT;
    t.job_id = "j000001";
    t.task_id = 3;
    t.attempt = 1;
    t.start = 8;
    t.end = 12;
    t.spec = &f.spec;
    t.lease_ms = 120000;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_TASK;
    env.task = &t;
    frame = enc(&env, &len);
    mutate_and_check(frame, len, 20000, &ok, &bad);
    free(frame);

    Ganq__V1__Hello h = GANQ__V1__HELLO__INIT;
    Ganq__V1__ModelInfo m = GANQ__V1__MODEL_INFO__INIT;
    Ganq__V1__ModelInfo *mp = &m;
    char *names[] = {"tench", "goldfish", "great white shark"};
    char *devs[] = {"cpu", "cuda:0"};
    m.name = "biggan-deep-128";
    m.sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    m.family = "biggan-deep";
    m.resolution = 128;
    m.num_classes = 3;
    m.class_names = names;
    m.n_class_names = 3;
    h.name = "host:1";
    h.devices = devs;
    h.n_devices = 2;
    h.models = &mp;
    h.n_models = 1;
    wire_env_init(&env, 0);
    env.body_case = GANQ__V1__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    frame = enc(&env, &len);
    mutate_and_check(frame, len, 20000, &ok, &bad);
    free(frame);
    /* an EventList reply */
    Ganq__V1__EventInfo ev = GANQ__V1__EVENT_INFO__INIT;
    Ganq__V1__EventInfo *evp = &ev;
    Ganq__V1__EventList el = GANQ__V1__EVENT_LIST__INIT;
    ev.seq = 17;
    ev.ts_ms = 1700000000000;
    ev.kind = "requeue";
    ev.job_id = "j000001";
    ev.task_id = 4;
    ev.worker_id = "w3";
    ev.detail = "no heartbeat for 600 ms";
    el.events = &evp;
    el.n_events = 1;
    el.more = 1;
    wire_env_init(&env, 5);
    env.body_case = GANQ__V1__ENVELOPE__BODY_EVENT_LIST;
    env.event_list = &el;
    frame = enc(&env, &len);
    mutate_and_check(frame, len, 20000, &ok, &bad);
    free(frame);
    print_message("mutation run: %d decoded valid, %d rejected\n", ok, bad);
    assert_true(bad > 0);
    assert_true(ok > 0);
}

/* Every seed of the fuzz corpus (tests/fuzz/corpus/wire, hand-built frames) decodes as a
 * valid envelope; then its mutations go through the fuzz target. Run from the repository
 * root (tests/run.sh does). */
static void test_fuzz_corpus(void **state)
{
    const char *dir = "tests/fuzz/corpus/wire";
    DIR *d = opendir(dir);
    if (!d) {
        print_message("no %s here (run from the repository root); skipped\n", dir);
        return;
    }
    int seeds = 0, ok = 0, bad = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        uint8_t buf[4096];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        Ganq__V1__Envelope *env;
        gq_error e;
        gq_error_clear(&e);
        if (wire_decode(buf, n, &env, NULL, &e) != 0)
            fail_msg("corpus seed %s does not decode: %s", de->d_name, e.msg);
        wire_free(env);
        mutate_and_check(buf, n, 5000, &ok, &bad);
        seeds++;
    }
    closedir(d);
    print_message("fuzz corpus: %d seeds, %d mutants valid, %d rejected\n", seeds, ok, bad);
    assert_true(seeds >= 5);
}

/* ---- ZeroMQ ---- */

static void test_zmq_send_recv(void **state)
{
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_bind(router, "inproc://wire-test"), 0);
    assert_int_equal(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "cli-1", 5), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://wire-test"), 0);
    int tmo = 2000;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &tmo, sizeof tmo);

    Ganq__V1__Envelope env;
    Ganq__V1__Watch w = GANQ__V1__WATCH__INIT;
    w.job_id = "j-5";
    wire_env_init(&env, 11);
    env.body_case = GANQ__V1__ENVELOPE__BODY_WATCH;
    env.watch = &w;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_send(dealer, NULL, 0, &env, 0, &e), 0);

    wire_msg m;
    wire_msg_init(&m);
    assert_int_equal(wire_recv(router, 1, 0, &m, &e), 0);
    assert_int_equal(m.identity_len, 5);
    assert_memory_equal(m.identity, "cli-1", 5);
    assert_string_equal(m.env->watch->job_id, "j-5");
    assert_int_equal(m.request_id, 11);

    /* reply with an Error to that identity */
    gq_error cause;
    gq_error_clear(&cause);
    gq_fail(&cause, GQ_ENOTFOUND, "watch.job_id: no job \"j-5\"");
    assert_int_equal(wire_send_error(router, m.identity, m.identity_len, m.request_id,
                                     GQ_ENOTFOUND, &cause, &e), 0);
    wire_msg r;
    wire_msg_init(&r);
    assert_int_equal(wire_recv(dealer, 0, 0, &r, &e), 0);
    assert_int_equal(r.env->body_case, GANQ__V1__ENVELOPE__BODY_ERROR);
    assert_int_equal(r.env->error->code, GANQ__V1__ERROR_CODE__ERR_NOT_FOUND);
    assert_string_equal(r.env->error->field, "watch.job_id");
    assert_int_equal(r.request_id, 11);
    wire_msg_release(&r);

    /* garbage frame: identity still known, EFORMAT */
    assert_int_equal(wire_send_bytes(dealer, NULL, 0, "\xff\xff\xff", 3, 0, &e), 0);
    gq_error_clear(&e);
    assert_int_equal(wire_recv(router, 1, 0, &m, &e), GQ_EFORMAT);
    assert_int_equal(m.identity_len, 5);
    assert_null(m.env);

    /* two payload frames: EFORMAT, and every frame consumed (the next message is intact) */
    assert_true(zmq_send(dealer, "a", 1, ZMQ_SNDMORE) == 1);
    assert_true(zmq_send(dealer, "b", 1, 0) == 1);
    assert_int_equal(wire_send(dealer, NULL, 0, &env, 0, &e), 0);
    gq_error_clear(&e);
    assert_int_equal(wire_recv(router, 1, 0, &m, &e), GQ_EFORMAT);
    gq_error_clear(&e);
    assert_int_equal(wire_recv(router, 1, 0, &m, &e), 0);
    assert_string_equal(m.env->watch->job_id, "j-5");

    /* empty delimiter (REQ-style) is skipped */
    uint8_t *buf;
    size_t len;
    assert_int_equal(wire_encode(&env, &buf, &len, &e), 0);
    assert_true(zmq_send(dealer, "", 0, ZMQ_SNDMORE) == 0);
    assert_true(zmq_send(dealer, buf, len, 0) == (int)len);
    free(buf);
    assert_int_equal(wire_recv(router, 1, 0, &m, &e), 0);
    assert_int_equal(m.env->body_case, GANQ__V1__ENVELOPE__BODY_WATCH);

    /* nothing pending: timeout */
    gq_error_clear(&e);
    assert_int_equal(wire_recv(router, 1, ZMQ_DONTWAIT, &m, &e), GQ_ETIMEOUT);
    wire_msg_release(&m);

    /* sending an invalid envelope fails before anything goes out */
    w.job_id = "";
    gq_error_clear(&e);
    assert_int_equal(wire_send(dealer, NULL, 0, &env, 0, &e), GQ_EINVAL);
    assert_int_equal(wire_recv(router, 1, ZMQ_DONTWAIT, &m, &e), GQ_ETIMEOUT);

    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_submit),
        cmocka_unit_test(test_roundtrip_task_done),
        cmocka_unit_test(test_roundtrip_hello_lists),
        cmocka_unit_test(test_version_and_body),
        cmocka_unit_test(test_spec_rules),
        cmocka_unit_test(test_spec_kinds_valid),
        cmocka_unit_test(test_message_rules),
        cmocka_unit_test(test_error_helpers),
        cmocka_unit_test(test_mutation_run),
        cmocka_unit_test(test_fuzz_corpus),
        cmocka_unit_test(test_zmq_send_recv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
