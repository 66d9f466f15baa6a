/* ufrpc — JSON text read as Go's encoding/json.Unmarshal reads it, for the answers
 * and request bodies frp's own code decodes that way (the OAuth token answer, the
 * store API's bodies): one value, strict syntax (no comments, trailing commas or
 * other json-c extensions), nothing but white space after it. json-c still takes
 * a few things Go refuses (single-quoted strings, NaN); callers that must match
 * Go's answer byte for byte check types themselves. */
#ifndef UFRPC_PROTO_GOJSON_H
#define UFRPC_PROTO_GOJSON_H

#include <json-c/json.h>
#include <stddef.h>

/* 0 with *out the value (a new reference the caller puts; NULL for the literal
 * null, which Go's Unmarshal takes as "no change"); UFRPC_ERR_NOMEM; or
 * UFRPC_ERR_JSON with *out NULL and *jerr json-c's reason:
 * json_tokener_error_parse_eof when the text ends inside the value or holds none
 * (Go's "unexpected end of JSON input"), json_tokener_error_size for a text
 * longer than INT_MAX, another error for bad syntax or data after the value. */
int ufrpc_gojson_parse(const char *text, size_t len, json_object **out,
                       enum json_tokener_error *jerr);

#endif
