/* pool.c: persistent worker threads with a generation counter (see pool.h). */
#include "worker/engine/cpu/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct cpu_pool {
    int             threads;
    pthread_t      *tid;
    int             started;      /* worker threads created */
    pthread_mutex_t mu;
    pthread_cond_t  go, done;
    unsigned long   gen;          /* bumped per run */
    int             pending;      /* workers still running this generation */
    int             quit;
    size_t          n;
    cpu_pool_fn     fn;
    void           *ctx;
};

typedef struct { cpu_pool *p; int idx; } warg;

static void range(size_t n, int parts, int i, size_t *b, size_t *e)
{
    size_t q = n / (size_t)parts, r = n % (size_t)parts;
    *b = (size_t)i * q + ((size_t)i < r ? (size_t)i : r);
    *e = *b + q + ((size_t)i < r ? 1 : 0);
}

static void *worker(void *arg)
{
    cpu_pool *p = ((warg *)arg)->p;
    int idx = ((warg *)arg)->idx;
    free(arg);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        size_t n = p->n;
        cpu_pool_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        size_t b, e;
        range(n, p->threads, idx, &b, &e);
        if (b < e) fn(ctx, b, e);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cpu_pool *cpu_pool_new(int threads)
{
    if (threads < 1) threads = 1;
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->threads = threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->tid = calloc((size_t)threads, sizeof *p->tid);
    if (!p->tid) { cpu_pool_free(p); return NULL; }
    for (int i = 1; i < threads; i++) {
        warg *a = malloc(sizeof *a);
        if (!a) { cpu_pool_free(p); return NULL; }
        a->p = p;
        a->idx = i;
        if (pthread_create(&p->tid[i], NULL, worker, a) != 0) { free(a); cpu_pool_free(p); return NULL; }
        p->started = i;
    }
    return p;
}

void cpu_pool_free(cpu_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i <= p->started; i++) pthread_join(p->tid[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->tid);
    free(p);
}

int cpu_pool_threads(const cpu_pool *p) { return p->threads; }

void cpu_pool_run(cpu_pool *p, size_t n, cpu_pool_fn fn, void *ctx)
{
    if (n == 0) return;
    if (p->threads == 1 || n == 1) { fn(ctx, 0, n); return; }
    pthread_mutex_lock(&p->mu);
    p->n = n;
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->threads - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    size_t b, e;
    range(n, p->threads, 0, &b, &e);
    if (b < e) fn(ctx, b, e);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
