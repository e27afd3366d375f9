/* classes.c: class expressions -> class ids (see classes.h). */
#include "broker/classes.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/plan/plan.h"

/* Name equality with case folded and '_' == ' '. */
static int name_eq_loose(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++) {
        int ca = a[i] == '_' ? ' ' : tolower((unsigned char)a[i]);
        int cb = b[i] == '_' ? ' ' : tolower((unsigned char)b[i]);
        if (ca != cb)
            return 0;
    }
    return 1;
}

static int all_digits(const char *p, size_t n)
{
    if (n == 0 || n > 9)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return 1;
}

static long parse_num(const char *p, size_t n)
{
    long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

static int lookup_name(const char *p, size_t n, const char *const *names, int nn)
{
    if (!names)
        return -1;
    for (int i = 0; i < nn; i++)
        if (names[i] && strlen(names[i]) == n && memcmp(names[i], p, n) == 0)
            return i;
    for (int i = 0; i < nn; i++)
        if (names[i] && name_eq_loose(p, n, names[i]))
            return i;
    return -1;
}

static int push(int32_t **a, size_t *n, size_t *cap, int32_t v, const char *field, gq_error *err)
{
    if (*n >= BROKER_MAX_CLASS_IDS)
        return gq_fail(err, GQ_EINVAL, "%s: more than %d classes", field, BROKER_MAX_CLASS_IDS);
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        int32_t *na = realloc(*a, nc * sizeof *na);
        if (!na)
            return gq_fail(err, GQ_ENOMEM, "%s: out of memory", field);
        *a = na;
        *cap = nc;
    }
    (*a)[(*n)++] = v;
    return GQ_OK;
}

int broker_resolve_classes(const char *expr, const char *const *names, int n, const char *field,
                           int32_t **ids, size_t *nids, gq_error *err)
{
    *ids = NULL;
    *nids = 0;
    if (n <= 0)
        return gq_fail(err, GQ_EINVAL, "%s: the model has no classes", field);
    int32_t *a = NULL;
    size_t k = 0, cap = 0;
    int rc = GQ_OK;
    const char *p = expr ? expr : "";
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && isspace((unsigned char)*s)) { s++; len--; }
        while (len && isspace((unsigned char)s[len - 1])) len--;
        if (len == 0) {
            rc = gq_fail(err, GQ_EINVAL, "%s: \"%s\" has an empty item (use ids like 0-9, "
                         "names, or all)", field, expr ? expr : "");
            goto fail;
        }
        const char *dash = memchr(s, '-', len);
        int named = lookup_name(s, len, names, n);
        if (named >= 0) {
            if ((rc = push(&a, &k, &cap, named, field, err)) < 0)
                goto fail;
        } else if (len == 3 && strncasecmp(s, "all", 3) == 0) {
            for (int i = 0; i < n; i++)
                if ((rc = push(&a, &k, &cap, i, field, err)) < 0)
                    goto fail;
        } else if (all_digits(s, len)) {
            long v = parse_num(s, len);
            if (v >= n) {
                rc = gq_fail(err, GQ_EINVAL, "%s: class id %ld is outside 0..%d", field, v, n - 1);
                goto fail;
            }
            if ((rc = push(&a, &k, &cap, (int32_t)v, field, err)) < 0)
                goto fail;
        } else if (dash && all_digits(s, (size_t)(dash - s)) &&
                   all_digits(dash + 1, len - (size_t)(dash - s) - 1)) {
            long lo = parse_num(s, (size_t)(dash - s));
            long hi = parse_num(dash + 1, len - (size_t)(dash - s) - 1);
            if (lo > hi || hi >= n) {
                rc = gq_fail(err, GQ_EINVAL, "%s: range %ld-%ld must be ascending within 0..%d",
                             field, lo, hi, n - 1);
                goto fail;
            }
            for (long v = lo; v <= hi; v++)
                if ((rc = push(&a, &k, &cap, (int32_t)v, field, err)) < 0)
                    goto fail;
        } else {
            char near[256];
            if (plan_class_suggest(s, len, names, n, near, sizeof near) > 0)
                rc = gq_fail(err, GQ_ENOTFOUND, "%s: \"%.*s\" is not a class of the model; "
                             "did you mean %s?", field, (int)len, s, near);
            else
                rc = gq_fail(err, GQ_ENOTFOUND, "%s: \"%.*s\" is not a class of the model "
                             "(%d classes; use ids 0-%d, names, or all)", field, (int)len, s,
                             n, n - 1);
            goto fail;
        }
        if (!end)
            break;
        p = end + 1;
    }
    *ids = a;
    *nids = k;
    return GQ_OK;
fail:
    free(a);
    return rc;
}

int broker_resolve_class(const char *expr, const char *const *names, int n, const char *field,
                         int32_t *id, gq_error *err)
{
    int32_t *ids = NULL;
    size_t k = 0;
    if (expr && strchr(expr, ','))
        return gq_fail(err, GQ_EINVAL, "%s: \"%s\" must name one class", field, expr);
    int rc = broker_resolve_classes(expr, names, n, field, &ids, &k, err);
    if (rc < 0)
        return rc;
    if (k != 1) {
        free(ids);
        return gq_fail(err, GQ_EINVAL, "%s: \"%s\" must name one class", field, expr);
    }
    *id = ids[0];
    free(ids);
    return GQ_OK;
}
