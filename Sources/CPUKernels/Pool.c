// A team of persistent worker threads for the CPU backend's parallel loops. A decode step runs about a
// hundred short parallel loops (one per weight matrix, ~0.1–0.5 ms each); waking parked threads for
// each one (a futex wake per loop) cost a tenth of the step. Workers here wait for the next loop by
// spinning on a counter with the CPU's pause hint for a bounded time (no sched_yield), then sleep on a
// condition variable, so back-to-back loops start at once and an idle process uses no CPU.
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "CPUKernels.h"

struct steer_pool {
    int workers;
    pthread_t *threads;
    _Atomic long generation;  // bumped once per loop
    _Atomic long next;        // next item to hand out
    _Atomic int pending;      // workers that have not finished the current loop
    long count;
    int participants;         // workers (beyond the caller) that take items in this loop
    steer_pool_task task;
    void *context;
    _Atomic int sleepers;
    _Atomic int stop;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    long spin;                // pause iterations before sleeping
};

static inline void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

typedef struct { steer_pool *pool; int index; } worker_arg;

static void run_items(steer_pool *p) {
    long i;
    while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->count) p->task(p->context, i);
}

static void *worker_main(void *raw) {
    worker_arg a = *(worker_arg *)raw;
    free(raw);
    steer_pool *p = a.pool;
    long seen = 0;
    for (;;) {
        long spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
            if (spins++ < p->spin) { relax(); continue; }
            pthread_mutex_lock(&p->mutex);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->mutex);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mutex);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        if (a.index < p->participants) run_items(p);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

steer_pool *steer_pool_create(int workers, long spin) {
    steer_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->workers = workers > 0 ? workers : 0;
    p->spin = spin;
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)(p->workers > 0 ? p->workers : 1), sizeof(pthread_t));
    if (!p->threads) { free(p); return NULL; }
    for (int w = 0; w < p->workers; w++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a) { p->workers = w; break; }
        a->pool = p; a->index = w;
        if (pthread_create(&p->threads[w], NULL, worker_main, a) != 0) { free(a); p->workers = w; break; }
    }
    return p;
}

int steer_pool_workers(const steer_pool *p) { return p ? p->workers : 0; }

void steer_pool_run(steer_pool *p, long count, int participants, steer_pool_task task, void *context) {
    if (count <= 0) return;
    if (!p || p->workers == 0 || participants <= 0) {
        for (long i = 0; i < count; i++) task(context, i);
        return;
    }
    p->count = count;
    p->participants = participants < p->workers ? participants : p->workers;
    p->task = task;
    p->context = context;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->workers, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1);  // sequentially consistent: ordered before the read of `sleepers`
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mutex);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mutex);
    }
    run_items(p);
    // Every worker acknowledges the loop (those beyond `participants` without taking items), so the
    // next loop's fields are not overwritten while one still reads them.
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) relax();
}

void steer_pool_destroy(steer_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mutex);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
    for (int w = 0; w < p->workers; w++) pthread_join(p->threads[w], NULL);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p);
}
