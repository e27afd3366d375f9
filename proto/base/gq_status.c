/* gq_status.c: names of status codes and the first-error-wins gq_error recorder. */
#include "proto/base/gq_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *gq_strerror(int code)
{
    switch (code) {
    case GQ_OK:           return "ok";
    case GQ_EINVAL:       return "invalid argument";
    case GQ_ENOMEM:       return "out of memory";
    case GQ_EIO:          return "i/o error";
    case GQ_ENOTFOUND:    return "not found";
    case GQ_EFORMAT:      return "malformed data";
    case GQ_ESTATE:       return "illegal state transition";
    case GQ_EDB:          return "database error";
    case GQ_ENET:         return "network error";
    case GQ_EBUSY:        return "busy";
    case GQ_ECANCELLED:   return "cancelled";
    case GQ_ENOSPC:       return "no space left on device";
    case GQ_EUNSUPPORTED: return "unsupported";
    case GQ_EVERSION:     return "version mismatch";
    case GQ_ETIMEOUT:     return "timed out";
    case GQ_EOOM_DEVICE:  return "device out of memory";
    case GQ_EDEVICE:      return "device error";
    case GQ_EEXIST:       return "already exists";
    default:              return "unknown error";
    }
}

void gq_error_clear(gq_error *e)
{
    if (!e)
        return;
    e->code = GQ_OK;
    e->msg[0] = '\0';
}

int gq_fail(gq_error *e, int code, const char *fmt, ...)
{
    if (e && e->code == GQ_OK) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        for (char *p = e->msg; *p; p++)   /* keep it one line */
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
    return code;
}

const char *gq_error_str(const gq_error *e, int code)
{
    if (e && e->code != GQ_OK && e->msg[0])
        return e->msg;
    return gq_strerror(code);
}
