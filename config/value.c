#include "config/value.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

ufrpc_cv *ufrpc_cv_new(const struct ufrpc_mem *mem, ufrpc_cv_type type, ufrpc_cv_pos pos)
{
    mem = ufrpc_mem_or_default(mem);
    ufrpc_cv *v = ufrpc_mem_calloc(mem, 1, sizeof *v);
    if (v != NULL) {
        v->mem = mem;
        v->type = type;
        v->pos = pos;
    }
    return v;
}

ufrpc_cv *ufrpc_cv_new_string(const struct ufrpc_mem *mem, ufrpc_cv_type type, const char *s,
                              size_t len, ufrpc_cv_pos pos)
{
    ufrpc_cv *v = ufrpc_cv_new(mem, type, pos);
    if (v == NULL)
        return NULL;
    v->u.s.ptr = ufrpc_mem_malloc(v->mem, len + 1);
    if (v->u.s.ptr == NULL) {
        ufrpc_mem_free(v->mem, v);
        return NULL;
    }
    if (len)
        memcpy(v->u.s.ptr, s, len);
    v->u.s.ptr[len] = '\0';
    v->u.s.len = len;
    return v;
}

ufrpc_cv *ufrpc_cv_new_integer(const struct ufrpc_mem *mem, int64_t i, ufrpc_cv_pos pos)
{
    ufrpc_cv *v = ufrpc_cv_new(mem, UFRPC_CV_INTEGER, pos);
    if (v != NULL)
        v->u.i = i;
    return v;
}

ufrpc_cv *ufrpc_cv_new_float(const struct ufrpc_mem *mem, double f, ufrpc_cv_pos pos)
{
    ufrpc_cv *v = ufrpc_cv_new(mem, UFRPC_CV_FLOAT, pos);
    if (v != NULL)
        v->u.f = f;
    return v;
}

ufrpc_cv *ufrpc_cv_new_bool(const struct ufrpc_mem *mem, bool b, ufrpc_cv_pos pos)
{
    ufrpc_cv *v = ufrpc_cv_new(mem, UFRPC_CV_BOOL, pos);
    if (v != NULL)
        v->u.b = b;
    return v;
}

static bool is_text(ufrpc_cv_type t)
{
    return t == UFRPC_CV_STRING || t == UFRPC_CV_DATETIME || t == UFRPC_CV_DATETIME_LOCAL ||
           t == UFRPC_CV_DATE_LOCAL || t == UFRPC_CV_TIME_LOCAL;
}

void ufrpc_cv_free(ufrpc_cv *v)
{
    if (v == NULL)
        return;
    if (v->type == UFRPC_CV_TABLE) {
        for (size_t i = 0; i < v->u.t.len; i++) {
            ufrpc_mem_free(v->mem, v->u.t.items[i].key);
            ufrpc_cv_free(v->u.t.items[i].value);
        }
        ufrpc_mem_free(v->mem, v->u.t.items);
    } else if (v->type == UFRPC_CV_ARRAY) {
        for (size_t i = 0; i < v->u.a.len; i++)
            ufrpc_cv_free(v->u.a.items[i]);
        ufrpc_mem_free(v->mem, v->u.a.items);
    } else if (is_text(v->type)) {
        ufrpc_mem_free(v->mem, v->u.s.ptr);
    }
    ufrpc_mem_free(v->mem, v);
}

ufrpc_cv *ufrpc_cv_getn(const ufrpc_cv *table, const char *key, size_t key_len)
{
    if (table == NULL || table->type != UFRPC_CV_TABLE)
        return NULL;
    for (size_t i = 0; i < table->u.t.len; i++) {
        const ufrpc_cv_member *m = &table->u.t.items[i];
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
            return m->value;
    }
    return NULL;
}

ufrpc_cv *ufrpc_cv_get(const ufrpc_cv *table, const char *key)
{
    return ufrpc_cv_getn(table, key, strlen(key));
}

int ufrpc_cv_set(ufrpc_cv *table, const char *key, size_t key_len, ufrpc_cv *value)
{
    if (table == NULL || table->type != UFRPC_CV_TABLE || value == NULL)
        return UFRPC_ERR_INVAL;
    if (ufrpc_cv_getn(table, key, key_len) != NULL)
        return UFRPC_ERR_CONFIG_DUPLICATE;
    return ufrpc_cv_append(table, key, key_len, value);
}

struct dedupe_ix {
    const ufrpc_cv_member *m;
    size_t ix;
};

static int dedupe_cmp(const void *a, const void *b)
{
    const struct dedupe_ix *x = a, *y = b;
    size_t n = x->m->key_len < y->m->key_len ? x->m->key_len : y->m->key_len;
    int c = n ? memcmp(x->m->key, y->m->key, n) : 0;
    if (c == 0 && x->m->key_len != y->m->key_len)
        c = x->m->key_len < y->m->key_len ? -1 : 1;
    if (c == 0)
        c = x->ix < y->ix ? -1 : x->ix > y->ix ? 1 : 0;
    return c;
}

int ufrpc_cv_dedupe(ufrpc_cv *table, bool last_wins, size_t *dup)
{
    if (table == NULL || table->type != UFRPC_CV_TABLE)
        return UFRPC_ERR_INVAL;
    size_t n = table->u.t.len;
    if (n < 2)
        return 0;
    const struct ufrpc_mem *mem = table->mem;
    struct dedupe_ix *ix = ufrpc_mem_malloc(mem, n * sizeof *ix);
    if (ix == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        ix[i] = (struct dedupe_ix){&table->u.t.items[i], i};
    qsort(ix, n, sizeof *ix, dedupe_cmp);
    bool any = false;
    size_t first_dup = SIZE_MAX;
    for (size_t i = 1; i < n; i++) {
        const ufrpc_cv_member *a = ix[i - 1].m, *b = ix[i].m;
        if (a->key_len == b->key_len && (a->key_len == 0 || memcmp(a->key, b->key, a->key_len) == 0)) {
            any = true;
            if (ix[i].ix < first_dup)
                first_dup = ix[i].ix;
        }
    }
    if (!any) {
        ufrpc_mem_free(mem, ix);
        return 0;
    }
    if (!last_wins) {
        ufrpc_mem_free(mem, ix);
        if (dup != NULL)
            *dup = first_dup;
        return UFRPC_ERR_CONFIG_DUPLICATE;
    }
    /* mark every member that has a later twin (sorted runs: all but the last) */
    bool *drop = ufrpc_mem_calloc(mem, n, sizeof *drop);
    if (drop == NULL) {
        ufrpc_mem_free(mem, ix);
        return UFRPC_ERR_NOMEM;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const ufrpc_cv_member *a = ix[i].m, *b = ix[i + 1].m;
        if (a->key_len == b->key_len && (a->key_len == 0 || memcmp(a->key, b->key, a->key_len) == 0))
            drop[ix[i].ix] = true;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop[i]) {
            ufrpc_mem_free(mem, table->u.t.items[i].key);
            ufrpc_cv_free(table->u.t.items[i].value);
        } else {
            table->u.t.items[o++] = table->u.t.items[i];
        }
    }
    table->u.t.len = o;
    ufrpc_mem_free(mem, drop);
    ufrpc_mem_free(mem, ix);
    return 0;
}

int ufrpc_cv_append(ufrpc_cv *table, const char *key, size_t key_len, ufrpc_cv *value)
{
    if (table == NULL || table->type != UFRPC_CV_TABLE || value == NULL)
        return UFRPC_ERR_INVAL;
    if (table->u.t.len == table->u.t.cap) {
        size_t cap = table->u.t.cap ? table->u.t.cap * 2 : 8;
        ufrpc_cv_member *items = ufrpc_mem_realloc(table->mem, table->u.t.items, cap * sizeof *items);
        if (items == NULL)
            return UFRPC_ERR_NOMEM;
        table->u.t.items = items;
        table->u.t.cap = cap;
    }
    char *k = ufrpc_mem_malloc(table->mem, key_len + 1);
    if (k == NULL)
        return UFRPC_ERR_NOMEM;
    if (key_len)
        memcpy(k, key, key_len);
    k[key_len] = '\0';
    table->u.t.items[table->u.t.len++] = (ufrpc_cv_member){k, key_len, value};
    return 0;
}

int ufrpc_cv_push(ufrpc_cv *array, ufrpc_cv *v)
{
    if (array == NULL || array->type != UFRPC_CV_ARRAY || v == NULL)
        return UFRPC_ERR_INVAL;
    if (array->u.a.len == array->u.a.cap) {
        size_t cap = array->u.a.cap ? array->u.a.cap * 2 : 8;
        ufrpc_cv **items = ufrpc_mem_realloc(array->mem, array->u.a.items, cap * sizeof *items);
        if (items == NULL)
            return UFRPC_ERR_NOMEM;
        array->u.a.items = items;
        array->u.a.cap = cap;
    }
    array->u.a.items[array->u.a.len++] = v;
    return 0;
}

ufrpc_cv *ufrpc_cv_clone(const ufrpc_cv *v)
{
    if (v == NULL)
        return NULL;
    ufrpc_cv *c;
    if (is_text(v->type))
        return ufrpc_cv_new_string(v->mem, v->type, v->u.s.ptr, v->u.s.len, v->pos);
    c = ufrpc_cv_new(v->mem, v->type, v->pos);
    if (c == NULL)
        return NULL;
    c->parser_flags = v->parser_flags;
    if (v->type == UFRPC_CV_TABLE) {
        for (size_t i = 0; i < v->u.t.len; i++) {
            ufrpc_cv *child = ufrpc_cv_clone(v->u.t.items[i].value);
            if (child == NULL ||
                ufrpc_cv_set(c, v->u.t.items[i].key, v->u.t.items[i].key_len, child) != 0) {
                ufrpc_cv_free(child);
                ufrpc_cv_free(c);
                return NULL;
            }
        }
    } else if (v->type == UFRPC_CV_ARRAY) {
        for (size_t i = 0; i < v->u.a.len; i++) {
            ufrpc_cv *child = ufrpc_cv_clone(v->u.a.items[i]);
            if (child == NULL || ufrpc_cv_push(c, child) != 0) {
                ufrpc_cv_free(child);
                ufrpc_cv_free(c);
                return NULL;
            }
        }
    } else {
        c->u = v->u;
    }
    return c;
}

const char *ufrpc_cv_type_name(ufrpc_cv_type type)
{
    switch (type) {
    case UFRPC_CV_TABLE:
        return "table";
    case UFRPC_CV_ARRAY:
        return "array";
    case UFRPC_CV_STRING:
        return "string";
    case UFRPC_CV_INTEGER:
        return "integer";
    case UFRPC_CV_FLOAT:
        return "float";
    case UFRPC_CV_BOOL:
        return "bool";
    case UFRPC_CV_DATETIME:
        return "datetime";
    case UFRPC_CV_DATETIME_LOCAL:
        return "datetime-local";
    case UFRPC_CV_DATE_LOCAL:
        return "date-local";
    case UFRPC_CV_TIME_LOCAL:
        return "time-local";
    }
    return "unknown";
}
