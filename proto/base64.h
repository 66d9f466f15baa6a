/* ufrpc — standard base64 (RFC 4648 §4, alphabet A–Z a–z 0–9 + /, '=' padding), as
 * Go's encoding/json uses for []byte. Pure functions on caller buffers. */
#ifndef UFRPC_PROTO_BASE64_H
#define UFRPC_PROTO_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length (with padding, without NUL) of n input bytes. */
size_t ufrpc_base64_encoded_len(size_t n);

/* Encodes len bytes into out, which needs ufrpc_base64_encoded_len(len) + 1 bytes
 * (a NUL is appended). Returns the encoded length. */
size_t ufrpc_base64_encode(const uint8_t *in, size_t len, char *out);

/* Upper bound of decoded bytes for len input chars. */
size_t ufrpc_base64_decoded_max(size_t len);

/* Decodes strictly like Go's base64.StdEncoding: padding required, no stray chars
 * ('\r' and '\n' are skipped, as Go does), non-zero trailing bits rejected. out needs
 * ufrpc_base64_decoded_max(len) bytes. Returns the decoded length or
 * UFRPC_ERR_BASE64. */
long ufrpc_base64_decode(const char *in, size_t len, uint8_t *out);

#endif
