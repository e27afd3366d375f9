/* classes.h: resolving the user's class expression against a model's class list.
 *
 * Grammar: items separated by commas; each item, trimmed, is "all", an id "7", a range "0-9"
 * (inclusive, ascending), or a class name (exact, then case-insensitive, with '_' and ' '
 * treated alike: "tiger shark" = "tiger_shark"). Ids keep the order written; duplicates are
 * kept (the user asked for them). Pure functions, unit-tested in tests/unit/test_broker_classes.c.
 */
#ifndef GQ_BROKER_CLASSES_H
#define GQ_BROKER_CLASSES_H

#include <stddef.h>
#include <stdint.h>

#include "proto/base/gq_status.h"

#define BROKER_MAX_CLASS_IDS 100000

/* names: n entries or NULL (ids only). field: the spec field named in errors ("classes").
 * OUT: *ids malloc'd (free()), *nids >= 1 on success; NULL/0 on failure.
 * Returns 0, GQ_EINVAL (bad syntax, id out of range, empty), GQ_ENOTFOUND (unknown name). */
int broker_resolve_classes(const char *expr, const char *const *names, int n, const char *field,
                           int32_t **ids, size_t *nids, gq_error *err);

/* One class (interpolation endpoints): name or id. OUT: *id. */
int broker_resolve_class(const char *expr, const char *const *names, int n, const char *field,
                         int32_t *id, gq_error *err);

#endif
