/* bwire.c: the broker's stored blobs (JobSpec) through protobuf-c (see bwire.h). */
#include "broker/bwire.h"

#include <stdlib.h>

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
