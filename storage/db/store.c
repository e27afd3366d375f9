/* store.c: the SQLite job store (see store.h for the schema and the durability contract).
 *
 * Implementation notes:
 *  1. Statements are prepared once and cached by the address of their SQL text (every SQL
 *     string here is a literal), then reset after each use by stmt_get().
 *  2. Every state change reads the current state inside the caller's transaction and asks
 *     states.c; so an illegal change is refused before anything is written.
 *  3. Migrations are an array of SQL scripts; migration k brings user_version from k to k+1,
 *     each in its own transaction.
 *  4. The lock file "<db>.lock" is flock()ed exclusively and non-blocking: the kernel
 *     drops the lock when the process dies, so kill -9 never leaves a stale lock.
 */
#include "storage/db/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "proto/base/gq_log.h"

#define STMT_CACHE 64

struct store {
    sqlite3 *db;                 /* the connection */
    int      lock_fd;            /* flock()ed "<path>.lock" */
    int      in_txn;             /* 1 between store_begin and commit/rollback */
    struct { const char *sql; sqlite3_stmt *st; } cache[STMT_CACHE];
    int      ncache;
};

static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE jobs("
    " id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state INTEGER NOT NULL,"
    " spec BLOB NOT NULL, model TEXT NOT NULL, model_sha256 TEXT NOT NULL DEFAULT '',"
    " owner TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '',"
    " priority INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL, tasks_total INTEGER NOT NULL,"
    " max_attempts INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '',"
    " manifest TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL,"
    " started_ms INTEGER NOT NULL DEFAULT 0, finished_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state, seq);"
    "CREATE TABLE tasks("
    " job_id TEXT NOT NULL REFERENCES jobs(id), task_id INTEGER NOT NULL,"
    " start INTEGER NOT NULL, end INTEGER NOT NULL, state INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, worker_id TEXT NOT NULL DEFAULT '',"
    " last_worker TEXT NOT NULL DEFAULT '', deadline_ms INTEGER NOT NULL DEFAULT 0,"
    " images_done INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY(job_id, task_id));"
    "CREATE INDEX tasks_job_state ON tasks(job_id, state);"
    "CREATE INDEX tasks_state ON tasks(state, worker_id);"
    "CREATE TABLE workers("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, hello BLOB, state TEXT NOT NULL,"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
    " images_done INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE outputs("
    " job_id TEXT NOT NULL REFERENCES jobs(id), task_id INTEGER NOT NULL, path TEXT NOT NULL,"
    " images INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    " first_index INTEGER NOT NULL, PRIMARY KEY(job_id, path));"
    "CREATE TABLE events("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    " job_id TEXT, task_id INTEGER, worker_id TEXT, detail TEXT);"
    "CREATE INDEX events_job ON events(job_id, seq);"
    "CREATE TABLE models("
    " name TEXT NOT NULL, sha256 TEXT NOT NULL, info BLOB NOT NULL, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY(name, sha256));"
    "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);",
    /* 1 -> 2: leasing walks pending tasks in task_id order without sorting */
    "DROP INDEX tasks_job_state;"
    "CREATE INDEX tasks_job_state_id ON tasks(job_id, state, task_id);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(N_MIGRATIONS == STORE_SCHEMA_VERSION, "one migration per schema version");

static int db_fail(store *s, gq_error *err, const char *what)
{
    return gq_fail(err, GQ_EDB, "database: %s: %s", what, sqlite3_errmsg(s->db));
}

/* The cached statement for sql (a literal), reset and with bindings cleared; NULL on error. */
static sqlite3_stmt *stmt_get(store *s, const char *sql, gq_error *err)
{
    for (int i = 0; i < s->ncache; i++)
        if (s->cache[i].sql == sql) {
            sqlite3_reset(s->cache[i].st);
            sqlite3_clear_bindings(s->cache[i].st);
            return s->cache[i].st;
        }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_fail(s, err, "prepare");
        return NULL;
    }
    if (s->ncache < STMT_CACHE) {
        s->cache[s->ncache].sql = sql;
        s->cache[s->ncache].st = st;
        s->ncache++;
    } else {
        GQ_ASSERT(!"statement cache full: raise STMT_CACHE");
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* Run a statement expected to finish without rows. */
static int step_done(store *s, sqlite3_stmt *st, gq_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, err, what);
    return GQ_OK;
}

static int exec(store *s, const char *sql, gq_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = gq_fail(err, GQ_EDB, "database: %s", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return GQ_OK;
}

static int user_version(store *s, int *v, gq_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "user_version");
    int rc = sqlite3_step(st);
    *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? GQ_OK : db_fail(s, err, "user_version");
}

static int migrate(store *s, const char *path, gq_error *err)
{
    int v, rc;
    if ((rc = user_version(s, &v, err)) < 0)
        return rc;
    if (v > STORE_SCHEMA_VERSION)
        return gq_fail(err, GQ_EVERSION,
                       "database %s: schema version %d is newer than this ganq supports (%d); "
                       "use a newer ganq-broker", path, v, STORE_SCHEMA_VERSION);
    if (v < 0)
        return gq_fail(err, GQ_EVERSION, "database %s: schema version %d is invalid", path, v);
    for (; v < STORE_SCHEMA_VERSION; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if ((rc = exec(s, "BEGIN IMMEDIATE", err)) < 0)
            return rc;
        if ((rc = exec(s, migrations[v], err)) < 0 || (rc = exec(s, pragma, err)) < 0 ||
            (rc = exec(s, "COMMIT", err)) < 0) {
            exec(s, "ROLLBACK", NULL);
            return rc;
        }
        gq_info("database %s: migrated schema to version %d", path, v + 1);
    }
    return GQ_OK;
}

int store_open(const char *path, store **out, gq_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return gq_fail(err, GQ_EINVAL, "db: a database path is required");
    store *s = calloc(1, sizeof *s);
    if (!s)
        return gq_fail(err, GQ_ENOMEM, "db: out of memory");
    s->lock_fd = -1;
    int rc;
    size_t n = strlen(path) + 6;
    char *lock = malloc(n);
    if (!lock) {
        rc = gq_fail(err, GQ_ENOMEM, "db: out of memory");
        goto fail;
    }
    snprintf(lock, n, "%s.lock", path);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0) {
        rc = gq_fail(err, GQ_EIO, "db: cannot open lock file %s: %s", lock, strerror(errno));
        free(lock);
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? gq_fail(err, GQ_EBUSY, "db: %s is in use by another broker (lock %s)", path,
                           lock)
                 : gq_fail(err, GQ_EIO, "db: cannot lock %s: %s", lock, strerror(errno));
        free(lock);
        goto fail;
    }
    free(lock);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = gq_fail(err, GQ_EDB, "db: cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if ((rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                      "PRAGMA foreign_keys=ON;", err)) < 0)
        goto fail;
    /* Refuse files that are not SQLite databases early, with the path in the message. */
    if ((rc = exec(s, "SELECT count(*) FROM sqlite_master", err)) < 0)
        goto fail;
    if ((rc = migrate(s, path, err)) < 0)
        goto fail;
    *out = s;
    return GQ_OK;
fail:
    store_close(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->in_txn)
        store_rollback(s);
    for (int i = 0; i < s->ncache; i++)
        sqlite3_finalize(s->cache[i].st);
    if (s->db)
        sqlite3_close(s->db);
    if (s->lock_fd >= 0)
        close(s->lock_fd);   /* releases the flock */
    free(s);
}

int store_schema_version(store *s)
{
    int v = -1;
    if (user_version(s, &v, NULL) < 0)
        return -1;
    return v;
}

int store_begin(store *s, gq_error *err)
{
    GQ_ASSERT(!s->in_txn);
    int rc = exec(s, "BEGIN IMMEDIATE", err);
    if (rc == 0)
        s->in_txn = 1;
    return rc;
}

int store_commit(store *s, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    int rc = exec(s, "COMMIT", err);
    if (rc < 0) {
        store_rollback(s);
        return rc;
    }
    s->in_txn = 0;
    return GQ_OK;
}

void store_rollback(store *s)
{
    if (!s->in_txn)
        return;
    for (int i = 0; i < s->ncache; i++)
        sqlite3_reset(s->cache[i].st);
    if (sqlite3_get_autocommit(s->db) == 0)
        exec(s, "ROLLBACK", NULL);
    s->in_txn = 0;
}

int store_in_txn(const store *s) { return s->in_txn; }

int store_savepoint(store *s, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    return exec(s, "SAVEPOINT msg", err);
}

int store_savepoint_release(store *s, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    return exec(s, "RELEASE msg", err);
}

void store_savepoint_rollback(store *s)
{
    GQ_ASSERT(s->in_txn);
    for (int i = 0; i < s->ncache; i++)
        sqlite3_reset(s->cache[i].st);
    exec(s, "ROLLBACK TO msg", NULL);
    exec(s, "RELEASE msg", NULL);
}

int64_t store_changes(store *s) { return (int64_t)sqlite3_total_changes(s->db); }

/* ---------------------------------------------------------------- jobs */

void store_job_release(store_job *j)
{
    if (!j)
        return;
    free(j->spec);
    j->spec = NULL;
    j->spec_len = 0;
}

static int next_counter(store *s, const char *name, int64_t *v, gq_error *err)
{
    static const char up[] =
        "INSERT INTO counters(name, value) VALUES(?1, 1) "
        "ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value";
    sqlite3_stmt *st = stmt_get(s, up, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, name);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return db_fail(s, err, "counter");
    }
    *v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return GQ_OK;
}

int store_job_insert(store *s, store_job *j, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "INSERT INTO jobs(id, seq, state, spec, model, model_sha256, owner, name, priority, total,"
        " tasks_total, max_attempts, created_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)";
    int rc;
    if ((rc = next_counter(s, "job", &j->seq, err)) < 0)
        return rc;
    if (!j->id[0])
        snprintf(j->id, sizeof j->id, "j%06" PRId64, j->seq);
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, j->id);
    sqlite3_bind_int64(st, 2, j->seq);
    sqlite3_bind_int(st, 3, STORE_JOB_QUEUED);
    sqlite3_bind_blob(st, 4, j->spec ? (const void *)j->spec : "", (int)j->spec_len,
                      SQLITE_TRANSIENT);
    bind_text(st, 5, j->model);
    bind_text(st, 6, j->model_sha256);
    bind_text(st, 7, j->owner);
    bind_text(st, 8, j->name);
    sqlite3_bind_int(st, 9, j->priority);
    sqlite3_bind_int64(st, 10, (int64_t)j->total);
    sqlite3_bind_int64(st, 11, j->tasks_total);
    sqlite3_bind_int64(st, 12, j->max_attempts);
    sqlite3_bind_int64(st, 13, j->created_ms);
    j->state = STORE_JOB_QUEUED;
    return step_done(s, st, err, "insert job");
}

#define JOB_COLS "id, seq, state, spec, model, model_sha256, owner, name, reason, manifest," \
                 " priority, total, tasks_total, max_attempts, created_ms, started_ms, finished_ms"

static int job_from_row(sqlite3_stmt *st, store_job *j, gq_error *err)
{
    memset(j, 0, sizeof *j);
    col_copy(st, 0, j->id, sizeof j->id);
    j->seq = sqlite3_column_int64(st, 1);
    j->state = sqlite3_column_int(st, 2);
    const void *b = sqlite3_column_blob(st, 3);
    int bl = sqlite3_column_bytes(st, 3);
    j->spec = malloc(bl > 0 ? (size_t)bl : 1);
    if (!j->spec)
        return gq_fail(err, GQ_ENOMEM, "db: out of memory");
    if (bl > 0)
        memcpy(j->spec, b, (size_t)bl);
    j->spec_len = (size_t)bl;
    col_copy(st, 4, j->model, sizeof j->model);
    col_copy(st, 5, j->model_sha256, sizeof j->model_sha256);
    col_copy(st, 6, j->owner, sizeof j->owner);
    col_copy(st, 7, j->name, sizeof j->name);
    col_copy(st, 8, j->reason, sizeof j->reason);
    col_copy(st, 9, j->manifest, sizeof j->manifest);
    j->priority = sqlite3_column_int(st, 10);
    j->total = (uint64_t)sqlite3_column_int64(st, 11);
    j->tasks_total = (uint32_t)sqlite3_column_int64(st, 12);
    j->max_attempts = (uint32_t)sqlite3_column_int64(st, 13);
    j->created_ms = sqlite3_column_int64(st, 14);
    j->started_ms = sqlite3_column_int64(st, 15);
    j->finished_ms = sqlite3_column_int64(st, 16);
    return GQ_OK;
}

int store_job_get(store *s, const char *id, store_job *j, gq_error *err)
{
    static const char sql[] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1";
    memset(j, 0, sizeof *j);
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return gq_fail(err, GQ_ENOTFOUND, "job_id: no job \"%s\"", id);
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return db_fail(s, err, "get job");
    }
    rc = job_from_row(st, j, err);
    sqlite3_reset(st);
    return rc;
}

static int job_state(store *s, const char *id, int *state, gq_error *err)
{
    static const char sql[] = "SELECT state FROM jobs WHERE id = ?1";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *state = sqlite3_column_int(st, 0);
        sqlite3_reset(st);
        return GQ_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return gq_fail(err, GQ_ENOTFOUND, "job_id: no job \"%s\"", id);
    return db_fail(s, err, "job state");
}

int store_job_set_state(store *s, const char *id, int to, const char *reason, int64_t now_ms,
                        gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "UPDATE jobs SET state = ?2, reason = CASE WHEN ?3 IS NULL THEN reason ELSE ?3 END,"
        " started_ms = CASE WHEN ?2 = 2 AND started_ms = 0 THEN ?4 ELSE started_ms END,"
        " finished_ms = CASE WHEN ?2 >= 3 THEN ?4 ELSE finished_ms END WHERE id = ?1";
    int from = 0, rc;
    if ((rc = job_state(s, id, &from, err)) < 0)
        return rc;
    if ((rc = store_job_transition_check(from, to, err)) < 0)
        return rc;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    sqlite3_bind_int(st, 2, to);
    if (reason)
        bind_text(st, 3, reason);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, now_ms);
    return step_done(s, st, err, "set job state");
}

int store_job_set_spec(store *s, const char *id, const void *spec, size_t len,
                       const char *model_sha256, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] = "UPDATE jobs SET spec = ?2, model_sha256 = ?3 WHERE id = ?1";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    sqlite3_bind_blob(st, 2, spec ? spec : "", (int)len, SQLITE_TRANSIENT);
    bind_text(st, 3, model_sha256);
    return step_done(s, st, err, "set spec");
}

int store_job_set_manifest(store *s, const char *id, const char *manifest, gq_error *err)
{
    static const char sql[] = "UPDATE jobs SET manifest = ?2 WHERE id = ?1";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    bind_text(st, 2, manifest);
    return step_done(s, st, err, "set manifest");
}

void store_job_list_free(store_job *jobs, size_t n)
{
    if (!jobs)
        return;
    for (size_t i = 0; i < n; i++)
        store_job_release(&jobs[i]);
    free(jobs);
}

static int job_rows(store *s, sqlite3_stmt *st, store_job **out, size_t *n, gq_error *err)
{
    size_t cap = 0, k = 0;
    store_job *a = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            store_job *na = realloc(a, cap * sizeof *a);
            if (!na) {
                sqlite3_reset(st);
                store_job_list_free(a, k);
                return gq_fail(err, GQ_ENOMEM, "db: out of memory");
            }
            a = na;
        }
        if (job_from_row(st, &a[k], err) < 0) {
            sqlite3_reset(st);
            store_job_list_free(a, k);
            return GQ_ENOMEM;
        }
        k++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_job_list_free(a, k);
        return db_fail(s, err, "list jobs");
    }
    *out = a;
    *n = k;
    return GQ_OK;
}

int store_job_list(store *s, int state, const char *owner, uint32_t limit, store_job **jobs,
                   size_t *n, gq_error *err)
{
    static const char sql[] = "SELECT " JOB_COLS " FROM jobs WHERE (?1 = 0 OR state = ?1)"
                              " AND (?2 = '' OR owner = ?2) ORDER BY seq DESC LIMIT ?3";
    *jobs = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    sqlite3_bind_int(st, 1, state);
    bind_text(st, 2, owner);
    sqlite3_bind_int64(st, 3, limit ? limit : 1000);
    return job_rows(s, st, jobs, n, err);
}

int store_job_list_active(store *s, store_job **jobs, size_t *n, gq_error *err)
{
    static const char sql[] = "SELECT " JOB_COLS " FROM jobs WHERE state IN (1, 2) ORDER BY seq";
    *jobs = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    return job_rows(s, st, jobs, n, err);
}

int store_job_counts_get(store *s, const char *id, store_job_counts *c, gq_error *err)
{
    static const char sql[] =
        "SELECT state, count(*), sum(CASE WHEN state = 3 THEN end - start"
        " WHEN state = 2 THEN min(images_done, end - start) ELSE 0 END)"
        " FROM tasks WHERE job_id = ?1 GROUP BY state";
    memset(c, 0, sizeof *c);
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint32_t k = (uint32_t)sqlite3_column_int64(st, 1);
        c->images_done += (uint64_t)sqlite3_column_int64(st, 2);
        switch (sqlite3_column_int(st, 0)) {
        case STORE_TASK_PENDING:   c->pending = k; break;
        case STORE_TASK_LEASED:    c->leased = k; break;
        case STORE_TASK_DONE:      c->done = k; break;
        case STORE_TASK_FAILED:    c->failed = k; break;
        case STORE_TASK_CANCELLED: c->cancelled = k; break;
        default: break;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? GQ_OK : db_fail(s, err, "job counts");
}

int store_job_all_done(store *s, const char *id, int *yes, gq_error *err)
{
    static const char sql[] =
        "SELECT EXISTS(SELECT 1 FROM tasks WHERE job_id = ?1 AND state < 3)"
        " OR EXISTS(SELECT 1 FROM tasks WHERE job_id = ?1 AND state > 3)";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    int rc = sqlite3_step(st);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? GQ_OK : db_fail(s, err, "all done");
}

int store_candidates(store *s, store_candidate **out, size_t *n, gq_error *err)
{
    static const char sql[] =
        "SELECT j.id, j.seq, j.priority, j.owner, j.model, j.model_sha256, 1"
        " FROM jobs j WHERE j.state IN (1, 2)"
        " AND EXISTS(SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 1)"
        " ORDER BY j.seq";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    size_t cap = 0, k = 0;
    store_candidate *a = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            store_candidate *na = realloc(a, cap * sizeof *a);
            if (!na) {
                sqlite3_reset(st);
                free(a);
                return gq_fail(err, GQ_ENOMEM, "db: out of memory");
            }
            a = na;
        }
        store_candidate *c = &a[k++];
        col_copy(st, 0, c->id, sizeof c->id);
        c->seq = sqlite3_column_int64(st, 1);
        c->priority = sqlite3_column_int(st, 2);
        col_copy(st, 3, c->owner, sizeof c->owner);
        col_copy(st, 4, c->model, sizeof c->model);
        col_copy(st, 5, c->model_sha256, sizeof c->model_sha256);
        c->pending = (uint32_t)sqlite3_column_int64(st, 6);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(a);
        return db_fail(s, err, "candidates");
    }
    *out = a;
    *n = k;
    return GQ_OK;
}

int store_owner_leased(store *s, const char *owner, uint32_t *n, gq_error *err)
{
    static const char sql[] =
        "SELECT count(*) FROM tasks t JOIN jobs j ON j.id = t.job_id"
        " WHERE t.state = 2 AND j.owner = ?1";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, owner);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? GQ_OK : db_fail(s, err, "owner leased");
}

/* ---------------------------------------------------------------- tasks */

#define TASK_COLS "job_id, task_id, start, end, state, attempts, worker_id, last_worker," \
                  " deadline_ms, images_done, reason"

static void task_from_row(sqlite3_stmt *st, store_task *t)
{
    memset(t, 0, sizeof *t);
    col_copy(st, 0, t->job_id, sizeof t->job_id);
    t->task_id = (uint64_t)sqlite3_column_int64(st, 1);
    t->start = (uint64_t)sqlite3_column_int64(st, 2);
    t->end = (uint64_t)sqlite3_column_int64(st, 3);
    t->state = sqlite3_column_int(st, 4);
    t->attempts = (uint32_t)sqlite3_column_int64(st, 5);
    col_copy(st, 6, t->worker_id, sizeof t->worker_id);
    col_copy(st, 7, t->last_worker, sizeof t->last_worker);
    t->deadline_ms = sqlite3_column_int64(st, 8);
    t->images_done = (uint64_t)sqlite3_column_int64(st, 9);
    col_copy(st, 10, t->reason, sizeof t->reason);
}

int store_task_insert(store *s, const char *job_id, uint64_t task_id, uint64_t start,
                      uint64_t end, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "INSERT INTO tasks(job_id, task_id, start, end, state) VALUES(?1, ?2, ?3, ?4, 1)";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    sqlite3_bind_int64(st, 3, (int64_t)start);
    sqlite3_bind_int64(st, 4, (int64_t)end);
    return step_done(s, st, err, "insert task");
}

int store_task_get(store *s, const char *job_id, uint64_t task_id, store_task *t, gq_error *err)
{
    static const char sql[] = "SELECT " TASK_COLS " FROM tasks WHERE job_id = ?1 AND task_id = ?2";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        task_from_row(st, t);
        sqlite3_reset(st);
        return GQ_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return gq_fail(err, GQ_ENOTFOUND, "task_id: job \"%s\" has no task %" PRIu64, job_id,
                       task_id);
    return db_fail(s, err, "get task");
}

int store_task_lease(store *s, const char *job_id, uint64_t task_id, const char *worker_id,
                     int64_t deadline_ms, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "UPDATE tasks SET state = 2, attempts = attempts + 1, worker_id = ?3, last_worker = ?3,"
        " deadline_ms = ?4, images_done = 0 WHERE job_id = ?1 AND task_id = ?2";
    store_task t;
    int rc;
    if ((rc = store_task_get(s, job_id, task_id, &t, err)) < 0)
        return rc;
    if ((rc = store_task_transition_check(t.state, STORE_TASK_LEASED, err)) < 0)
        return rc;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    bind_text(st, 3, worker_id);
    sqlite3_bind_int64(st, 4, deadline_ms);
    return step_done(s, st, err, "lease task");
}

int store_task_set_state(store *s, const char *job_id, uint64_t task_id, int to,
                         const char *reason, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    GQ_ASSERT(to != STORE_TASK_LEASED);
    static const char sql[] =
        "UPDATE tasks SET state = ?3, worker_id = '', deadline_ms = 0,"
        " reason = CASE WHEN ?4 IS NULL THEN reason ELSE ?4 END"
        " WHERE job_id = ?1 AND task_id = ?2";
    store_task t;
    int rc;
    if ((rc = store_task_get(s, job_id, task_id, &t, err)) < 0)
        return rc;
    if ((rc = store_task_transition_check(t.state, to, err)) < 0)
        return rc;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    sqlite3_bind_int(st, 3, to);
    if (reason)
        bind_text(st, 4, reason);
    else
        sqlite3_bind_null(st, 4);
    return step_done(s, st, err, "set task state");
}

int store_task_touch(store *s, const char *job_id, uint64_t task_id, const char *worker_id,
                     int64_t deadline_ms, uint64_t images_done, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "UPDATE tasks SET worker_id = ?3, last_worker = ?3, deadline_ms = ?4, images_done = ?5"
        " WHERE job_id = ?1 AND task_id = ?2";
    store_task t;
    int rc;
    if ((rc = store_task_get(s, job_id, task_id, &t, err)) < 0)
        return rc;
    if (t.state != STORE_TASK_LEASED)
        return gq_fail(err, GQ_ESTATE, "task %s/%" PRIu64 ": is %s, not leased", job_id, task_id,
                       store_task_state_name(t.state));
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    bind_text(st, 3, worker_id);
    sqlite3_bind_int64(st, 4, deadline_ms);
    sqlite3_bind_int64(st, 5, (int64_t)images_done);
    return step_done(s, st, err, "touch task");
}

int store_task_next_pending(store *s, const char *job_id, const char *avoid_worker,
                            store_task *t, gq_error *err)
{
    static const char q_other[] =
        "SELECT " TASK_COLS " FROM tasks WHERE job_id = ?1 AND state = 1 AND last_worker != ?2"
        " ORDER BY task_id LIMIT 1";
    static const char q_any[] =
        "SELECT " TASK_COLS " FROM tasks WHERE job_id = ?1 AND state = 1 ORDER BY task_id LIMIT 1";
    const char *qs[2] = {q_other, q_any};
    for (int k = avoid_worker && avoid_worker[0] ? 0 : 1; k < 2; k++) {
        sqlite3_stmt *st = stmt_get(s, qs[k], err);
        if (!st)
            return GQ_EDB;
        bind_text(st, 1, job_id);
        if (k == 0)
            bind_text(st, 2, avoid_worker);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            task_from_row(st, t);
            sqlite3_reset(st);
            return GQ_OK;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return db_fail(s, err, "next pending");
    }
    return GQ_ENOTFOUND;   /* not a user-facing error: no message */
}

int store_tasks_query(store *s, int query, const char *arg, int64_t when, store_task **out,
                      size_t *n, gq_error *err)
{
    static const char q_worker[] =
        "SELECT " TASK_COLS " FROM tasks WHERE state = 2 AND worker_id = ?1 ORDER BY job_id, task_id";
    static const char q_expired[] =
        "SELECT " TASK_COLS " FROM tasks WHERE state = 2 AND deadline_ms < ?2 ORDER BY job_id, task_id";
    static const char q_leased_job[] =
        "SELECT " TASK_COLS " FROM tasks WHERE job_id = ?1 AND state = 2 ORDER BY task_id";
    static const char q_pending_job[] =
        "SELECT " TASK_COLS " FROM tasks WHERE job_id = ?1 AND state = 1 ORDER BY task_id";
    static const char q_all_leased[] =
        "SELECT " TASK_COLS " FROM tasks WHERE state = 2 ORDER BY job_id, task_id";
    const char *sql;
    switch (query) {
    case STORE_TASKS_OF_WORKER:      sql = q_worker; break;
    case STORE_TASKS_EXPIRED:        sql = q_expired; break;
    case STORE_TASKS_LEASED_OF_JOB:  sql = q_leased_job; break;
    case STORE_TASKS_PENDING_OF_JOB: sql = q_pending_job; break;
    case STORE_TASKS_ALL_LEASED:     sql = q_all_leased; break;
    default: GQ_ASSERT(!"unknown task query"); return GQ_EINVAL;
    }
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    if (sql != q_expired && sql != q_all_leased)
        bind_text(st, 1, arg);
    if (sql == q_expired)
        sqlite3_bind_int64(st, 2, when);
    size_t cap = 0, k = 0;
    store_task *a = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            store_task *na = realloc(a, cap * sizeof *a);
            if (!na) {
                sqlite3_reset(st);
                free(a);
                return gq_fail(err, GQ_ENOMEM, "db: out of memory");
            }
            a = na;
        }
        task_from_row(st, &a[k++]);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(a);
        return db_fail(s, err, "query tasks");
    }
    *out = a;
    *n = k;
    return GQ_OK;
}

int store_task_refund_attempt(store *s, const char *job_id, uint64_t task_id, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "UPDATE tasks SET attempts = max(attempts - 1, 0) WHERE job_id = ?1 AND task_id = ?2";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    return step_done(s, st, err, "refund attempt");
}

int store_tasks_set_deadline_all(store *s, int64_t deadline_ms, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "UPDATE tasks SET deadline_ms = ?1 WHERE state = 2";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    sqlite3_bind_int64(st, 1, deadline_ms);
    return step_done(s, st, err, "extend leases");
}

/* ---------------------------------------------------------------- outputs */

int store_output_put(store *s, const char *job_id, const store_output *o, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "INSERT OR REPLACE INTO outputs(job_id, task_id, path, images, bytes, sha256, first_index)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, (int64_t)o->task_id);
    bind_text(st, 3, o->path);
    sqlite3_bind_int64(st, 4, (int64_t)o->images);
    sqlite3_bind_int64(st, 5, (int64_t)o->bytes);
    bind_text(st, 6, o->sha256);
    sqlite3_bind_int64(st, 7, (int64_t)o->first_index);
    return step_done(s, st, err, "put output");
}

int store_outputs_of_job(store *s, const char *job_id, store_output **out, size_t *n,
                         gq_error *err)
{
    static const char sql[] =
        "SELECT path, task_id, images, bytes, sha256, first_index FROM outputs WHERE job_id = ?1"
        " ORDER BY first_index, path";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, job_id);
    size_t cap = 0, k = 0;
    store_output *a = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            store_output *na = realloc(a, cap * sizeof *a);
            if (!na) {
                sqlite3_reset(st);
                free(a);
                return gq_fail(err, GQ_ENOMEM, "db: out of memory");
            }
            a = na;
        }
        store_output *o = &a[k++];
        memset(o, 0, sizeof *o);
        col_copy(st, 0, o->path, sizeof o->path);
        o->task_id = (uint64_t)sqlite3_column_int64(st, 1);
        o->images = (uint64_t)sqlite3_column_int64(st, 2);
        o->bytes = (uint64_t)sqlite3_column_int64(st, 3);
        col_copy(st, 4, o->sha256, sizeof o->sha256);
        o->first_index = (uint64_t)sqlite3_column_int64(st, 5);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(a);
        return db_fail(s, err, "outputs");
    }
    *out = a;
    *n = k;
    return GQ_OK;
}

/* ---------------------------------------------------------------- workers */

int store_worker_put(store *s, const char *id, const char *name, const void *hello,
                     size_t hello_len, const char *state, int64_t now_ms, gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "INSERT INTO workers(id, name, hello, state, first_seen_ms, last_seen_ms)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(id) DO UPDATE SET name = ?2, hello = ?3,"
        " state = ?4, last_seen_ms = ?5";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    bind_text(st, 2, name);
    sqlite3_bind_blob(st, 3, hello ? hello : "", (int)hello_len, SQLITE_TRANSIENT);
    bind_text(st, 4, state);
    sqlite3_bind_int64(st, 5, now_ms);
    return step_done(s, st, err, "put worker");
}

int store_worker_set_state(store *s, const char *id, const char *state, int64_t now_ms,
                           gq_error *err)
{
    GQ_ASSERT(s->in_txn);
    static const char sql[] =
        "UPDATE workers SET state = ?2, last_seen_ms = max(last_seen_ms, ?3) WHERE id = ?1";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    bind_text(st, 2, state);
    sqlite3_bind_int64(st, 3, now_ms);
    return step_done(s, st, err, "worker state");
}

int store_worker_add_images(store *s, const char *id, uint64_t n, gq_error *err)
{
    static const char sql[] = "UPDATE workers SET images_done = images_done + ?2 WHERE id = ?1";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)n);
    return step_done(s, st, err, "worker images");
}

int store_workers_all_dead(store *s, gq_error *err)
{
    static const char sql[] = "UPDATE workers SET state = 'dead' WHERE state != 'dead'";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    return step_done(s, st, err, "workers dead");
}

void store_worker_list_free(store_worker *w, size_t n)
{
    if (!w)
        return;
    for (size_t i = 0; i < n; i++)
        free(w[i].hello);
    free(w);
}

int store_worker_list(store *s, uint32_t limit, store_worker **out, size_t *n, gq_error *err)
{
    static const char sql[] =
        "SELECT id, name, state, hello, last_seen_ms, images_done FROM workers"
        " ORDER BY (state = 'dead'), last_seen_ms DESC LIMIT ?1";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    sqlite3_bind_int64(st, 1, limit ? limit : 1000);
    size_t cap = 0, k = 0;
    store_worker *a = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            store_worker *na = realloc(a, cap * sizeof *a);
            if (!na)
                goto oom;
            a = na;
        }
        store_worker *w = &a[k];
        memset(w, 0, sizeof *w);
        col_copy(st, 0, w->id, sizeof w->id);
        col_copy(st, 1, w->name, sizeof w->name);
        col_copy(st, 2, w->state, sizeof w->state);
        int bl = sqlite3_column_bytes(st, 3);
        w->hello = malloc(bl > 0 ? (size_t)bl : 1);
        if (!w->hello)
            goto oom;
        if (bl > 0)
            memcpy(w->hello, sqlite3_column_blob(st, 3), (size_t)bl);
        w->hello_len = (size_t)bl;
        w->last_seen_ms = sqlite3_column_int64(st, 4);
        w->images_done = (uint64_t)sqlite3_column_int64(st, 5);
        k++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_worker_list_free(a, k);
        return db_fail(s, err, "workers");
    }
    *out = a;
    *n = k;
    return GQ_OK;
oom:
    sqlite3_reset(st);
    store_worker_list_free(a, k);
    return gq_fail(err, GQ_ENOMEM, "db: out of memory");
}

int store_worker_new_id(store *s, char id[STORE_ID_MAX], gq_error *err)
{
    int64_t v;
    int rc = next_counter(s, "worker", &v, err);
    if (rc < 0)
        return rc;
    snprintf(id, STORE_ID_MAX, "w%" PRId64, v);
    return GQ_OK;
}

/* ---------------------------------------------------------------- models */

int store_model_put(store *s, const char *name, const char *sha256, const void *info,
                    size_t len, int64_t now_ms, gq_error *err)
{
    static const char sql[] =
        "INSERT OR REPLACE INTO models(name, sha256, info, updated_ms) VALUES(?1, ?2, ?3, ?4)";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, name);
    bind_text(st, 2, sha256);
    sqlite3_bind_blob(st, 3, info ? info : "", (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now_ms);
    return step_done(s, st, err, "put model");
}

int store_model_get(store *s, const char *name, const char *sha256, uint8_t **info,
                    size_t *len, gq_error *err)
{
    static const char sql[] =
        "SELECT info FROM models WHERE name = ?1 AND (?2 = '' OR sha256 = ?2)"
        " ORDER BY updated_ms DESC LIMIT 1";
    *info = NULL;
    *len = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, name);
    bind_text(st, 2, sha256);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int bl = sqlite3_column_bytes(st, 0);
        *info = malloc(bl > 0 ? (size_t)bl : 1);
        if (!*info) {
            sqlite3_reset(st);
            return gq_fail(err, GQ_ENOMEM, "db: out of memory");
        }
        if (bl > 0)
            memcpy(*info, sqlite3_column_blob(st, 0), (size_t)bl);
        *len = (size_t)bl;
        sqlite3_reset(st);
        return GQ_OK;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return gq_fail(err, GQ_ENOTFOUND, "model: \"%s\" is not known", name);
    return db_fail(s, err, "get model");
}

int store_model_names(store *s, char **names, gq_error *err)
{
    static const char sql[] = "SELECT DISTINCT name FROM models ORDER BY name";
    *names = NULL;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    size_t len = 0;
    char *buf = calloc(1, 1);
    int rc;
    while (buf && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t tl = t ? strlen(t) : 0;
        char *nb = realloc(buf, len + tl + 3);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        if (len) {
            memcpy(buf + len, ", ", 2);
            len += 2;
        }
        if (tl)
            memcpy(buf + len, t, tl);
        len += tl;
        buf[len] = '\0';
    }
    sqlite3_reset(st);
    if (!buf)
        return gq_fail(err, GQ_ENOMEM, "db: out of memory");
    *names = buf;
    return GQ_OK;
}

/* ---------------------------------------------------------------- events */

int store_event(store *s, int64_t now_ms, const char *kind, const char *job_id, int64_t task_id,
                const char *worker_id, const char *detail, gq_error *err)
{
    static const char sql[] =
        "INSERT INTO events(ts_ms, kind, job_id, task_id, worker_id, detail)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    sqlite3_bind_int64(st, 1, now_ms);
    bind_text(st, 2, kind);
    if (job_id) bind_text(st, 3, job_id); else sqlite3_bind_null(st, 3);
    if (task_id >= 0) sqlite3_bind_int64(st, 4, task_id); else sqlite3_bind_null(st, 4);
    if (worker_id) bind_text(st, 5, worker_id); else sqlite3_bind_null(st, 5);
    if (detail) bind_text(st, 6, detail); else sqlite3_bind_null(st, 6);
    return step_done(s, st, err, "event");
}

int store_event_count(store *s, const char *kind, const char *job_id, uint64_t *n,
                      gq_error *err)
{
    static const char sql[] =
        "SELECT count(*) FROM events WHERE kind = ?1 AND (?2 = '' OR job_id = ?2)";
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    bind_text(st, 1, kind);
    bind_text(st, 2, job_id);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? GQ_OK : db_fail(s, err, "event count");
}

int store_events_prune(store *s, int64_t keep, int64_t max_rows, int64_t *deleted,
                       gq_error *err)
{
    /* seq is AUTOINCREMENT and never reused, so "the newest keep seq numbers" is one range
     * on the rowid; the inner LIMIT bounds the work of one call. */
    static const char sql[] =
        "DELETE FROM events WHERE seq IN (SELECT seq FROM events"
        " WHERE seq <= (SELECT max(seq) FROM events) - ?1 ORDER BY seq LIMIT ?2)";
    *deleted = 0;
    sqlite3_stmt *st = stmt_get(s, sql, err);
    if (!st)
        return GQ_EDB;
    sqlite3_bind_int64(st, 1, keep);
    sqlite3_bind_int64(st, 2, max_rows);
    int rc = step_done(s, st, err, "events prune");
    if (rc == GQ_OK)
        *deleted = sqlite3_changes(s->db);
    return rc;
}

void store_events_list_free(store_event_info *ev, size_t n)
{
    if (!ev)
        return;
    for (size_t i = 0; i < n; i++)
        free(ev[i].detail);
    free(ev);
}

int store_events_list(store *s, const char *job_id, const char *kind, int64_t after_seq,
                      uint32_t limit, store_event_info **out, size_t *n, int *more,
                      gq_error *err)
{
    /* Two statements so that each uses its index: (job_id, seq) for one job, the rowid
     * (seq) for all. One row past the limit tells whether there are more. */
    static const char sql_job[] =
        "SELECT seq, ts_ms, kind, job_id, task_id, worker_id, detail FROM events"
        " WHERE job_id = ?1 AND seq > ?2 AND (?3 = '' OR kind = ?3) ORDER BY seq LIMIT ?4";
    static const char sql_all[] =
        "SELECT seq, ts_ms, kind, job_id, task_id, worker_id, detail FROM events"
        " WHERE seq > ?2 AND (?3 = '' OR kind = ?3) ORDER BY seq LIMIT ?4";
    *out = NULL;
    *n = 0;
    if (more)
        *more = 0;
    int by_job = job_id && job_id[0];
    int64_t want = limit ? limit : 1000;
    sqlite3_stmt *st = stmt_get(s, by_job ? sql_job : sql_all, err);
    if (!st)
        return GQ_EDB;
    if (by_job)
        bind_text(st, 1, job_id);
    sqlite3_bind_int64(st, 2, after_seq);
    bind_text(st, 3, kind);
    sqlite3_bind_int64(st, 4, want + 1);
    size_t cap = 0, k = 0;
    int extra = 0;
    store_event_info *a = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int64_t)k == want) {
            extra = 1;
            continue;   /* the one row past the limit: counted, not kept */
        }
        if (k == cap) {
            cap = cap ? cap * 2 : 16;
            store_event_info *na = realloc(a, cap * sizeof *a);
            if (!na)
                goto oom;
            a = na;
        }
        store_event_info *e = &a[k];
        memset(e, 0, sizeof *e);
        e->seq = sqlite3_column_int64(st, 0);
        e->ts_ms = sqlite3_column_int64(st, 1);
        col_copy(st, 2, e->kind, sizeof e->kind);
        col_copy(st, 3, e->job_id, sizeof e->job_id);
        e->task_id = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
        col_copy(st, 5, e->worker_id, sizeof e->worker_id);
        const unsigned char *d = sqlite3_column_text(st, 6);
        e->detail = strdup(d ? (const char *)d : "");
        if (!e->detail)
            goto oom;
        k++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        store_events_list_free(a, k);
        return db_fail(s, err, "events");
    }
    *out = a;
    *n = k;
    if (more)
        *more = extra;
    return GQ_OK;
oom:
    sqlite3_reset(st);
    store_events_list_free(a, k);
    return gq_fail(err, GQ_ENOMEM, "db: out of memory");
}
