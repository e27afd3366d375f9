/* curve.c: CURVE key files and socket options (see curve.h).
 *
 * Z85 is decoded here rather than with zmq_z85_decode so that every bad key gets a message
 * saying what is wrong (a character outside the alphabet, a 5-character group whose value
 * exceeds 2^32-1) instead of a bare NULL.
 */
#include "proto/wire/curve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

static int z85_value(char ch)
{
    if (!ch)
        return -1;
    const char *p = strchr(z85_chars, ch);
    return p ? (int)(p - z85_chars) : -1;
}

int wire_curve_key_parse(const char *text, size_t len, const char *name,
                         uint8_t key[WIRE_CURVE_KEY_LEN], gq_error *err)
{
    if (!name)
        name = "key";
    size_t n = 0;
    while (n < len && text[n] != '\n')
        n++;
    size_t line = n;
    if (line > 0 && text[line - 1] == '\r')
        line--;
    if (len == 0)
        return gq_fail(err, GQ_EFORMAT, "%s: empty file; expected a 40-character Z85 CURVE "
                       "key on the first line", name);
    if (line != WIRE_CURVE_Z85_LEN)
        return gq_fail(err, GQ_EFORMAT, "%s: first line has %zu characters; a Z85 CURVE key "
                       "has %d", name, line, WIRE_CURVE_Z85_LEN);
    for (size_t g = 0; g < WIRE_CURVE_Z85_LEN / 5; g++) {
        uint64_t v = 0;
        for (size_t i = 0; i < 5; i++) {
            char ch = text[g * 5 + i];
            int d = z85_value(ch);
            if (d < 0) {
                if (ch >= 0x21 && ch < 0x7f)
                    return gq_fail(err, GQ_EFORMAT, "%s: character %zu ('%c') is not in the "
                                   "Z85 alphabet", name, g * 5 + i + 1, ch);
                return gq_fail(err, GQ_EFORMAT, "%s: character %zu (byte 0x%02x) is not in "
                               "the Z85 alphabet", name, g * 5 + i + 1, (unsigned char)ch);
            }
            v = v * 85 + (uint64_t)d;
        }
        if (v > 0xffffffffu)
            return gq_fail(err, GQ_EFORMAT, "%s: characters %zu..%zu are not valid Z85 (value "
                           "above 2^32-1)", name, g * 5 + 1, g * 5 + 5);
        key[g * 4 + 0] = (uint8_t)(v >> 24);
        key[g * 4 + 1] = (uint8_t)(v >> 16);
        key[g * 4 + 2] = (uint8_t)(v >> 8);
        key[g * 4 + 3] = (uint8_t)v;
    }
    return GQ_OK;
}

int wire_curve_key_load(const char *path, uint8_t key[WIRE_CURVE_KEY_LEN], gq_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gq_fail(err, errno == ENOENT ? GQ_ENOTFOUND : GQ_EIO, "%s: cannot open key "
                       "file: %s", path, strerror(errno));
    char buf[WIRE_CURVE_FILE_MAX + 1];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return gq_fail(err, GQ_EIO, "%s: cannot read key file: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof buf)
            break;
    }
    close(fd);
    if (n > WIRE_CURVE_FILE_MAX)
        return gq_fail(err, GQ_EFORMAT, "%s: larger than %d bytes; not a key file", path,
                       WIRE_CURVE_FILE_MAX);
    return wire_curve_key_parse(buf, n, path, key, err);
}

int wire_curve_secret_load(const char *path, wire_curve_pair *out, gq_error *err)
{
    int rc = wire_curve_key_load(path, out->sec, err);
    if (rc)
        return rc;
    char sz[WIRE_CURVE_Z85_LEN + 1], pz[WIRE_CURVE_Z85_LEN + 1];
    wire_curve_z85(out->sec, sz);
    if (zmq_curve_public(pz, sz) != 0) {
        memset(sz, 0, sizeof sz);
        return gq_fail(err, GQ_EUNSUPPORTED, "%s: cannot derive the public key: %s (is "
                       "libzmq built with CURVE?)", path, zmq_strerror(zmq_errno()));
    }
    memset(sz, 0, sizeof sz);
    return wire_curve_key_parse(pz, WIRE_CURVE_Z85_LEN, path, out->pub, err);
}

int wire_curve_client_load(const char *broker_key_path, const char *secret_path,
                           wire_curve_client *out, gq_error *err)
{
    int rc = wire_curve_key_load(broker_key_path, out->server_pub, err);
    if (rc)
        return rc;
    return wire_curve_secret_load(secret_path, &out->self, err);
}

void wire_curve_z85(const uint8_t key[WIRE_CURVE_KEY_LEN], char out[WIRE_CURVE_Z85_LEN + 1])
{
    for (size_t g = 0; g < WIRE_CURVE_KEY_LEN / 4; g++) {
        uint32_t v = (uint32_t)key[g * 4] << 24 | (uint32_t)key[g * 4 + 1] << 16 |
                     (uint32_t)key[g * 4 + 2] << 8 | key[g * 4 + 3];
        for (int i = 4; i >= 0; i--) {
            out[g * 5 + (size_t)i] = z85_chars[v % 85];
            v /= 85;
        }
    }
    out[WIRE_CURVE_Z85_LEN] = '\0';
}

void wire_curve_fingerprint(const uint8_t key[WIRE_CURVE_KEY_LEN], char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", key[i]);
}

static int setopt(void *sock, int opt, const void *v, size_t n, const char *what,
                  gq_error *err)
{
    if (zmq_setsockopt(sock, opt, v, n) != 0)
        return gq_fail(err, GQ_ENET, "curve: cannot set %s: %s", what,
                       zmq_strerror(zmq_errno()));
    return GQ_OK;
}

int wire_curve_server_setup(void *sock, const uint8_t sec[WIRE_CURVE_KEY_LEN], gq_error *err)
{
    if (!zmq_has("curve"))
        return gq_fail(err, GQ_EUNSUPPORTED, "curve: this libzmq has no CURVE support");
    int one = 1;
    int rc = setopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one, "ZMQ_CURVE_SERVER", err);
    if (rc == 0)
        rc = setopt(sock, ZMQ_CURVE_SECRETKEY, sec, WIRE_CURVE_KEY_LEN, "ZMQ_CURVE_SECRETKEY",
                    err);
    return rc;
}

int wire_curve_client_setup(void *sock, const wire_curve_client *c, gq_error *err)
{
    if (!zmq_has("curve"))
        return gq_fail(err, GQ_EUNSUPPORTED, "curve: this libzmq has no CURVE support");
    int rc = setopt(sock, ZMQ_CURVE_SERVERKEY, c->server_pub, WIRE_CURVE_KEY_LEN,
                    "ZMQ_CURVE_SERVERKEY", err);
    if (rc == 0)
        rc = setopt(sock, ZMQ_CURVE_PUBLICKEY, c->self.pub, WIRE_CURVE_KEY_LEN,
                    "ZMQ_CURVE_PUBLICKEY", err);
    if (rc == 0)
        rc = setopt(sock, ZMQ_CURVE_SECRETKEY, c->self.sec, WIRE_CURVE_KEY_LEN,
                    "ZMQ_CURVE_SECRETKEY", err);
    return rc;
}

static char *join(const char *dir, const char *name, const char *ext)
{
    size_t n = strlen(dir) + strlen(name) + strlen(ext) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, ext);
    return p;
}

/* Write text to a new file (O_EXCL) with mode; on failure the file is removed. */
static int write_new(const char *path, const char *text, mode_t mode, gq_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return gq_fail(err, errno == EEXIST ? GQ_EEXIST : GQ_EIO, "%s: cannot create: %s%s",
                       path, strerror(errno), errno == EEXIST ? " (not overwritten)" : "");
    size_t len = strlen(text);
    int ok = fchmod(fd, mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        unlink(path);
        return gq_fail(err, GQ_EIO, "%s: cannot write: %s", path, strerror(e));
    }
    return GQ_OK;
}

int wire_curve_keygen(const char *dir, const char *name, char **pub_path, char **sec_path,
                      gq_error *err)
{
    if (pub_path)
        *pub_path = NULL;
    if (sec_path)
        *sec_path = NULL;
    if (!zmq_has("curve"))
        return gq_fail(err, GQ_EUNSUPPORTED, "keygen: this libzmq has no CURVE support");
    char pz[WIRE_CURVE_Z85_LEN + 2], sz[WIRE_CURVE_Z85_LEN + 2];
    if (zmq_curve_keypair(pz, sz) != 0)
        return gq_fail(err, GQ_EUNSUPPORTED, "keygen: zmq_curve_keypair: %s",
                       zmq_strerror(zmq_errno()));
    strcat(pz, "\n");
    strcat(sz, "\n");
    char *pp = join(dir, name, ".pub"), *sp = join(dir, name, ".secret");
    int rc = GQ_OK;
    if (!pp || !sp) {
        rc = gq_fail(err, GQ_ENOMEM, "keygen: out of memory");
        goto out;
    }
    struct stat st;
    if (stat(pp, &st) == 0) {   /* check both before writing either */
        rc = gq_fail(err, GQ_EEXIST, "%s: already exists (not overwritten)", pp);
        goto out;
    }
    if ((rc = write_new(sp, sz, 0600, err)) < 0)
        goto out;
    if ((rc = write_new(pp, pz, 0644, err)) < 0) {
        unlink(sp);
        goto out;
    }
out:
    memset(sz, 0, sizeof sz);
    if (rc == GQ_OK && pub_path) {
        *pub_path = pp;
        pp = NULL;
    }
    if (rc == GQ_OK && sec_path) {
        *sec_path = sp;
        sp = NULL;
    }
    free(pp);
    free(sp);
    return rc;
}
