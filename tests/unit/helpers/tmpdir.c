/* tmpdir.c: scratch directories for unit tests (see tmpdir.h). Removal shells out to
 * `rm -rf` on a path this file made itself (mkdtemp's template, no quotes in it). */
#define _POSIX_C_SOURCE 200809L
#include "tests/unit/helpers/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int test_tmpdir_make(char *buf, size_t n, const char *tag)
{
    const char *t = getenv("GANQ_TMP");
    int w = snprintf(buf, n, "%s/%s.XXXXXX", t && *t ? t : "/tmp", tag);
    if (w < 0 || (size_t)w >= n || strchr(buf, '\''))
        return -1;
    return mkdtemp(buf) ? 0 : -1;
}

int test_tmpdir_remove(const char *dir)
{
    char cmd[1100];
    int w = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (w < 0 || (size_t)w >= sizeof cmd)
        return -1;
    return system(cmd) == 0 ? 0 : -1;
}
