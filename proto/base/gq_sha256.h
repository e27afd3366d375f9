/* gq_sha256.h: SHA-256 (FIPS 180-4), the one implementation every module uses.
 *
 * Incremental: gq_sha256_init, gq_sha256_update (any number of times), gq_sha256_final.
 * Used for model file identities (engine), output checksums over the exact bytes written
 * and job fingerprints (storage/out).
 */
#ifndef GQ_BASE_SHA256_H
#define GQ_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct gq_sha256 {
    uint32_t h[8];
    uint64_t len;         /* bytes hashed so far */
    uint8_t  buf[64];
    size_t   nbuf;
} gq_sha256;

void gq_sha256_init(gq_sha256 *c);
void gq_sha256_update(gq_sha256 *c, const void *data, size_t n);
/* OUT: digest (32 bytes). */
void gq_sha256_final(gq_sha256 *c, uint8_t digest[32]);
/* One-shot: hex (64 chars + NUL) of data[0..n). */
void gq_sha256_hex(const void *data, size_t n, char hex[65]);
void gq_sha256_to_hex(const uint8_t digest[32], char hex[65]);
/* gq_sha256_final, then its hex (64 chars + NUL). */
void gq_sha256_final_hex(gq_sha256 *c, char hex[65]);

#endif
