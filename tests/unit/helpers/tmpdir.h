/* tmpdir.h: one scratch directory per unit test, under $GANQ_TMP (tests/run.sh sets it) or
 * /tmp, for the tests that need real files (SQLite databases, output writers). */
#ifndef GQ_TEST_TMPDIR_H
#define GQ_TEST_TMPDIR_H

#include <stddef.h>

/* Create a fresh directory named TAG.XXXXXX into buf (n bytes). 0 on success, -1 on error. */
int test_tmpdir_make(char *buf, size_t n, const char *tag);
/* Remove dir and everything under it. 0 on success, -1 on error. */
int test_tmpdir_remove(const char *dir);

#endif
