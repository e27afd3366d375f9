/* test_curve_keys.c: units of proto/wire/curve (key-file parsing, Z85 decode against
 * libzmq's, secret -> public derivation, keygen file modes and no-overwrite) and of
 * broker/zap (an authorised CURVE client gets through a CURVE ROUTER, an unknown key does
 * not, and a key added to the directory later is admitted without a restart).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "broker/zap.h"
#include "proto/wire/curve.h"

static char *tmpdir(void)
{
    char tmpl[256];
    const char *base = getenv("GANQ_TMP");
    snprintf(tmpl, sizeof tmpl, "%s/curveXXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_parse_matches_libzmq(void **st)
{
    (void)st;
    for (int i = 0; i < 50; i++) {
        char pz[41], sz[41];
        assert_int_equal(zmq_curve_keypair(pz, sz), 0);
        uint8_t mine[32], ref[32];
        gq_error e;
        gq_error_clear(&e);
        assert_int_equal(wire_curve_key_parse(pz, 40, "k", mine, &e), 0);
        assert_non_null(zmq_z85_decode(ref, pz));
        assert_memory_equal(mine, ref, 32);
        char back[41];
        wire_curve_z85(mine, back);
        assert_string_equal(back, pz);
    }
}

static void test_parse_line_endings(void **st)
{
    (void)st;
    char pz[41], sz[41], buf[200];
    assert_int_equal(zmq_curve_keypair(pz, sz), 0);
    uint8_t a[32], b[32];
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_curve_key_parse(pz, 40, "k", a, &e), 0);
    snprintf(buf, sizeof buf, "%s\n", pz);
    assert_int_equal(wire_curve_key_parse(buf, strlen(buf), "k", b, &e), 0);
    assert_memory_equal(a, b, 32);
    snprintf(buf, sizeof buf, "%s\r\n# broker key, made 2026-12-07\n", pz);
    assert_int_equal(wire_curve_key_parse(buf, strlen(buf), "k", b, &e), 0);
    assert_memory_equal(a, b, 32);
}

static void expect_bad(const char *text, size_t n, const char *want1, const char *want2)
{
    uint8_t k[32];
    gq_error e;
    gq_error_clear(&e);
    int rc = wire_curve_key_parse(text, n, "dir/x.pub", k, &e);
    assert_int_equal(rc, GQ_EFORMAT);
    if (!strstr(e.msg, "dir/x.pub") || !strstr(e.msg, want1) || (want2 && !strstr(e.msg, want2)))
        fail_msg("message '%s' lacks the file name, '%s' or '%s'", e.msg, want1,
                 want2 ? want2 : "");
}

static void test_parse_errors(void **st)
{
    (void)st;
    char pz[41], sz[41], buf[200];
    assert_int_equal(zmq_curve_keypair(pz, sz), 0);
    expect_bad("", 0, "empty", NULL);
    expect_bad(pz, 39, "39 characters", "40");
    snprintf(buf, sizeof buf, "%sA\n", pz);
    expect_bad(buf, strlen(buf), "41 characters", NULL);
    snprintf(buf, sizeof buf, " %.39s\n", pz);
    expect_bad(buf, strlen(buf), "character 1", "Z85 alphabet");
    memcpy(buf, pz, 41);
    buf[7] = '"';
    expect_bad(buf, 40, "character 8 ('\"')", "Z85 alphabet");
    buf[7] = '~';
    expect_bad(buf, 40, "character 8", NULL);
    buf[7] = (char)0xc3;
    expect_bad(buf, 40, "byte 0xc3", NULL);
    buf[7] = '\0';
    expect_bad(buf, 40, "byte 0x00", NULL);
    /* "#####" is 85^5-1 > 2^32-1: not a valid group. */
    memcpy(buf, pz, 41);
    memcpy(buf + 10, "#####", 5);
    expect_bad(buf, 40, "characters 11..15", "2^32");
    /* A two-line file whose first line is short is still refused. */
    snprintf(buf, sizeof buf, "\n%s\n", pz);
    expect_bad(buf, strlen(buf), "0 characters", NULL);
}

static void test_load_files(void **st)
{
    (void)st;
    char *d = tmpdir();
    char path[512], pz[41], sz[41], buf[100];
    gq_error e;
    gq_error_clear(&e);
    uint8_t k[32];
    snprintf(path, sizeof path, "%s/none.pub", d);
    assert_int_equal(wire_curve_key_load(path, k, &e), GQ_ENOTFOUND);
    assert_non_null(strstr(e.msg, path));
    /* Too big to be a key file. */
    char *big = malloc(WIRE_CURVE_FILE_MAX + 10);
    assert_non_null(big);
    memset(big, 'a', WIRE_CURVE_FILE_MAX + 10);
    snprintf(path, sizeof path, "%s/big.pub", d);
    write_file(path, big, WIRE_CURVE_FILE_MAX + 10);
    free(big);
    gq_error_clear(&e);
    assert_int_equal(wire_curve_key_load(path, k, &e), GQ_EFORMAT);
    assert_non_null(strstr(e.msg, "larger than"));
    /* A secret file yields the matching public key. */
    assert_int_equal(zmq_curve_keypair(pz, sz), 0);
    snprintf(path, sizeof path, "%s/s.secret", d);
    snprintf(buf, sizeof buf, "%s\n", sz);
    write_file(path, buf, strlen(buf));
    wire_curve_pair pair;
    gq_error_clear(&e);
    assert_int_equal(wire_curve_secret_load(path, &pair, &e), 0);
    char got[41];
    wire_curve_z85(pair.pub, got);
    assert_string_equal(got, pz);
    /* A directory is not a key file. */
    gq_error_clear(&e);
    assert_true(wire_curve_key_load(d, k, &e) < 0);
    assert_non_null(strstr(e.msg, d));
    rm_rf(d);
    free(d);
}

static void test_keygen(void **st)
{
    (void)st;
    char *d = tmpdir();
    char *pub = NULL, *sec = NULL;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_curve_keygen(d, "node1", &pub, &sec, &e), 0);
    struct stat sp, ss;
    assert_int_equal(stat(pub, &sp), 0);
    assert_int_equal(stat(sec, &ss), 0);
    assert_int_equal(ss.st_mode & 0777, 0600);
    assert_int_equal(sp.st_size, 41);
    assert_int_equal(ss.st_size, 41);
    uint8_t p[32];
    wire_curve_pair pair;
    assert_int_equal(wire_curve_key_load(pub, p, &e), 0);
    assert_int_equal(wire_curve_secret_load(sec, &pair, &e), 0);
    assert_memory_equal(p, pair.pub, 32);
    /* A second run does not overwrite either file. */
    char *pub2 = NULL, *sec2 = NULL;
    gq_error_clear(&e);
    assert_int_equal(wire_curve_keygen(d, "node1", &pub2, &sec2, &e), GQ_EEXIST);
    assert_null(pub2);
    assert_non_null(strstr(e.msg, "already exists"));
    uint8_t p2[32];
    assert_int_equal(wire_curve_key_load(pub, p2, &e), 0);
    assert_memory_equal(p, p2, 32);
    free(pub);
    free(sec);
    rm_rf(d);
    free(d);
}

static void test_fingerprint(void **st)
{
    (void)st;
    uint8_t k[32] = {0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b, 1};
    char fp[17];
    wire_curve_fingerprint(k, fp);
    assert_string_equal(fp, "864fd26fb559f75b");
    char z[41];
    wire_curve_z85(k, z);
    assert_memory_equal(z, "HelloWorld", 10);   /* the Z85 spec's test vector */
}

/* ---- ZAP over real sockets (inproc, one context) ---- */

/* Send "ping" from a CURVE DEALER with keys cli to srv; 1 if srv got it within ms. */
static int try_client(void *ctx, const char *ep, const wire_curve_client *cli, void *srv, int ms)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(d);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(wire_curve_client_setup(d, cli, &e), 0);
    assert_int_equal(zmq_connect(d, ep), 0);
    zmq_send(d, "ping", 4, ZMQ_DONTWAIT);
    int got = 0;
    zmq_pollitem_t it = {srv, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) > 0) {
        char buf[64];
        while (zmq_recv(srv, buf, sizeof buf, ZMQ_DONTWAIT) >= 0)
            got = 1;
    }
    zmq_close(d);
    return got;
}

static void keyfile(const char *dir, const char *name, const uint8_t *pub)
{
    char path[512], z[41], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    wire_curve_z85(pub, z);
    snprintf(buf, sizeof buf, "%s\n", z);
    write_file(path, buf, strlen(buf));
}

static void gen_pair(wire_curve_pair *p)
{
    char pz[41], sz[41];
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(zmq_curve_keypair(pz, sz), 0);
    assert_int_equal(wire_curve_key_parse(pz, 40, "p", p->pub, &e), 0);
    assert_int_equal(wire_curve_key_parse(sz, 40, "s", p->sec, &e), 0);
}

static void test_zap_admits_listed_keys(void **st)
{
    (void)st;
    char *d = tmpdir();
    wire_curve_pair server, good, other;
    gen_pair(&server);
    gen_pair(&good);
    gen_pair(&other);
    keyfile(d, "good.pub", good.pub);
    keyfile(d, "other.txt", other.pub);        /* not *.pub: ignored */
    char broken[600];
    snprintf(broken, sizeof broken, "%s/broken.pub", d);
    write_file(broken, "short\n", 6);   /* does not parse: skipped */
    void *ctx = zmq_ctx_new();
    broker_zap *z;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(broker_zap_start(ctx, d, &z, &e), 0);
    assert_int_equal(broker_zap_nkeys(z), 1);
    void *srv = zmq_socket(ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(srv, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(wire_curve_server_setup(srv, server.sec, &e), 0);
    /* Loopback TCP on a free port, as a deployment would use (not a fixed port). */
    assert_int_equal(zmq_bind(srv, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t epl = sizeof ep;
    assert_int_equal(zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &epl), 0);

    wire_curve_client cg = {.self = good}, co = {.self = other}, wrong = {.self = good};
    memcpy(cg.server_pub, server.pub, 32);
    memcpy(co.server_pub, server.pub, 32);
    memcpy(wrong.server_pub, other.pub, 32);   /* wrong broker key */
    assert_true(try_client(ctx, ep, &cg, srv, 3000));
    assert_false(try_client(ctx, ep, &co, srv, 500));
    assert_false(try_client(ctx, ep, &wrong, srv, 500));
    /* Authorise the other key: seen without restarting the handler. */
    sleep(1);
    keyfile(d, "other.pub", other.pub);
    assert_true(try_client(ctx, ep, &co, srv, 3000));
    assert_int_equal(broker_zap_nkeys(z), 2);

    zmq_close(srv);
    broker_zap_stop(z);
    zmq_ctx_term(ctx);
    rm_rf(d);
    free(d);
}

static void test_zap_bad_dir(void **st)
{
    (void)st;
    void *ctx = zmq_ctx_new();
    broker_zap *z = NULL;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(broker_zap_start(ctx, "/nonexistent/ganq-keys", &z, &e), GQ_ENOTFOUND);
    assert_null(z);
    assert_non_null(strstr(e.msg, "/nonexistent/ganq-keys"));
    broker_zap_stop(NULL);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_matches_libzmq),
        cmocka_unit_test(test_parse_line_endings),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_load_files),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_zap_admits_listed_keys),
        cmocka_unit_test(test_zap_bad_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
