/* The allocator hook: see mem.h. */
#include "proto/mem.h"

#include <stdlib.h>
#include <string.h>

static void *libc_malloc(size_t size, void *ud)
{
    (void)ud;
    return malloc(size);
}

static void *libc_calloc(size_t n, size_t size, void *ud)
{
    (void)ud;
    return calloc(n, size);
}

static void *libc_realloc(void *p, size_t size, void *ud)
{
    (void)ud;
    return realloc(p, size);
}

static void libc_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static const struct ufrpc_mem libc_mem = {NULL, libc_malloc, libc_calloc, libc_realloc, libc_free};

const struct ufrpc_mem *ufrpc_mem_default(void)
{
    return &libc_mem;
}

char *ufrpc_mem_strndup(const struct ufrpc_mem *mem, const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ufrpc_mem_malloc(mem, len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *ufrpc_mem_strdup(const struct ufrpc_mem *mem, const char *s)
{
    return ufrpc_mem_strndup(mem, s, strlen(s));
}
