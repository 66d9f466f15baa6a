/* When to give the heap's free pages back: policy and glibc calls (heap_trim.h). */
#include "client/core/heap_trim.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

void ufrpc_heap_trim_init(struct ufrpc_heap_trim *t)
{
    struct ufrpc_heap_trim zero = {0};
    *t = zero;
    t->quiet_ms = UFRPC_HEAP_TRIM_NEVER;
}

static int quiet(const struct ufrpc_heap_trim *t)
{
    return t->live == 0 || (t->peak >= UFRPC_HEAP_TRIM_BURST && t->live <= t->peak / 8);
}

void ufrpc_heap_trim_opened(struct ufrpc_heap_trim *t, uint64_t now_ms)
{
    (void)now_ms;
    t->live++;
    if (t->live > t->peak)
        t->peak = t->live;
    t->active = 1;
    if (!quiet(t))
        t->quiet_ms = UFRPC_HEAP_TRIM_NEVER;
}

/* The deadline: a quiet second, or a second after the session was lost. */
static uint64_t due(const struct ufrpc_heap_trim *t)
{
    uint64_t d = t->quiet_ms == UFRPC_HEAP_TRIM_NEVER ? UFRPC_HEAP_TRIM_NEVER
                                                      : t->quiet_ms + UFRPC_HEAP_TRIM_QUIET_MS;
    if (t->forced && t->lost_ms + UFRPC_HEAP_TRIM_QUIET_MS < d)
        d = t->lost_ms + UFRPC_HEAP_TRIM_QUIET_MS;
    return d;
}

uint64_t ufrpc_heap_trim_closed(struct ufrpc_heap_trim *t, uint64_t now_ms)
{
    if (t->live > 0)
        t->live--;
    t->active = 1; /* what it held is free now */
    if (quiet(t) && t->quiet_ms == UFRPC_HEAP_TRIM_NEVER)
        t->quiet_ms = now_ms;
    return due(t);
}

uint64_t ufrpc_heap_trim_session_lost(struct ufrpc_heap_trim *t, uint64_t now_ms)
{
    t->active = 1;
    if (!t->forced) {
        t->forced = 1;
        t->lost_ms = now_ms;
    }
    return due(t);
}

int ufrpc_heap_trim_check(struct ufrpc_heap_trim *t, uint64_t now_ms, size_t heap_free,
                          uint64_t *next_ms)
{
    *next_ms = UFRPC_HEAP_TRIM_NEVER;
    if (!t->active)
        return 0;
    uint64_t d = due(t);
    if (now_ms < d) {
        *next_ms = d; /* (NEVER while busy: the close that makes it quiet arms again) */
        return 0;
    }
    t->active = 0;
    t->forced = 0;
    t->peak = t->live;
    t->quiet_ms = UFRPC_HEAP_TRIM_NEVER; /* the next close that finds it quiet starts a wait */
    return heap_free >= UFRPC_HEAP_TRIM_MIN_FREE;
}

void ufrpc_heap_trim_tune(void)
{
#ifdef __GLIBC__
    /* Read buffers (64 KiB) are taken and returned around every read; glibc would
     * give the top of its heap back to the system above 128 KiB free and fault
     * the pages in again at the next read. Many connections take and return
     * megabytes per loop turn in no order (128 connections: 134 000 page faults
     * and 3 800 brk in 17 s with 1 MiB kept, 7 900 and 60 with 16 MiB), so up to
     * 16 MiB that a transfer touched stays free at the top (pages never touched
     * cost nothing) until the policy above finds the client quiet. */
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    mallopt(M_TOP_PAD, 16 * 1024 * 1024);
#endif
}

size_t ufrpc_heap_trim_free_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return mi.fordblks;
#else
    return 0; /* no malloc_trim to call either */
#endif
}

void ufrpc_heap_trim_now(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
