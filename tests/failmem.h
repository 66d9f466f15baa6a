/* Test allocator for the allocation-failure tests: a struct ufrpc_mem that fails
 * the fail_at-th allocation (1-based; 0 = never) and counts live blocks, so that a
 * test can run a scenario once per N and check that nothing leaked. Test code only;
 * every test owns its own instance (no globals). */
#ifndef UFRPC_TEST_FAILMEM_H
#define UFRPC_TEST_FAILMEM_H

#include <stdlib.h>

#include "proto/mem.h"

struct failmem {
    struct ufrpc_mem mem;
    long fail_at;  /* the allocation number that fails; 0 = none */
    long n_allocs; /* allocations attempted (malloc, calloc, realloc that allocates) */
    long live;     /* blocks handed out and not freed */
    int failed;    /* the planned failure happened */
};

static inline int failmem_fail_now(struct failmem *f)
{
    f->n_allocs++;
    if (f->fail_at != 0 && f->n_allocs == f->fail_at) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

static inline void *failmem_malloc(size_t size, void *ud)
{
    struct failmem *f = ud;
    if (failmem_fail_now(f))
        return NULL;
    void *p = malloc(size != 0 ? size : 1);
    f->live += p != NULL;
    return p;
}

static inline void *failmem_calloc(size_t n, size_t size, void *ud)
{
    struct failmem *f = ud;
    if (failmem_fail_now(f))
        return NULL;
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);
    f->live += p != NULL;
    return p;
}

static inline void *failmem_realloc(void *old, size_t size, void *ud)
{
    struct failmem *f = ud;
    if (failmem_fail_now(f))
        return NULL;
    void *p = realloc(old, size != 0 ? size : 1);
    f->live += old == NULL && p != NULL;
    return p;
}

static inline void failmem_free(void *p, void *ud)
{
    struct failmem *f = ud;
    f->live -= p != NULL;
    free(p);
}

/* Resets f for one run that fails allocation number fail_at (0: none). */
static inline void failmem_init(struct failmem *f, long fail_at)
{
    f->mem.user_data = f;
    f->mem.malloc = failmem_malloc;
    f->mem.calloc = failmem_calloc;
    f->mem.realloc = failmem_realloc;
    f->mem.free = failmem_free;
    f->fail_at = fail_at;
    f->n_allocs = 0;
    f->live = 0;
    f->failed = 0;
}

#endif
