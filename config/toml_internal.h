/* config/toml_internal.h — shared between the TOML reader's files (not public).
 *
 * toml.c holds the document structure (keys, tables, redefinition rules);
 * toml_scalar.c the lexical pieces (strings, numbers, date/times). The parser
 * state lives in one struct toml_parser owned by ufrpc_toml_parse() for the
 * duration of one call. */
#ifndef UFRPC_CONFIG_TOML_INTERNAL_H
#define UFRPC_CONFIG_TOML_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/cfg_error.h"
#include "config/value.h"

/* Growable byte buffer; data is malloc'd and owned by whoever holds the struct. */
struct toml_buf {
    const struct ufrpc_mem *mem; /* the parser's */
    char *data;
    size_t len, cap;
};

struct toml_map_slot;

struct toml_parser {
    const struct ufrpc_mem *mem; /* every allocation of the parse and the tree */
    const char *s; /* input, len n; s[n] is never read */
    size_t n;
    size_t i; /* cursor */
    const char *file;
    struct ufrpc_cfg_error *err;
    uint32_t line;     /* 1-based line of s[i] */
    size_t line_start; /* offset of the first byte of that line */
    size_t cc_pos;     /* column cache: column of byte cc_pos on line cc_line */
    uint32_t cc_col, cc_line;
    struct toml_buf sb; /* scratch for string values */
    /* key of the expression being parsed: parts are NUL-separated in kb */
    struct toml_buf kb;
    size_t kpart_off[UFRPC_TOML_MAX_DEPTH + 1];
    size_t kpart_len[UFRPC_TOML_MAX_DEPTH + 1];
    size_t kpart_pos[UFRPC_TOML_MAX_DEPTH + 1];
    size_t nkparts;
    /* (parent node, key) -> child index over every table of the document */
    struct toml_map_slot *map;
    size_t map_cap, map_len;
    /* tables created by dotted keys in the current [section] */
    ufrpc_cv **pending;
    size_t npending, cappending;
    ufrpc_cv *root;
    ufrpc_cv *cur; /* table of the current [section] */
    int cur_depth;
};

/* Returns err code after recording "file:line:col" of byte offset `at`. */
int ufrpc__toml_fail_at(struct toml_parser *p, size_t at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
ufrpc_cv_pos ufrpc__toml_pos_at(struct toml_parser *p, size_t at);
int ufrpc__toml_buf_put(struct toml_buf *b, const void *data, size_t len);

/* Consumes a newline (LF or CRLF) at the cursor and updates line tracking.
 * Returns 1 if one was consumed, 0 if none is there. A CR not followed by LF is an
 * error (<0). */
int ufrpc__toml_newline(struct toml_parser *p);

/* Strings: the cursor is on the opening quote. The decoded bytes are appended to
 * b. `allow_multi` false for keys. */
int ufrpc__toml_parse_string(struct toml_parser *p, struct toml_buf *b, bool allow_multi);

/* Number, boolean, inf/nan or date/time starting at the cursor -> new node. */
int ufrpc__toml_parse_scalar(struct toml_parser *p, ufrpc_cv **out);

#endif
