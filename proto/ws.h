/* ufrpc — sans-I/O WebSocket (RFC 6455) codec for frp's websocket transport
 * (docs/PROTOCOL.md §1.3).
 *
 * What frpc (golang.org/x/net/websocket, hybi.go) puts on the wire and what a peer
 * may answer: the client's upgrade request to /~!frp, the server's 101 answer,
 * the frame header (FIN, opcode, 7/16/64-bit length, masking key) and an
 * incremental frame decoder. Everything works on caller buffers; nothing here
 * allocates, reads the clock or does I/O. Randomness (the key nonce, masking
 * keys) is given by the caller.
 *
 * Handshake heads are bounded by UFRPC_WS_MAX_HEAD bytes; the decoder keeps at
 * most one control frame payload (125 bytes) and never buffers data payload: it
 * hands out slices of the input as they arrive, so a frame of any allowed size
 * costs no memory here.
 */
#ifndef UFRPC_PROTO_WS_H
#define UFRPC_PROTO_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UFRPC_WS_PATH "/~!frp"
#define UFRPC_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* Longest request or answer head (through the empty line) either side accepts. */
#define UFRPC_WS_MAX_HEAD 8192u
/* Longest frame header: 2 + 8 (64-bit length) + 4 (mask). */
#define UFRPC_WS_MAX_FRAME_HEADER 14u
/* Control frames (close, ping, pong) carry at most this much (RFC 6455 §5.5). */
#define UFRPC_WS_MAX_CONTROL 125u
/* Default largest data frame payload the decoder accepts (0 in the decoder's
 * max_payload means this). Go's frame writer makes one frame per Write, and frp
 * writes at most a few tens of KiB at once; 64 MiB leaves room for any peer while
 * an absurd length (up to 2^63) is refused at once. Payload is never buffered, so
 * this bounds nothing in memory: it is a sanity limit. */
#define UFRPC_WS_DEFAULT_MAX_PAYLOAD (64u * 1024u * 1024u)

/* Sec-WebSocket-Key is 24 base64 characters (16 bytes), Accept 28 (SHA-1). */
#define UFRPC_WS_KEY_LEN 24u
#define UFRPC_WS_ACCEPT_LEN 28u

enum ufrpc_ws_opcode {
    UFRPC_WS_OP_CONT = 0x0,
    UFRPC_WS_OP_TEXT = 0x1,
    UFRPC_WS_OP_BINARY = 0x2,
    UFRPC_WS_OP_CLOSE = 0x8,
    UFRPC_WS_OP_PING = 0x9,
    UFRPC_WS_OP_PONG = 0xA,
};

/* Status codes of close frames (RFC 6455 §7.4.1). */
#define UFRPC_WS_CLOSE_NORMAL 1000u
#define UFRPC_WS_CLOSE_PROTOCOL 1002u
#define UFRPC_WS_CLOSE_NO_STATUS 1005u /* never sent: "the frame had no code" */

/* ---- handshake ---------------------------------------------------------------- */

/* The Sec-WebSocket-Key for 16 random bytes: key gets UFRPC_WS_KEY_LEN chars and
 * a NUL. */
void ufrpc_ws_key(const uint8_t nonce[16], char key[UFRPC_WS_KEY_LEN + 1]);

/* Sec-WebSocket-Accept for a key (any length): base64(SHA-1(key + GUID)), 28 chars
 * and a NUL. 0 or UFRPC_ERR_CRYPTO / UFRPC_ERR_LIMIT (key over 256 bytes). */
int ufrpc_ws_accept(const char *key, size_t key_len, char out[UFRPC_WS_ACCEPT_LEN + 1]);

/* The client's upgrade request, as Go's websocket client writes it for frp:
 *   GET /~!frp HTTP/1.1 / Host: <host> / Upgrade: websocket / Connection: Upgrade /
 *   Sec-WebSocket-Key: <key> / Origin: http://<host, lower case> /
 *   Sec-WebSocket-Version: 13
 * host is the Host header value as is ("example.com:7000", "[::1]:7000", or a
 * bare name for wss). Writes the head (no NUL) into buf and its length to *len:
 * 0, UFRPC_ERR_LIMIT (cap too small) or UFRPC_ERR_INVAL (host empty, or holding
 * control characters or spaces). */
int ufrpc_ws_build_request(const char *host, const char *key, char *buf, size_t cap, size_t *len);

/* Why an answer (client) or a request (server) was refused. */
enum ufrpc_ws_hs_fail {
    UFRPC_WS_HS_OK = 0,
    UFRPC_WS_HS_MALFORMED,  /* not an HTTP/1.x head */
    UFRPC_WS_HS_TOO_LONG,   /* no end of head within UFRPC_WS_MAX_HEAD bytes */
    UFRPC_WS_HS_STATUS,     /* client: the status is not 101 */
    UFRPC_WS_HS_UPGRADE,    /* Upgrade is not "websocket" or Connection not "upgrade" */
    UFRPC_WS_HS_ACCEPT,     /* client: Sec-WebSocket-Accept does not match the key */
    UFRPC_WS_HS_EXTENSIONS, /* client: the server chose extensions or a subprotocol */
    UFRPC_WS_HS_METHOD,     /* server: not GET, or not the path /~!frp */
    UFRPC_WS_HS_KEY,        /* server: no Sec-WebSocket-Key */
    UFRPC_WS_HS_VERSION,    /* server: Sec-WebSocket-Version is not 13 */
};

struct ufrpc_ws_hs_info {
    enum ufrpc_ws_hs_fail fail;
    int status;        /* the answer's status code (client), 0 when unparsed */
    char reason[64];   /* its reason phrase, truncated, NUL-terminated */
    size_t head_len;   /* bytes of the head including the empty line */
    /* server: the request's key (valid when parsed), NUL-terminated */
    char key[64];
};

/* Client: checks the server's answer in data[0..len) (which may hold more than
 * the head: frames that follow). Like Go's client: status 101, Upgrade
 * "websocket" and Connection "upgrade" (case-insensitive), Sec-WebSocket-Accept
 * equal to ufrpc_ws_accept(key), no Sec-WebSocket-Extensions or -Protocol.
 * Lines may end in CRLF or LF. Returns 0 (info->head_len bytes are the head),
 * UFRPC_ERR_AGAIN (the head is not complete yet and len < UFRPC_WS_MAX_HEAD), or
 * UFRPC_ERR_WS_HANDSHAKE with info->fail saying why (UFRPC_WS_HS_ACCEPT is
 * UFRPC_ERR_WS_ACCEPT instead). info is filled as far as parsed in every case. */
int ufrpc_ws_check_response(const uint8_t *data, size_t len, const char *key,
                            struct ufrpc_ws_hs_info *info);

/* Server: parses a client's upgrade request as Go's websocket server checks it
 * (GET, path /~!frp, optional query, Upgrade/Connection, a key, version 13).
 * Returns as ufrpc_ws_check_response; info->key holds the key on success. */
int ufrpc_ws_parse_request(const uint8_t *data, size_t len, struct ufrpc_ws_hs_info *info);

/* Server: the 101 answer for a key. 0, UFRPC_ERR_LIMIT or UFRPC_ERR_CRYPTO. */
int ufrpc_ws_build_response(const char *key, char *buf, size_t cap, size_t *len);

/* One line for a log: "server answered 404 Not Found", "bad Sec-WebSocket-Accept",
 * ... (NUL-terminated, truncated to cap). */
void ufrpc_ws_hs_text(const struct ufrpc_ws_hs_info *info, char *buf, size_t cap);

/* ---- frames ------------------------------------------------------------------------ */

/* Writes a frame header with FIN set to fin, the opcode, payload length len and,
 * when mask is not NULL, the MASK bit and the key. Returns its length (2..14). */
size_t ufrpc_ws_frame_header(uint8_t out[UFRPC_WS_MAX_FRAME_HEADER], unsigned opcode, bool fin,
                             uint64_t len, const uint8_t mask[4]);

/* XORs n bytes of src into dst (may be the same buffer) with the masking key,
 * starting at payload offset phase (byte i of the payload uses key[i % 4]). */
void ufrpc_ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t phase);

enum ufrpc_ws_event_type {
    UFRPC_WS_EV_DATA = 1, /* payload bytes of a binary message (or its continuation) */
    UFRPC_WS_EV_PING,     /* a whole ping: data/len is its payload (<= 125 bytes) */
    UFRPC_WS_EV_PONG,     /* a whole pong */
    UFRPC_WS_EV_CLOSE,    /* a close frame: close_code, reason in data/len */
};

struct ufrpc_ws_event {
    enum ufrpc_ws_event_type type;
    /* DATA: a slice of the input (still masked when `masked`: unmask it with
     * ufrpc_ws_mask(dst, data, len, mask, phase)); control frames: the
     * decoder's own copy, unmasked, valid until the next decode call. */
    const uint8_t *data;
    size_t len;
    bool masked;
    uint8_t mask[4];
    uint64_t phase;      /* DATA: offset of data within its frame's payload */
    bool frame_end;      /* DATA: the frame's last payload byte is in this slice */
    uint16_t close_code; /* CLOSE: the code, or UFRPC_WS_CLOSE_NO_STATUS */
};

/* The incremental decoder: caller-owned, plain data (init, then decode; nothing
 * to free). server = true: the peer is a client, whose frames must be masked;
 * false: the peer is a server, whose frames must not be (as Go checks). */
struct ufrpc_ws_decoder {
    bool server;
    uint64_t max_payload; /* 0: UFRPC_WS_DEFAULT_MAX_PAYLOAD */
    /* private */
    uint8_t hdr[UFRPC_WS_MAX_FRAME_HEADER];
    unsigned hdr_have, hdr_need;
    bool in_payload;
    unsigned opcode;
    bool fin;
    bool masked;
    uint8_t mask[4];
    uint64_t remaining, pos;
    bool in_message; /* a binary message without FIN is continuing */
    bool closed;     /* a close frame was decoded: nothing more is read */
    int error;       /* sticky: once an error, always that error */
    uint8_t ctl[UFRPC_WS_MAX_CONTROL];
    unsigned ctl_len;
};

void ufrpc_ws_decoder_init(struct ufrpc_ws_decoder *d, bool server, uint64_t max_payload);

/* Decodes from in[0..len): consumes *used bytes and
 * - returns 0 with *ev filled when an event is ready (call again with the rest);
 * - returns UFRPC_ERR_AGAIN when all len bytes were consumed without completing an
 *   event (a header or control payload still partial, or len 0): feed more;
 * - returns UFRPC_ERR_EOF after a close frame was decoded (*used 0: what follows
 *   the close frame is not read);
 * - returns an error, sticky from then on: UFRPC_ERR_WS_TEXT (a text frame: frp
 *   sends binary), UFRPC_ERR_WS_TOO_BIG (payload over max_payload), or
 *   UFRPC_ERR_WS_PROTOCOL (reserved bits or opcodes, a control frame over 125
 *   bytes or fragmented, a 64-bit length with its top bit set, a continuation
 *   without a message or a new message inside one, masking the wrong way, a
 *   close frame of 1 byte or with an invalid code).
 * Data events of one frame come as the input allows (zero-length frames give no
 * event), so slicing the input differently changes the DATA events but never the
 * byte sequence, the control events or the error. */
int ufrpc_ws_decode(struct ufrpc_ws_decoder *d, const uint8_t *in, size_t len, size_t *used,
                    struct ufrpc_ws_event *ev);

#endif
