/* config/cfg_util.c — arena, diagnostics list, positions and environment lookup. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

extern char **environ;

/* ---------------------------------------------------------------- arena */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct ufrpc_cfg_arena {
    const struct ufrpc_mem *mem;
    struct arena_block *head;
};

struct ufrpc_cfg_arena *ufrpc_cfg_arena_new(const struct ufrpc_mem *mem)
{
    mem = ufrpc_mem_or_default(mem);
    struct ufrpc_cfg_arena *a = ufrpc_mem_calloc(mem, 1, sizeof *a);
    if (a != NULL)
        a->mem = mem;
    return a;
}

void ufrpc_cfg_arena_free(struct ufrpc_cfg_arena *a)
{
    if (a == NULL)
        return;
    struct arena_block *b = a->head;
    while (b != NULL) {
        struct arena_block *n = b->next;
        ufrpc_mem_free(a->mem, b);
        b = n;
    }
    ufrpc_mem_free(a->mem, a);
}

void *ufrpc_cfg_arena_alloc(struct ufrpc_cfg_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    struct arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = ufrpc_mem_malloc(a->mem, sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *ufrpc_cfg_arena_strndup(struct ufrpc_cfg_arena *a, const char *s, size_t n)
{
    char *p = ufrpc_cfg_arena_alloc(a, n + 1);
    if (p != NULL) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---------------------------------------------------------------- diagnostics */

void ufrpc_cfg_diag_init(struct ufrpc_cfg_diag *d)
{
    memset(d, 0, sizeof *d);
}

void ufrpc_cfg_diag_free(struct ufrpc_cfg_diag *d)
{
    if (d == NULL)
        return;
    free(d->items);
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i]);
    free(d->files);
    memset(d, 0, sizeof *d);
}

const char *ufrpc_cfg_diag_file(struct ufrpc_cfg_diag *d, const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < d->nfiles; i++)
        if (strcmp(d->files[i], name) == 0)
            return d->files[i];
    if (d->nfiles == d->files_cap) {
        size_t cap = d->files_cap ? d->files_cap * 2 : 8;
        char **f = realloc(d->files, cap * sizeof *f);
        if (f == NULL)
            return NULL;
        d->files = f;
        d->files_cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return NULL;
    d->files[d->nfiles++] = copy;
    return copy;
}

static int diag_vadd(struct ufrpc_cfg_diag *d, ufrpc_cfg_severity sev, int code, const char *file,
                     uint32_t line, const char *fmt, va_list ap)
{
    if (d == NULL)
        return 0;
    if (sev == UFRPC_CFG_ERROR)
        d->errors++;
    else if (sev == UFRPC_CFG_WARNING)
        d->warnings++;
    else if (sev == UFRPC_CFG_UNSUPPORTED)
        d->unsupported++;
    if (d->len >= UFRPC_CFG_DIAG_MAX) {
        d->truncated = true;
        return 0;
    }
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct ufrpc_cfg_diag_item *it = realloc(d->items, cap * sizeof *it);
        if (it == NULL)
            return UFRPC_ERR_NOMEM;
        d->items = it;
        d->cap = cap;
    }
    struct ufrpc_cfg_diag_item *it = &d->items[d->len++];
    memset(it, 0, sizeof *it);
    it->severity = sev;
    it->err.file = file;
    it->err.line = line;
    it->err.code = code;
    vsnprintf(it->err.msg, sizeof it->err.msg, fmt, ap);
    return 0;
}

int ufrpc_cfg_diag_add(struct ufrpc_cfg_diag *d, ufrpc_cfg_severity sev, int code, const char *file,
                       uint32_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = diag_vadd(d, sev, code, file, line, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *sev_prefix(ufrpc_cfg_severity s)
{
    switch (s) {
    case UFRPC_CFG_ERROR:
        return "";
    case UFRPC_CFG_WARNING:
        return "warning: ";
    case UFRPC_CFG_UNSUPPORTED:
        return "not supported yet: ";
    case UFRPC_CFG_NOTICE:
        return "";
    }
    return "";
}

void ufrpc_cfg_diag_print(const struct ufrpc_cfg_diag *d, FILE *out)
{
    char buf[1024];
    for (size_t i = 0; i < d->len; i++) {
        const struct ufrpc_cfg_diag_item *it = &d->items[i];
        if (it->severity == UFRPC_CFG_NOTICE) {
            fprintf(out, "%s\n", it->err.msg);
            continue;
        }
        struct ufrpc_cfg_error e = it->err;
        char msg[sizeof e.msg + 32];
        snprintf(msg, sizeof msg, "%s%s", sev_prefix(it->severity), e.msg);
        size_t n = strlen(msg);
        if (n >= sizeof e.msg)
            n = sizeof e.msg - 1; /* an over-long message is cut on purpose */
        memcpy(e.msg, msg, n);
        e.msg[n] = '\0';
        fprintf(out, "%s\n", ufrpc_cfg_error_format(&e, buf, sizeof buf));
    }
    if (d->truncated)
        fprintf(out, "(more problems were found; only the first %d are shown)\n", UFRPC_CFG_DIAG_MAX);
}

const struct ufrpc_cfg_diag_item *ufrpc_cfg_diag_find(const struct ufrpc_cfg_diag *d,
                                                       ufrpc_cfg_severity sev, const char *needle)
{
    for (size_t i = 0; i < d->len; i++)
        if (d->items[i].severity == sev && strstr(d->items[i].err.msg, needle) != NULL)
            return &d->items[i];
    return NULL;
}

/* ---------------------------------------------------------------- ctx helpers */

void ufrpc_cfg_report(struct ufrpc_cfg_ctx *c, ufrpc_cfg_severity sev, int code, ufrpc_cv_pos pos,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (diag_vadd(c->diag, sev, code, pos.file, pos.line, fmt, ap) != 0)
        c->nomem = 1;
    va_end(ap);
}

void ufrpc_cfg_pos_record(struct ufrpc_cfg_ctx *c, const void *addr, ufrpc_cv_pos pos)
{
    if (c->npos == c->pos_cap) {
        size_t cap = c->pos_cap ? c->pos_cap * 2 : 64;
        struct ufrpc_cfg_pos_entry *p = ufrpc_mem_realloc(c->mem, c->pos, cap * sizeof *p);
        if (p == NULL) {
            c->nomem = 1;
            return;
        }
        c->pos = p;
        c->pos_cap = cap;
    }
    c->pos[c->npos++] = (struct ufrpc_cfg_pos_entry){addr, pos};
}

ufrpc_cv_pos ufrpc_cfg_pos_of(const struct ufrpc_cfg_ctx *c, const void *addr)
{
    for (size_t i = c->npos; i-- > 0;)
        if (c->pos[i].addr == addr)
            return c->pos[i].pos;
    return (ufrpc_cv_pos){c->file, 0, 0};
}

const char *ufrpc_cfg_getenv(const char *const *envp, const char *name, size_t name_len)
{
    const char *const *e = envp != NULL ? envp : (const char *const *)environ;
    if (e == NULL)
        return NULL;
    for (; *e != NULL; e++)
        if (strncmp(*e, name, name_len) == 0 && (*e)[name_len] == '=')
            return *e + name_len + 1;
    return NULL;
}
