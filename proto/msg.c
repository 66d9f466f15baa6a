/* Message field tables (Go declaration order of frp v0.70.1 pkg/msg/msg.go), init,
 * free and setters. JSON encoding is in msg_encode.c, decoding in msg_decode.c. */
#include "proto/msg.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"
#include "proto/msg_schema.h"

#define F(st, name, kind, field) {name, MSG_FK_##kind, true, offsetof(st, field), NULL}
#define FSUB(st, name, kind, field, sub) {name, MSG_FK_##kind, true, offsetof(st, field), sub}
#define SCHEMA(var, st, tab) \
    static const struct ufrpc_msg_schema var = {tab, sizeof tab / sizeof tab[0], sizeof(st)}

/* ---- nested structs */
static const struct ufrpc_msg_field client_spec_f[] = {
    F(struct ufrpc_client_spec, "type", STR, type),
    F(struct ufrpc_client_spec, "always_auth_pass", BOOL, always_auth_pass),
};
SCHEMA(client_spec_s, struct ufrpc_client_spec, client_spec_f);

/* net.UDPAddr has no JSON tags and no omitempty: all three always written. */
static const struct ufrpc_msg_field udp_addr_f[] = {
    {"IP", MSG_FK_STR, false, offsetof(struct ufrpc_udp_addr, ip), NULL},
    {"Port", MSG_FK_I64, false, offsetof(struct ufrpc_udp_addr, port), NULL},
    {"Zone", MSG_FK_STR, false, offsetof(struct ufrpc_udp_addr, zone), NULL},
};
SCHEMA(udp_addr_s, struct ufrpc_udp_addr, udp_addr_f);

static const struct ufrpc_msg_field port_range_f[] = {
    F(struct ufrpc_port_range, "from", I64, from),
    F(struct ufrpc_port_range, "to", I64, to),
};
SCHEMA(port_range_s, struct ufrpc_port_range, port_range_f);

#define ST struct ufrpc_nat_detect_behavior
static const struct ufrpc_msg_field detect_f[] = {
    F(ST, "role", STR, role),
    F(ST, "mode", I64, mode),
    F(ST, "ttl", I64, ttl),
    F(ST, "send_delay_ms", I64, send_delay_ms),
    F(ST, "read_timeout", I64, read_timeout_ms),
    F(ST, "candidate_ports", PORTS, candidate_ports),
    F(ST, "send_random_ports", I64, send_random_ports),
    F(ST, "listen_random_ports", I64, listen_random_ports),
};
SCHEMA(detect_s, ST, detect_f);
#undef ST

/* ---- messages */
#define ST struct ufrpc_msg_login
static const struct ufrpc_msg_field login_f[] = {
    F(ST, "version", STR, version),
    F(ST, "hostname", STR, hostname),
    F(ST, "os", STR, os),
    F(ST, "arch", STR, arch),
    F(ST, "user", STR, user),
    F(ST, "privilege_key", STR, privilege_key),
    F(ST, "timestamp", I64, timestamp),
    F(ST, "run_id", STR, run_id),
    F(ST, "client_id", STR, client_id),
    F(ST, "metas", MAP, metas),
    FSUB(ST, "client_spec", OBJ, client_spec, &client_spec_s),
    F(ST, "pool_count", I64, pool_count),
};
SCHEMA(login_s, ST, login_f);
#undef ST

#define ST struct ufrpc_msg_login_resp
static const struct ufrpc_msg_field login_resp_f[] = {
    F(ST, "version", STR, version),
    F(ST, "run_id", STR, run_id),
    F(ST, "error", STR, error),
};
SCHEMA(login_resp_s, ST, login_resp_f);
#undef ST

#define ST struct ufrpc_msg_new_proxy
static const struct ufrpc_msg_field new_proxy_f[] = {
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "proxy_type", STR, proxy_type),
    F(ST, "use_encryption", BOOL, use_encryption),
    F(ST, "use_compression", BOOL, use_compression),
    F(ST, "bandwidth_limit", STR, bandwidth_limit),
    F(ST, "bandwidth_limit_mode", STR, bandwidth_limit_mode),
    F(ST, "group", STR, group),
    F(ST, "group_key", STR, group_key),
    F(ST, "metas", MAP, metas),
    F(ST, "annotations", MAP, annotations),
    F(ST, "remote_port", I64, remote_port),
    F(ST, "custom_domains", STRV, custom_domains),
    F(ST, "subdomain", STR, subdomain),
    F(ST, "locations", STRV, locations),
    F(ST, "http_user", STR, http_user),
    F(ST, "http_pwd", STR, http_pwd),
    F(ST, "host_header_rewrite", STR, host_header_rewrite),
    F(ST, "headers", MAP, headers),
    F(ST, "response_headers", MAP, response_headers),
    F(ST, "route_by_http_user", STR, route_by_http_user),
    F(ST, "sk", STR, sk),
    F(ST, "allow_users", STRV, allow_users),
    F(ST, "multiplexer", STR, multiplexer),
};
SCHEMA(new_proxy_s, ST, new_proxy_f);
#undef ST

#define ST struct ufrpc_msg_new_proxy_resp
static const struct ufrpc_msg_field new_proxy_resp_f[] = {
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "remote_addr", STR, remote_addr),
    F(ST, "error", STR, error),
};
SCHEMA(new_proxy_resp_s, ST, new_proxy_resp_f);
#undef ST

static const struct ufrpc_msg_field close_proxy_f[] = {
    F(struct ufrpc_msg_close_proxy, "proxy_name", STR, proxy_name),
};
SCHEMA(close_proxy_s, struct ufrpc_msg_close_proxy, close_proxy_f);

#define ST struct ufrpc_msg_new_work_conn
static const struct ufrpc_msg_field new_work_conn_f[] = {
    F(ST, "run_id", STR, run_id),
    F(ST, "privilege_key", STR, privilege_key),
    F(ST, "timestamp", I64, timestamp),
};
SCHEMA(new_work_conn_s, ST, new_work_conn_f);
#undef ST

static const struct ufrpc_msg_schema req_work_conn_s = {NULL, 0, 0};

#define ST struct ufrpc_msg_start_work_conn
static const struct ufrpc_msg_field start_work_conn_f[] = {
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "src_addr", STR, src_addr),
    F(ST, "dst_addr", STR, dst_addr),
    F(ST, "src_port", U16, src_port),
    F(ST, "dst_port", U16, dst_port),
    F(ST, "error", STR, error),
};
SCHEMA(start_work_conn_s, ST, start_work_conn_f);
#undef ST

#define ST struct ufrpc_msg_new_visitor_conn
static const struct ufrpc_msg_field new_visitor_conn_f[] = {
    F(ST, "run_id", STR, run_id),
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "sign_key", STR, sign_key),
    F(ST, "timestamp", I64, timestamp),
    F(ST, "use_encryption", BOOL, use_encryption),
    F(ST, "use_compression", BOOL, use_compression),
};
SCHEMA(new_visitor_conn_s, ST, new_visitor_conn_f);
#undef ST

#define ST struct ufrpc_msg_new_visitor_conn_resp
static const struct ufrpc_msg_field new_visitor_conn_resp_f[] = {
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "error", STR, error),
};
SCHEMA(new_visitor_conn_resp_s, ST, new_visitor_conn_resp_f);
#undef ST

#define ST struct ufrpc_msg_ping
static const struct ufrpc_msg_field ping_f[] = {
    F(ST, "privilege_key", STR, privilege_key),
    F(ST, "timestamp", I64, timestamp),
};
SCHEMA(ping_s, ST, ping_f);
#undef ST

static const struct ufrpc_msg_field pong_f[] = {
    F(struct ufrpc_msg_pong, "error", STR, error),
};
SCHEMA(pong_s, struct ufrpc_msg_pong, pong_f);

#define ST struct ufrpc_msg_udp_packet
static const struct ufrpc_msg_field udp_packet_f[] = {
    F(ST, "c", BYTES, content),
    FSUB(ST, "l", OBJ_PTR, laddr, &udp_addr_s),
    FSUB(ST, "r", OBJ_PTR, raddr, &udp_addr_s),
};
SCHEMA(udp_packet_s, ST, udp_packet_f);
#undef ST

#define ST struct ufrpc_msg_nat_hole_visitor
static const struct ufrpc_msg_field nat_hole_visitor_f[] = {
    F(ST, "transaction_id", STR, transaction_id),
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "pre_check", BOOL, pre_check),
    F(ST, "protocol", STR, protocol),
    F(ST, "sign_key", STR, sign_key),
    F(ST, "timestamp", I64, timestamp),
    F(ST, "mapped_addrs", STRV, mapped_addrs),
    F(ST, "assisted_addrs", STRV, assisted_addrs),
};
SCHEMA(nat_hole_visitor_s, ST, nat_hole_visitor_f);
#undef ST

#define ST struct ufrpc_msg_nat_hole_client
static const struct ufrpc_msg_field nat_hole_client_f[] = {
    F(ST, "transaction_id", STR, transaction_id),
    F(ST, "proxy_name", STR, proxy_name),
    F(ST, "sid", STR, sid),
    F(ST, "mapped_addrs", STRV, mapped_addrs),
    F(ST, "assisted_addrs", STRV, assisted_addrs),
};
SCHEMA(nat_hole_client_s, ST, nat_hole_client_f);
#undef ST

#define ST struct ufrpc_msg_nat_hole_resp
static const struct ufrpc_msg_field nat_hole_resp_f[] = {
    F(ST, "transaction_id", STR, transaction_id),
    F(ST, "sid", STR, sid),
    F(ST, "protocol", STR, protocol),
    F(ST, "candidate_addrs", STRV, candidate_addrs),
    F(ST, "assisted_addrs", STRV, assisted_addrs),
    FSUB(ST, "detect_behavior", OBJ, detect_behavior, &detect_s),
    F(ST, "error", STR, error),
};
SCHEMA(nat_hole_resp_s, ST, nat_hole_resp_f);
#undef ST

#define ST struct ufrpc_msg_nat_hole_sid
static const struct ufrpc_msg_field nat_hole_sid_f[] = {
    F(ST, "transaction_id", STR, transaction_id),
    F(ST, "sid", STR, sid),
    F(ST, "response", BOOL, response),
    F(ST, "nonce", STR, nonce),
};
SCHEMA(nat_hole_sid_s, ST, nat_hole_sid_f);
#undef ST

#define ST struct ufrpc_msg_nat_hole_report
static const struct ufrpc_msg_field nat_hole_report_f[] = {
    F(ST, "sid", STR, sid),
    F(ST, "success", BOOL, success),
};
SCHEMA(nat_hole_report_s, ST, nat_hole_report_f);
#undef ST

static const struct {
    uint8_t type;
    const struct ufrpc_msg_schema *schema;
} schemas[] = {
    {UFRPC_MSG_LOGIN, &login_s},
    {UFRPC_MSG_LOGIN_RESP, &login_resp_s},
    {UFRPC_MSG_NEW_PROXY, &new_proxy_s},
    {UFRPC_MSG_NEW_PROXY_RESP, &new_proxy_resp_s},
    {UFRPC_MSG_CLOSE_PROXY, &close_proxy_s},
    {UFRPC_MSG_NEW_WORK_CONN, &new_work_conn_s},
    {UFRPC_MSG_REQ_WORK_CONN, &req_work_conn_s},
    {UFRPC_MSG_START_WORK_CONN, &start_work_conn_s},
    {UFRPC_MSG_NEW_VISITOR_CONN, &new_visitor_conn_s},
    {UFRPC_MSG_NEW_VISITOR_CONN_RESP, &new_visitor_conn_resp_s},
    {UFRPC_MSG_PING, &ping_s},
    {UFRPC_MSG_PONG, &pong_s},
    {UFRPC_MSG_UDP_PACKET, &udp_packet_s},
    {UFRPC_MSG_NAT_HOLE_VISITOR, &nat_hole_visitor_s},
    {UFRPC_MSG_NAT_HOLE_CLIENT, &nat_hole_client_s},
    {UFRPC_MSG_NAT_HOLE_RESP, &nat_hole_resp_s},
    {UFRPC_MSG_NAT_HOLE_SID, &nat_hole_sid_s},
    {UFRPC_MSG_NAT_HOLE_REPORT, &nat_hole_report_s},
};

const struct ufrpc_msg_schema *ufrpc_msg_schema_of(uint8_t type)
{
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
        if (schemas[i].type == type)
            return schemas[i].schema;
    return NULL;
}

const struct ufrpc_msg_schema *ufrpc_msg_schema_port_range(void)
{
    return &port_range_s;
}

/* ---- free */
static void free_map(struct ufrpc_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->n = 0;
}

static void free_strv(struct ufrpc_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n = 0;
}

void ufrpc_msg_schema_free(const struct ufrpc_msg_schema *s, char *base)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct ufrpc_msg_field *f = &s->fields[i];
        char *p = base + f->off;
        switch (f->kind) {
        case MSG_FK_STR: {
            char **sp = (char **)(void *)p;
            free(*sp);
            *sp = NULL;
            break;
        }
        case MSG_FK_MAP:
            free_map((struct ufrpc_map *)(void *)p);
            break;
        case MSG_FK_STRV:
            free_strv((struct ufrpc_strv *)(void *)p);
            break;
        case MSG_FK_BYTES: {
            struct ufrpc_bytes *b = (struct ufrpc_bytes *)(void *)p;
            free(b->data);
            b->data = NULL;
            b->len = 0;
            break;
        }
        case MSG_FK_OBJ:
            ufrpc_msg_schema_free(f->sub, p);
            break;
        case MSG_FK_OBJ_PTR: {
            char **pp = (char **)(void *)p;
            if (*pp != NULL) {
                ufrpc_msg_schema_free(f->sub, *pp);
                free(*pp);
                *pp = NULL;
            }
            break;
        }
        case MSG_FK_PORTS: {
            struct ufrpc_port_ranges *r = (struct ufrpc_port_ranges *)(void *)p;
            free(r->items);
            r->items = NULL;
            r->n = 0;
            break;
        }
        default:
            break;
        }
    }
    /* Scalars are zeroed too, so a freed message reads as empty. */
    if (s->size > 0)
        memset(base, 0, s->size);
}

int ufrpc_msg_init(struct ufrpc_msg *m, uint8_t type)
{
    if (m == NULL)
        return UFRPC_ERR_INVAL;
    memset(m, 0, sizeof *m);
    if (ufrpc_msg_schema_of(type) == NULL)
        return UFRPC_ERR_MSG_TYPE;
    m->type = type;
    return 0;
}

void ufrpc_msg_free(struct ufrpc_msg *m)
{
    if (m == NULL)
        return;
    const struct ufrpc_msg_schema *s = ufrpc_msg_schema_of(m->type);
    if (s != NULL)
        ufrpc_msg_schema_free(s, (char *)&m->u);
    else
        memset(&m->u, 0, sizeof m->u);
}

/* ---- setters */
int ufrpc_msg_set_str(char **field, const char *s)
{
    if (field == NULL)
        return UFRPC_ERR_INVAL;
    char *copy = NULL;
    if (s != NULL) {
        copy = strdup(s);
        if (copy == NULL)
            return UFRPC_ERR_NOMEM;
    }
    free(*field);
    *field = copy;
    return 0;
}

const char *ufrpc_map_get(const struct ufrpc_map *map, const char *key)
{
    if (map == NULL || key == NULL)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->items[i].key, key) == 0)
            return map->items[i].value;
    return NULL;
}

int ufrpc_map_set(struct ufrpc_map *map, const char *key, const char *value)
{
    if (map == NULL || key == NULL)
        return UFRPC_ERR_INVAL;
    char *v = strdup(value == NULL ? "" : value);
    if (v == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->items[i].key, key) == 0) {
            free(map->items[i].value);
            map->items[i].value = v;
            return 0;
        }
    }
    char *k = strdup(key);
    struct ufrpc_kv *items = k == NULL ? NULL : realloc(map->items, (map->n + 1) * sizeof *items);
    if (items == NULL) {
        free(k);
        free(v);
        return UFRPC_ERR_NOMEM;
    }
    items[map->n].key = k;
    items[map->n].value = v;
    map->items = items;
    map->n++;
    return 0;
}

int ufrpc_strv_push(struct ufrpc_strv *v, const char *s)
{
    if (v == NULL)
        return UFRPC_ERR_INVAL;
    char *copy = strdup(s == NULL ? "" : s);
    if (copy == NULL)
        return UFRPC_ERR_NOMEM;
    char **items = realloc(v->items, (v->n + 1) * sizeof *items);
    if (items == NULL) {
        free(copy);
        return UFRPC_ERR_NOMEM;
    }
    items[v->n++] = copy;
    v->items = items;
    return 0;
}

int ufrpc_bytes_set(struct ufrpc_bytes *b, const void *data, size_t len)
{
    if (b == NULL || (data == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return UFRPC_ERR_NOMEM;
        memcpy(copy, data, len);
    }
    free(b->data);
    b->data = copy;
    b->len = len;
    return 0;
}

int ufrpc_udp_addr_set(struct ufrpc_udp_addr **addr, const char *ip, int64_t port,
                       const char *zone)
{
    if (addr == NULL)
        return UFRPC_ERR_INVAL;
    struct ufrpc_udp_addr *a = calloc(1, sizeof *a);
    if (a == NULL)
        return UFRPC_ERR_NOMEM;
    a->ip = strdup(ip == NULL ? "" : ip);
    a->zone = strdup(zone == NULL ? "" : zone);
    a->port = port;
    if (a->ip == NULL || a->zone == NULL) {
        free(a->ip);
        free(a->zone);
        free(a);
        return UFRPC_ERR_NOMEM;
    }
    if (*addr != NULL) {
        ufrpc_msg_schema_free(&udp_addr_s, (char *)*addr);
        free(*addr);
    }
    *addr = a;
    return 0;
}
