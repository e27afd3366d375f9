/* bwire.h: serialization of the blobs the broker keeps in SQLite (the resolved JobSpec).
 * Frames on the sockets go through proto/wire/wire.h; wire.h has no JobSpec-only codec, so
 * this one file calls protobuf-c for the stored spec (the broker's only other protobuf-c use
 * is packing Hello/ModelInfo copies for the workers and models tables, in broker.c).
 */
#ifndef GQ_BWIRE_H
#define GQ_BWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"
#include "proto/ganq.pb-c.h"

/* Serialize / parse a JobSpec (for the jobs table). */
int  bwire_spec_pack(const Ganq__V1__JobSpec *s, uint8_t **out, size_t *n);
Ganq__V1__JobSpec *bwire_spec_unpack(const void *p, size_t n);   /* NULL if corrupt */
void bwire_spec_free(Ganq__V1__JobSpec *s);

#endif
