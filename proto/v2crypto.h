/* ufrpc — wire v2 control-channel key schedule (docs/PROTOCOL.md §13.2), pure functions.
 *
 * TH    = SHA-256("frp wire v2 crypto transcript"
 *                 || 0x00 || "client hello" || 0x00 || u64be(len(CH)) || CH
 *                 || 0x00 || "server hello" || 0x00 || u64be(len(SH)) || SH)
 * K_c2s = HKDF-SHA256(IKM = token, salt = TH,
 *                     info = "frp wire v2 control aead <alg> client-to-server", 32)
 * K_s2c = the same with "server-to-client".
 * CH and SH are the exact hello frame payloads as sent and received (building and
 * parsing the hello JSON lives with the message code). The client writes with K_c2s
 * and reads with K_s2c; frps the other way round. Keys go to proto/aead_stream.h.
 * Callers should wipe keys (mbedtls_platform_zeroize) when done.
 */
#ifndef UFRPC_PROTO_V2CRYPTO_H
#define UFRPC_PROTO_V2CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "proto/aead_stream.h"

#define UFRPC_V2_TH_LEN 32

/* 0, UFRPC_ERR_INVAL (NULL with non-zero length) or UFRPC_ERR_CRYPTO. */
int ufrpc_v2crypto_transcript_hash(const uint8_t *client_hello, size_t ch_len,
                                   const uint8_t *server_hello, size_t sh_len,
                                   uint8_t th[UFRPC_V2_TH_LEN]);

/* Derives both direction keys. token may be empty. 0, UFRPC_ERR_INVAL (unknown alg)
 * or UFRPC_ERR_CRYPTO. */
int ufrpc_v2crypto_derive_keys(const uint8_t *token, size_t token_len,
                               const uint8_t th[UFRPC_V2_TH_LEN], ufrpc_aead_alg_t alg,
                               uint8_t k_c2s[UFRPC_AEAD_KEY_LEN],
                               uint8_t k_s2c[UFRPC_AEAD_KEY_LEN]);

#endif
