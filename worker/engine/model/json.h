/* json.h: a small strict JSON parser (RFC 8259) for safetensors headers and ganq metadata.
 *
 * Strict: no comments, no trailing commas, no NaN/Infinity, no duplicate object keys, no
 * control characters in strings, UTF-16 surrogates must pair; nesting depth at most
 * JSON_MAX_DEPTH; the whole input must be one value (whitespace around it allowed). Input need
 * not be NUL-terminated. A document is a tree of json_value nodes owned by the root; strings
 * are NUL-terminated UTF-8 (an embedded \u0000 is rejected so C strings stay whole).
 * Fuzzed by tests/fuzz/fuzz_safetensors.c.
 */
#ifndef GQ_ENGINE_JSON_H
#define GQ_ENGINE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_value {
    int                type;     /* enum json_type */
    int                boolean;  /* JSON_BOOL */
    double             num;      /* JSON_NUMBER */
    int                is_int;   /* JSON_NUMBER written without fraction/exponent, fits int64 */
    int64_t            i64;      /* JSON_NUMBER when is_int */
    char              *str;      /* JSON_STRING (NUL-terminated) */
    size_t             len;      /* JSON_STRING length; JSON_ARRAY/OBJECT element count */
    char             **keys;     /* JSON_OBJECT: len keys, in document order */
    struct json_value *items;    /* JSON_ARRAY/OBJECT: len values */
} json_value;

/* Parse text[0..len). OUT: *out a malloc'd root (json_free it), NULL on failure.
 * Returns 0, GQ_EFORMAT (err: what and at which byte offset) or GQ_ENOMEM. */
int json_parse(const char *text, size_t len, json_value **out, gq_error *err);

void json_free(json_value *root);

/* Member of an object by key, or NULL (also when v is not an object). */
const json_value *json_get(const json_value *obj, const char *key);

#endif
