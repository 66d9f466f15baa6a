/* ufrpc — small text helpers shared by several layers, each with one home here:
 * hex digits, URL percent-decoding (RFC 3986 §2.1: the admin API's query and
 * path, static_file's request path, the proxy URL's user and password) and Go's
 * strconv.ParseBool (the command line's boolean flags, the admin API's
 * strictConfig), errno texts as Go prints them, Go's path.Match (the config's
 * `includes`). Pure functions on caller buffers: nothing is allocated or kept. */
#ifndef UFRPC_PROTO_TEXT_H
#define UFRPC_PROTO_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The value of one hex digit (0-9, a-f, A-F), or -1 for any other c. c is a
 * character as int (an unsigned char value or EOF). */
int ufrpc_hexval(int c);

/* Percent-decodes s[0..n) into out (cap bytes; always NUL-terminated when
 * cap > 0). plus: '+' stands for a space (application/x-www-form-urlencoded).
 * Returns the decoded length (NUL not counted; the output may itself hold NUL
 * bytes from "%00", so callers that want C strings check for them), or
 * UFRPC_ERR_INVAL for a '%' not followed by two hex digits anywhere in s, else
 * UFRPC_ERR_LIMIT when the result and its NUL do not fit in cap (out then holds
 * a truncated prefix). */
long ufrpc_pct_decode(const char *s, size_t n, bool plus, char *out, size_t cap);

/* Go's strconv.ParseBool on s[0..len): "1", "t", "T", "true", "TRUE", "True" are
 * true, "0", "f", "F", "false", "FALSE", "False" false. Returns true and sets *out
 * for those; false (and *out unchanged) for anything else. */
bool ufrpc_parse_go_bool(const char *s, size_t len, bool *out);

/* Go's %q of s for messages ("proxy \"x\" not found"): quotes, backslash-escapes
 * '"' and '\\', \n \t \r, other control bytes as \xNN; written NUL-terminated into
 * out (cap >= 3), cut to fit. */
void ufrpc_go_quote(char *out, size_t cap, const char *s);

/* The C library's text for errno value err as Go's syscall.Errno prints it: first
 * letter lower-cased ("no such file or directory"), except "I/O error"; "errno N"
 * when the library has none. Written NUL-terminated into out (cap > 0), cut to fit;
 * returns out. Thread-safe (strerror_r: file jobs call it on worker threads), and
 * the same with glibc's GNU strerror_r and the XSI one of musl and the others. */
const char *ufrpc_go_strerror(int err, char *out, size_t cap);

/* Go's path.Match (filepath.Match on Unix) of name against pattern, both
 * NUL-terminated: '*' matches any run of characters other than '/', '?' one
 * character other than '/', "[...]" one character of a class ('^' first negates;
 * "a-z" ranges, by code point), '\\' takes the next character literally. A
 * character is a UTF-8 sequence (an invalid byte counts as one, as U+FFFD).
 * Returns 1 when name matches, 0 when not, UFRPC_ERR_INVAL when the pattern is
 * malformed (Go's ErrBadPattern: "[", "[]a]", "[x-]", a trailing '\\'...), even
 * where the name already failed to match before the bad part. */
int ufrpc_go_path_match(const char *pattern, const char *name);

#endif
