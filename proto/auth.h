/* ufrpc — frp token authentication keys (docs/PROTOCOL.md §4.2, §4.3, §9.1).
 *
 *   key = lowercase_hex( MD5( secret || decimal_ascii(timestamp) ) )
 *
 * Used for Login/Ping/NewWorkConn privilege_key (secret = auth token) and for the
 * visitor sign_key (secret = the proxy's secret key). Pure functions, no allocation:
 * the caller provides the 33-byte output buffer. Nothing here keeps the secret.
 */
#ifndef UFRPC_PROTO_AUTH_H
#define UFRPC_PROTO_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_AUTH_KEY_LEN 32 /* hex chars, without the NUL */

/* Writes the 32 hex chars plus NUL into out. secret may be NULL (= empty) only with
 * secret_len 0. Returns 0, UFRPC_ERR_INVAL or UFRPC_ERR_CRYPTO. */
int ufrpc_auth_key(const char *secret, size_t secret_len, int64_t timestamp,
                   char out[UFRPC_AUTH_KEY_LEN + 1]);

/* Same with a NUL-terminated secret (NULL = empty). */
int ufrpc_auth_key_str(const char *secret, int64_t timestamp, char out[UFRPC_AUTH_KEY_LEN + 1]);

/* Recomputes the key for (secret, timestamp) and compares it in constant time with
 * key (NUL-terminated, may be NULL = empty). Returns 1 if equal, 0 if not (or on any
 * internal failure). Like frps there is no freshness check on the timestamp. */
int ufrpc_auth_verify(const char *secret, int64_t timestamp, const char *key);

#endif
