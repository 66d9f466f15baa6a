/* ufrpc — the allocator hook, after nghttp2's nghttp2_mem: a struct of function
 * pointers that a caller passes to an object when creating it (never a mutable
 * global). The object makes every one of its allocations through it and frees
 * with it, so a test can fail the Nth allocation, or an embedder can count or
 * pool memory per object.
 *
 * Ownership and lifetime: the struct (and user_data) is the caller's and must
 * outlive every object created with it; objects keep the pointer, not a copy.
 * Passing NULL wherever a `const struct ufrpc_mem *` is taken means libc's
 * malloc/calloc/realloc/free (ufrpc_mem_default()). The functions follow libc's
 * contracts (NULL on failure, free(NULL) is a no-op, realloc failing leaves the
 * block untouched); calloc must check n * size for overflow as libc's does. */
#ifndef UFRPC_PROTO_MEM_H
#define UFRPC_PROTO_MEM_H

#include <stddef.h>

struct ufrpc_mem {
    void *user_data;
    void *(*malloc)(size_t size, void *user_data);
    void *(*calloc)(size_t n, size_t size, void *user_data);
    void *(*realloc)(void *p, size_t size, void *user_data);
    void (*free)(void *p, void *user_data);
};

/* libc's allocator as a struct ufrpc_mem. Static storage, read-only. */
const struct ufrpc_mem *ufrpc_mem_default(void);

/* mem, or ufrpc_mem_default() when mem is NULL. */
static inline const struct ufrpc_mem *ufrpc_mem_or_default(const struct ufrpc_mem *mem)
{
    return mem != NULL ? mem : ufrpc_mem_default();
}

static inline void *ufrpc_mem_malloc(const struct ufrpc_mem *mem, size_t size)
{
    return mem->malloc(size, mem->user_data);
}

static inline void *ufrpc_mem_calloc(const struct ufrpc_mem *mem, size_t n, size_t size)
{
    return mem->calloc(n, size, mem->user_data);
}

static inline void *ufrpc_mem_realloc(const struct ufrpc_mem *mem, void *p, size_t size)
{
    return mem->realloc(p, size, mem->user_data);
}

static inline void ufrpc_mem_free(const struct ufrpc_mem *mem, void *p)
{
    mem->free(p, mem->user_data);
}

/* A copy of the NUL-terminated s (n bytes of it for strndup, plus a NUL) made
 * with mem; NULL when it fails. */
char *ufrpc_mem_strdup(const struct ufrpc_mem *mem, const char *s);
char *ufrpc_mem_strndup(const struct ufrpc_mem *mem, const char *s, size_t n);

#endif
