/* plan_names.c: close-match suggestions for a class name the model does not have
 * (plan_class_suggest in plan.h), for the broker's class resolution errors.
 *
 * Distance: Levenshtein over case-folded bytes with '_' == ' ', plus "contains": a name that
 * contains the word (or is contained in it) counts as distance 1. Names within
 * max(2, len/3) edits are candidates; those at the smallest distance are listed (at most 3,
 * lowest ids first).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/plan/plan.h"

static int fold(int c) { return c == '_' ? ' ' : tolower(c); }

static int contains(const char *hay, size_t hn, const char *needle, size_t nn)
{
    if (nn == 0 || nn > hn)
        return 0;
    for (size_t i = 0; i + nn <= hn; i++) {
        size_t k = 0;
        while (k < nn && fold((unsigned char)hay[i + k]) == fold((unsigned char)needle[k]))
            k++;
        if (k == nn)
            return 1;
    }
    return 0;
}

/* Levenshtein distance, giving up (returning cap + 1) beyond cap. */
static int distance(const char *a, size_t an, const char *b, size_t bn, int cap, int *row)
{
    if ((an > bn ? an - bn : bn - an) > (size_t)cap)
        return cap + 1;
    for (size_t j = 0; j <= bn; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= an; i++) {
        int diag = row[0], best;
        row[0] = (int)i;
        best = row[0];
        for (size_t j = 1; j <= bn; j++) {
            int up = row[j];
            int sub = diag + (fold((unsigned char)a[i - 1]) != fold((unsigned char)b[j - 1]));
            int v = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
            row[j] = sub < v ? sub : v;
            diag = up;
            if (row[j] < best)
                best = row[j];
        }
        if (best > cap)
            return cap + 1;
    }
    return row[bn];
}

int plan_class_suggest(const char *word, size_t n, const char *const *names, int nn,
                       char *buf, size_t bn)
{
    enum { MAXS = 3 };
    int best_id[MAXS], best_d[MAXS], found = 0, cap = (int)(n / 3) > 2 ? (int)(n / 3) : 2;
    int *row;
    size_t used = 0;
    if (bn)
        buf[0] = '\0';
    if (!names || nn <= 0 || n == 0 || n > 256)
        return 0;
    row = malloc(1002 * sizeof *row);   /* names up to 1000 bytes */
    if (!row)
        return 0;
    for (int id = 0; id < nn; id++) {
        const char *nm = names[id];
        size_t len;
        int d;
        if (!nm)
            continue;
        len = strlen(nm);
        if (len > 1000)
            continue;
        d = contains(nm, len, word, n) || (len >= 3 && contains(word, n, nm, len))
                ? 1
                : distance(word, n, nm, len, cap, row);
        if (d > cap)
            continue;
        /* insert by (d, id) into the best list */
        int pos = found < MAXS ? found : MAXS;
        while (pos > 0 && best_d[pos - 1] > d)
            pos--;
        if (pos >= MAXS)
            continue;
        for (int k = (found < MAXS ? found : MAXS - 1); k > pos; k--) {
            best_d[k] = best_d[k - 1];
            best_id[k] = best_id[k - 1];
        }
        best_d[pos] = d;
        best_id[pos] = id;
        if (found < MAXS)
            found++;
    }
    free(row);
    while (found > 1 && best_d[found - 1] > best_d[0])   /* only the best distance */
        found--;
    for (int k = 0; k < found && bn; k++) {
        int w = snprintf(buf + used, bn - used, "%s\"%s\"", k ? ", " : "", names[best_id[k]]);
        if (w < 0 || (size_t)w >= bn - used) {
            buf[used] = '\0';
            return k;
        }
        used += (size_t)w;
    }
    return found;
}
