/* gq_buf.h: a growable byte buffer (always NUL-terminated), and a JSON writer over it.
 *
 * Ownership: gq_buf_init() sets up an empty buffer; gq_buf_release() frees its memory;
 * gq_buf_detach() hands the bytes to the caller (free() them) and leaves the buffer empty.
 * Allocation failure is sticky: b->oom is set, later appends are ignored, and the caller
 * checks gq_buf_ok() once at the end.
 *
 * JSON writer: gq_json_* append tokens and insert commas themselves, keeping a small stack of
 * "first element" flags (depth up to 32). Strings are escaped per RFC 8259; non-finite
 * doubles are written as null.
 */
#ifndef GQ_BUF_H
#define GQ_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct gq_buf {
    char  *data;     /* NUL-terminated; NULL until the first append */
    size_t len;      /* bytes used, excluding the NUL */
    size_t cap;
    int    oom;      /* an allocation failed: contents are incomplete */
    /* JSON writer state */
    int      depth;
    uint32_t first;  /* bit d set: the container at depth d has no element yet */
    int      key;    /* a key was just written: the next value needs no comma */
} gq_buf;

void  gq_buf_init(gq_buf *b);
void  gq_buf_release(gq_buf *b);
char *gq_buf_detach(gq_buf *b);      /* OUT: malloc'd string, or NULL on oom */
int   gq_buf_ok(const gq_buf *b);    /* 1 if no allocation failed */
void  gq_buf_append(gq_buf *b, const void *p, size_t n);
void  gq_buf_puts(gq_buf *b, const char *s);
void  gq_buf_printf(gq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void gq_json_obj_begin(gq_buf *b);
void gq_json_obj_end(gq_buf *b);
void gq_json_arr_begin(gq_buf *b);
void gq_json_arr_end(gq_buf *b);
void gq_json_key(gq_buf *b, const char *key);
void gq_json_str(gq_buf *b, const char *s);        /* NULL writes null */
void gq_json_strn(gq_buf *b, const char *s, size_t n);
void gq_json_int(gq_buf *b, int64_t v);
void gq_json_uint(gq_buf *b, uint64_t v);
void gq_json_double(gq_buf *b, double v);          /* shortest round-trip form (%.17g trimmed) */
void gq_json_bool(gq_buf *b, int v);
void gq_json_null(gq_buf *b);

/* key + value shorthands */
void gq_json_kv_str(gq_buf *b, const char *k, const char *v);
void gq_json_kv_int(gq_buf *b, const char *k, int64_t v);
void gq_json_kv_double(gq_buf *b, const char *k, double v);
void gq_json_kv_bool(gq_buf *b, const char *k, int v);

#endif
