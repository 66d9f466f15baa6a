/* config/value.h — the format-neutral document tree.
 *
 * Every config reader (TOML, YAML, JSON, and the legacy INI mapper) turns its input
 * into this tree; the schema layer then reads the tree into struct ufrpc_config.
 * Each node remembers where it came from (file, line, column) so that every error
 * can name file:line.
 *
 * Ownership: a node owns its children, its strings and its keys; ufrpc_cv_free()
 * releases a whole subtree. Each node remembers the allocator it was made with
 * (`mem`, proto/mem.h; NULL at construction means libc's) and makes every later
 * allocation and free of its own through it; it must outlive the tree. `pos.file` is borrowed: it must outlive the tree (the
 * loader keeps the file names for as long as any tree lives).
 */
#ifndef UFRPC_CONFIG_VALUE_H
#define UFRPC_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/mem.h"

typedef enum ufrpc_cv_type {
    UFRPC_CV_TABLE,
    UFRPC_CV_ARRAY,
    UFRPC_CV_STRING,
    UFRPC_CV_INTEGER,
    UFRPC_CV_FLOAT,
    UFRPC_CV_BOOL,
    /* TOML date/time kinds keep their canonical text in u.s. */
    UFRPC_CV_DATETIME,       /* offset date-time */
    UFRPC_CV_DATETIME_LOCAL, /* local date-time */
    UFRPC_CV_DATE_LOCAL,
    UFRPC_CV_TIME_LOCAL,
} ufrpc_cv_type;

typedef struct ufrpc_cv_pos {
    const char *file; /* borrowed, may be NULL */
    uint32_t line;    /* 1-based; 0 when synthesized */
    uint32_t col;     /* 1-based; 0 when unknown */
} ufrpc_cv_pos;

typedef struct ufrpc_cv ufrpc_cv;

typedef struct ufrpc_cv_member {
    char *key; /* NUL-terminated copy; may contain NUL bytes, see key_len */
    size_t key_len;
    ufrpc_cv *value;
} ufrpc_cv_member;

struct ufrpc_cv {
    ufrpc_cv_type type;
    const struct ufrpc_mem *mem; /* never NULL once built */
    ufrpc_cv_pos pos;
    uint32_t parser_flags; /* private to the reader that built the node (e.g. TOML's
                              "defined by a [header]"); the schema never reads it */
    union {
        struct {
            char *ptr; /* NUL-terminated copy; len excludes the NUL */
            size_t len;
        } s;
        int64_t i;
        double f;
        bool b;
        struct {
            ufrpc_cv_member *items; /* in insertion order */
            size_t len, cap;
        } t;
        struct {
            ufrpc_cv **items;
            size_t len, cap;
        } a;
    } u;
};

/* Constructors return NULL on allocation failure. Strings are copied. mem: the
 * node's allocator (NULL = libc). */
ufrpc_cv *ufrpc_cv_new(const struct ufrpc_mem *mem, ufrpc_cv_type type, ufrpc_cv_pos pos);
ufrpc_cv *ufrpc_cv_new_string(const struct ufrpc_mem *mem, ufrpc_cv_type type, const char *s,
                              size_t len, ufrpc_cv_pos pos);
ufrpc_cv *ufrpc_cv_new_integer(const struct ufrpc_mem *mem, int64_t i, ufrpc_cv_pos pos);
ufrpc_cv *ufrpc_cv_new_float(const struct ufrpc_mem *mem, double f, ufrpc_cv_pos pos);
ufrpc_cv *ufrpc_cv_new_bool(const struct ufrpc_mem *mem, bool b, ufrpc_cv_pos pos);

/* Frees v and everything below it. NULL is fine. */
void ufrpc_cv_free(ufrpc_cv *v);

/* Table lookup by exact key (length-aware variant for keys with NUL). NULL if absent. */
ufrpc_cv *ufrpc_cv_get(const ufrpc_cv *table, const char *key);
ufrpc_cv *ufrpc_cv_getn(const ufrpc_cv *table, const char *key, size_t key_len);

/* Adds key=value to a table. On success the table owns value. Returns
 * UFRPC_ERR_CONFIG_DUPLICATE if the key exists (value is then NOT taken: the caller
 * still owns it), UFRPC_ERR_NOMEM, or UFRPC_ERR_INVAL if table is not a table. */
int ufrpc_cv_set(ufrpc_cv *table, const char *key, size_t key_len, ufrpc_cv *value);

/* Appends to an array; on success the array owns v. UFRPC_ERR_NOMEM / _INVAL. */
int ufrpc_cv_push(ufrpc_cv *array, ufrpc_cv *v);

/* Readers' bulk helpers (O(1) / O(n log n), for large inputs):
 * ufrpc_cv_append adds key=value WITHOUT the duplicate check (same ownership rules
 * as ufrpc_cv_set); the table may then hold duplicate keys until
 * ufrpc_cv_dedupe runs. ufrpc_cv_dedupe finds keys occurring more than once: with
 * last_wins it keeps the last occurrence (freeing the others, keeping the order of
 * the survivors) and returns 0; otherwise it changes nothing, stores the index of
 * the second occurrence of the first duplicate found in *dup (may be NULL) and
 * returns UFRPC_ERR_CONFIG_DUPLICATE. UFRPC_ERR_NOMEM / _INVAL as usual. */
int ufrpc_cv_append(ufrpc_cv *table, const char *key, size_t key_len, ufrpc_cv *value);
int ufrpc_cv_dedupe(ufrpc_cv *table, bool last_wins, size_t *dup);

/* Deep copy with v's allocator (file pointers stay borrowed). NULL on allocation
 * failure. */
ufrpc_cv *ufrpc_cv_clone(const ufrpc_cv *v);

/* "table", "array", "string", "integer", "float", "bool", "datetime"… */
const char *ufrpc_cv_type_name(ufrpc_cv_type type);

#endif
