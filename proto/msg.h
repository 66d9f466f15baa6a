/* ufrpc — frp control messages: C structs and their JSON (docs/PROTOCOL.md §3.2–3.4).
 *
 * One tagged union, struct ufrpc_msg, covers every message. Encoding follows Go's
 * encoding/json for frp's structs exactly: fields in Go declaration order, omitempty
 * ("", 0, false, empty maps/arrays and absent pointers are left out; struct-typed
 * fields — Login.client_spec, NatHoleResp.detect_behavior — are always written), map
 * keys sorted, '<' '>' '&' U+2028 U+2029 escaped as \uXXXX, invalid UTF-8 as \ufffd.
 * Decoding follows Go too: unknown keys ignored, keys matched case-insensitively
 * (ASCII), JSON null leaves a field untouched, later duplicates win; but wrong JSON
 * types, non-integer numbers for integer fields and out-of-range integers are errors.
 *
 * Ownership: every pointer inside a message (strings, arrays, maps, udp addresses,
 * byte buffers) is heap memory owned by the message, freed by ufrpc_msg_free(). To
 * fill a message by hand, use ufrpc_msg_init() and the setters below (or malloc'd
 * values you hand over). A NULL string means "" (both encode the same; the decoder
 * leaves absent keys NULL). Strings inside maps and arrays are never NULL.
 * Strings are NUL-terminated; a JSON string containing U+0000 is rejected.
 */
#ifndef UFRPC_PROTO_MSG_H
#define UFRPC_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

/* map[string]string; encoded with sorted keys. */
struct ufrpc_kv {
    char *key;
    char *value;
};
struct ufrpc_map {
    struct ufrpc_kv *items;
    size_t n;
};

/* []string */
struct ufrpc_strv {
    char **items;
    size_t n;
};

/* []byte, base64 on the wire. */
struct ufrpc_bytes {
    uint8_t *data;
    size_t len;
};

/* *net.UDPAddr: {"IP":"…","Port":n,"Zone":"…"}, all three keys always written. */
struct ufrpc_udp_addr {
    char *ip; /* text form, IPv6 without brackets; NULL/"" = nil IP */
    int64_t port;
    char *zone;
};

struct ufrpc_client_spec {
    char *type;
    bool always_auth_pass;
};

struct ufrpc_msg_login {
    char *version, *hostname, *os, *arch, *user, *privilege_key;
    int64_t timestamp;
    char *run_id, *client_id;
    struct ufrpc_map metas;
    struct ufrpc_client_spec client_spec;
    int64_t pool_count;
};

struct ufrpc_msg_login_resp {
    char *version, *run_id, *error;
};

struct ufrpc_msg_new_proxy {
    char *proxy_name, *proxy_type;
    bool use_encryption, use_compression;
    char *bandwidth_limit, *bandwidth_limit_mode, *group, *group_key;
    struct ufrpc_map metas, annotations;
    int64_t remote_port;
    struct ufrpc_strv custom_domains;
    char *subdomain;
    struct ufrpc_strv locations;
    char *http_user, *http_pwd, *host_header_rewrite;
    struct ufrpc_map headers, response_headers;
    char *route_by_http_user, *sk;
    struct ufrpc_strv allow_users;
    char *multiplexer;
};

struct ufrpc_msg_new_proxy_resp {
    char *proxy_name, *remote_addr, *error;
};

struct ufrpc_msg_close_proxy {
    char *proxy_name;
};

struct ufrpc_msg_new_work_conn {
    char *run_id, *privilege_key;
    int64_t timestamp;
};

struct ufrpc_msg_start_work_conn {
    char *proxy_name, *src_addr, *dst_addr;
    uint16_t src_port, dst_port;
    char *error;
};

struct ufrpc_msg_new_visitor_conn {
    char *run_id, *proxy_name, *sign_key;
    int64_t timestamp;
    bool use_encryption, use_compression;
};

struct ufrpc_msg_new_visitor_conn_resp {
    char *proxy_name, *error;
};

struct ufrpc_msg_ping {
    char *privilege_key;
    int64_t timestamp;
};

struct ufrpc_msg_pong {
    char *error;
};

struct ufrpc_msg_udp_packet {
    struct ufrpc_bytes content;   /* "c" */
    struct ufrpc_udp_addr *laddr; /* "l", NULL = absent */
    struct ufrpc_udp_addr *raddr; /* "r", NULL = absent */
};

struct ufrpc_msg_nat_hole_visitor {
    char *transaction_id, *proxy_name;
    bool pre_check;
    char *protocol, *sign_key;
    int64_t timestamp;
    struct ufrpc_strv mapped_addrs, assisted_addrs;
};

struct ufrpc_msg_nat_hole_client {
    char *transaction_id, *proxy_name, *sid;
    struct ufrpc_strv mapped_addrs, assisted_addrs;
};

struct ufrpc_port_range {
    int64_t from, to;
};
struct ufrpc_port_ranges {
    struct ufrpc_port_range *items;
    size_t n;
};

struct ufrpc_nat_detect_behavior {
    char *role;
    int64_t mode, ttl, send_delay_ms, read_timeout_ms; /* "read_timeout" (ms) */
    struct ufrpc_port_ranges candidate_ports;
    int64_t send_random_ports, listen_random_ports;
};

struct ufrpc_msg_nat_hole_resp {
    char *transaction_id, *sid, *protocol;
    struct ufrpc_strv candidate_addrs, assisted_addrs;
    struct ufrpc_nat_detect_behavior detect_behavior;
    char *error;
};

struct ufrpc_msg_nat_hole_sid {
    char *transaction_id, *sid;
    bool response;
    char *nonce;
};

struct ufrpc_msg_nat_hole_report {
    char *sid;
    bool success;
};

struct ufrpc_msg {
    uint8_t type; /* enum ufrpc_msg_type (v1 type byte) */
    union {
        struct ufrpc_msg_login login;
        struct ufrpc_msg_login_resp login_resp;
        struct ufrpc_msg_new_proxy new_proxy;
        struct ufrpc_msg_new_proxy_resp new_proxy_resp;
        struct ufrpc_msg_close_proxy close_proxy;
        struct ufrpc_msg_new_work_conn new_work_conn;
        /* ReqWorkConn has no fields */
        struct ufrpc_msg_start_work_conn start_work_conn;
        struct ufrpc_msg_new_visitor_conn new_visitor_conn;
        struct ufrpc_msg_new_visitor_conn_resp new_visitor_conn_resp;
        struct ufrpc_msg_ping ping;
        struct ufrpc_msg_pong pong;
        struct ufrpc_msg_udp_packet udp_packet;
        struct ufrpc_msg_nat_hole_visitor nat_hole_visitor;
        struct ufrpc_msg_nat_hole_client nat_hole_client;
        struct ufrpc_msg_nat_hole_resp nat_hole_resp;
        struct ufrpc_msg_nat_hole_sid nat_hole_sid;
        struct ufrpc_msg_nat_hole_report nat_hole_report;
    } u;
};

/* Zeroes *m and sets its type. Returns 0 or UFRPC_ERR_MSG_TYPE (m is still zeroed). */
int ufrpc_msg_init(struct ufrpc_msg *m, uint8_t type);

/* Frees everything m owns and zeroes the fields (the type is kept). Safe on a zeroed
 * message and twice in a row. */
void ufrpc_msg_free(struct ufrpc_msg *m);

/* Decodes a JSON body of a message of the given v1 type into *out (which is first
 * initialised, so it need not be). On error *out holds nothing to free. Returns 0,
 * UFRPC_ERR_MSG_TYPE, UFRPC_ERR_JSON (malformed JSON or trailing data),
 * UFRPC_ERR_JSON_TYPE (wrong JSON type, a non-integer number for an integer field, a
 * string containing U+0000), UFRPC_ERR_JSON_RANGE (integer out of the field's range),
 * UFRPC_ERR_BASE64 (bad UDPPacket "c"), UFRPC_ERR_NOMEM. */
int ufrpc_msg_decode(uint8_t type, const char *json, size_t len, struct ufrpc_msg *out);

/* Encodes m's JSON into a malloc'd NUL-terminated string *out (caller frees; *len
 * excludes the NUL). Returns 0, UFRPC_ERR_INVAL, UFRPC_ERR_MSG_TYPE, UFRPC_ERR_NOMEM;
 * on failure *out is NULL and *len 0 (when the pointers are given). */
int ufrpc_msg_encode_json(const struct ufrpc_msg *m, char **out, size_t *len);

/* Encodes m as a complete v1 frame (type + length + JSON) into a malloc'd buffer the
 * caller frees. Returns 0, UFRPC_ERR_MSG_TYPE, UFRPC_ERR_MSG_TOO_LONG (JSON over
 * 10240 bytes), UFRPC_ERR_NOMEM. */
int ufrpc_msg_encode_frame(const struct ufrpc_msg *m, uint8_t **out, size_t *len);

/* Same as a v2 Message frame (header + message id + JSON). UFRPC_ERR_V2_FRAME when
 * the JSON exceeds 65534 bytes. */
int ufrpc_msg_encode_frame_v2(const struct ufrpc_msg *m, uint8_t **out, size_t *len);

/* Convenience setters: copy the value(s); the old value is freed. 0 or NOMEM/INVAL.
 * s may be NULL (field set to NULL). */
int ufrpc_msg_set_str(char **field, const char *s);
int ufrpc_map_set(struct ufrpc_map *map, const char *key, const char *value);
/* Value of key in map, or NULL. */
const char *ufrpc_map_get(const struct ufrpc_map *map, const char *key);
int ufrpc_strv_push(struct ufrpc_strv *v, const char *s);
int ufrpc_bytes_set(struct ufrpc_bytes *b, const void *data, size_t len);
/* Allocates *addr (freeing a previous one) and copies ip/zone (NULL = ""). */
int ufrpc_udp_addr_set(struct ufrpc_udp_addr **addr, const char *ip, int64_t port,
                       const char *zone);

#endif
