/* zap.c: ZAP handler thread for the broker's CURVE sockets (see zap.h).
 *
 * Request (RFC 27): version "1.0", request id, domain, address, routing id, mechanism, then
 * for CURVE one credential frame, the client's 32-byte public key. Reply: version, request
 * id, status code ("200" admit, "400" refuse, "500" internal), status text, user id,
 * metadata. The key list is touched only by the handler thread, except nkeys (atomic).
 */
#include "broker/zap.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "proto/base/gq_log.h"
#include "proto/base/gq_time.h"
#include "proto/wire/curve.h"

#define ZAP_MAX_FRAMES 16
#define ZAP_RECENT 16

typedef struct zap_recent {
    uint8_t key[WIRE_CURVE_KEY_LEN];
    int64_t logged_ms;
} zap_recent;

struct broker_zap {
    void      *sock;        /* REP on inproc://zeromq.zap.01, used by the thread only */
    char      *dir;
    pthread_t  thread;
    int        started;
    atomic_int stop;
    atomic_int nkeys_pub;
    uint8_t  (*keys)[WIRE_CURVE_KEY_LEN];
    size_t     nkeys;
    struct timespec dir_mtime;
    int64_t    scanned_ms;  /* monotonic time of the last scan */
    zap_recent recent[ZAP_RECENT];  /* refused keys recently logged */
};

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

/* Re-read dir. On failure the old key list is kept. */
static int scan(broker_zap *z, gq_error *err)
{
    z->scanned_ms = gq_mono_ms();
    struct stat st;
    if (stat(z->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return gq_fail(err, errno == ENOENT ? GQ_ENOTFOUND : GQ_EIO,
                       "authorized-keys: %s is not a readable directory%s%s", z->dir,
                       errno ? ": " : "", errno ? strerror(errno) : "");
    DIR *d = opendir(z->dir);
    if (!d)
        return gq_fail(err, GQ_EIO, "authorized-keys: cannot read %s: %s", z->dir,
                       strerror(errno));
    uint8_t (*keys)[WIRE_CURVE_KEY_LEN] = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = GQ_OK;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".pub"))
            continue;
        size_t plen = strlen(z->dir) + strlen(e->d_name) + 2;
        char *path = malloc(plen);
        if (!path) {
            rc = gq_fail(err, GQ_ENOMEM, "authorized-keys: out of memory");
            break;
        }
        snprintf(path, plen, "%s/%s", z->dir, e->d_name);
        uint8_t k[WIRE_CURVE_KEY_LEN];
        gq_error ke;
        gq_error_clear(&ke);
        int r = wire_curve_key_load(path, k, &ke);
        free(path);
        if (r < 0) {
            gq_warn("authorized-keys: skipped: %s", ke.msg);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            void *nk = realloc(keys, nc * sizeof *keys);
            if (!nk) {
                rc = gq_fail(err, GQ_ENOMEM, "authorized-keys: out of memory");
                break;
            }
            keys = nk;
            cap = nc;
        }
        memcpy(keys[n++], k, WIRE_CURVE_KEY_LEN);
    }
    closedir(d);
    if (rc < 0) {
        free(keys);
        return rc;
    }
    int changed = n != z->nkeys;
    free(z->keys);
    z->keys = keys;
    z->nkeys = n;
    z->dir_mtime = st.st_mtim;
    atomic_store(&z->nkeys_pub, (int)n);
    if (changed)
        gq_info("authorized-keys: %zu key(s) in %s", n, z->dir);
    return GQ_OK;
}

static int known(const broker_zap *z, const uint8_t *key)
{
    for (size_t i = 0; i < z->nkeys; i++)
        if (memcmp(z->keys[i], key, WIRE_CURVE_KEY_LEN) == 0)
            return 1;
    return 0;
}

/* 1 if the directory changed since the last scan. */
static int dir_changed(const broker_zap *z)
{
    struct stat st;
    if (stat(z->dir, &st) != 0)
        return 0;   /* gone: keep the keys we have */
    return st.st_mtim.tv_sec != z->dir_mtime.tv_sec || st.st_mtim.tv_nsec != z->dir_mtime.tv_nsec;
}

static int admit(broker_zap *z, const uint8_t *key)
{
    gq_error e;
    gq_error_clear(&e);
    if (dir_changed(z) && scan(z, &e) < 0)
        gq_warn("%s (keeping the %zu key(s) read before)", e.msg, z->nkeys);
    if (known(z, key))
        return 1;
    if (gq_mono_ms() - z->scanned_ms >= 1000) {   /* an edit within the same mtime tick */
        gq_error_clear(&e);
        if (scan(z, &e) < 0)
            gq_warn("%s (keeping the %zu key(s) read before)", e.msg, z->nkeys);
        return known(z, key);
    }
    return 0;
}

/* 1 if this refusal should be logged (not logged for this key in the last 10 s). */
static int should_log(broker_zap *z, const uint8_t *key)
{
    int64_t now = gq_mono_ms();
    size_t oldest = 0;
    for (size_t i = 0; i < ZAP_RECENT; i++) {
        if (z->recent[i].logged_ms && memcmp(z->recent[i].key, key, WIRE_CURVE_KEY_LEN) == 0) {
            if (now - z->recent[i].logged_ms < 10000)
                return 0;
            z->recent[i].logged_ms = now;
            return 1;
        }
        if (z->recent[i].logged_ms < z->recent[oldest].logged_ms)
            oldest = i;
    }
    memcpy(z->recent[oldest].key, key, WIRE_CURVE_KEY_LEN);
    z->recent[oldest].logged_ms = now;
    return 1;
}

static void send_str(void *sock, const char *s, size_t n, int more)
{
    if (zmq_send(sock, s, n, more ? ZMQ_SNDMORE : 0) < 0)
        gq_warn("zap: reply send failed: %s", zmq_strerror(zmq_errno()));
}

static void handle(broker_zap *z)
{
    zmq_msg_t f[ZAP_MAX_FRAMES];
    int nf = 0, more = 1, extra = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, z->sock, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (nf < ZAP_MAX_FRAMES)
            f[nf++] = m;
        else {
            extra = 1;
            zmq_msg_close(&m);
        }
    }
    /* A REP socket must answer every request; an unparseable one gets 500. */
    const char *code = "500", *text = "malformed ZAP request";
    char req_id[256] = "";
    size_t req_len = 0;
    if (nf >= 2) {
        req_len = zmq_msg_size(&f[1]) < sizeof req_id ? zmq_msg_size(&f[1]) : sizeof req_id;
        memcpy(req_id, zmq_msg_data(&f[1]), req_len);
    }
    if (nf >= 6 && !extra && zmq_msg_size(&f[0]) == 3 && !memcmp(zmq_msg_data(&f[0]), "1.0", 3)) {
        char addr[128] = "?";
        size_t al = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        if (al) {
            memcpy(addr, zmq_msg_data(&f[3]), al);
            addr[al] = '\0';
        }
        int is_curve = zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5);
        if (!is_curve || nf != 7 || zmq_msg_size(&f[6]) != WIRE_CURVE_KEY_LEN) {
            code = "400";
            text = "only CURVE is accepted";
            gq_warn("zap: refused a non-CURVE connection from %s", addr);
        } else {
            const uint8_t *key = zmq_msg_data(&f[6]);
            if (admit(z, key)) {
                code = "200";
                text = "OK";
                char fp[17];
                wire_curve_fingerprint(key, fp);
                gq_debug("zap: admitted key %s from %s", fp, addr);
            } else {
                code = "400";
                text = "key not authorized";
                if (should_log(z, key)) {
                    char fp[17], zk[WIRE_CURVE_Z85_LEN + 1];
                    wire_curve_fingerprint(key, fp);
                    wire_curve_z85(key, zk);
                    gq_warn("zap: refused CURVE key %s (fingerprint %s) from %s: not in %s",
                            zk, fp, addr, z->dir);
                }
            }
        }
    }
    send_str(z->sock, "1.0", 3, 1);
    send_str(z->sock, req_id, req_len, 1);
    send_str(z->sock, code, 3, 1);
    send_str(z->sock, text, strlen(text), 1);
    send_str(z->sock, "", 0, 1);
    send_str(z->sock, "", 0, 0);
    for (int i = 0; i < nf; i++)
        zmq_msg_close(&f[i]);
}

static void *zap_main(void *arg)
{
    broker_zap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {z->sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 100);
        if (n < 0) {
            if (zmq_errno() == ETERM)
                break;
            continue;
        }
        if (n > 0)
            handle(z);
    }
    int linger = 0;
    zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(z->sock);
    z->sock = NULL;
    return NULL;
}

int broker_zap_start(void *zmq_ctx, const char *dir, broker_zap **out, gq_error *err)
{
    *out = NULL;
    broker_zap *z = calloc(1, sizeof *z);
    if (!z || !(z->dir = strdup(dir))) {
        free(z);
        return gq_fail(err, GQ_ENOMEM, "authorized-keys: out of memory");
    }
    int rc = scan(z, err);
    if (rc < 0)
        goto fail;
    if (z->nkeys == 0)
        gq_warn("authorized-keys: no *.pub keys in %s yet; every client is refused until "
                "one is added", dir);
    z->sock = zmq_socket(zmq_ctx, ZMQ_REP);
    if (!z->sock) {
        rc = gq_fail(err, GQ_ENET, "zap: zmq_socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0) {
        rc = gq_fail(err, GQ_ENET, "zap: bind inproc://zeromq.zap.01: %s",
                     zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&z->thread, NULL, zap_main, z) != 0) {
        rc = gq_fail(err, GQ_ENOMEM, "zap: cannot start the handler thread");
        goto fail;
    }
    z->started = 1;
    *out = z;
    return GQ_OK;
fail:
    if (z->sock)
        zmq_close(z->sock);
    free(z->keys);
    free(z->dir);
    free(z);
    return rc;
}

void broker_zap_stop(broker_zap *z)
{
    if (!z)
        return;
    if (z->started) {
        atomic_store(&z->stop, 1);
        pthread_join(z->thread, NULL);
    }
    free(z->keys);
    free(z->dir);
    free(z);
}

int broker_zap_nkeys(broker_zap *z) { return atomic_load(&z->nkeys_pub); }
