/* test_model_json.c: the strict JSON parser behind safetensors headers and ganq metadata:
 * values of every type, escapes and UTF-8, and rejection of everything RFC 8259 forbids
 * (plus duplicate keys, \u0000, depth > JSON_MAX_DEPTH). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/engine/model/json.h"

static json_value *ok(const char *s)
{
    json_value *v = NULL;
    gq_error err;
    gq_error_clear(&err);
    int rc = json_parse(s, strlen(s), &v, &err);
    if (rc) fail_msg("'%s' rejected: %s", s, err.msg);
    return v;
}

static void bad(const char *s)
{
    json_value *v = (json_value *)1;
    gq_error err;
    gq_error_clear(&err);
    int rc = json_parse(s, strlen(s), &v, &err);
    if (rc != GQ_EFORMAT) fail_msg("'%s' accepted (rc %d)", s, rc);
    assert_null(v);
    assert_non_null(strstr(err.msg, "json: "));
    assert_non_null(strstr(err.msg, "at byte"));
}

static void test_values(void **state)
{
    (void)state;
    json_value *v = ok(" {\"a\": [1, -2.5e3, 0, true, false, null, \"x\"], \"b\": {}, \"c\": [] } ");
    assert_int_equal(v->type, JSON_OBJECT);
    assert_int_equal(v->len, 3);
    const json_value *a = json_get(v, "a");
    assert_non_null(a);
    assert_int_equal(a->type, JSON_ARRAY);
    assert_int_equal(a->len, 7);
    assert_true(a->items[0].is_int && a->items[0].i64 == 1);
    assert_true(!a->items[1].is_int && a->items[1].num == -2500.0);
    assert_true(a->items[3].type == JSON_BOOL && a->items[3].boolean);
    assert_true(a->items[5].type == JSON_NULL);
    assert_string_equal(a->items[6].str, "x");
    assert_int_equal(json_get(v, "b")->type, JSON_OBJECT);
    assert_null(json_get(v, "zz"));
    assert_null(json_get(a, "a"));
    json_free(v);
    v = ok("\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac\\ud83d\\ude00\"");
    assert_string_equal(v->str, "q\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    json_free(v);
    v = ok("9223372036854775807");
    assert_true(v->is_int && v->i64 == INT64_MAX);
    json_free(v);
    v = ok("92233720368547758070");     /* too big for int64: a double, not an int */
    assert_false(v->is_int);
    json_free(v);
    char deep[2 * JSON_MAX_DEPTH + 1];
    memset(deep, '[', JSON_MAX_DEPTH);
    memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
    deep[2 * JSON_MAX_DEPTH] = 0;
    json_free(ok(deep));
}

static void test_rejects(void **state)
{
    (void)state;
    const char *cases[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "{'a':1}",
        "01", "1.", ".5", "-", "1e", "+1", "0x10", "NaN", "Infinity", "-Infinity", "tru", "nul",
        "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"\\u0000\"", "\"a\tb\"", "{\"a\":1,\"a\":2}", "[1] [2]", "1 2", "[\"a\":1]", "/*c*/1",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) bad(cases[i]);
    char deep[2 * JSON_MAX_DEPTH + 5];
    memset(deep, '[', JSON_MAX_DEPTH + 2);
    memset(deep + JSON_MAX_DEPTH + 2, ']', JSON_MAX_DEPTH + 2);
    deep[2 * JSON_MAX_DEPTH + 4] = 0;
    bad(deep);
    /* not NUL-terminated: the parser never reads past len */
    char buf[4] = { '[', '1', ']', 'x' };
    json_value *v;
    assert_int_equal(json_parse(buf, 3, &v, NULL), 0);
    json_free(v);
    assert_int_equal(json_parse(buf, 2, &v, NULL), GQ_EFORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
