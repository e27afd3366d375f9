/* cli_conn.c: DEALER connection with request/reply matching and timeouts (see cli_conn.h). */
#include "client/cli_conn.h"

#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "proto/base/gq_time.h"
#include "proto/wire/curve.h"
#include "proto/wire/wire.h"

struct cli_conn {
    void    *zctx;        /* the zmq context */
    int      own_ctx;     /* 1: created here, terminated in cli_conn_free */
    void    *sock;        /* DEALER connected to the broker's client endpoint */
    char    *endpoint;
    int      timeout_ms;  /* per request */
    uint64_t next_id;     /* request ids, from 1 */
    int      curve;       /* 1: a CURVE client */
};

/* Set from the global options / environment before any connection opens (one thread). */
static const char *g_broker_key, *g_curve_secret;

void cli_conn_set_curve(const char *broker_key_path, const char *secret_path)
{
    if (broker_key_path)
        g_broker_key = broker_key_path;
    if (secret_path)
        g_curve_secret = secret_path;
}

static int setup_curve(cli_conn *c, gq_error *err)
{
    if (!g_broker_key != !g_curve_secret)
        return gq_fail(err, GQ_ENET, "%s: CURVE needs both --broker-key FILE and "
                       "--curve-secret FILE (or GANQ_BROKER_KEY and GANQ_CURVE_SECRET)",
                       g_broker_key ? "--curve-secret" : "--broker-key");
    wire_curve_client k;
    gq_error ke;
    gq_error_clear(&ke);
    if (wire_curve_client_load(g_broker_key, g_curve_secret, &k, &ke) != 0)
        return gq_fail(err, GQ_ENET, "%s", ke.msg);
    int rc = wire_curve_client_setup(c->sock, &k, &ke);
    memset(&k, 0, sizeof k);
    if (rc)
        return gq_fail(err, GQ_ENET, "%s", ke.msg);
    c->curve = 1;
    return 0;
}

int cli_conn_open(const char *endpoint, int timeout_ms, void *zctx, cli_conn **out,
                  gq_error *err)
{
    *out = NULL;
    cli_conn *c = calloc(1, sizeof *c);
    if (!c)
        return gq_fail(err, GQ_ENOMEM, "out of memory");
    c->timeout_ms = timeout_ms;
    c->next_id = (uint64_t)(gq_wall_ms() & 0xffffff) << 20;  /* distinct across runs */
    c->endpoint = strdup(endpoint);
    if (!c->endpoint)
        goto nomem;
    c->zctx = zctx;
    if (!c->zctx) {
        c->zctx = zmq_ctx_new();
        c->own_ctx = 1;
        if (!c->zctx) {
            gq_fail(err, GQ_ENET, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    c->sock = zmq_socket(c->zctx, ZMQ_DEALER);
    if (!c->sock) {
        gq_fail(err, GQ_ENET, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    int linger = 0;
    zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (c->own_ctx && (g_broker_key || g_curve_secret) && setup_curve(c, err) != 0)
        goto fail;
    if (zmq_connect(c->sock, endpoint) != 0) {
        gq_fail(err, GQ_ENET, "--broker: cannot connect to '%s': %s", endpoint,
                zmq_strerror(zmq_errno()));
        goto fail;
    }
    *out = c;
    return 0;
nomem:
    gq_fail(err, GQ_ENOMEM, "out of memory");
fail:
    {
        int rc = err && err->code ? err->code : GQ_ENOMEM;
        cli_conn_free(c);
        return rc;
    }
}

void cli_conn_free(cli_conn *c)
{
    if (!c)
        return;
    if (c->sock)
        zmq_close(c->sock);
    if (c->own_ctx && c->zctx)
        zmq_ctx_term(c->zctx);
    free(c->endpoint);
    free(c);
}

const char *cli_conn_endpoint(const cli_conn *c) { return c->endpoint; }
int cli_conn_timeout_ms(const cli_conn *c) { return c->timeout_ms; }

const char *cli_conn_timeout_hint(const cli_conn *c)
{
    if (!c->own_ctx)
        return "";
    if (c->curve)
        return "; with CURVE this may also be failed authentication: check --broker-key, "
               "and that the broker's authorized-keys directory holds our public key";
    return "; if the broker uses CURVE, give --broker-key and --curve-secret";
}

int cli_send(cli_conn *c, Ganq__V1__Envelope *req, uint64_t *rid, gq_error *err)
{
    req->request_id = ++c->next_id;
    if (rid)
        *rid = req->request_id;
    /* DEALER queues while not connected: with DONTWAIT a full queue is reported, not hung. */
    int rc = wire_send(c->sock, NULL, 0, req, ZMQ_DONTWAIT, err);
    if (rc == GQ_ETIMEOUT) {
        gq_error_clear(err);
        return gq_fail(err, GQ_ETIMEOUT, "broker not reachable at %s (send queue full)",
                       c->endpoint);
    }
    return rc;
}

int cli_recv(cli_conn *c, int timeout_ms, Ganq__V1__Envelope **msg, gq_error *err)
{
    *msg = NULL;
    zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
    int n = zmq_poll(&it, 1, timeout_ms);
    if (n < 0)
        return gq_fail(err, GQ_ENET, "poll: %s", zmq_strerror(zmq_errno()));
    if (n == 0)
        return GQ_ETIMEOUT;
    wire_msg m;
    wire_msg_init(&m);
    int rc = wire_recv(c->sock, 0, ZMQ_DONTWAIT, &m, err);
    if (rc) {
        wire_msg_release(&m);
        return rc;
    }
    *msg = m.env;
    return 0;
}

int cli_request(cli_conn *c, Ganq__V1__Envelope *req, Ganq__V1__Envelope **reply,
                gq_error *err)
{
    *reply = NULL;
    uint64_t rid;
    int rc = cli_send(c, req, &rid, err);
    if (rc)
        return rc;
    int64_t deadline = gq_mono_ms() + c->timeout_ms;
    for (;;) {
        int64_t left = deadline - gq_mono_ms();
        if (left <= 0)
            break;
        Ganq__V1__Envelope *m;
        gq_error e;
        gq_error_clear(&e);
        rc = cli_recv(c, (int)left, &m, &e);
        if (rc == GQ_ETIMEOUT)
            break;
        if (rc) {
            /* A frame that does not decode is the broker's fault, or not a ganq broker. */
            return gq_fail(err, rc, "bad reply from broker at %s: %s", c->endpoint,
                           gq_error_str(&e, rc));
        }
        if (m->request_id != rid) {  /* late reply to an earlier request, or a push */
            wire_free(m);
            continue;
        }
        if (m->body_case == GANQ__V1__ENVELOPE__BODY_ERROR) {
            int st = wire_status_of_error_code(m->error->code);
            gq_fail(err, st, "%s", m->error->message && *m->error->message
                                       ? m->error->message
                                       : wire_error_code_name(m->error->code));
            wire_free(m);
            return st;
        }
        *reply = m;
        return 0;
    }
    return gq_fail(err, GQ_ETIMEOUT, "broker not reachable at %s (no reply within %.1f s)%s",
                   c->endpoint, c->timeout_ms / 1000.0, cli_conn_timeout_hint(c));
}
