/* config/json_reader.h — JSON config reader: text -> ufrpc_cv tree (config/value.h).
 *
 * json-c (strict mode, UTF-8 validated, depth UFRPC_JSON_MAX_DEPTH) decides whether
 * the text is valid JSON and where it is not; the tree is then built by a light
 * scan of the same text so that every node carries its line and column and
 * integers stay exact int64 (json-c saturates them).
 *
 * Semantics follow Go's encoding/json as used by frp: a duplicate key replaces the
 * earlier value (last wins); an object member whose value is null is dropped (Go
 * leaves the field unset); null inside an array is rejected (no cv equivalent);
 * an integer outside int64 is rejected. The top-level value must be an object;
 * for ufrpc_json_read anything after it other than whitespace is an error (Go's
 * json.Unmarshal), see ufrpc_json_read_first for Go's json.Decoder.
 *
 * Numbers: no fraction/exponent -> UFRPC_CV_INTEGER, otherwise UFRPC_CV_FLOAT.
 * Ownership as in config/toml.h: *out is a new tree the caller frees, file_name is
 * borrowed by every node's pos.
 */
#ifndef UFRPC_CONFIG_JSON_READER_H
#define UFRPC_CONFIG_JSON_READER_H

#include <stddef.h>

#include "config/cfg_error.h"
#include "config/value.h"

#define UFRPC_JSON_MAX_DEPTH 128

/* 0 and *out = root table, or a negative ufrpc error (UFRPC_ERR_CONFIG_SYNTAX,
 * _ENCODING, _DEPTH, _VALUE, UFRPC_ERR_NOMEM) with *err filled (file:line:col). */
int ufrpc_json_read(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                    struct ufrpc_cfg_error *err);

/* Like ufrpc_json_read, but anything after the top-level object is left unread, as
 * Go's json.Decoder.Decode does (frpc decodes with a Decoder in strict mode, so it
 * ignores such text; json.Unmarshal, used without strict mode, rejects it). When
 * there is such text, trailing->code is UFRPC_ERR_CONFIG_SYNTAX and trailing names
 * where it starts; otherwise trailing->code is 0. */
int ufrpc_json_read_first(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                          struct ufrpc_cfg_error *err, struct ufrpc_cfg_error *trailing);

/* Either of the above (trailing NULL: ufrpc_json_read) with every allocation of
 * the tree and of the scan made through mem (NULL = libc; it must outlive the
 * tree). json-c's validation pass allocates with libc. */
int ufrpc_json_read_mem(const struct ufrpc_mem *mem, const char *text, size_t len,
                        const char *file_name, ufrpc_cv **out, struct ufrpc_cfg_error *err,
                        struct ufrpc_cfg_error *trailing);

#endif
