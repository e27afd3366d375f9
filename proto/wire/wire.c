/* wire.c: encode, decode and validate ganq.v1 envelopes; send and receive them over ZeroMQ.
 *
 * Validation is one function per message type (v_<type>), each taking the dotted field
 * path of the message it checks, so that every failure names its field exactly
 * ("job_list.jobs[2].spec.priority: 300 is outside -100..100"). protobuf-c itself checks
 * wire types and lengths but accepts any value for proto3 enums and any bytes in strings;
 * those are checked here. Only the first failure is reported (gq_fail: first error wins).
 */
#include "proto/wire/wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "proto/base/gq_log.h"
#include "proto/plan/plan.h"

#define NAMED(v) ((v) ? (v) : "")

/* ---- strings ---- */

enum str_kind {
    S_ID,    /* [A-Za-z0-9._:-], no spaces */
    S_NAME,  /* printable, no control characters */
    S_TEXT,  /* anything but control characters other than tab */
};

static int has_bad_char(const char *s, enum str_kind k)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned c = *p;
        if (k == S_ID) {
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-'))
                return 1;
        } else if (c < 0x20 || c == 0x7f) {
            if (!(k == S_TEXT && c == '\t'))
                return 1;
        }
    }
    return 0;
}

/* Check string s at path.field: at most max chars, of kind k; required: non-empty. */
static int v_str(gq_error *e, const char *path, const char *field, const char *s, size_t max,
                 enum str_kind k, int required)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0) {
        if (required)
            return gq_fail(e, GQ_EINVAL, "%s.%s: must not be empty", path, field);
        return 0;
    }
    if (n > max)
        return gq_fail(e, GQ_EINVAL, "%s.%s: %zu characters is too long (at most %zu)", path,
                       field, n, max);
    if (has_bad_char(s, k))
        return gq_fail(e, GQ_EINVAL, "%s.%s: contains a character that is not allowed%s", path,
                       field, k == S_ID ? " (letters, digits, '.', '_', ':', '-')" : "");
    return 0;
}

static int v_sha(gq_error *e, const char *path, const char *field, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return 0;
    if (n != 64)
        return gq_fail(e, GQ_EINVAL, "%s.%s: must be 64 hex digits (got %zu characters)", path,
                       field, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return gq_fail(e, GQ_EINVAL, "%s.%s: must be 64 hex digits", path, field);
    }
    return 0;
}

/* 1 if path has a ".." component. */
static int has_dotdot(const char *s)
{
    const char *p = s;
    while (*p) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        if (!q)
            break;
        p = q + 1;
    }
    return 0;
}

/* absolute: must start with '/'; otherwise must not. Never "..". */
static int v_path(gq_error *e, const char *path, const char *field, const char *s, int absolute,
                  int required)
{
    int rc = v_str(e, path, field, s, WIRE_MAX_PATH, S_NAME, required);
    if (rc || !s || !*s)
        return rc;
    if (absolute && s[0] != '/')
        return gq_fail(e, GQ_EINVAL, "%s.%s: \"%s\" must be an absolute path", path, field, s);
    if (!absolute && s[0] == '/')
        return gq_fail(e, GQ_EINVAL, "%s.%s: \"%s\" must be relative to the output directory",
                       path, field, s);
    if (has_dotdot(s))
        return gq_fail(e, GQ_EINVAL, "%s.%s: \"%s\" must not contain \"..\"", path, field, s);
    return 0;
}

/* Model names are file stems in a directory: no '/', not starting with '.'. */
static int v_model_name(gq_error *e, const char *path, const char *field, const char *s,
                        int required)
{
    int rc = v_str(e, path, field, s, WIRE_MAX_NAME, S_NAME, required);
    if (rc || !s || !*s)
        return rc;
    if (strchr(s, '/') || s[0] == '.')
        return gq_fail(e, GQ_EINVAL, "%s.%s: \"%s\" is not a model name (no '/', no leading '.')",
                       path, field, s);
    return 0;
}

/* ---- numbers ---- */

static int v_u64(gq_error *e, const char *path, const char *field, uint64_t v, uint64_t lo,
                 uint64_t hi)
{
    if (v < lo || v > hi) {
        if (v == 0 && lo > 0)
            return gq_fail(e, GQ_EINVAL, "%s.%s: 0 is not allowed (%llu..%llu)", path, field,
                           (unsigned long long)lo, (unsigned long long)hi);
        return gq_fail(e, GQ_EINVAL, "%s.%s: %llu is outside %llu..%llu", path, field,
                       (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
    }
    return 0;
}

static int v_i64(gq_error *e, const char *path, const char *field, int64_t v, int64_t lo,
                 int64_t hi)
{
    if (v < lo || v > hi)
        return gq_fail(e, GQ_EINVAL, "%s.%s: %lld is outside %lld..%lld", path, field,
                       (long long)v, (long long)lo, (long long)hi);
    return 0;
}

static int v_enum(gq_error *e, const char *path, const char *field, int v, int lo, int hi)
{
    if (v < lo || v > hi)
        return gq_fail(e, GQ_EINVAL, "%s.%s: %d is not a known value (%d..%d)", path, field, v,
                       lo, hi);
    return 0;
}

static int v_count(gq_error *e, const char *path, const char *field, size_t n, size_t max)
{
    if (n > max)
        return gq_fail(e, GQ_EINVAL, "%s.%s: %zu entries is too many (at most %zu)", path, field,
                       n, max);
    return 0;
}

static int v_rate(gq_error *e, const char *path, const char *field, double v)
{
    if (!isfinite(v) || v < 0)
        return gq_fail(e, GQ_EINVAL, "%s.%s: %g must be finite and >= 0", path, field, v);
    return 0;
}

#define TRY(x) do { int rc_ = (x); if (rc_) return rc_; } while (0)

/* child path: "<path>.<field>" or "<path>.<field>[i]" */
static void sub(char *buf, size_t n, const char *path, const char *field, long idx)
{
    if (idx < 0)
        snprintf(buf, n, "%s.%s", path, field);
    else
        snprintf(buf, n, "%s.%s[%ld]", path, field, idx);
}

#define PATH_MAX_LEN 160

/* ---- messages ---- */

int wire_validate_spec(const Ganq__V1__JobSpec *s, int strict, const char *p, gq_error *e)
{
    if (!s)
        return gq_fail(e, GQ_EINVAL, "%s: missing", p);
    TRY(v_enum(e, p, "kind", s->kind, strict ? 1 : 0, GANQ__V1__JOB_KIND__KIND_INTERPOLATE));
    TRY(v_model_name(e, p, "model", s->model, strict));
    TRY(v_sha(e, p, "model_sha256", s->model_sha256));
    TRY(v_str(e, p, "classes", s->classes, WIRE_MAX_CLASSES, S_NAME, 0));
    TRY(v_count(e, p, "class_ids", s->n_class_ids, WIRE_MAX_CLASS_IDS));
    for (size_t i = 0; i < s->n_class_ids; i++)
        if (s->class_ids[i] < 0 || s->class_ids[i] >= WIRE_MAX_CLASS_ID)
            return gq_fail(e, GQ_EINVAL, "%s.class_ids[%zu]: %d is outside 0..%d", p, i,
                           s->class_ids[i], WIRE_MAX_CLASS_ID - 1);
    /* What each kind needs is required (lower bound 1, steps 2) in strict mode. */
    int k = strict ? s->kind : 0;
    TRY(v_u64(e, p, "count", s->count, k == GANQ__V1__JOB_KIND__KIND_GENERATE, PLAN_MAX_IMAGES));
    TRY(v_u64(e, p, "per_class", s->per_class, k == GANQ__V1__JOB_KIND__KIND_SYNTHESIZE,
              PLAN_MAX_IMAGES));
    TRY(v_count(e, p, "truncations", s->n_truncations, PLAN_MAX_TRUNCATIONS));
    for (size_t i = 0; i < s->n_truncations; i++) {
        double t = s->truncations[i];
        if (!isfinite(t) || t <= 0 || t > WIRE_MAX_TRUNC_VAL)
            return gq_fail(e, GQ_EINVAL, "%s.truncations[%zu]: %g is outside (0, %g]", p, i, t,
                           WIRE_MAX_TRUNC_VAL);
    }
    TRY(v_u64(e, p, "per_value", s->per_value, k == GANQ__V1__JOB_KIND__KIND_SWEEP,
              PLAN_MAX_IMAGES));
    if (!isfinite(s->val_fraction) || s->val_fraction < 0 || s->val_fraction > 1)
        return gq_fail(e, GQ_EINVAL, "%s.val_fraction: %g is outside [0, 1]", p,
                       s->val_fraction);
    TRY(v_enum(e, p, "layout", s->layout, 0, GANQ__V1__LAYOUT__LAYOUT_WDS));
    TRY(v_enum(e, p, "format", s->format, 0, GANQ__V1__OUTPUT_FORMAT__FORMAT_WDS));
    TRY(v_enum(e, p, "wds_image", s->wds_image, 0, GANQ__V1__OUTPUT_FORMAT__FORMAT_JPEG));
    TRY(v_i64(e, p, "png_level", s->png_level, -1, 9));
    TRY(v_i64(e, p, "jpeg_quality", s->jpeg_quality, 0, 100));
    TRY(v_u64(e, p, "shard_size", s->shard_size, 0, PLAN_MAX_SHARD));
    TRY(v_path(e, p, "out_dir", s->out_dir, 1, strict));
    TRY(v_i64(e, p, "priority", s->priority, -100, 100));
    TRY(v_str(e, p, "owner", s->owner, WIRE_MAX_NAME, S_NAME, 0));
    TRY(v_u64(e, p, "task_size", s->task_size, 0, PLAN_MAX_IMAGES));
    TRY(v_i64(e, p, "class_a", s->class_a, 0, WIRE_MAX_CLASS_ID - 1));
    TRY(v_i64(e, p, "class_b", s->class_b, 0, WIRE_MAX_CLASS_ID - 1));
    TRY(v_u64(e, p, "steps", s->steps, k == GANQ__V1__JOB_KIND__KIND_INTERPOLATE ? 2 : 0,
              PLAN_MAX_STEPS));
    TRY(v_enum(e, p, "interp", s->interp, 0, GANQ__V1__INTERP_MODE__INTERP_BOTH));
    TRY(v_str(e, p, "class_a_name", s->class_a_name, WIRE_MAX_NAME, S_NAME, 0));
    TRY(v_str(e, p, "class_b_name", s->class_b_name, WIRE_MAX_NAME, S_NAME, 0));
    TRY(v_u64(e, p, "max_attempts", s->max_attempts, 0, WIRE_MAX_ATTEMPTS));
    TRY(v_str(e, p, "name", s->name, WIRE_MAX_NAME, S_NAME, 0));
    if (!strict)
        return 0;
    /* What each kind needs. */
    switch (s->kind) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:
        TRY(v_u64(e, p, "count", s->count, 1, PLAN_MAX_IMAGES));
        break;
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:
        TRY(v_u64(e, p, "per_class", s->per_class, 1, PLAN_MAX_IMAGES));
        break;
    case GANQ__V1__JOB_KIND__KIND_SWEEP:
        TRY(v_u64(e, p, "per_value", s->per_value, 1, PLAN_MAX_IMAGES));
        if (s->n_truncations == 0)
            return gq_fail(e, GQ_EINVAL, "%s.truncations: a sweep needs at least one value", p);
        if ((uint64_t)s->n_truncations * s->per_value > PLAN_MAX_IMAGES)
            return gq_fail(e, GQ_EINVAL, "%s.per_value: %zu values x %llu images is above %llu",
                           p, s->n_truncations, (unsigned long long)s->per_value,
                           (unsigned long long)PLAN_MAX_IMAGES);
        break;
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE:
        TRY(v_u64(e, p, "steps", s->steps, 2, PLAN_MAX_STEPS));
        break;
    default:
        break;
    }
    return 0;
}

static int v_output(const Ganq__V1__OutputRecord *o, const char *p, gq_error *e)
{
    TRY(v_path(e, p, "path", o->path, 0, 1));
    TRY(v_u64(e, p, "images", o->images, 0, PLAN_MAX_IMAGES));
    TRY(v_sha(e, p, "sha256", o->sha256));
    TRY(v_u64(e, p, "first_index", o->first_index, 0, PLAN_MAX_IMAGES));
    return 0;
}

static int v_outputs(Ganq__V1__OutputRecord *const *a, size_t n, const char *p, gq_error *e)
{
    char q[PATH_MAX_LEN];
    TRY(v_count(e, p, "outputs", n, WIRE_MAX_OUTPUTS));
    for (size_t i = 0; i < n; i++) {
        sub(q, sizeof q, p, "outputs", (long)i);
        if (!a[i])
            return gq_fail(e, GQ_EINVAL, "%s: missing", q);
        TRY(v_output(a[i], q, e));
    }
    return 0;
}

static int v_job_info(const Ganq__V1__JobInfo *j, const char *p, gq_error *e)
{
    char q[PATH_MAX_LEN];
    TRY(v_str(e, p, "job_id", j->job_id, WIRE_MAX_ID, S_ID, 1));
    TRY(v_enum(e, p, "state", j->state, 0, GANQ__V1__JOB_STATE__JOB_CANCELLED));
    if (j->spec) {
        sub(q, sizeof q, p, "spec", -1);
        TRY(wire_validate_spec(j->spec, 0, q, e));
    }
    TRY(v_u64(e, p, "total", j->total, 0, PLAN_MAX_IMAGES));
    TRY(v_u64(e, p, "done", j->done, 0, PLAN_MAX_IMAGES));
    TRY(v_str(e, p, "reason", j->reason, WIRE_MAX_TEXT, S_TEXT, 0));
    TRY(v_rate(e, p, "rate", j->rate));
    TRY(v_path(e, p, "manifest", j->manifest, 0, 0));
    TRY(v_outputs(j->outputs, j->n_outputs, p, e));
    return 0;
}

static int v_model_info(const Ganq__V1__ModelInfo *m, const char *p, gq_error *e)
{
    TRY(v_model_name(e, p, "name", m->name, 1));
    TRY(v_sha(e, p, "sha256", m->sha256));
    TRY(v_str(e, p, "family", m->family, WIRE_MAX_NAME, S_NAME, 0));
    TRY(v_u64(e, p, "resolution", m->resolution, 0, WIRE_MAX_RESOLUTION));
    TRY(v_u64(e, p, "num_classes", m->num_classes, 0, WIRE_MAX_CLASS_IDS));
    TRY(v_count(e, p, "class_names", m->n_class_names, WIRE_MAX_CLASS_IDS));
    if (m->n_class_names && m->n_class_names != m->num_classes)
        return gq_fail(e, GQ_EINVAL, "%s.class_names: %zu names for %u classes", p,
                       m->n_class_names, m->num_classes);
    for (size_t i = 0; i < m->n_class_names; i++) {
        char f[48];
        snprintf(f, sizeof f, "class_names[%zu]", i);
        TRY(v_str(e, p, f, m->class_names[i], WIRE_MAX_NAME, S_NAME, 0));
    }
    return 0;
}

static int v_models(Ganq__V1__ModelInfo *const *a, size_t n, const char *p, gq_error *e)
{
    char q[PATH_MAX_LEN];
    TRY(v_count(e, p, "models", n, WIRE_MAX_MODELS));
    for (size_t i = 0; i < n; i++) {
        sub(q, sizeof q, p, "models", (long)i);
        if (!a[i])
            return gq_fail(e, GQ_EINVAL, "%s: missing", q);
        TRY(v_model_info(a[i], q, e));
    }
    return 0;
}

static int v_strings(char *const *a, size_t n, size_t max_n, const char *p, const char *field,
                     gq_error *e)
{
    TRY(v_count(e, p, field, n, max_n));
    for (size_t i = 0; i < n; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        TRY(v_str(e, p, f, a[i], WIRE_MAX_NAME, S_NAME, 1));
    }
    return 0;
}

static int v_running(Ganq__V1__RunningTask *const *a, size_t n, const char *p, const char *field,
                     gq_error *e)
{
    char q[PATH_MAX_LEN];
    TRY(v_count(e, p, field, n, WIRE_MAX_RUNNING));
    for (size_t i = 0; i < n; i++) {
        sub(q, sizeof q, p, field, (long)i);
        if (!a[i])
            return gq_fail(e, GQ_EINVAL, "%s: missing", q);
        TRY(v_str(e, q, "job_id", a[i]->job_id, WIRE_MAX_ID, S_ID, 1));
        TRY(v_u64(e, q, "attempt", a[i]->attempt, 0, WIRE_MAX_ATTEMPTS));
        TRY(v_u64(e, q, "images_done", a[i]->images_done, 0, PLAN_MAX_IMAGES));
    }
    return 0;
}

static int v_worker_info(const Ganq__V1__WorkerInfo *w, const char *p, gq_error *e)
{
    TRY(v_str(e, p, "worker_id", w->worker_id, WIRE_MAX_ID, S_ID, 1));
    TRY(v_str(e, p, "name", w->name, WIRE_MAX_NAME, S_NAME, 0));
    TRY(v_str(e, p, "state", w->state, WIRE_MAX_NAME, S_NAME, 0));
    TRY(v_strings(w->devices, w->n_devices, WIRE_MAX_DEVICES, p, "devices", e));
    TRY(v_models(w->models, w->n_models, p, e));
    return 0;
}

/* Events.kind: empty (any), or a kind the broker writes. */
static int v_event_kind(gq_error *e, const char *path, const char *field, const char *s)
{
    TRY(v_str(e, path, field, s, WIRE_MAX_ID, S_ID, 0));
    if (!s || !*s || wire_event_kind_known(s))
        return 0;
    char known[256] = "";
    for (size_t i = 0; wire_event_kinds[i]; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, wire_event_kinds[i], sizeof known - strlen(known) - 1);
    }
    return gq_fail(e, GQ_EINVAL, "%s.%s: \"%s\" is not an event kind (%s)", path, field, s,
                   known);
}

static int v_event_info(const Ganq__V1__EventInfo *v, const char *p, gq_error *e)
{
    TRY(v_u64(e, p, "seq", v->seq, 1, INT64_MAX));
    TRY(v_i64(e, p, "ts_ms", v->ts_ms, 0, INT64_MAX));
    /* any id-like kind: a newer broker may write kinds this list does not know yet */
    TRY(v_str(e, p, "kind", v->kind, WIRE_MAX_ID, S_ID, 1));
    TRY(v_str(e, p, "job_id", v->job_id, WIRE_MAX_ID, S_ID, 0));
    TRY(v_i64(e, p, "task_id", v->task_id, -1, INT64_MAX));
    TRY(v_str(e, p, "worker_id", v->worker_id, WIRE_MAX_ID, S_ID, 0));
    TRY(v_str(e, p, "detail", v->detail, WIRE_MAX_TEXT, S_TEXT, 0));
    return 0;
}

static int v_body(const Ganq__V1__Envelope *env, gq_error *e)
{
    char q[PATH_MAX_LEN];
    const char *p = wire_body_name(env->body_case);
    /* Every case: the body pointer must be present (a decoded frame always has it; a frame
     * built in memory might not). */
    if (!env->submit) /* union: same storage for every body pointer */
        return gq_fail(e, GQ_EINVAL, "%s: body missing", p);

    switch (env->body_case) {
    case GANQ__V1__ENVELOPE__BODY_SUBMIT:
        return wire_validate_spec(env->submit->spec, 1, "submit.spec", e);
    case GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY:
        TRY(v_str(e, p, "job_id", env->submit_reply->job_id, WIRE_MAX_ID, S_ID, 1));
        return v_u64(e, p, "total", env->submit_reply->total, 0, PLAN_MAX_IMAGES);
    case GANQ__V1__ENVELOPE__BODY_STATUS:
        return v_str(e, p, "job_id", env->status->job_id, WIRE_MAX_ID, S_ID, 1);
    case GANQ__V1__ENVELOPE__BODY_JOB_INFO:
        return v_job_info(env->job_info, p, e);
    case GANQ__V1__ENVELOPE__BODY_LIST:
        TRY(v_enum(e, p, "state", env->list->state, 0, GANQ__V1__JOB_STATE__JOB_CANCELLED));
        TRY(v_u64(e, p, "limit", env->list->limit, 0, WIRE_MAX_JOBS));
        return v_str(e, p, "owner", env->list->owner, WIRE_MAX_NAME, S_NAME, 0);
    case GANQ__V1__ENVELOPE__BODY_JOB_LIST:
        TRY(v_count(e, p, "jobs", env->job_list->n_jobs, WIRE_MAX_JOBS));
        for (size_t i = 0; i < env->job_list->n_jobs; i++) {
            sub(q, sizeof q, p, "jobs", (long)i);
            if (!env->job_list->jobs[i])
                return gq_fail(e, GQ_EINVAL, "%s: missing", q);
            TRY(v_job_info(env->job_list->jobs[i], q, e));
        }
        return 0;
    case GANQ__V1__ENVELOPE__BODY_CANCEL:
        return v_str(e, p, "job_id", env->cancel->job_id, WIRE_MAX_ID, S_ID, 1);
    case GANQ__V1__ENVELOPE__BODY_WORKERS:
        return 0;
    case GANQ__V1__ENVELOPE__BODY_WORKER_LIST:
        TRY(v_count(e, p, "workers", env->worker_list->n_workers, WIRE_MAX_WORKERS));
        for (size_t i = 0; i < env->worker_list->n_workers; i++) {
            sub(q, sizeof q, p, "workers", (long)i);
            if (!env->worker_list->workers[i])
                return gq_fail(e, GQ_EINVAL, "%s: missing", q);
            TRY(v_worker_info(env->worker_list->workers[i], q, e));
        }
        return 0;
    case GANQ__V1__ENVELOPE__BODY_WATCH:
        return v_str(e, p, "job_id", env->watch->job_id, WIRE_MAX_ID, S_ID, 1);
    case GANQ__V1__ENVELOPE__BODY_EVENTS:
        TRY(v_str(e, p, "job_id", env->events->job_id, WIRE_MAX_ID, S_ID, 0));
        TRY(v_u64(e, p, "after_seq", env->events->after_seq, 0, INT64_MAX));
        TRY(v_u64(e, p, "limit", env->events->limit, 0, WIRE_MAX_EVENTS));
        return v_event_kind(e, p, "kind", env->events->kind);
    case GANQ__V1__ENVELOPE__BODY_EVENT_LIST:
        TRY(v_count(e, p, "events", env->event_list->n_events, WIRE_MAX_EVENTS));
        for (size_t i = 0; i < env->event_list->n_events; i++) {
            sub(q, sizeof q, p, "events", (long)i);
            if (!env->event_list->events[i])
                return gq_fail(e, GQ_EINVAL, "%s: missing", q);
            TRY(v_event_info(env->event_list->events[i], q, e));
        }
        return 0;
    case GANQ__V1__ENVELOPE__BODY_HELLO: {
        const Ganq__V1__Hello *h = env->hello;
        TRY(v_str(e, p, "name", h->name, WIRE_MAX_NAME, S_NAME, 0));
        TRY(v_strings(h->devices, h->n_devices, WIRE_MAX_DEVICES, p, "devices", e));
        TRY(v_strings(h->backends, h->n_backends, WIRE_MAX_DEVICES, p, "backends", e));
        TRY(v_models(h->models, h->n_models, p, e));
        TRY(v_u64(e, p, "max_batch", h->max_batch, 0, 65536));
        return v_running(h->running, h->n_running, p, "running", e);
    }
    case GANQ__V1__ENVELOPE__BODY_HELLO_ACK:
        TRY(v_str(e, p, "worker_id", env->hello_ack->worker_id, WIRE_MAX_ID, S_ID, 1));
        TRY(v_u64(e, p, "heartbeat_ms", env->hello_ack->heartbeat_ms, 1, 600000));
        return v_u64(e, p, "liveness", env->hello_ack->liveness, 1, 1000);
    case GANQ__V1__ENVELOPE__BODY_CREDIT:
        return v_u64(e, p, "credits", env->credit->credits, 0, WIRE_MAX_CREDITS);
    case GANQ__V1__ENVELOPE__BODY_TASK: {
        const Ganq__V1__Task *t = env->task;
        TRY(v_str(e, p, "job_id", t->job_id, WIRE_MAX_ID, S_ID, 1));
        TRY(v_u64(e, p, "attempt", t->attempt, 0, WIRE_MAX_ATTEMPTS));
        TRY(v_u64(e, p, "end", t->end, 1, PLAN_MAX_IMAGES));
        if (t->start >= t->end)
            return gq_fail(e, GQ_EINVAL, "task.start: %llu must be below end (%llu)",
                           (unsigned long long)t->start, (unsigned long long)t->end);
        TRY(v_i64(e, p, "lease_ms", t->lease_ms, 0, WIRE_MAX_LEASE_MS));
        return wire_validate_spec(t->spec, 1, "task.spec", e);
    }
    case GANQ__V1__ENVELOPE__BODY_PROGRESS:
        TRY(v_str(e, p, "job_id", env->progress->job_id, WIRE_MAX_ID, S_ID, 1));
        TRY(v_u64(e, p, "images_done", env->progress->images_done, 0, PLAN_MAX_IMAGES));
        return v_u64(e, p, "attempt", env->progress->attempt, 0, WIRE_MAX_ATTEMPTS);
    case GANQ__V1__ENVELOPE__BODY_DONE:
        TRY(v_str(e, p, "job_id", env->done->job_id, WIRE_MAX_ID, S_ID, 1));
        TRY(v_u64(e, p, "attempt", env->done->attempt, 0, WIRE_MAX_ATTEMPTS));
        return v_outputs(env->done->outputs, env->done->n_outputs, p, e);
    case GANQ__V1__ENVELOPE__BODY_FAILED:
        TRY(v_str(e, p, "job_id", env->failed->job_id, WIRE_MAX_ID, S_ID, 1));
        TRY(v_u64(e, p, "attempt", env->failed->attempt, 0, WIRE_MAX_ATTEMPTS));
        return v_str(e, p, "reason", env->failed->reason, WIRE_MAX_TEXT, S_TEXT, 0);
    case GANQ__V1__ENVELOPE__BODY_CANCEL_TASK:
        return v_str(e, p, "job_id", env->cancel_task->job_id, WIRE_MAX_ID, S_ID, 1);
    case GANQ__V1__ENVELOPE__BODY_HEARTBEAT:
    case GANQ__V1__ENVELOPE__BODY_RECONNECT:
        return 0;
    case GANQ__V1__ENVELOPE__BODY_GOODBYE:
        return v_running(env->goodbye->returned, env->goodbye->n_returned, p, "returned", e);
    case GANQ__V1__ENVELOPE__BODY_ERROR:
        TRY(v_enum(e, p, "code", env->error->code, 0, GANQ__V1__ERROR_CODE__ERR_UNKNOWN_WORKER));
        TRY(v_str(e, p, "field", env->error->field, WIRE_MAX_NAME, S_NAME, 0));
        return v_str(e, p, "message", env->error->message, WIRE_MAX_TEXT, S_TEXT, 0);
    default:
        return gq_fail(e, GQ_EINVAL, "envelope.body: unknown message type %d", env->body_case);
    }
}

int wire_validate(const Ganq__V1__Envelope *env, gq_error *e)
{
    if (!env)
        return gq_fail(e, GQ_EINVAL, "envelope: missing");
    if (env->version != WIRE_VERSION)
        return gq_fail(e, GQ_EVERSION, "envelope.version: %u is not supported (this is %u)",
                       env->version, WIRE_VERSION);
    if (env->body_case == GANQ__V1__ENVELOPE__BODY__NOT_SET)
        return gq_fail(e, GQ_EINVAL, "envelope.body: missing (no message in the envelope)");
    return v_body(env, e);
}

/* ---- codec ---- */

void wire_env_init(Ganq__V1__Envelope *env, uint64_t request_id)
{
    ganq__v1__envelope__init(env);
    env->version = WIRE_VERSION;
    env->request_id = request_id;
}

int wire_encode_raw(const Ganq__V1__Envelope *env, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    size_t n = ganq__v1__envelope__get_packed_size(env);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return GQ_ENOMEM;
    size_t m = ganq__v1__envelope__pack(env, b);
    GQ_ASSERT(m == n);
    *buf = b;
    *len = n;
    return 0;
}

int wire_encode(Ganq__V1__Envelope *env, uint8_t **buf, size_t *len, gq_error *err)
{
    *buf = NULL;
    *len = 0;
    if (!env)
        return gq_fail(err, GQ_EINVAL, "envelope: missing");
    env->version = WIRE_VERSION;
    TRY(wire_validate(env, err));
    if (ganq__v1__envelope__get_packed_size(env) > WIRE_MAX_FRAME)
        return gq_fail(err, GQ_EINVAL, "%s: message is larger than %u bytes",
                       wire_body_name(env->body_case), WIRE_MAX_FRAME);
    int rc = wire_encode_raw(env, buf, len);
    if (rc)
        return gq_fail(err, rc, "envelope: out of memory encoding %s",
                       wire_body_name(env->body_case));
    return 0;
}

int wire_decode(const void *buf, size_t len, Ganq__V1__Envelope **out, uint64_t *request_id,
                gq_error *err)
{
    *out = NULL;
    if (request_id)
        *request_id = 0;
    if (len > WIRE_MAX_FRAME)
        return gq_fail(err, GQ_EFORMAT, "frame: %zu bytes is larger than %u", len,
                       WIRE_MAX_FRAME);
    if (!buf && len)
        return gq_fail(err, GQ_EFORMAT, "frame: missing");
    Ganq__V1__Envelope *env = ganq__v1__envelope__unpack(NULL, len, buf);
    if (!env)
        return gq_fail(err, GQ_EFORMAT, "frame: %zu bytes do not decode as a ganq.v1.Envelope",
                       len);
    if (request_id)
        *request_id = env->request_id;
    int rc = wire_validate(env, err);
    if (rc) {
        ganq__v1__envelope__free_unpacked(env, NULL);
        return rc;
    }
    *out = env;
    return 0;
}

void wire_free(Ganq__V1__Envelope *env)
{
    if (env)
        ganq__v1__envelope__free_unpacked(env, NULL);
}

/* ---- names ---- */

const char *wire_body_name(int c)
{
    switch (c) {
    case GANQ__V1__ENVELOPE__BODY__NOT_SET:      return "none";
    case GANQ__V1__ENVELOPE__BODY_SUBMIT:        return "submit";
    case GANQ__V1__ENVELOPE__BODY_SUBMIT_REPLY:  return "submit_reply";
    case GANQ__V1__ENVELOPE__BODY_STATUS:        return "status";
    case GANQ__V1__ENVELOPE__BODY_JOB_INFO:      return "job_info";
    case GANQ__V1__ENVELOPE__BODY_LIST:          return "list";
    case GANQ__V1__ENVELOPE__BODY_JOB_LIST:      return "job_list";
    case GANQ__V1__ENVELOPE__BODY_CANCEL:        return "cancel";
    case GANQ__V1__ENVELOPE__BODY_WORKERS:       return "workers";
    case GANQ__V1__ENVELOPE__BODY_WORKER_LIST:   return "worker_list";
    case GANQ__V1__ENVELOPE__BODY_WATCH:         return "watch";
    case GANQ__V1__ENVELOPE__BODY_EVENTS:        return "events";
    case GANQ__V1__ENVELOPE__BODY_EVENT_LIST:    return "event_list";
    case GANQ__V1__ENVELOPE__BODY_HELLO:         return "hello";
    case GANQ__V1__ENVELOPE__BODY_HELLO_ACK:     return "hello_ack";
    case GANQ__V1__ENVELOPE__BODY_CREDIT:        return "credit";
    case GANQ__V1__ENVELOPE__BODY_TASK:          return "task";
    case GANQ__V1__ENVELOPE__BODY_PROGRESS:      return "progress";
    case GANQ__V1__ENVELOPE__BODY_DONE:          return "done";
    case GANQ__V1__ENVELOPE__BODY_FAILED:        return "failed";
    case GANQ__V1__ENVELOPE__BODY_CANCEL_TASK:   return "cancel_task";
    case GANQ__V1__ENVELOPE__BODY_HEARTBEAT:     return "heartbeat";
    case GANQ__V1__ENVELOPE__BODY_RECONNECT:     return "reconnect";
    case GANQ__V1__ENVELOPE__BODY_GOODBYE:       return "goodbye";
    case GANQ__V1__ENVELOPE__BODY_ERROR:         return "error";
    default:                                     return "unknown";
    }
}

const char *wire_job_state_name(int s)
{
    switch (s) {
    case GANQ__V1__JOB_STATE__JOB_QUEUED:    return "queued";
    case GANQ__V1__JOB_STATE__JOB_RUNNING:   return "running";
    case GANQ__V1__JOB_STATE__JOB_DONE:      return "done";
    case GANQ__V1__JOB_STATE__JOB_FAILED:    return "failed";
    case GANQ__V1__JOB_STATE__JOB_CANCELLED: return "cancelled";
    default:                                 return "unknown";
    }
}

const char *wire_job_kind_name(int k)
{
    switch (k) {
    case GANQ__V1__JOB_KIND__KIND_GENERATE:    return "generate";
    case GANQ__V1__JOB_KIND__KIND_SYNTHESIZE:  return "synthesize";
    case GANQ__V1__JOB_KIND__KIND_SWEEP:       return "sweep";
    case GANQ__V1__JOB_KIND__KIND_INTERPOLATE: return "interpolate";
    default:                                   return "unknown";
    }
}

const char *const wire_event_kinds[] = {
    "submit", "lease", "done", "requeue", "adopt", "job_done", "job_failed", "job_cancelled",
    "hello", "worker_dead", "broker_start", NULL,
};

int wire_event_kind_known(const char *kind)
{
    if (!kind)
        return 0;
    for (size_t i = 0; wire_event_kinds[i]; i++)
        if (strcmp(wire_event_kinds[i], kind) == 0)
            return 1;
    return 0;
}

const char *wire_error_code_name(int c)
{
    switch (c) {
    case GANQ__V1__ERROR_CODE__ERR_VERSION:        return "version";
    case GANQ__V1__ERROR_CODE__ERR_MALFORMED:      return "malformed";
    case GANQ__V1__ERROR_CODE__ERR_INVALID:        return "invalid";
    case GANQ__V1__ERROR_CODE__ERR_NOT_FOUND:      return "not_found";
    case GANQ__V1__ERROR_CODE__ERR_STATE:          return "state";
    case GANQ__V1__ERROR_CODE__ERR_INTERNAL:       return "internal";
    case GANQ__V1__ERROR_CODE__ERR_UNKNOWN_WORKER: return "unknown_worker";
    default:                                       return "unspecified";
    }
}

int wire_error_code_of_status(int st)
{
    switch (st) {
    case GQ_EVERSION:  return GANQ__V1__ERROR_CODE__ERR_VERSION;
    case GQ_EFORMAT:   return GANQ__V1__ERROR_CODE__ERR_MALFORMED;
    case GQ_EINVAL:
    case GQ_EUNSUPPORTED: return GANQ__V1__ERROR_CODE__ERR_INVALID;
    case GQ_ENOTFOUND: return GANQ__V1__ERROR_CODE__ERR_NOT_FOUND;
    case GQ_ESTATE:    return GANQ__V1__ERROR_CODE__ERR_STATE;
    default:           return GANQ__V1__ERROR_CODE__ERR_INTERNAL;
    }
}

int wire_status_of_error_code(int c)
{
    switch (c) {
    case GANQ__V1__ERROR_CODE__ERR_VERSION:        return GQ_EVERSION;
    case GANQ__V1__ERROR_CODE__ERR_MALFORMED:      return GQ_EFORMAT;
    case GANQ__V1__ERROR_CODE__ERR_INVALID:        return GQ_EINVAL;
    case GANQ__V1__ERROR_CODE__ERR_NOT_FOUND:      return GQ_ENOTFOUND;
    case GANQ__V1__ERROR_CODE__ERR_STATE:          return GQ_ESTATE;
    case GANQ__V1__ERROR_CODE__ERR_UNKNOWN_WORKER: return GQ_ENOTFOUND;
    default:                                       return GQ_EIO;
    }
}

char *wire_error_field(const gq_error *err, char *buf, size_t n)
{
    GQ_ASSERT(buf && n > 0);
    buf[0] = '\0';
    if (!err || !err->msg[0])
        return buf;
    /* A field path is [a-z0-9_.[\]]+ followed by ": ". */
    const char *m = err->msg;
    size_t i = 0;
    while (m[i] && ((m[i] >= 'a' && m[i] <= 'z') || (m[i] >= '0' && m[i] <= '9') ||
                    m[i] == '_' || m[i] == '.' || m[i] == '[' || m[i] == ']'))
        i++;
    if (i == 0 || m[i] != ':' || m[i + 1] != ' ' || i >= n)
        return buf;
    memcpy(buf, m, i);
    buf[i] = '\0';
    return buf;
}

/* ---- ZeroMQ ---- */

static int zerr(gq_error *e, const char *what)
{
    int en = zmq_errno();
    if (en == EAGAIN)
        return gq_fail(e, GQ_ETIMEOUT, "%s: timed out", what);
    return gq_fail(e, GQ_ENET, "%s: %s", what, zmq_strerror(en));
}

int wire_send_bytes(void *sock, const void *identity, size_t identity_len, const void *buf,
                    size_t len, int flags, gq_error *err)
{
    if (identity && identity_len) {
        if (zmq_send(sock, identity, identity_len, flags | ZMQ_SNDMORE) < 0)
            return zerr(err, "send identity");
    }
    if (zmq_send(sock, buf, len, flags) < 0)
        return zerr(err, "send");
    return 0;
}

int wire_send(void *sock, const void *identity, size_t identity_len, Ganq__V1__Envelope *env,
              int flags, gq_error *err)
{
    uint8_t *buf;
    size_t len;
    TRY(wire_encode(env, &buf, &len, err));
    int rc = wire_send_bytes(sock, identity, identity_len, buf, len, flags, err);
    free(buf);
    return rc;
}

void wire_msg_init(wire_msg *m)
{
    memset(m, 0, sizeof *m);
}

void wire_msg_release(wire_msg *m)
{
    wire_free(m->env);
    wire_msg_init(m);
}

/* Read the rest of a multipart message and drop it. */
static void drain(void *sock)
{
    int more = 1;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, 0) < 0) {
            zmq_msg_close(&f);
            return;
        }
        zmq_msg_close(&f);
        sz = sizeof more;
    }
}

static int has_more(void *sock)
{
    int more = 0;
    size_t sz = sizeof more;
    if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) != 0)
        return 0;
    return more;
}

int wire_recv(void *sock, int routed, int flags, wire_msg *m, gq_error *err)
{
    wire_msg_release(m);
    zmq_msg_t f;
    zmq_msg_init(&f);
    if (zmq_msg_recv(&f, sock, flags) < 0) {
        zmq_msg_close(&f);
        return zerr(err, "recv");
    }
    if (routed) {
        size_t n = zmq_msg_size(&f);
        if (n > WIRE_MAX_IDENTITY) {
            zmq_msg_close(&f);
            drain(sock);
            return gq_fail(err, GQ_EFORMAT, "frame: routing identity of %zu bytes", n);
        }
        memcpy(m->identity, zmq_msg_data(&f), n);
        m->identity_len = n;
        zmq_msg_close(&f);
        if (!has_more(sock))
            return gq_fail(err, GQ_EFORMAT, "frame: message has no payload frame");
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, sock, 0) < 0) {
            zmq_msg_close(&f);
            return zerr(err, "recv");
        }
        /* An empty delimiter (REQ peers) followed by more: skip it. */
        if (zmq_msg_size(&f) == 0 && has_more(sock)) {
            zmq_msg_close(&f);
            zmq_msg_init(&f);
            if (zmq_msg_recv(&f, sock, 0) < 0) {
                zmq_msg_close(&f);
                return zerr(err, "recv");
            }
        }
    }
    if (has_more(sock)) {
        zmq_msg_close(&f);
        drain(sock);
        return gq_fail(err, GQ_EFORMAT, "frame: expected one payload frame, got several");
    }
    int rc = wire_decode(zmq_msg_data(&f), zmq_msg_size(&f), &m->env, &m->request_id, err);
    zmq_msg_close(&f);
    return rc;
}

void wire_make_error(Ganq__V1__Envelope *env, Ganq__V1__Error *e, uint64_t request_id,
                     int gq_status, const gq_error *cause, char *field_buf, size_t field_n)
{
    wire_env_init(env, request_id);
    ganq__v1__error__init(e);
    e->code = wire_error_code_of_status(gq_status);
    e->field = wire_error_field(cause, field_buf, field_n);
    e->message = (char *)gq_error_str(cause, gq_status);
    env->body_case = GANQ__V1__ENVELOPE__BODY_ERROR;
    env->error = e;
}

int wire_send_error(void *sock, const void *identity, size_t identity_len, uint64_t request_id,
                    int gq_status, const gq_error *cause, gq_error *err)
{
    Ganq__V1__Envelope env;
    Ganq__V1__Error e;
    char field[WIRE_MAX_NAME + 1];
    wire_make_error(&env, &e, request_id, gq_status, cause, field, sizeof field);
    /* The message may hold characters the validator refuses (a control char echoed from
     * input is impossible: gq_fail strips newlines; but be safe): send a sanitized copy. */
    char msg[GQ_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", e.message);
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    e.message = msg;
    return wire_send(sock, identity, identity_len, &env, 0, err);
}
