/* cli_conn.h: the client's connection to the broker: one DEALER socket, requests matched
 * to replies by request_id, a per-request timeout.
 *
 * ZeroMQ connects lazily, so an absent broker shows only as silence: a request with no
 * reply within the timeout returns GQ_ETIMEOUT, which commands report as
 * "broker not reachable at EP (no reply within N s)" and exit 3. Replies to older requests
 * (a late answer after a timeout) are skipped.
 */
#ifndef GQ_CLI_CONN_H
#define GQ_CLI_CONN_H

#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"

typedef struct cli_conn cli_conn;

/* CURVE for every later connection that owns its context (zctx NULL; the embedded inproc
 * mode of `ganq run` never uses CURVE): the broker's public key file and our secret key
 * file (proto/wire/curve.h). Either may be NULL (unset); a later call replaces a path.
 * The files are read by cli_conn_open. Paths are not copied (argv / environment). */
void cli_conn_set_curve(const char *broker_key_path, const char *secret_path);

/* Open a connection to endpoint. zctx: an existing zmq context to share (embedded mode over
 * inproc://), or NULL to create one owned by the connection. OUT: *out, NULL on failure.
 * Returns 0 or GQ_ENET (cannot connect, or a CURVE key file is missing or malformed, or only
 * one of the two is set: err names the file or flag) / GQ_ENOMEM. */
int cli_conn_open(const char *endpoint, int timeout_ms, void *zctx, cli_conn **out,
                  gq_error *err);
void cli_conn_free(cli_conn *c);    /* NULL is a no-op */
const char *cli_conn_endpoint(const cli_conn *c);
int cli_conn_timeout_ms(const cli_conn *c);
/* Text to append to a "no reply" message: with CURVE, that authentication may have failed;
 * without, that the broker may require CURVE. "" for an embedded connection. */
const char *cli_conn_timeout_hint(const cli_conn *c);

/* Send req (its request_id is assigned here) and wait for the reply with that id.
 * OUT: *reply (wire_free() it). A reply that is an Error is returned as a status
 * (wire_status_of_error_code) with err holding the broker's message, and *reply NULL.
 * Returns 0, GQ_ETIMEOUT (no reply), GQ_ENET, the broker's error code, or a decode error. */
int cli_request(cli_conn *c, Ganq__V1__Envelope *req, Ganq__V1__Envelope **reply,
                gq_error *err);

/* Send req without waiting (its request_id is assigned here and returned in *rid). */
int cli_send(cli_conn *c, Ganq__V1__Envelope *req, uint64_t *rid, gq_error *err);

/* Wait up to timeout_ms for any message. OUT: *msg (wire_free() it).
 * Returns 0, GQ_ETIMEOUT, GQ_ENET or a decode error. Error envelopes are returned as
 * messages (not converted). */
int cli_recv(cli_conn *c, int timeout_ms, Ganq__V1__Envelope **msg, gq_error *err);

#endif
