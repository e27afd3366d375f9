/* fuzz_wire.c: fuzz target for the wire decoder (proto/wire: wire_decode, i.e. protobuf-c
 * unpacking plus validation of every message type). Nothing may crash, hang, leak or read
 * out of bounds; every rejection is one of GQ_EFORMAT / GQ_EVERSION / GQ_EINVAL with a
 * message, and every accepted envelope validates again and re-encodes.
 *
 * Built two ways: with -DGQ_LIBFUZZER by `make fuzz` (clang -fsanitize=fuzzer; rule in
 * client/module.mk), and #included by tests/unit/test_wire.c, whose mutation run replays it
 * under ASan in `make test`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base/gq_log.h"
#include "proto/wire/wire.h"

int fuzz_wire_one(const uint8_t *data, size_t size)
{
    Ganq__V1__Envelope *env = NULL;
    uint64_t rid = 0;
    gq_error err;
    gq_error_clear(&err);
    int rc = wire_decode(data, size, &env, &rid, &err);
    if (rc == 0) {
        GQ_ASSERT(env != NULL);
        gq_error e2;
        gq_error_clear(&e2);
        GQ_ASSERT(wire_validate(env, &e2) == 0);
        uint8_t *again = NULL;
        size_t n = 0;
        GQ_ASSERT(wire_encode(env, &again, &n, &e2) == 0);
        free(again);
        wire_free(env);
    } else {
        GQ_ASSERT(env == NULL);
        GQ_ASSERT(rc == GQ_EFORMAT || rc == GQ_EVERSION || rc == GQ_EINVAL || rc == GQ_ENOMEM);
        GQ_ASSERT(err.msg[0] != 0);
    }
    return 0;
}

#ifdef GQ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_wire_one(data, size); }
#endif
