/* test_store_events.c: store_events_list(), the reader of the events log behind
 * `ganq events`: seq order, absent columns as ""/-1, the job and kind filters (alone and
 * together), paging with after_seq and limit (the `more` flag, pages that add up to the
 * whole log), limit 0 meaning 1000, long details kept whole, an unknown job answering
 * nothing, rolled-back events never showing, the log surviving a reopen, and retention
 * (store_events_prune: the newest seq numbers stay, in bounded batches, seq never reused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/helpers/tmpdir.h"

#include "storage/db/store.h"

static char dir[512];
static char path[600];

static int setup(void **state)
{
    (void)state;
    return test_tmpdir_make(dir, sizeof dir, "store-events");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(dir);
}

/* The log every test starts from (in a fresh database): seq 1..8. */
static void fill(store *s)
{
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_event(s, 100, "broker_start", NULL, -1, NULL, NULL, NULL), 0);
    assert_int_equal(store_event(s, 110, "submit", "j1", -1, NULL, "8 images in 2 tasks", NULL), 0);
    assert_int_equal(store_event(s, 120, "hello", NULL, -1, "w1", "host:1", NULL), 0);
    assert_int_equal(store_event(s, 130, "lease", "j1", 0, "w1", NULL, NULL), 0);
    assert_int_equal(store_event(s, 140, "lease", "j2", 0, "w1", NULL, NULL), 0);
    assert_int_equal(store_event(s, 150, "requeue", "j1", 0, "w1", "no heartbeat", NULL), 0);
    assert_int_equal(store_event(s, 160, "done", "j1", 0, "w2", NULL, NULL), 0);
    assert_int_equal(store_event(s, 170, "job_done", "j1", -1, NULL, NULL, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);
}

/* A new database file per test (path keeps its name for reopening). */
static store *open_fresh(void)
{
    static int k;
    snprintf(path, sizeof path, "%s/ev%d.db", dir, ++k);
    store *s;
    gq_error e;
    gq_error_clear(&e);
    if (store_open(path, &s, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    return s;
}

/* "kind,kind,..." of a result, for compact comparisons. */
static void kinds(const store_event_info *ev, size_t n, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(buf, i ? "," : "", cap - strlen(buf) - 1);
        strncat(buf, ev[i].kind, cap - strlen(buf) - 1);
    }
}

static void test_all_in_order(void **state)
{
    (void)state;
    store *s = open_fresh();
    store_event_info *ev = (store_event_info *)1;
    size_t n = 99;
    int more = 7;
    /* empty log */
    assert_int_equal(store_events_list(s, NULL, NULL, 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    store_events_list_free(ev, n);
    fill(s);
    assert_int_equal(store_events_list(s, "", "", 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 8);
    assert_int_equal(more, 0);
    char k[256];
    kinds(ev, n, k, sizeof k);
    assert_string_equal(k, "broker_start,submit,hello,lease,lease,requeue,done,job_done");
    for (size_t i = 1; i < n; i++)
        assert_true(ev[i].seq > ev[i - 1].seq);
    /* absent columns */
    assert_string_equal(ev[0].job_id, "");
    assert_int_equal(ev[0].task_id, -1);
    assert_string_equal(ev[0].worker_id, "");
    assert_string_equal(ev[0].detail, "");
    /* present ones */
    assert_int_equal(ev[1].ts_ms, 110);
    assert_string_equal(ev[1].job_id, "j1");
    assert_string_equal(ev[1].detail, "8 images in 2 tasks");
    assert_int_equal(ev[3].task_id, 0);
    assert_string_equal(ev[3].worker_id, "w1");
    assert_string_equal(ev[5].detail, "no heartbeat");
    store_events_list_free(ev, n);
    store_close(s);
}

static void test_filters(void **state)
{
    (void)state;
    store *s = open_fresh();
    fill(s);
    store_event_info *ev;
    size_t n;
    int more;
    char k[256];
    assert_int_equal(store_events_list(s, "j1", NULL, 0, 0, &ev, &n, &more, NULL), 0);
    kinds(ev, n, k, sizeof k);
    assert_string_equal(k, "submit,lease,requeue,done,job_done");
    for (size_t i = 0; i < n; i++)
        assert_string_equal(ev[i].job_id, "j1");
    store_events_list_free(ev, n);

    assert_int_equal(store_events_list(s, NULL, "lease", 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].job_id, "j1");
    assert_string_equal(ev[1].job_id, "j2");
    store_events_list_free(ev, n);

    assert_int_equal(store_events_list(s, "j2", "lease", 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].job_id, "j2");
    store_events_list_free(ev, n);

    assert_int_equal(store_events_list(s, "j2", "done", 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 0);
    store_events_list_free(ev, n);

    /* an unknown job or kind: nothing (the broker refuses those before asking) */
    assert_int_equal(store_events_list(s, "j404", NULL, 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    store_events_list_free(ev, n);
    assert_int_equal(store_events_list(s, NULL, "frobnicate", 0, 0, &ev, &n, NULL, NULL), 0);
    assert_int_equal(n, 0);
    store_events_list_free(ev, n);
    store_close(s);
}

static void test_paging(void **state)
{
    (void)state;
    store *s = open_fresh();
    fill(s);
    store_event_info *ev;
    size_t n;
    int more;
    /* job j1 two at a time: pages 2, 2, 1, the last without more */
    int64_t after = 0;
    char all[256] = "", k[256];
    int pages = 0;
    do {
        assert_int_equal(store_events_list(s, "j1", NULL, after, 2, &ev, &n, &more, NULL), 0);
        assert_true(n <= 2);
        assert_true(n > 0);
        kinds(ev, n, k, sizeof k);
        strncat(all, all[0] ? "," : "", sizeof all - strlen(all) - 1);
        strncat(all, k, sizeof all - strlen(all) - 1);
        after = ev[n - 1].seq;
        store_events_list_free(ev, n);
        pages++;
    } while (more);
    assert_int_equal(pages, 3);
    assert_string_equal(all, "submit,lease,requeue,done,job_done");

    /* exactly the rows left: no more */
    assert_int_equal(store_events_list(s, NULL, NULL, 0, 8, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 8);
    assert_int_equal(more, 0);
    int64_t last = ev[7].seq, fourth = ev[3].seq;
    store_events_list_free(ev, n);
    assert_int_equal(store_events_list(s, NULL, NULL, 0, 7, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 7);
    assert_int_equal(more, 1);
    store_events_list_free(ev, n);
    /* after the last: nothing; after the fourth: the other four */
    assert_int_equal(store_events_list(s, NULL, NULL, last, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(more, 0);
    store_events_list_free(ev, n);
    assert_int_equal(store_events_list(s, NULL, NULL, fourth, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 4);
    assert_true(ev[0].seq > fourth);
    store_events_list_free(ev, n);
    /* a kind filter pages by seq too */
    assert_int_equal(store_events_list(s, NULL, "lease", 0, 1, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(more, 1);
    after = ev[0].seq;
    store_events_list_free(ev, n);
    assert_int_equal(store_events_list(s, NULL, "lease", after, 1, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].job_id, "j2");
    assert_int_equal(more, 0);
    store_events_list_free(ev, n);
    store_close(s);
}

static void test_default_limit_and_long_detail(void **state)
{
    (void)state;
    store *s = open_fresh();
    static char big[5001];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_event(s, 1, "submit", "j9", -1, NULL, big, NULL), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(store_event(s, 2 + i, "lease", "j9", i, "w1", NULL, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);
    store_event_info *ev;
    size_t n;
    int more;
    assert_int_equal(store_events_list(s, "j9", NULL, 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 1000);   /* limit 0 = 1000 */
    assert_int_equal(more, 1);
    assert_int_equal(strlen(ev[0].detail), 5000);   /* details are not cut */
    assert_int_equal(ev[999].task_id, 998);
    store_events_list_free(ev, n);
    store_close(s);
}

static void test_rollback_and_reopen(void **state)
{
    (void)state;
    store *s = open_fresh();
    fill(s);
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_event(s, 999, "submit", "j3", -1, NULL, NULL, NULL), 0);
    store_rollback(s);
    store_close(s);
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(store_open(path, &s, &e), 0);
    store_event_info *ev;
    size_t n;
    int more;
    assert_int_equal(store_events_list(s, NULL, NULL, 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 8);   /* the committed eight, not the rolled-back one */
    assert_string_equal(ev[7].kind, "job_done");
    store_events_list_free(ev, n);
    assert_int_equal(store_events_list(s, "j3", NULL, 0, 0, &ev, &n, &more, NULL), 0);
    assert_int_equal(n, 0);
    store_events_list_free(ev, n);
    store_events_list_free(NULL, 0);
    store_close(s);
}

/* The seq numbers of the whole log, "1,2,...", after pruning. */
static void seqs(store *s, char *buf, size_t cap)
{
    store_event_info *ev;
    size_t n;
    assert_int_equal(store_events_list(s, NULL, NULL, 0, 0, &ev, &n, NULL, NULL), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%lld", i ? "," : "",
                 (long long)ev[i].seq);
    store_events_list_free(ev, n);
}

static void prune(store *s, int64_t keep, int64_t max_rows, int64_t want_deleted)
{
    int64_t d = -1;
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_events_prune(s, keep, max_rows, &d, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);
    assert_int_equal(d, want_deleted);
}

static void test_prune(void **state)
{
    (void)state;
    store *s = open_fresh();
    char buf[256];
    prune(s, 3, 100, 0);   /* empty log */
    fill(s);
    prune(s, 8, 100, 0);   /* already within keep */
    seqs(s, buf, sizeof buf);
    assert_string_equal(buf, "1,2,3,4,5,6,7,8");
    prune(s, 3, 100, 5);
    seqs(s, buf, sizeof buf);
    assert_string_equal(buf, "6,7,8");
    prune(s, 3, 100, 0);
    fill(s);               /* seq 9..16 */
    prune(s, 2, 4, 4);     /* batches of at most 4, oldest first */
    seqs(s, buf, sizeof buf);
    assert_string_equal(buf, "10,11,12,13,14,15,16");
    prune(s, 2, 4, 4);
    prune(s, 2, 4, 1);     /* fewer than max_rows: caught up */
    seqs(s, buf, sizeof buf);
    assert_string_equal(buf, "15,16");
    /* a job's history reads what is left of it */
    store_event_info *ev;
    size_t n;
    assert_int_equal(store_events_list(s, "j1", NULL, 0, 0, &ev, &n, NULL, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ev[1].kind, "job_done");
    store_events_list_free(ev, n);
    prune(s, 0, 100, 2);   /* keep 0: everything */
    seqs(s, buf, sizeof buf);
    assert_string_equal(buf, "");
    /* seq is never reused, even after the log was emptied and reopened */
    store_close(s);
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(store_open(path, &s, &e), 0);
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_event(s, 200, "broker_start", NULL, -1, NULL, NULL, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);
    seqs(s, buf, sizeof buf);
    assert_string_equal(buf, "17");
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_in_order),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_paging),
        cmocka_unit_test(test_default_limit_and_long_detail),
        cmocka_unit_test(test_rollback_and_reopen),
        cmocka_unit_test(test_prune),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
