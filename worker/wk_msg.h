/* wk_msg.h: the worker's messages to and from the broker, built and parsed in one place.
 *
 * A thin layer over the shared codec (proto/wire/wire.h): every message is validated by
 * wire_encode before it leaves and by wire_decode when it arrives. Every builder returns an
 * encoded Envelope (version = PROTOCOL_VERSION) in a wk_bytes that the caller owns
 * (wk_bytes_release). Builders return 0, GQ_ENOMEM, or the wire_encode error (logged) when
 * a field is out of the protocol's limits.
 */
#ifndef GQ_WK_MSG_H
#define GQ_WK_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"

typedef struct wk_bytes {
    uint8_t *data;   /* malloc'd; NULL when empty */
    size_t   len;
} wk_bytes;

void wk_bytes_release(wk_bytes *b);   /* frees data, leaves {NULL, 0} */

/* A task the worker holds, as listed in Hello.running and Goodbye.returned. */
typedef struct wk_running {
    const char *job_id;
    uint64_t    task_id;
    uint32_t    attempt;
    uint64_t    images_done;
} wk_running;

/* Encode any envelope (its version is set here). */
int wk_msg_pack(Ganq__V1__Envelope *env, wk_bytes *out);

/* Hello: models are borrowed ModelInfo messages; running may be NULL when n_running is 0. */
int wk_msg_hello(const char *name, const char *device, Ganq__V1__ModelInfo **models,
                 size_t n_models, uint32_t max_batch, const wk_running *running,
                 size_t n_running, wk_bytes *out);
int wk_msg_credit(uint32_t credits, wk_bytes *out);
int wk_msg_heartbeat(wk_bytes *out);
int wk_msg_progress(const char *job_id, uint64_t task_id, uint32_t attempt,
                    uint64_t images_done, wk_bytes *out);
int wk_msg_done(const char *job_id, uint64_t task_id, uint32_t attempt,
                Ganq__V1__OutputRecord **records, size_t n_records, wk_bytes *out);
int wk_msg_failed(const char *job_id, uint64_t task_id, uint32_t attempt, const char *reason,
                  int retryable, wk_bytes *out);
int wk_msg_cancel_task(const char *job_id, uint64_t task_id, wk_bytes *out);
int wk_msg_goodbye(const wk_running *returned, size_t n, wk_bytes *out);
int wk_msg_error(Ganq__V1__ErrorCode code, const char *field, const char *message,
                 wk_bytes *out);

/* Decode and validate one frame (wire_decode). OUT: *env (free with wk_msg_free) on
 * success, NULL on failure. Returns 0, GQ_EFORMAT (does not decode, no body), GQ_EVERSION
 * (another protocol version), GQ_EINVAL (a field out of range: err names it), GQ_ENOMEM. */
int  wk_msg_unpack(const void *data, size_t len, Ganq__V1__Envelope **env, gq_error *err);
void wk_msg_free(Ganq__V1__Envelope *env);

/* Short name of an envelope's body ("task", "heartbeat"), for logs; never NULL. */
const char *wk_msg_name(const Ganq__V1__Envelope *env);

#endif
