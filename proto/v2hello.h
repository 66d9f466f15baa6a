/* ufrpc — wire protocol v2 hellos and the client's v2 login handshake (sans-I/O),
 * docs/PROTOCOL.md §13.2 (frp pkg/proto/wire/wire.go, crypto.go; client/control_session.go;
 * server/service.go readFirstV2Msg / handleClientHello).
 *
 * Three layers, all pure (no I/O, no clocks; randomness is passed in):
 *   1. JSON of the two hello frames: build the ClientHello exactly as frpc's Go
 *      encoding/json does, parse and validate a ServerHello as frpc does; and the
 *      server side (parse a ClientHello, select an algorithm, build a ServerHello
 *      or an error ServerHello) for test servers.
 *   2. struct ufrpc_v2hs: the client's control-stream handshake. Its output is
 *      magic + ClientHello frame + Login Message frame (all at once, frpc does not
 *      wait for the ServerHello); its input is the ServerHello frame, then the
 *      plaintext LoginResp Message frame. It never consumes a byte past LoginResp:
 *      what follows is the AEAD stream (proto/v2chan.h or net/xform_aead.h).
 *   3. The keys: TH over the exact hello payloads and HKDF (proto/v2crypto.h).
 *
 * JSON decoding follows Go: keys match case-insensitively, unknown keys are
 * ignored, null leaves a field as it was, later duplicates win, wrong JSON types are
 * errors, []byte fields are standard base64. Unlike Go, a string containing U+0000 is
 * refused (UFRPC_ERR_JSON_TYPE), as in proto/msg.h.
 */
#ifndef UFRPC_PROTO_V2HELLO_H
#define UFRPC_PROTO_V2HELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/aead_stream.h"
#include "proto/msg.h"
#include "proto/v2crypto.h"

#define UFRPC_V2_RANDOM_LEN 32
/* Most algorithms a ClientHello may list that we keep (unknown names are skipped). */
#define UFRPC_V2_MAX_ALGS 8
/* Size of the error-text buffers (longer texts are cut). */
#define UFRPC_V2_ERR_LEN 256

/* The informational "bootstrap" object (covered by the transcript hash). */
struct ufrpc_v2_bootstrap {
    const char *transport; /* transport.protocol ("tcp", "kcp", "quic", "websocket", "wss");
                              NULL or "" = omitted */
    bool tls;              /* tls.enable || wss || quic; omitted when false */
    bool tcp_mux;          /* transport.tcpMux; omitted when false */
};

/* frpc's preference order for this machine (pkg/proto/wire/crypto.go
 * PreferredAEADAlgorithms): AES-256-GCM first when the CPU has AES-GCM acceleration
 * (x86-64: AES-NI, PCLMULQDQ, SSE4.1, SSSE3; arm64: AES, PMULL), else
 * XChaCha20-Poly1305 first. Writes 2 entries into out. */
void ufrpc_v2hello_default_algs(ufrpc_aead_alg_t out[2]);

/* ---- ClientHello ------------------------------------------------------------ */

/* Builds the ClientHello JSON into a malloc'd NUL-terminated string (*len without the
 * NUL; caller frees):
 *   {"bootstrap":{...},"capabilities":{"message":{"codecs":["json"]},
 *    "crypto":{"algorithms":[...],"clientRandom":"<base64>"}}}
 * algs: n_algs (1..UFRPC_V2_MAX_ALGS) known algorithms in preference order.
 * Returns 0, UFRPC_ERR_INVAL, UFRPC_ERR_NOMEM. */
int ufrpc_v2hello_build_client(const struct ufrpc_v2_bootstrap *bs, const ufrpc_aead_alg_t *algs,
                               size_t n_algs, const uint8_t client_random[UFRPC_V2_RANDOM_LEN],
                               char **json, size_t *len);

/* A decoded ClientHello (server side). transport is malloc'd (NULL when absent);
 * release with ufrpc_v2hello_client_free. */
struct ufrpc_v2_client_hello {
    char *transport;
    bool tls, tcp_mux;
    bool codec_json;        /* "json" is among capabilities.message.codecs */
    size_t n_algs_total;    /* entries of capabilities.crypto.algorithms */
    ufrpc_aead_alg_t algs[UFRPC_V2_MAX_ALGS]; /* the known ones, in order */
    size_t n_algs;
    size_t client_random_len; /* decoded length (may differ from 32) */
    uint8_t client_random[UFRPC_V2_RANDOM_LEN]; /* valid when the length is 32 */
};

/* Decodes a ClientHello payload. On error *out holds nothing to free. Returns 0,
 * UFRPC_ERR_JSON, UFRPC_ERR_JSON_TYPE, UFRPC_ERR_BASE64, UFRPC_ERR_NOMEM,
 * UFRPC_ERR_INVAL. (frps closes the connection without an answer on these.) */
int ufrpc_v2hello_parse_client(const char *json, size_t len, struct ufrpc_v2_client_hello *out);
void ufrpc_v2hello_client_free(struct ufrpc_v2_client_hello *h);

/* frps's NewServerHello checks, in its order: codecs contain "json" ("unsupported
 * message codec"), clientRandom is 32 bytes ("invalid crypto client random length
 * N, want 32"), some algorithm is supported ("no supported crypto algorithm"). On
 * success *alg = the first supported algorithm of the client's list. Returns 0 or
 * UFRPC_ERR_V2_HELLO with frps's text in err (cap bytes, may be NULL). */
int ufrpc_v2hello_server_select(const struct ufrpc_v2_client_hello *h, ufrpc_aead_alg_t *alg,
                                char *err, size_t cap);

/* ---- ServerHello ------------------------------------------------------------ */

/* {"selected":{"message":{"codec":"json"},"crypto":{"algorithm":"<alg>",
 *  "serverRandom":"<base64>"}}} into a malloc'd string (caller frees). 0,
 * UFRPC_ERR_INVAL, UFRPC_ERR_NOMEM. */
int ufrpc_v2hello_build_server(ufrpc_aead_alg_t alg,
                               const uint8_t server_random[UFRPC_V2_RANDOM_LEN], char **json,
                               size_t *len);

/* frps's failure answer: {"selected":{"message":{"codec":"json"},"crypto":{}},
 * "error":"<text>"} (Go string escaping of text). 0, UFRPC_ERR_INVAL, _NOMEM. */
int ufrpc_v2hello_build_server_error(const char *text, char **json, size_t *len);

/* A decoded ServerHello. Strings are malloc'd (NULL when absent); release with
 * ufrpc_v2hello_server_free. */
struct ufrpc_v2_server_hello {
    char *codec;
    char *algorithm;
    size_t server_random_len;
    uint8_t server_random[UFRPC_V2_RANDOM_LEN]; /* valid when the length is 32 */
    char *error;
};

/* Decodes a ServerHello payload. On error *out holds nothing to free. Returns 0 or
 * the errors of ufrpc_v2hello_parse_client. */
int ufrpc_v2hello_parse_server(const char *json, size_t len, struct ufrpc_v2_server_hello *out);
void ufrpc_v2hello_server_free(struct ufrpc_v2_server_hello *h);

/* frpc's checks of a decoded ServerHello against what it offered, in frpc's order:
 * a non-empty "error" (its text verbatim), codec "json" ("unsupported selected
 * message codec: X"), a known algorithm ("unknown selected crypto algorithm: X"),
 * one it offered ("selected crypto algorithm was not advertised by client: X"),
 * serverRandom of 32 bytes ("invalid crypto server random length N, want 32").
 * On success *alg is the selected algorithm. Returns 0 or UFRPC_ERR_V2_HELLO with
 * the text in err (cap bytes, may be NULL). */
int ufrpc_v2hello_check_server(const struct ufrpc_v2_server_hello *h, const ufrpc_aead_alg_t *offered,
                               size_t n_offered, ufrpc_aead_alg_t *alg, char *err, size_t cap);

/* ---- the client's control-stream handshake ---------------------------------- */

struct ufrpc_v2hs_opts {
    struct ufrpc_v2_bootstrap bootstrap;
    const ufrpc_aead_alg_t *algs; /* NULL: ufrpc_v2hello_default_algs() */
    size_t n_algs;
    /* 32 bytes, or NULL to draw them from rng */
    const uint8_t *client_random;
    /* mbedTLS f_rng signature; needed when client_random is NULL */
    int (*rng)(void *rng_ctx, unsigned char *buf, size_t len);
    void *rng_ctx;
    /* auth.token bytes (HKDF input key material); NULL with 0 = empty token */
    const uint8_t *token;
    size_t token_len;
    /* the Login message to send (type UFRPC_MSG_LOGIN); encoded at creation */
    const struct ufrpc_msg *login;
};

enum ufrpc_v2hs_state {
    UFRPC_V2HS_WAIT_SERVER_HELLO = 1,
    UFRPC_V2HS_WAIT_LOGIN_RESP,
    UFRPC_V2HS_DONE,   /* LoginResp received (check its error field) */
    UFRPC_V2HS_FAILED, /* see ufrpc_v2hs_error() */
};

struct ufrpc_v2hs;

/* Creates the handshake and its whole output. Everything in opts is copied; opts
 * may go away afterwards. 0 and *out, or UFRPC_ERR_INVAL, UFRPC_ERR_NOMEM,
 * UFRPC_ERR_CRYPTO (rng failed), message encoding errors. */
int ufrpc_v2hs_new(const struct ufrpc_v2hs_opts *opts, struct ufrpc_v2hs **out);
/* Wipes the keys and frees everything (NULL is fine). Pointers obtained from the
 * accessors become invalid. */
void ufrpc_v2hs_free(struct ufrpc_v2hs *hs);

/* The bytes to write on the fresh control stream, in one go:
 *   magic (7) | ClientHello frame (8 + CH) | Login Message frame (8 + 2 + JSON).
 * Valid until ufrpc_v2hs_free. */
void ufrpc_v2hs_output(const struct ufrpc_v2hs *hs, const uint8_t **data, size_t *len);

/* Feeds bytes read from the control stream (any split). *consumed = bytes used.
 * Returns
 *   0  all len bytes used, more needed;
 *   1  the LoginResp frame is complete: state DONE. *consumed stops right after
 *      it; the remaining in[*consumed..len) and all later bytes are the server's
 *      AEAD stream — hand them to the channel, do not drop them;
 *  <0  state FAILED (sticky), text in ufrpc_v2hs_error(): UFRPC_ERR_V2_HELLO
 *      (ServerHello error or rejected selection), UFRPC_ERR_V2_FRAME (bad frame,
 *      wrong frame type), UFRPC_ERR_MSG_TYPE (not a LoginResp), JSON errors,
 *      UFRPC_ERR_CRYPTO, UFRPC_ERR_NOMEM.
 * Feeding after DONE returns UFRPC_ERR_STATE with *consumed = 0. */
int ufrpc_v2hs_feed(struct ufrpc_v2hs *hs, const uint8_t *in, size_t len, size_t *consumed);

/* The stream ended (EOF or error) before DONE: state FAILED. Returns the code kept
 * (UFRPC_ERR_EOF when err is 0 and nothing failed before). */
int ufrpc_v2hs_on_eof(struct ufrpc_v2hs *hs, int err);

enum ufrpc_v2hs_state ufrpc_v2hs_state(const struct ufrpc_v2hs *hs);
/* Why it failed ("" otherwise): the server's text for a ServerHello error, frpc's
 * validation texts, or a description of the local error. Valid until free. */
const char *ufrpc_v2hs_error(const struct ufrpc_v2hs *hs);

/* After DONE: the decoded LoginResp (type UFRPC_MSG_LOGIN_RESP), owned by hs. Its
 * error field may be set (login refused): then do not build a channel. NULL before. */
const struct ufrpc_msg *ufrpc_v2hs_login_resp(const struct ufrpc_v2hs *hs);

/* After DONE: the raw LoginResp as a v1-style frame (type UFRPC_MSG_LOGIN_RESP, body
 * = its JSON, NUL-terminated), for callers that already handle a v1 LoginResp frame.
 * Valid until ufrpc_v2hs_free. 0 or UFRPC_ERR_STATE before DONE. */
int ufrpc_v2hs_login_resp_frame(const struct ufrpc_v2hs *hs, struct ufrpc_frame *out);

/* After the ServerHello was accepted (state WAIT_LOGIN_RESP or DONE): the selected
 * algorithm, the transcript hash and both keys (copied out). UFRPC_ERR_STATE before. */
int ufrpc_v2hs_keys(const struct ufrpc_v2hs *hs, ufrpc_aead_alg_t *alg,
                    uint8_t th[UFRPC_V2_TH_LEN], uint8_t k_c2s[UFRPC_AEAD_KEY_LEN],
                    uint8_t k_s2c[UFRPC_AEAD_KEY_LEN]);

/* The exact ClientHello payload sent (for tests and the transcript). */
void ufrpc_v2hs_client_hello(const struct ufrpc_v2hs *hs, const uint8_t **data, size_t *len);

#endif
