/* gq_status.h: the one status convention of ganq.
 *
 * Every function that can fail returns int: 0 (GQ_OK) on success, a negative GQ_E* code on
 * failure. Where a caller needs to tell a user what went wrong, the function also takes a
 * gq_error *, into which the first failure writes its code and a one-line message that names
 * the field or file and what is allowed ("truncation: 1.5 is outside (0, 1]"). First error
 * wins: gq_fail() does not overwrite a message already set, so the innermost cause survives.
 *
 * Faults (bad input, I/O, network, device) are returned; broken invariants abort through
 * GQ_ASSERT with file:line (gq_log.h).
 */
#ifndef GQ_STATUS_H
#define GQ_STATUS_H

#include <stddef.h>

enum gq_status {
    GQ_OK           =   0,
    GQ_EINVAL       =  -1,  /* bad argument or field value */
    GQ_ENOMEM       =  -2,  /* host allocation failed */
    GQ_EIO          =  -3,  /* file or stream I/O error */
    GQ_ENOTFOUND    =  -4,  /* no such job, task, model, class, file */
    GQ_EFORMAT      =  -5,  /* malformed file or message */
    GQ_ESTATE       =  -6,  /* illegal state transition */
    GQ_EDB          =  -7,  /* SQLite error */
    GQ_ENET         =  -8,  /* ZeroMQ error */
    GQ_EBUSY        =  -9,  /* resource held by another process */
    GQ_ECANCELLED   = -10,  /* work cancelled */
    GQ_ENOSPC       = -11,  /* disk full */
    GQ_EUNSUPPORTED = -12,  /* valid but not supported by this build/model/backend */
    GQ_EVERSION     = -13,  /* protocol or schema version mismatch */
    GQ_ETIMEOUT     = -14,  /* deadline passed */
    GQ_EOOM_DEVICE  = -15,  /* accelerator out of memory */
    GQ_EDEVICE      = -16,  /* accelerator missing or failed */
    GQ_EEXIST       = -17,  /* already exists / conflicts with existing data */
};

/* Short lowercase name of a status code ("invalid argument"); never NULL. */
const char *gq_strerror(int code);

#define GQ_ERROR_MSG_MAX 512

typedef struct gq_error {
    int  code;                  /* GQ_OK until the first gq_fail() */
    char msg[GQ_ERROR_MSG_MAX]; /* one line, no trailing newline */
} gq_error;

/* Reset *e to "no error". e may be NULL. */
void gq_error_clear(gq_error *e);

/* Record a failure in e (if e is non-NULL and holds no earlier error) and return code, so
 * that call sites read `return gq_fail(e, GQ_EINVAL, "count: %lld is above %d", n, max);`.
 * code must be negative. */
int gq_fail(gq_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The message of e, or gq_strerror(code) when e holds no message. */
const char *gq_error_str(const gq_error *e, int code);

#endif
