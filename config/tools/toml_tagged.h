/* config/tools/toml_tagged.h — toml-test's "tagged JSON" view of a ufrpc_cv tree.
 * Used by toml-test-decoder; not part of the ufrpc library.
 *
 * Tables -> JSON objects, arrays -> JSON arrays, scalars -> {"type": T, "value": "V"}
 * with V always a JSON string. Keys and string values are written with their full
 * length (ufrpc_cv_member.key_len, u.s.len): a U+0000 inside is escaped as \u0000,
 * never cut, so the keys "\u0000" and "" stay two keys. The text is written by
 * hand rather than through json-c, whose object keys are C strings. */
#ifndef UFRPC_CONFIG_TOOLS_TOML_TAGGED_H
#define UFRPC_CONFIG_TOOLS_TOML_TAGGED_H

#include <stddef.h>

#include "config/value.h"

/* Nesting limit of the writer (the TOML reader stays far below it). */
#define UFRPC_TOML_TAGGED_MAX_DEPTH 1024

/* Writes v as indented tagged JSON followed by a newline into a new malloc'd,
 * NUL-terminated buffer: *out (caller frees), *out_len bytes without the NUL.
 * Returns 0, UFRPC_ERR_NOMEM, UFRPC_ERR_LIMIT (deeper than
 * UFRPC_TOML_TAGGED_MAX_DEPTH) or UFRPC_ERR_INVAL (v NULL); on failure *out is
 * NULL and *out_len 0. */
int ufrpc_toml_tagged_json(const ufrpc_cv *v, char **out, size_t *out_len);

#endif
