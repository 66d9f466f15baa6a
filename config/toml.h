/* config/toml.h — TOML 1.0 reader: text -> ufrpc_cv tree (config/value.h).
 *
 * Full TOML 1.0.0: every string kind and escape, integers (hex/oct/bin, int64
 * range checked), floats, booleans, the four date/time kinds (kept as canonical
 * RFC 3339 text: 'T' separator, upper-case 'Z', fraction digits as written), arrays,
 * inline tables, [tables], [[arrays of tables]], dotted keys and every
 * redefinition rule of the specification. Input must be UTF-8 (a leading BOM is
 * skipped); control characters outside the allowed places are rejected.
 *
 * Hostile input: no recursion deeper than UFRPC_TOML_MAX_DEPTH (key components,
 * array and inline-table levels all count), key lookups are hashed so large
 * tables stay linear.
 *
 * U+0000: a raw NUL byte in the text is an error (a control character), but the
 * escapes \u0000 / \U00000000 are valid TOML and yield NUL bytes inside keys and
 * string values. Every key and string therefore carries its length
 * (ufrpc_cv_member.key_len, u.s.len): read them with those lengths and
 * ufrpc_cv_getn, never with strlen, or "a\u0000b" silently becomes "a". Whoever
 * hands such a string to a C API must refuse it instead (config/schema.c does).
 *
 * Node positions: a value's pos is where the value starts; a table created by a
 * [header] points at the header; tables created implicitly point at the first key
 * that created them. pos.file is `file_name` (borrowed; it must outlive the tree).
 */
#ifndef UFRPC_CONFIG_TOML_H
#define UFRPC_CONFIG_TOML_H

#include <stddef.h>

#include "config/cfg_error.h"
#include "config/value.h"

#define UFRPC_TOML_MAX_DEPTH 128

/* Parses `len` bytes of `text` (need not be NUL-terminated; NUL bytes are
 * rejected as control characters). On success returns 0 and stores a new root
 * table in *out (caller frees with ufrpc_cv_free). On failure returns a negative
 * ufrpc error (UFRPC_ERR_CONFIG_SYNTAX, _DUPLICATE, _VALUE, _ENCODING, _DEPTH or
 * UFRPC_ERR_NOMEM), sets *out to NULL and fills *err (if non-NULL) with file,
 * 1-based line and column (in characters) and a message. */
int ufrpc_toml_parse(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                     struct ufrpc_cfg_error *err);
/* The same with every allocation, of the parse and of the tree, made through mem
 * (NULL = libc; it must outlive the tree). */
int ufrpc_toml_parse_mem(const struct ufrpc_mem *mem, const char *text, size_t len,
                         const char *file_name, ufrpc_cv **out, struct ufrpc_cfg_error *err);

#endif
