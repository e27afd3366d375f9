/* wire.h: the ganq wire codec, the only code in ganq that calls protobuf-c.
 *
 * Frame format (see proto/ganq.proto): after the ZeroMQ routing envelope (the ROUTER
 * identity frame, and an optional empty delimiter frame from REQ peers), exactly one frame
 * holding one serialized ganq.v1.Envelope, at most WIRE_MAX_FRAME bytes. Every Envelope
 * carries version == WIRE_VERSION and exactly one body.
 *
 * Decoding validates EVERY message type before anyone sees it: version, body present,
 * string lengths and characters (ids, names, paths), counts and ranges (plan limits,
 * finite truncations, priority, png_level, jpeg_quality, shard_size, steps, repeated-field
 * sizes), enum values, event kinds (Events.kind), and paths (out_dir absolute without "..",
 * output paths relative without ".."). A failure returns GQ_EVERSION, GQ_EFORMAT or
 * GQ_EINVAL with a gq_error whose message starts with the dotted field path, e.g.
 *   "submit.spec.count: 0 is not allowed (1..100000000)"
 *   "done.outputs[3].path: \"../x\" must be relative without \"..\""
 * wire_error_field() recovers that field path for Error.field.
 *
 * What the wire layer does NOT check (it needs the model or the database): class names and
 * ids against the model, truncation against standing_stats, totals of synthesize/sweep jobs
 * (n_classes x per_class); plan_init() does those.
 *
 * Ownership: an Envelope returned by wire_decode()/wire_recv() is owned by the caller and
 * freed with wire_free(). Envelopes the caller builds for sending stay the caller's; the
 * codec never keeps pointers into them. Thread-safety: stateless; sockets are the caller's.
 */
#ifndef GQ_WIRE_H
#define GQ_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"

#define WIRE_VERSION        1u
#define WIRE_MAX_FRAME      (64u << 20)  /* bytes of one serialized Envelope */
#define WIRE_MAX_IDENTITY   255          /* ZeroMQ routing id bytes */

/* Field limits (characters). */
#define WIRE_MAX_ID         64       /* job_id, worker_id */
#define WIRE_MAX_NAME       256      /* model, owner, name, class names, devices, states */
#define WIRE_MAX_PATH       4096     /* out_dir, output paths, manifest */
#define WIRE_MAX_TEXT       4096     /* reasons, error messages */
#define WIRE_MAX_CLASSES    65536    /* the classes expression */
/* Repeated-field sizes. */
#define WIRE_MAX_CLASS_IDS  100000   /* class_ids, class_names */
#define WIRE_MAX_CLASS_ID   1000000  /* class ids are 0..WIRE_MAX_CLASS_ID-1 */
#define WIRE_MAX_OUTPUTS    1000000  /* outputs of one Done or one JobInfo */
#define WIRE_MAX_JOBS       100000   /* jobs in a JobList / List.limit */
#define WIRE_MAX_WORKERS    10000    /* workers in a WorkerList */
#define WIRE_MAX_EVENTS     1000     /* events in an EventList / Events.limit */
#define WIRE_MAX_DEVICES    64       /* devices / backends of a worker */
#define WIRE_MAX_MODELS     1024     /* models of a worker */
#define WIRE_MAX_RUNNING    4096     /* running tasks in a Hello / Goodbye */
#define WIRE_MAX_CREDITS    1024
#define WIRE_MAX_ATTEMPTS   100
#define WIRE_MAX_TRUNC_VAL  4.0      /* truncations are finite, in (0, WIRE_MAX_TRUNC_VAL] */
#define WIRE_MAX_LEASE_MS   (24LL * 3600 * 1000)
#define WIRE_MAX_RESOLUTION 4096

/* Envelope builders: wire_env_init() zeroes and initialises env (version stamped, no body).
 * Set the body with e.g. `env.body_case = GANQ__V1__ENVELOPE__BODY_SUBMIT; env.submit = &s;`
 * where s was initialised with its GANQ__V1__SUBMIT__INIT. */
void wire_env_init(Ganq__V1__Envelope *env, uint64_t request_id);

/* Encode env (version stamped to WIRE_VERSION first) after validating it as a receiver
 * would. OUT: *buf (malloc'd, free() it) and *len on success; *buf = NULL on failure.
 * Returns 0, GQ_EINVAL/GQ_EVERSION/GQ_EFORMAT (err names the field) or GQ_ENOMEM. */
int wire_encode(Ganq__V1__Envelope *env, uint8_t **buf, size_t *len, gq_error *err);

/* Like wire_encode() but without validation or version stamping: for tests that need to
 * produce invalid frames. */
int wire_encode_raw(const Ganq__V1__Envelope *env, uint8_t **buf, size_t *len);

/* Decode and validate one frame. OUT: *out (free with wire_free()) on success, NULL on any
 * failure; *request_id (may be NULL) is the frame's request_id whenever the frame parsed,
 * even when validation then failed, so the caller can answer with an Error; 0 otherwise.
 * Returns 0, GQ_EFORMAT (did not parse, too big), GQ_EVERSION, GQ_EINVAL, GQ_ENOMEM. */
int wire_decode(const void *buf, size_t len, Ganq__V1__Envelope **out, uint64_t *request_id,
                gq_error *err);

/* Free an envelope returned by wire_decode()/wire_recv(). NULL is a no-op. */
void wire_free(Ganq__V1__Envelope *env);

/* Validate an envelope / a job spec in memory. strict_spec: the spec is being submitted or
 * run (kind set, kind-specific counts required); otherwise only ranges are checked (specs
 * echoed in JobInfo). prefix is the field path to report ("submit.spec"). */
int wire_validate(const Ganq__V1__Envelope *env, gq_error *err);
int wire_validate_spec(const Ganq__V1__JobSpec *spec, int strict_spec, const char *prefix,
                       gq_error *err);

/* Short name of a body case ("submit", "job_info"); "none" when unset, "unknown" otherwise. */
const char *wire_body_name(int body_case);
const char *wire_job_state_name(int state);   /* "queued", "running", ... */
const char *wire_job_kind_name(int kind);     /* "generate", ... */
const char *wire_error_code_name(int code);   /* "invalid", "not_found", ... */

/* The event kinds the broker writes (EventInfo.kind), NULL-terminated: Events.kind must be
 * one of them (or empty). wire_event_kind_known(): 1 if kind is in the list. */
extern const char *const wire_event_kinds[];
int wire_event_kind_known(const char *kind);

/* Map between gq status codes and ganq.v1.ErrorCode. */
int wire_error_code_of_status(int gq_status);
int wire_status_of_error_code(int error_code);

/* Copy the field path that starts err's message ("submit.spec.count" of
 * "submit.spec.count: 0 is not allowed") into buf; empty when the message names none.
 * Returns buf. */
char *wire_error_field(const gq_error *err, char *buf, size_t n);

/* ---- over ZeroMQ ---- */

/* A received message: the routing identity (ROUTER sockets only) and the decoded envelope. */
typedef struct wire_msg {
    uint8_t             identity[WIRE_MAX_IDENTITY];
    size_t              identity_len;
    Ganq__V1__Envelope *env;          /* NULL when decoding failed */
    uint64_t            request_id;   /* from the frame when it parsed, else 0 */
} wire_msg;

void wire_msg_init(wire_msg *m);
void wire_msg_release(wire_msg *m);   /* frees env; m may be reused */

/* Send env over sock (encoded with wire_encode()). identity/identity_len: the routing frame
 * to send first (ROUTER sockets), or NULL/0. flags: 0 or ZMQ_DONTWAIT.
 * Returns 0, the wire_encode() errors, GQ_ETIMEOUT (EAGAIN: would block / SNDTIMEO passed),
 * GQ_ENET (other ZeroMQ errors; err holds zmq_strerror). */
int wire_send(void *sock, const void *identity, size_t identity_len, Ganq__V1__Envelope *env,
              int flags, gq_error *err);

/* Send an already encoded frame (or any bytes) with an optional identity frame first. */
int wire_send_bytes(void *sock, const void *identity, size_t identity_len, const void *buf,
                    size_t len, int flags, gq_error *err);

/* Receive one message. routed: 1 for ROUTER sockets (an identity frame comes first, an empty
 * delimiter frame after it is skipped). flags: 0 or ZMQ_DONTWAIT. All frames of the message
 * are always consumed. OUT: m (wire_msg_init()ed or released by the caller beforehand):
 * identity filled whenever routed and the message arrived, env on success.
 * Returns 0; GQ_ETIMEOUT when nothing arrived (EAGAIN / RCVTIMEO); GQ_ENET for ZeroMQ
 * errors (ETERM included); the wire_decode() errors when a message arrived but did not
 * decode or validate (m->identity and m->request_id let the caller answer with an Error);
 * GQ_EFORMAT also when the frame count is wrong. */
int wire_recv(void *sock, int routed, int flags, wire_msg *m, gq_error *err);

/* Fill env + e as an Error reply: code = wire_error_code_of_status(gq_status), field from
 * wire_error_field(cause), message = gq_error_str(cause, gq_status). The strings point
 * into cause, field_buf (which must outlive env) and stay owned by the caller. */
void wire_make_error(Ganq__V1__Envelope *env, Ganq__V1__Error *e, uint64_t request_id,
                     int gq_status, const gq_error *cause, char *field_buf, size_t field_n);

/* Build and send an Error envelope answering request_id. Returns as wire_send(). */
int wire_send_error(void *sock, const void *identity, size_t identity_len, uint64_t request_id,
                    int gq_status, const gq_error *cause, gq_error *err);

#endif
