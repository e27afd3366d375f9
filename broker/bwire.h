/* bwire.h: the broker's door to the wire format: decode one frame into an Envelope (with the
 * protocol version checked) and encode an Envelope into bytes.
 *
 * TEMPORARY: proto/wire/wire.h (owned by the `client` helper) is the project's codec and
 * validator; until it lands on main the broker calls protobuf-c here, in this one file, and
 * validates the fields it uses itself (broker.c). Switching means replacing these three
 * functions' bodies.
 */
#ifndef GQ_BWIRE_H
#define GQ_BWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"

#define BWIRE_MAX_FRAME (64u << 20)   /* larger frames are refused by the socket */

/* OUT: *out the decoded envelope (free with bwire_free), NULL on failure.
 * Returns 0, GQ_EFORMAT (did not decode; err says so), GQ_EVERSION (decoded, wrong version:
 * *out is still set so the caller can echo request_id; free it), GQ_EINVAL (no body). */
int  bwire_decode(const void *p, size_t n, Ganq__V1__Envelope **out, gq_error *err);
void bwire_free(Ganq__V1__Envelope *e);
/* Sets e->version to the protocol version. OUT: *out malloc'd bytes (free()), *n length. */
int  bwire_encode(Ganq__V1__Envelope *e, uint8_t **out, size_t *n);

/* Serialize / parse a JobSpec (for the jobs table). */
int  bwire_spec_pack(const Ganq__V1__JobSpec *s, uint8_t **out, size_t *n);
Ganq__V1__JobSpec *bwire_spec_unpack(const void *p, size_t n);   /* NULL if corrupt */
void bwire_spec_free(Ganq__V1__JobSpec *s);

#endif
