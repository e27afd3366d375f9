/* bwire.c: protobuf-c calls of the broker (see bwire.h: temporary until proto/wire lands). */
#include "broker/bwire.h"

#include <stdlib.h>

int bwire_decode(const void *p, size_t n, Ganq__V1__Envelope **out, gq_error *err)
{
    *out = NULL;
    if (n > BWIRE_MAX_FRAME)
        return gq_fail(err, GQ_EFORMAT, "frame: %zu bytes is above the limit of %u", n,
                       BWIRE_MAX_FRAME);
    Ganq__V1__Envelope *e = ganq__v1__envelope__unpack(NULL, n, p);
    if (!e)
        return gq_fail(err, GQ_EFORMAT, "frame: %zu bytes do not decode as a ganq.v1.Envelope",
                       n);
    *out = e;
    if (e->version != GANQ__V1__CONSTANTS__PROTOCOL_VERSION)
        return gq_fail(err, GQ_EVERSION, "version: %u is not supported (this broker speaks %d)",
                       e->version, GANQ__V1__CONSTANTS__PROTOCOL_VERSION);
    if (e->body_case == GANQ__V1__ENVELOPE__BODY__NOT_SET)
        return gq_fail(err, GQ_EINVAL, "body: the envelope carries no message");
    return GQ_OK;
}

void bwire_free(Ganq__V1__Envelope *e)
{
    if (e)
        ganq__v1__envelope__free_unpacked(e, NULL);
}

int bwire_encode(Ganq__V1__Envelope *e, uint8_t **out, size_t *n)
{
    e->version = GANQ__V1__CONSTANTS__PROTOCOL_VERSION;
    size_t len = ganq__v1__envelope__get_packed_size(e);
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return GQ_ENOMEM;
    *n = ganq__v1__envelope__pack(e, b);
    *out = b;
    return GQ_OK;
}

int bwire_spec_pack(const Ganq__V1__JobSpec *s, uint8_t **out, size_t *n)
{
    size_t len = ganq__v1__job_spec__get_packed_size(s);
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return GQ_ENOMEM;
    *n = ganq__v1__job_spec__pack(s, b);
    *out = b;
    return GQ_OK;
}

Ganq__V1__JobSpec *bwire_spec_unpack(const void *p, size_t n)
{
    return ganq__v1__job_spec__unpack(NULL, n, p);
}

void bwire_spec_free(Ganq__V1__JobSpec *s)
{
    if (s)
        ganq__v1__job_spec__free_unpacked(s, NULL);
}
