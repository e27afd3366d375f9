/* zap.h: the broker's ZAP handler (ZeroMQ Authentication Protocol, RFC 27) for CURVE.
 *
 * broker_zap_start() binds a REP socket to inproc://zeromq.zap.01 in the broker's context
 * and serves it on its own thread, so authentication never blocks the broker loop. It
 * admits a CURVE client only when its public key is in the authorized-keys directory: one
 * Z85 key per file, files named *.pub (other names are ignored; a *.pub file that does not
 * parse is logged and skipped). The directory is re-read when its modification time
 * changes, and at most once a second when an unknown key arrives (so a key file edited in
 * place is also seen). A refused key is logged (warn) with its Z85 text and fingerprint,
 * at most once per 10 s per key; admitted keys at debug level.
 *
 * Start it before any CURVE server socket of that context binds; stop it after those sockets
 * are closed and before zmq_ctx_term (the thread closes its own socket).
 */
#ifndef GQ_BROKER_ZAP_H
#define GQ_BROKER_ZAP_H

#include "proto/base/gq_status.h"

typedef struct broker_zap broker_zap;

/* Start the handler for keys in dir. OUT: *out. Returns 0, GQ_ENOTFOUND / GQ_EIO (dir cannot
 * be read), GQ_ENET (bind failed: another ZAP handler in this context), GQ_ENOMEM. */
int broker_zap_start(void *zmq_ctx, const char *dir, broker_zap **out, gq_error *err);

/* Stop the thread and free z. NULL is a no-op. */
void broker_zap_stop(broker_zap *z);

/* Number of keys loaded at the last scan (for logs and tests). */
int broker_zap_nkeys(broker_zap *z);

#endif
