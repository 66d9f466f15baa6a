/* ufrpc — the one error convention of the whole project.
 *
 * Every function that can fail returns 0 (UFRPC_OK) or a negative value from
 * enum ufrpc_err. Codes of libuv, mbedTLS, json-c, libyaml… are mapped to these at
 * the boundary of the module that calls them and never leak upward as raw numbers.
 *
 * The list is an X-macro so that the enum and ufrpc_strerror() cannot drift apart.
 * Each module owns a numeric range; add new codes at the end of your module's range
 * (numbers are part of nothing external, but must stay unique):
 *   generic   -1 ..  -19      frame/msg/auth  -20 ..  -39
 *   crypto    -40 .. -49      snappy          -50 ..  -59
 *   yamux     -60 .. -79      config          -80 ..  -99
 *   net      -100 .. -129     client         -130 .. -159
 */
#ifndef UFRPC_PROTO_ERROR_H
#define UFRPC_PROTO_ERROR_H

#define UFRPC_ERRORS(X)                                                              \
    /* generic */                                                                    \
    X(NOMEM, -1, "out of memory")                                                    \
    X(INVAL, -2, "invalid argument")                                                 \
    X(AGAIN, -3, "more input needed")                                                \
    X(LIMIT, -4, "size limit exceeded")                                              \
    X(EOF, -5, "end of stream")                                                      \
    X(TIMEOUT, -6, "timed out")                                                      \
    X(CLOSED, -7, "already closed")                                                  \
    X(IO, -8, "input/output error")                                                  \
    X(NOT_FOUND, -9, "not found")                                                    \
    X(UNSUPPORTED, -10, "not supported")                                             \
    X(STATE, -11, "operation not valid in this state")                               \
    X(CANCELED, -12, "operation canceled")                                           \
    /* frame / messages / auth */                                                    \
    X(MSG_TYPE, -20, "unknown message type byte")                                    \
    X(MSG_LENGTH, -21, "negative message length")                                    \
    X(MSG_TOO_LONG, -22, "message length over 10240 bytes")                          \
    X(JSON, -23, "malformed JSON")                                                   \
    X(JSON_TYPE, -24, "JSON field has the wrong type")                               \
    X(JSON_RANGE, -25, "JSON number out of range")                                   \
    X(V2_MAGIC, -26, "bad wire v2 magic")                                            \
    X(V2_FRAME, -27, "bad wire v2 frame")                                            \
    X(BASE64, -28, "malformed base64")                                               \
    X(V2_HELLO, -29, "wire v2 hello negotiation failed")                             \
    /* crypto */                                                                     \
    X(CRYPTO, -40, "cryptographic library failure")                                  \
    X(AEAD_AUTH, -41, "AEAD record failed authentication")                           \
    X(AEAD_RECORD, -42, "bad AEAD record length")                                    \
    /* snappy */                                                                     \
    X(SNAPPY_FORMAT, -50, "malformed snappy stream")                                 \
    X(SNAPPY_CRC, -51, "snappy chunk checksum mismatch")                             \
    X(SNAPPY_TOO_LARGE, -52, "snappy chunk larger than 65536 bytes")                 \
    /* yamux */                                                                      \
    X(YAMUX_VERSION, -60, "yamux: invalid protocol version")                         \
    X(YAMUX_TYPE, -61, "yamux: invalid message type")                                \
    X(YAMUX_WINDOW, -62, "yamux: peer exceeded the receive window")                  \
    X(YAMUX_PROTOCOL, -63, "yamux: protocol error")                                  \
    X(YAMUX_GOAWAY, -64, "yamux: session shut down by the peer")                     \
    X(YAMUX_RESET, -65, "yamux: stream reset by the peer")                           \
    X(YAMUX_STREAMS_EXHAUSTED, -66, "yamux: stream ids exhausted")                   \
    X(YAMUX_KEEPALIVE, -67, "yamux: keepalive timed out")                            \
    X(YAMUX_SESSION_CLOSED, -68, "yamux: session closed")                            \
    X(YAMUX_REMOTE_GOAWAY_ERROR, -69, "yamux: peer sent GoAway with an error code")  \
    /* config */                                                                     \
    X(CONFIG_SYNTAX, -80, "config: syntax error")                                    \
    X(CONFIG_UNKNOWN_KEY, -81, "config: unknown key")                                \
    X(CONFIG_VALUE, -82, "config: invalid value")                                    \
    X(CONFIG_DUPLICATE, -83, "config: duplicate name")                               \
    X(CONFIG_IO, -84, "config: cannot read file")                                    \
    X(CONFIG_MISSING, -85, "config: required value missing")                         \
    X(CONFIG_CONFLICT, -86, "config: conflicting values")                            \
    X(CONFIG_TEMPLATE, -87, "config: template error")                                \
    X(CONFIG_ENCODING, -88, "config: invalid UTF-8")                                 \
    X(CONFIG_DEPTH, -89, "config: nesting too deep")                                 \
    /* net */                                                                        \
    X(DNS, -100, "name resolution failed")                                           \
    X(CONNECT_REFUSED, -101, "connection refused")                                   \
    X(CONNECT, -102, "connect failed")                                               \
    X(TLS_HANDSHAKE, -103, "TLS handshake failed")                                   \
    X(TLS_VERIFY, -104, "TLS certificate verification failed")                       \
    X(TLS, -105, "TLS error")                                                        \
    X(ADDR_IN_USE, -106, "address already in use")                                   \
    X(CONN_RESET, -107, "connection reset")                                          \
    X(NET, -108, "network error")                                                    \
    X(HTTP, -109, "malformed HTTP")                                                  \
    X(PROXY_PROTOCOL, -110, "proxy (HTTP CONNECT/SOCKS5) negotiation failed")        \
    X(KCP_PACKET, -111, "kcp: malformed packet")                                     \
    X(KCP_CONV, -112, "kcp: packet of another conversation")                         \
    X(KCP_FEC, -113, "kcp: FEC shards do not add up")                                \
    X(KCP_DEAD_LINK, -114, "kcp: peer stopped acknowledging (dead link)")            \
    X(KCP_REFUSED, -115, "kcp: nothing serves KCP on that UDP port")                 \
    X(WS_HANDSHAKE, -120, "websocket: upgrade refused or malformed answer")         \
    X(WS_ACCEPT, -121, "websocket: bad Sec-WebSocket-Accept in the answer")          \
    X(WS_PROTOCOL, -122, "websocket: frame protocol violation")                      \
    X(WS_TEXT, -123, "websocket: text frame (frp sends binary frames)")             \
    X(WS_TOO_BIG, -124, "websocket: frame payload over the size limit")              \
    /* client */                                                                     \
    X(LOGIN, -130, "login rejected by the server")                                   \
    X(PROXY_START, -131, "proxy start rejected by the server")                       \
    X(HEARTBEAT, -132, "heartbeat timed out")                                        \
    X(PONG, -133, "server reported an error in Pong")                                \
    X(WORK_CONN, -134, "work connection failed")                                     \
    X(UNKNOWN_PROXY, -135, "unknown proxy")                                          \
    X(OIDC_TOKEN, -136, "OIDC token request refused")                               \
    X(TOKEN_SOURCE, -137, "auth.tokenSource command failed")                          \
    X(NATHOLE, -138, "xtcp: NAT hole punching failed")

enum ufrpc_err {
    UFRPC_OK = 0,
#define UFRPC__ERR_ENUM(name, value, text) UFRPC_ERR_##name = (value),
    UFRPC_ERRORS(UFRPC__ERR_ENUM)
#undef UFRPC__ERR_ENUM
};

/* Returns a static, human-readable text for any value (0, a known code, or an
 * unknown one: "unknown error"). Never NULL; never needs freeing. */
const char *ufrpc_strerror(int err);

/* Returns the symbolic name ("UFRPC_ERR_NOMEM"), or "UFRPC_ERR_UNKNOWN". For tests. */
const char *ufrpc_errname(int err);

#endif
