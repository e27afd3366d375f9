/* gq_buf.c: growable buffer and JSON writer (see gq_buf.h). */
#include "proto/base/gq_buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gq_buf_init(gq_buf *b) { memset(b, 0, sizeof *b); }

void gq_buf_release(gq_buf *b)
{
    free(b->data);
    gq_buf_init(b);
}

char *gq_buf_detach(gq_buf *b)
{
    char *p = b->oom ? NULL : b->data;
    if (b->oom)
        free(b->data);
    else if (!p)
        p = calloc(1, 1);
    gq_buf_init(b);
    return p;
}

int gq_buf_ok(const gq_buf *b) { return !b->oom; }

static int reserve(gq_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;
    if (b->oom)
        return -1;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void gq_buf_append(gq_buf *b, const void *p, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void gq_buf_puts(gq_buf *b, const char *s) { gq_buf_append(b, s, strlen(s)); }

void gq_buf_printf(gq_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Comma before a value unless it is the first in its container or follows a key. */
static void sep(gq_buf *b)
{
    if (b->key) {
        b->key = 0;
        return;
    }
    if (b->depth > 0) {
        uint32_t bit = 1u << (b->depth - 1);
        if (b->first & bit)
            b->first &= ~bit;
        else
            gq_buf_puts(b, ",");
    }
}

static void open_c(gq_buf *b, const char *c)
{
    sep(b);
    gq_buf_puts(b, c);
    if (b->depth < 32) {
        b->depth++;
        b->first |= 1u << (b->depth - 1);
    }
}

static void close_c(gq_buf *b, const char *c)
{
    if (b->depth > 0)
        b->depth--;
    gq_buf_puts(b, c);
}

void gq_json_obj_begin(gq_buf *b) { open_c(b, "{"); }
void gq_json_obj_end(gq_buf *b) { close_c(b, "}"); }
void gq_json_arr_begin(gq_buf *b) { open_c(b, "["); }
void gq_json_arr_end(gq_buf *b) { close_c(b, "]"); }

static void put_escaped(gq_buf *b, const char *s, size_t n)
{
    gq_buf_puts(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':  gq_buf_puts(b, "\\\""); break;
        case '\\': gq_buf_puts(b, "\\\\"); break;
        case '\n': gq_buf_puts(b, "\\n"); break;
        case '\r': gq_buf_puts(b, "\\r"); break;
        case '\t': gq_buf_puts(b, "\\t"); break;
        default:
            if (c < 0x20)
                gq_buf_printf(b, "\\u%04x", c);
            else
                gq_buf_append(b, &s[i], 1);
        }
    }
    gq_buf_puts(b, "\"");
}

void gq_json_key(gq_buf *b, const char *key)
{
    sep(b);
    put_escaped(b, key, strlen(key));
    gq_buf_puts(b, ":");
    b->key = 1;
}

void gq_json_strn(gq_buf *b, const char *s, size_t n)
{
    sep(b);
    put_escaped(b, s, n);
}

void gq_json_str(gq_buf *b, const char *s)
{
    if (!s) {
        gq_json_null(b);
        return;
    }
    gq_json_strn(b, s, strlen(s));
}

void gq_json_int(gq_buf *b, int64_t v) { sep(b); gq_buf_printf(b, "%lld", (long long)v); }
void gq_json_uint(gq_buf *b, uint64_t v) { sep(b); gq_buf_printf(b, "%llu", (unsigned long long)v); }
void gq_json_bool(gq_buf *b, int v) { sep(b); gq_buf_puts(b, v ? "true" : "false"); }
void gq_json_null(gq_buf *b) { sep(b); gq_buf_puts(b, "null"); }

void gq_json_double(gq_buf *b, double v)
{
    char tmp[40];
    if (!isfinite(v)) {
        gq_json_null(b);
        return;
    }
    /* shortest precision that round-trips */
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    sep(b);
    gq_buf_puts(b, tmp);
}

void gq_json_kv_str(gq_buf *b, const char *k, const char *v) { gq_json_key(b, k); gq_json_str(b, v); }
void gq_json_kv_int(gq_buf *b, const char *k, int64_t v) { gq_json_key(b, k); gq_json_int(b, v); }
void gq_json_kv_double(gq_buf *b, const char *k, double v) { gq_json_key(b, k); gq_json_double(b, v); }
void gq_json_kv_bool(gq_buf *b, const char *k, int v) { gq_json_key(b, k); gq_json_bool(b, v); }
