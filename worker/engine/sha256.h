/* sha256.h: SHA-256 (FIPS 180-4) for model file identities.
 *
 * Incremental: sha256_init, sha256_update (any number of times), sha256_final. Used by the
 * model loader (hash of the whole file) and by testcard (hash of a fixed string).
 */
#ifndef GQ_ENGINE_SHA256_H
#define GQ_ENGINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;         /* bytes hashed so far */
    uint8_t  buf[64];
    size_t   nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* OUT: digest (32 bytes). */
void sha256_final(sha256_ctx *c, uint8_t digest[32]);
/* One-shot: hex (64 chars + NUL) of data[0..n). */
void sha256_hex(const void *data, size_t n, char hex[65]);
void sha256_to_hex(const uint8_t digest[32], char hex[65]);

#endif
