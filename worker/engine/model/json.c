/* json.c: recursive-descent strict JSON parser (see json.h). Depth-limited recursion, every
 * read bounds-checked against the end pointer; numbers validated against the RFC grammar
 * before strtod converts them (strtod alone would accept hex, inf, leading '+'). */
#include "worker/engine/model/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s, *p, *end;
    gq_error   *err;
} parser;

static int fail(parser *ps, const char *what)
{
    return gq_fail(ps->err, GQ_EFORMAT, "json: %s at byte %zu", what, (size_t)(ps->p - ps->s));
}

static void ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static void value_release(json_value *v)
{
    if (v->type == JSON_STRING) free(v->str);
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        for (size_t i = 0; i < v->len; i++) {
            value_release(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof *v);
}

void json_free(json_value *root)
{
    if (!root) return;
    value_release(root);
    free(root);
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(ps, "bad hex digit in \\u escape");
    }
    ps->p += 4;
    *out = v;
    return 0;
}

/* Parse a string at ps->p (on the opening quote). OUT: *out malloc'd, *olen. */
static int parse_string(parser *ps, char **out, size_t *olen)
{
    ps->p++;
    /* Output is never longer than the input span. */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') { if (*q == '\\' && q + 1 < ps->end) q++; q++; }
    if (q >= ps->end) return fail(ps, "unterminated string");
    char *buf = malloc((size_t)(q - ps->p) + 1);
    if (!buf) return gq_fail(ps->err, GQ_ENOMEM, "json: out of memory");
    size_t n = 0;
    int rc = 0;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) { rc = fail(ps, "control character in string"); goto bad; }
        if (c != '\\') { buf[n++] = (char)c; ps->p++; continue; }
        ps->p++;
        if (ps->p >= ps->end) { rc = fail(ps, "truncated escape"); goto bad; }
        char e = *ps->p++;
        switch (e) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if ((rc = hex4(ps, &cp))) goto bad;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    rc = fail(ps, "unpaired surrogate"); goto bad;
                }
                ps->p += 2;
                if ((rc = hex4(ps, &lo))) goto bad;
                if (lo < 0xDC00 || lo > 0xDFFF) { rc = fail(ps, "unpaired surrogate"); goto bad; }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                rc = fail(ps, "unpaired surrogate"); goto bad;
            }
            if (cp == 0) { rc = fail(ps, "\\u0000 in string"); goto bad; }
            /* UTF-8 encoding: at most 4 bytes, and the escape took at least 6 input bytes. */
            if (cp < 0x80) buf[n++] = (char)cp;
            else if (cp < 0x800) { buf[n++] = (char)(0xC0 | cp >> 6); buf[n++] = (char)(0x80 | (cp & 63)); }
            else if (cp < 0x10000) {
                buf[n++] = (char)(0xE0 | cp >> 12); buf[n++] = (char)(0x80 | ((cp >> 6) & 63));
                buf[n++] = (char)(0x80 | (cp & 63));
            } else {
                buf[n++] = (char)(0xF0 | cp >> 18); buf[n++] = (char)(0x80 | ((cp >> 12) & 63));
                buf[n++] = (char)(0x80 | ((cp >> 6) & 63)); buf[n++] = (char)(0x80 | (cp & 63));
            }
            break;
        }
        default: rc = fail(ps, "bad escape"); goto bad;
        }
    }
    ps->p++; /* closing quote */
    buf[n] = 0;
    *out = buf;
    *olen = n;
    return 0;
bad:
    free(buf);
    return rc;
}

static int parse_number(parser *ps, json_value *v)
{
    const char *st = ps->p, *q = ps->p;
    int integral = 1;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end) return fail(ps, "bad number");
    if (*q == '0') q++;
    else if (*q >= '1' && *q <= '9') while (q < ps->end && *q >= '0' && *q <= '9') q++;
    else return fail(ps, "bad number");
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9')) return fail(ps, "bad number fraction");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9')) return fail(ps, "bad number exponent");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - st);
    if (n > 64) return fail(ps, "number too long");
    char tmp[80];
    memcpy(tmp, st, n);
    tmp[n] = 0;
    v->type = JSON_NUMBER;
    v->num = strtod(tmp, NULL);
    if (integral) {
        errno = 0;
        long long x = strtoll(tmp, NULL, 10);
        if (errno == 0) { v->is_int = 1; v->i64 = x; }
    }
    ps->p = q;
    return 0;
}

static int lit(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static int parse_value(parser *ps, json_value *v, int depth);

static int grow(parser *ps, json_value *v, size_t *cap, int with_keys)
{
    if (v->len < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    json_value *ni = realloc(v->items, nc * sizeof *ni);
    if (!ni) return gq_fail(ps->err, GQ_ENOMEM, "json: out of memory");
    v->items = ni;
    if (with_keys) {
        char **nk = realloc(v->keys, nc * sizeof *nk);
        if (!nk) return gq_fail(ps->err, GQ_ENOMEM, "json: out of memory");
        v->keys = nk;
    }
    *cap = nc;
    return 0;
}

static int parse_value(parser *ps, json_value *v, int depth)
{
    memset(v, 0, sizeof *v);
    ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    if (depth > JSON_MAX_DEPTH) return fail(ps, "nesting too deep");
    char c = *ps->p;
    int rc;
    if (c == '"') {
        char *s;
        size_t n;
        if ((rc = parse_string(ps, &s, &n))) return rc;
        v->type = JSON_STRING; v->str = s; v->len = n;
        return 0;
    }
    if (c == '{' || c == '[') {
        int obj = c == '{';
        v->type = obj ? JSON_OBJECT : JSON_ARRAY;
        size_t cap = 0;
        ps->p++;
        ws(ps);
        if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) { ps->p++; return 0; }
        for (;;) {
            if ((rc = grow(ps, v, &cap, obj))) return rc;
            if (obj) {
                ws(ps);
                if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected object key");
                char *k;
                size_t kn;
                if ((rc = parse_string(ps, &k, &kn))) return rc;
                for (size_t i = 0; i < v->len; i++)
                    if (strcmp(v->keys[i], k) == 0) { free(k); return fail(ps, "duplicate key"); }
                ws(ps);
                if (ps->p >= ps->end || *ps->p != ':') { free(k); return fail(ps, "expected ':'"); }
                ps->p++;
                v->keys[v->len] = k;
            }
            rc = parse_value(ps, &v->items[v->len], depth + 1);
            v->len++; /* the element is owned (and released) even when it failed half-way */
            if (rc) return rc;
            ws(ps);
            if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
            if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) { ps->p++; return 0; }
            return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(ps, v);
    if (lit(ps, "true")) { v->type = JSON_BOOL; v->boolean = 1; return 0; }
    if (lit(ps, "false")) { v->type = JSON_BOOL; return 0; }
    if (lit(ps, "null")) { v->type = JSON_NULL; return 0; }
    return fail(ps, "unexpected character");
}

int json_parse(const char *text, size_t len, json_value **out, gq_error *err)
{
    *out = NULL;
    json_value *root = calloc(1, sizeof *root);
    if (!root) return gq_fail(err, GQ_ENOMEM, "json: out of memory");
    parser ps = { text, text, text + len, err };
    int rc = parse_value(&ps, root, 0);
    if (rc == 0) {
        ws(&ps);
        if (ps.p != ps.end) rc = fail(&ps, "trailing characters");
    }
    if (rc) { json_free(root); return rc; }
    *out = root;
    return 0;
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}
