/* engine_files.h: test helper that builds ganq model files (safetensors) in memory: a valid
 * model of any architecture with deterministic small random weights, from the loader's own
 * expected-tensor list (model_expected), plus assembly of a file image from a (possibly
 * damaged) header text and data bytes. Used by test_badfiles, test_model*, test_engine_model. */
#ifndef GQ_TEST_ENGINE_FILES_H
#define GQ_TEST_ENGINE_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Build a valid model: OUT *header (malloc'd JSON text) and *data (malloc'd, *dlen bytes).
 * dtype "F32", "F16" or "BF16". Returns 0, or -1 if the arch is rejected. */
int ef_build(const char *family, const char *arch_json, const char *dtype, uint32_t seed,
             char **header, uint8_t **data, size_t *dlen);

/* File image = 8-byte LE header length + header + data. OUT: malloc'd, *len bytes. */
uint8_t *ef_image(const char *header, const uint8_t *data, size_t dlen, size_t *len);

/* Replace the first occurrence of `from` in s by `to`. Returns a new malloc'd string, or
 * NULL if `from` does not occur. */
char *ef_replace(const char *s, const char *from, const char *to);

/* Write bytes to path. Returns 0 or -1. */
int ef_write(const char *path, const void *p, size_t n);

/* Small architectures for tests. */
#define EF_ARCH_BIGGAN32 "{\"resolution\":32,\"ch\":4,\"z_dim\":32,\"num_classes\":10,\"attn_res\":0," \
                         "\"shared_dim\":16,\"hier\":true,\"bn_eps\":1e-5,\"output_bn_eps\":1e-5,\"sn_eps\":1e-8}"
#define EF_ARCH_BIGGAN64A "{\"resolution\":64,\"ch\":2,\"z_dim\":25,\"num_classes\":7,\"attn_res\":32," \
                         "\"shared_dim\":8,\"hier\":true,\"bn_eps\":1e-4,\"output_bn_eps\":1e-5,\"sn_eps\":1e-4}"
#define EF_ARCH_DEEP128 "{\"resolution\":128,\"ch\":4,\"z_dim\":16,\"num_classes\":5,\"attn_res\":64," \
                        "\"n_stats\":51,\"eps\":1e-4}"

#endif
