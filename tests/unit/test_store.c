/* test_store.c: the SQLite store: migrations, refusing a newer schema, the one-broker lock,
 * job/task round trips, attempt counting, illegal transitions refused without writing, and
 * crash safety of a turn's transaction (a child process dies mid-transaction or after
 * COMMIT; the parent reopens and sees nothing or everything). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/helpers/tmpdir.h"
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/db/store.h"

static char dir[512];

static void db_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static int setup(void **state)
{
    (void)state;
    return test_tmpdir_make(dir, sizeof dir, "store");
}

static int teardown(void **state)
{
    (void)state;
    return test_tmpdir_remove(dir);
}

static void add_job(store *s, const char *spec, uint32_t ntasks, uint32_t max_attempts,
                    char id[STORE_ID_MAX])
{
    store_job j;
    memset(&j, 0, sizeof j);
    j.spec = (uint8_t *)spec;
    j.spec_len = strlen(spec);
    snprintf(j.model, sizeof j.model, "testcard");
    snprintf(j.owner, sizeof j.owner, "alice");
    j.total = ntasks * 10;
    j.tasks_total = ntasks;
    j.max_attempts = max_attempts;
    j.created_ms = 1234;
    assert_int_equal(store_job_insert(s, &j, NULL), 0);
    for (uint32_t k = 0; k < ntasks; k++)
        assert_int_equal(store_task_insert(s, j.id, k, k * 10, k * 10 + 10, NULL), 0);
    snprintf(id, STORE_ID_MAX, "%s", j.id);
}

static void test_migrate_and_reopen(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "m.db");
    store *s;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(store_open(p, &s, &e), 0);
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    char id[STORE_ID_MAX];
    assert_int_equal(store_begin(s, NULL), 0);
    add_job(s, "spec-bytes", 2, 3, id);
    assert_int_equal(store_commit(s, NULL), 0);
    store_close(s);
    assert_int_equal(store_open(p, &s, &e), 0);   /* migration is idempotent */
    assert_int_equal(store_schema_version(s), STORE_SCHEMA_VERSION);
    store_job j;
    assert_int_equal(store_job_get(s, id, &j, NULL), 0);
    assert_int_equal(j.spec_len, 10);
    assert_memory_equal(j.spec, "spec-bytes", 10);
    assert_int_equal(j.state, STORE_JOB_QUEUED);
    assert_int_equal(j.tasks_total, 2);
    assert_string_equal(j.owner, "alice");
    store_job_release(&j);
    /* the journal mode is WAL */
    store_close(s);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static int has_index(const char *p, const char *name)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE type ="
                                        " 'index' AND name = ?1", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* A version-1 database (as the first release wrote it) is upgraded in place, data kept. */
static void test_migrate_v1_to_v2(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "v1.db");
    store *s;
    assert_int_equal(store_open(p, &s, NULL), 0);
    char id[STORE_ID_MAX];
    assert_int_equal(store_begin(s, NULL), 0);
    add_job(s, "old", 3, 3, id);
    assert_int_equal(store_commit(s, NULL), 0);
    store_close(s);
    sqlite3 *db;   /* turn it back into exactly what schema 1 was */
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP INDEX tasks_job_state_id;"
                                  "CREATE INDEX tasks_job_state ON tasks(job_id, state);"
                                  "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(has_index(p, "tasks_job_state"), 1);
    assert_int_equal(store_open(p, &s, NULL), 0);
    assert_int_equal(store_schema_version(s), 2);
    store_job_counts c;
    assert_int_equal(store_job_counts_get(s, id, &c, NULL), 0);
    assert_int_equal(c.pending, 3);
    store_close(s);
    assert_int_equal(has_index(p, "tasks_job_state"), 0);
    assert_int_equal(has_index(p, "tasks_job_state_id"), 1);
}

static void test_refuse_newer_schema(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "newer.db");
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE x(a); PRAGMA user_version = 99", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    store *s = (store *)1;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(store_open(p, &s, &e), GQ_EVERSION);
    assert_null(s);
    assert_non_null(strstr(e.msg, "99"));
    assert_non_null(strstr(e.msg, "newer"));
    /* not a database at all */
    db_path(p, sizeof p, "junk.db");
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("this is not an SQLite file, not at all, it is text.............................", f);
    fclose(f);
    gq_error_clear(&e);
    assert_int_equal(store_open(p, &s, &e), GQ_EDB);
    assert_non_null(strstr(e.msg, "database"));
}

static void test_one_broker_lock(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "lock.db");
    store *a, *b;
    gq_error e;
    gq_error_clear(&e);
    assert_int_equal(store_open(p, &a, NULL), 0);
    assert_int_equal(store_open(p, &b, &e), GQ_EBUSY);
    assert_non_null(strstr(e.msg, "in use"));
    store_close(a);
    assert_int_equal(store_open(p, &b, NULL), 0);   /* released on close */
    store_close(b);
}

static void test_tasks_attempts_transitions(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "tasks.db");
    store *s;
    assert_int_equal(store_open(p, &s, NULL), 0);
    char id[STORE_ID_MAX];
    assert_int_equal(store_begin(s, NULL), 0);
    add_job(s, "x", 3, 2, id);
    gq_error e;
    gq_error_clear(&e);
    /* illegal: queued -> done, refused and nothing written */
    assert_int_equal(store_job_set_state(s, id, STORE_JOB_DONE, NULL, 5, &e), GQ_ESTATE);
    assert_non_null(strstr(e.msg, "queued -> done"));
    assert_int_equal(store_job_set_state(s, id, STORE_JOB_RUNNING, NULL, 50, NULL), 0);
    /* lease, requeue, lease: attempts are counted in the row */
    store_task t;
    int all = 1;
    assert_int_equal(store_job_all_done(s, id, &all, NULL), 0);
    assert_false(all);
    assert_int_equal(store_task_next_pending(s, id, "", &t, NULL), 0);
    assert_int_equal(t.task_id, 0);
    assert_int_equal(store_task_lease(s, id, 0, "w1", 1000, NULL), 0);
    assert_int_equal(store_task_lease(s, id, 0, "w2", 1000, NULL), GQ_ESTATE);  /* leased */
    assert_int_equal(store_task_set_state(s, id, 0, STORE_TASK_PENDING, "w1 died", NULL), 0);
    /* w1 ran task 0 last: prefer task 1 for w1, task 0 for others */
    assert_int_equal(store_task_next_pending(s, id, "w1", &t, NULL), 0);
    assert_int_equal(t.task_id, 1);
    assert_int_equal(store_task_next_pending(s, id, "w2", &t, NULL), 0);
    assert_int_equal(t.task_id, 0);
    assert_int_equal(store_task_lease(s, id, 0, "w2", 2000, NULL), 0);
    assert_int_equal(store_task_get(s, id, 0, &t, NULL), 0);
    assert_int_equal(t.attempts, 2);
    assert_int_equal(t.state, STORE_TASK_LEASED);
    assert_string_equal(t.worker_id, "w2");
    assert_string_equal(t.reason, "w1 died");
    assert_int_equal(store_task_touch(s, id, 0, "w2", 3000, 7, NULL), 0);
    store_job_counts c;
    assert_int_equal(store_job_counts_get(s, id, &c, NULL), 0);
    assert_int_equal(c.leased, 1);
    assert_int_equal(c.pending, 2);
    assert_int_equal(c.images_done, 7);
    /* queries */
    store_task *ts;
    size_t n;
    assert_int_equal(store_tasks_query(s, STORE_TASKS_EXPIRED, NULL, 3001, &ts, &n, NULL), 0);
    assert_int_equal(n, 1);
    free(ts);
    assert_int_equal(store_tasks_query(s, STORE_TASKS_EXPIRED, NULL, 3000, &ts, &n, NULL), 0);
    assert_int_equal(n, 0);
    free(ts);
    assert_int_equal(store_tasks_query(s, STORE_TASKS_OF_WORKER, "w2", 0, &ts, &n, NULL), 0);
    assert_int_equal(n, 1);
    free(ts);
    uint32_t ol;
    assert_int_equal(store_owner_leased(s, "alice", &ol, NULL), 0);
    assert_int_equal(ol, 1);
    /* refund (Goodbye) */
    assert_int_equal(store_task_refund_attempt(s, id, 0, NULL), 0);
    assert_int_equal(store_task_get(s, id, 0, &t, NULL), 0);
    assert_int_equal(t.attempts, 1);
    /* done; then done -> pending is illegal */
    store_output o = {.task_id = 0, .images = 10, .bytes = 99, .first_index = 0};
    snprintf(o.path, sizeof o.path, "000000.png");
    snprintf(o.sha256, sizeof o.sha256, "ab");
    assert_int_equal(store_output_put(s, id, &o, NULL), 0);
    assert_int_equal(store_output_put(s, id, &o, NULL), 0);   /* re-executed: replaced */
    assert_int_equal(store_task_set_state(s, id, 0, STORE_TASK_DONE, NULL, NULL), 0);
    gq_error_clear(&e);
    assert_int_equal(store_task_set_state(s, id, 0, STORE_TASK_PENDING, NULL, &e), GQ_ESTATE);
    assert_non_null(strstr(e.msg, "done -> pending"));
    store_output *os;
    assert_int_equal(store_outputs_of_job(s, id, &os, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(os[0].bytes, 99);
    free(os);
    assert_int_equal(store_job_counts_get(s, id, &c, NULL), 0);
    assert_int_equal(c.done, 1);
    assert_int_equal(c.images_done, 10);
    /* candidates: job with pending tasks */
    store_candidate *cand;
    assert_int_equal(store_candidates(s, &cand, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cand[0].pending, 1);   /* "some" */
    free(cand);
    assert_int_equal(store_task_get(s, id, 77, &t, &e), GQ_ENOTFOUND);
    assert_int_equal(store_job_get(s, "nope", &(store_job){0}, NULL), GQ_ENOTFOUND);
    assert_int_equal(store_commit(s, NULL), 0);
    store_close(s);
}

static void test_models_workers_events(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "misc.db");
    store *s;
    assert_int_equal(store_open(p, &s, NULL), 0);
    assert_int_equal(store_begin(s, NULL), 0);
    assert_int_equal(store_model_put(s, "deep128", "aa", "info1", 5, 10, NULL), 0);
    assert_int_equal(store_model_put(s, "deep128", "bb", "info2", 5, 20, NULL), 0);
    assert_int_equal(store_model_put(s, "alpha", "cc", "i", 1, 20, NULL), 0);
    uint8_t *info;
    size_t len;
    assert_int_equal(store_model_get(s, "deep128", "", &info, &len, NULL), 0);
    assert_memory_equal(info, "info2", 5);   /* newest */
    free(info);
    assert_int_equal(store_model_get(s, "deep128", "aa", &info, &len, NULL), 0);
    assert_memory_equal(info, "info1", 5);
    free(info);
    assert_int_equal(store_model_get(s, "zz", "", &info, &len, NULL), GQ_ENOTFOUND);
    char *names;
    assert_int_equal(store_model_names(s, &names, NULL), 0);
    assert_string_equal(names, "alpha, deep128");
    free(names);
    char w1[STORE_ID_MAX], w2[STORE_ID_MAX];
    assert_int_equal(store_worker_new_id(s, w1, NULL), 0);
    assert_int_equal(store_worker_new_id(s, w2, NULL), 0);
    assert_string_not_equal(w1, w2);
    assert_int_equal(store_worker_put(s, w1, "host:1", "h", 1, "idle", 100, NULL), 0);
    assert_int_equal(store_worker_add_images(s, w1, 42, NULL), 0);
    assert_int_equal(store_workers_all_dead(s, NULL), 0);
    store_worker *ws;
    size_t n;
    assert_int_equal(store_worker_list(s, 0, &ws, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ws[0].state, "dead");
    assert_int_equal(ws[0].images_done, 42);
    store_worker_list_free(ws, n);
    assert_int_equal(store_event(s, 1, "lease", "j1", 3, "w1", NULL, NULL), 0);
    assert_int_equal(store_event(s, 2, "lease", "j2", -1, NULL, "x", NULL), 0);
    uint64_t k;
    assert_int_equal(store_event_count(s, "lease", "", &k, NULL), 0);
    assert_int_equal(k, 2);
    assert_int_equal(store_event_count(s, "lease", "j1", &k, NULL), 0);
    assert_int_equal(k, 1);
    assert_int_equal(store_commit(s, NULL), 0);
    store_close(s);
}

/* A child opens the store, writes a turn's worth and dies: before COMMIT (nothing may
 * survive) or right after it (everything must). */
static void crash_child(const char *p, int commit)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        store *s;
        char id[STORE_ID_MAX];
        if (store_open(p, &s, NULL) < 0)
            _exit(3);
        if (store_begin(s, NULL) < 0)
            _exit(4);
        add_job(s, commit ? "committed" : "lost", 4, 3, id);
        if (store_job_set_state(s, id, STORE_JOB_RUNNING, NULL, 9, NULL) < 0 ||
            store_task_lease(s, id, 0, "w9", 99, NULL) < 0)
            _exit(5);
        if (commit && store_commit(s, NULL) < 0)
            _exit(6);
        _exit(0);   /* no close, no rollback: as if killed */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_crash_safety(void **state)
{
    (void)state;
    char p[600];
    db_path(p, sizeof p, "crash.db");
    crash_child(p, 0);
    store *s;
    assert_int_equal(store_open(p, &s, NULL), 0);   /* the dead child's lock is gone */
    store_job *jobs;
    size_t n;
    assert_int_equal(store_job_list(s, 0, NULL, 0, &jobs, &n, NULL), 0);
    assert_int_equal(n, 0);
    store_job_list_free(jobs, n);
    store_close(s);
    crash_child(p, 1);
    assert_int_equal(store_open(p, &s, NULL), 0);
    assert_int_equal(store_job_list(s, 0, NULL, 0, &jobs, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(jobs[0].state, STORE_JOB_RUNNING);
    assert_memory_equal(jobs[0].spec, "committed", 9);
    store_task t;
    assert_int_equal(store_task_get(s, jobs[0].id, 0, &t, NULL), 0);
    assert_int_equal(t.state, STORE_TASK_LEASED);
    assert_int_equal(t.attempts, 1);
    store_job_counts c;
    assert_int_equal(store_job_counts_get(s, jobs[0].id, &c, NULL), 0);
    assert_int_equal(c.pending, 3);
    store_job_list_free(jobs, n);
    /* rollback of a turn in this process leaves no trace either */
    char id[STORE_ID_MAX];
    assert_int_equal(store_begin(s, NULL), 0);
    add_job(s, "rolled back", 1, 3, id);
    store_rollback(s);
    assert_int_equal(store_job_get(s, id, &(store_job){0}, NULL), GQ_ENOTFOUND);
    /* one message's writes undone by its savepoint, the turn's others kept */
    char keep[STORE_ID_MAX], undo[STORE_ID_MAX];
    assert_int_equal(store_begin(s, NULL), 0);
    add_job(s, "kept", 1, 3, keep);
    assert_int_equal(store_savepoint(s, NULL), 0);
    add_job(s, "undone", 2, 3, undo);
    store_savepoint_rollback(s);
    assert_int_equal(store_savepoint(s, NULL), 0);
    assert_int_equal(store_job_set_state(s, keep, STORE_JOB_RUNNING, NULL, 1, NULL), 0);
    assert_int_equal(store_savepoint_release(s, NULL), 0);
    assert_int_equal(store_commit(s, NULL), 0);
    store_close(s);
    assert_int_equal(store_open(p, &s, NULL), 0);
    store_job j;
    assert_int_equal(store_job_get(s, keep, &j, NULL), 0);
    assert_int_equal(j.state, STORE_JOB_RUNNING);
    store_job_release(&j);
    assert_int_equal(store_job_get(s, undo, &j, NULL), GQ_ENOTFOUND);
    store_task t2;
    assert_int_equal(store_task_get(s, undo, 0, &t2, NULL), GQ_ENOTFOUND);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrate_and_reopen),
        cmocka_unit_test(test_migrate_v1_to_v2),
        cmocka_unit_test(test_refuse_newer_schema),
        cmocka_unit_test(test_one_broker_lock),
        cmocka_unit_test(test_tasks_attempts_transitions),
        cmocka_unit_test(test_models_workers_events),
        cmocka_unit_test(test_crash_safety),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
