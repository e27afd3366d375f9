/* test_broker_classes.c: class expressions ("0-9", "3,7", names, "all") -> class ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "broker/classes.h"

static const char *const names[] = {"goldfish", "great white shark", "tiger_shark", "hen", "ostrich"};

static void expect(const char *expr, const int32_t *want, size_t n)
{
    int32_t *ids = NULL;
    size_t k = 0;
    gq_error e;
    gq_error_clear(&e);
    int rc = broker_resolve_classes(expr, names, 5, "classes", &ids, &k, &e);
    if (rc != 0)
        fail_msg("%s: %s", expr, e.msg);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ids[i], want[i]);
    free(ids);
}

static void expect_fail(const char *expr, int code, const char *needle)
{
    int32_t *ids = (int32_t *)1;
    size_t k = 9;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(broker_resolve_classes(expr, names, 5, "classes", &ids, &k, &e), code);
    assert_null(ids);
    assert_int_equal(k, 0);
    if (!strstr(e.msg, needle))
        fail_msg("%s: message \"%s\" lacks \"%s\"", expr, e.msg, needle);
}

static void test_forms(void **state)
{
    (void)state;
    expect("all", (int32_t[]){0, 1, 2, 3, 4}, 5);
    expect("0-2", (int32_t[]){0, 1, 2}, 3);
    expect("3,1", (int32_t[]){3, 1}, 2);
    expect(" 4 , 0-1 ", (int32_t[]){4, 0, 1}, 3);
    expect("goldfish,hen", (int32_t[]){0, 3}, 2);
    expect("tiger shark", (int32_t[]){2}, 1);
    expect("Great_White_Shark", (int32_t[]){1}, 1);
    expect("2,2", (int32_t[]){2, 2}, 2);
}

static void test_errors(void **state)
{
    (void)state;
    expect_fail("5", GQ_EINVAL, "outside 0..4");
    expect_fail("3-1", GQ_EINVAL, "ascending");
    expect_fail("0-9", GQ_EINVAL, "0..4");
    expect_fail("zebra", GQ_ENOTFOUND, "zebra");
    expect_fail("1,,2", GQ_EINVAL, "empty");
    expect_fail("", GQ_EINVAL, "empty");
    expect_fail("-1", GQ_ENOTFOUND, "-1");
    expect_fail("99999999999999", GQ_ENOTFOUND, "not a class");
    int32_t id;
    assert_int_equal(broker_resolve_class("hen", names, 5, "class_a_name", &id, NULL), 0);
    assert_int_equal(id, 3);
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(broker_resolve_class("0,1", names, 5, "class_a_name", &id, &e), GQ_EINVAL);
    assert_non_null(strstr(e.msg, "class_a_name"));
    assert_int_equal(broker_resolve_class("all", names, 5, "class_b_name", &id, NULL), GQ_EINVAL);
    /* ids only, no names */
    int32_t *ids;
    size_t k;
    assert_int_equal(broker_resolve_classes("1-3", NULL, 10, "classes", &ids, &k, NULL), 0);
    assert_int_equal(k, 3);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
