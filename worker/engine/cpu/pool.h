/* pool.h: a small persistent pthread pool for the CPU backend's element-wise passes.
 *
 * cpu_pool_run(p, n, fn, ctx) splits [0, n) into at most `threads` contiguous ranges
 * (the same split for the same n and thread count: results are deterministic) and calls
 * fn(ctx, begin, end) for each, the caller's thread taking the first range; it returns when
 * all are done. Workers sleep on a condition variable between runs (no spinning, so they do
 * not compete with OpenBLAS's own threads during GEMMs). One caller at a time.
 */
#ifndef GQ_ENGINE_CPU_POOL_H
#define GQ_ENGINE_CPU_POOL_H

#include <stddef.h>

typedef struct cpu_pool cpu_pool;
typedef void (*cpu_pool_fn)(void *ctx, size_t begin, size_t end);

/* threads >= 1 (1: no worker threads). Returns NULL on allocation/thread failure. */
cpu_pool *cpu_pool_new(int threads);
void      cpu_pool_free(cpu_pool *p);
int       cpu_pool_threads(const cpu_pool *p);
void      cpu_pool_run(cpu_pool *p, size_t n, cpu_pool_fn fn, void *ctx);

#endif
