/* config/config.h — the validated frpc client configuration (frp v1 schema).
 *
 * ufrpc_config_load() reads a frpc configuration file in any format frpc accepts
 * (TOML, YAML, JSON, legacy INI with a [common] section), renders frp's template
 * syntax first, follows `includes`, applies the `start` filter and `enabled = false`,
 * fills in frpc's defaults and validates everything. Every problem found is appended
 * to a diagnostics list (errors, warnings and "not supported yet" notices), each with
 * file:line, so that a user sees all of them at once.
 *
 * Ownership and lifetime:
 *   - The struct ufrpc_config returned by a successful load is IMMUTABLE: nothing may
 *     write to it afterwards. All its strings and arrays live in one allocation arena
 *     owned by the config; every pointer inside stays valid until
 *     ufrpc_config_free(), which releases all of it at once.
 *   - String fields are NULL when unset; ufrpc_cfg_str() maps NULL to "".
 *   - struct ufrpc_cfg_diag is caller-owned (ufrpc_cfg_diag_init / _free). Its items
 *     and the file names they point to belong to the diag and stay valid until
 *     ufrpc_cfg_diag_free(), independent of whether a config was produced.
 */
#ifndef UFRPC_CONFIG_CONFIG_H
#define UFRPC_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/cfg_error.h"
#include "proto/mem.h"

/* ---------------------------------------------------------------- diagnostics */

typedef enum ufrpc_cfg_severity {
    UFRPC_CFG_ERROR = 0,       /* the configuration is rejected */
    UFRPC_CFG_WARNING = 1,     /* accepted, but worth telling the user */
    UFRPC_CFG_UNSUPPORTED = 2, /* parses, but ufrpc does not implement it yet */
    UFRPC_CFG_NOTICE = 3,      /* informational, e.g. the INI deprecation notice */
} ufrpc_cfg_severity;

struct ufrpc_cfg_diag_item {
    ufrpc_cfg_severity severity;
    struct ufrpc_cfg_error err; /* err.file points into the diag's own file names */
};

struct ufrpc_cfg_diag {
    struct ufrpc_cfg_diag_item *items;
    size_t len, cap;
    size_t errors, warnings, unsupported; /* counts by severity */
    bool truncated; /* more than UFRPC_CFG_DIAG_MAX items were reported */
    /* private: file names referenced by items */
    char **files;
    size_t nfiles, files_cap;
};

#define UFRPC_CFG_DIAG_MAX 1000

void ufrpc_cfg_diag_init(struct ufrpc_cfg_diag *d);
void ufrpc_cfg_diag_free(struct ufrpc_cfg_diag *d);
/* Returns a copy of name owned by the diag (deduplicated), or NULL on OOM/NULL. */
const char *ufrpc_cfg_diag_file(struct ufrpc_cfg_diag *d, const char *name);
/* Appends one item (printf message); file must come from ufrpc_cfg_diag_file() or
 * be a static string. Returns UFRPC_ERR_NOMEM when the item could not be stored. */
int ufrpc_cfg_diag_add(struct ufrpc_cfg_diag *d, ufrpc_cfg_severity sev, int code, const char *file,
                       uint32_t line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Prints every item as "file:line: [warning: ]message\n". */
void ufrpc_cfg_diag_print(const struct ufrpc_cfg_diag *d, FILE *out);
/* First item whose message contains needle (tests), or NULL. */
const struct ufrpc_cfg_diag_item *ufrpc_cfg_diag_find(const struct ufrpc_cfg_diag *d,
                                                       ufrpc_cfg_severity sev, const char *needle);

/* ---------------------------------------------------------------- small types */

struct ufrpc_cfg_kv {
    const char *key;
    const char *value;
};

struct ufrpc_cfg_map { /* string → string, in file order (legacy INI: section order) */
    struct ufrpc_cfg_kv *items;
    size_t len;
};

struct ufrpc_cfg_strlist {
    const char **items;
    size_t len;
};

struct ufrpc_cfg_bool_map { /* featureGates */
    const char **keys;
    bool *values;
    size_t len;
};

/* auth.tokenSource / auth.oidc.tokenSource (frp ValueSource) */
struct ufrpc_cfg_value_source {
    bool present;
    const char *type; /* "file" | "exec" */
    bool file_present;
    const char *file_path;
    bool exec_present;
    const char *exec_command;
    struct ufrpc_cfg_strlist exec_args;
    struct ufrpc_cfg_map exec_env; /* name → value, from [{name, value}] */
};

struct ufrpc_cfg_tls_files {
    const char *cert_file, *key_file, *trusted_ca_file, *server_name;
};

/* ---------------------------------------------------------------- enums */

typedef enum ufrpc_proxy_type {
    UFRPC_PROXY_TCP,
    UFRPC_PROXY_UDP,
    UFRPC_PROXY_HTTP,
    UFRPC_PROXY_HTTPS,
    UFRPC_PROXY_TCPMUX,
    UFRPC_PROXY_STCP,
    UFRPC_PROXY_SUDP,
    UFRPC_PROXY_XTCP,
    UFRPC_PROXY__COUNT
} ufrpc_proxy_type;

typedef enum ufrpc_visitor_type {
    UFRPC_VISITOR_STCP,
    UFRPC_VISITOR_SUDP,
    UFRPC_VISITOR_XTCP,
    UFRPC_VISITOR__COUNT
} ufrpc_visitor_type;

typedef enum ufrpc_plugin_type {
    UFRPC_PLUGIN_NONE,
    UFRPC_PLUGIN_UNIX_DOMAIN_SOCKET,
    UFRPC_PLUGIN_HTTP_PROXY,
    UFRPC_PLUGIN_SOCKS5,
    UFRPC_PLUGIN_STATIC_FILE,
    UFRPC_PLUGIN_HTTPS2HTTP,
    UFRPC_PLUGIN_HTTPS2HTTPS,
    UFRPC_PLUGIN_HTTP2HTTPS,
    UFRPC_PLUGIN_HTTP2HTTP,
    UFRPC_PLUGIN_TLS2RAW,
    UFRPC_PLUGIN_VIRTUAL_NET,
    UFRPC_PLUGIN__COUNT
} ufrpc_plugin_type;

/* Names as frp spells them ("tcp", "https2http"…); NULL when out of range. */
const char *ufrpc_proxy_type_name(ufrpc_proxy_type t);
const char *ufrpc_visitor_type_name(ufrpc_visitor_type t);
const char *ufrpc_plugin_type_name(ufrpc_plugin_type t);

/* ---------------------------------------------------------------- proxies */

struct ufrpc_plugin_config {
    ufrpc_plugin_type type; /* NONE: no plugin; local_ip/local_port are the backend */
    const char *local_addr;          /* http2https https2http https2https http2http tls2raw */
    const char *host_header_rewrite; /* http2https https2http https2https http2http */
    struct ufrpc_cfg_map request_headers; /* requestHeaders.set.* */
    bool enable_http2;               /* https2http https2https; default true */
    const char *crt_path, *key_path; /* https2http https2https tls2raw */
    const char *http_user, *http_password; /* http_proxy static_file */
    const char *username, *password; /* socks5 */
    const char *local_path, *strip_prefix; /* static_file */
    const char *unix_path;           /* unix_domain_socket */
    const char *destination_ip;      /* visitor virtual_net only */
};

struct ufrpc_health_check {
    const char *type; /* NULL/"" = off, "tcp" | "http" */
    int64_t timeout_seconds;  /* default 3 when type set */
    int64_t max_failed;       /* default 1 when type set */
    int64_t interval_seconds; /* default 10 when type set */
    const char *path;
    struct ufrpc_cfg_map http_headers; /* [{name, value}] in order */
};

/* routes (http proxies; a ufrpc extension, see README "Path routes"): requests
 * are routed on the client by path to their own local service. */
struct ufrpc_cfg_route {
    const char *location;            /* starts with '/' */
    const char *local_ip;            /* default 127.0.0.1 */
    int64_t local_port;              /* 1..65535 */
    bool strip_prefix;               /* default false */
    const char *host_header_rewrite; /* NULL: the proxy's hostHeaderRewrite, else the Host as sent */
    const char *source_file;         /* where the route's table starts */
    uint32_t source_line;
};

struct ufrpc_cfg_routes {
    struct ufrpc_cfg_route *items;
    size_t len;
};

struct ufrpc_proxy_config {
    const char *name;
    ufrpc_proxy_type type;
    bool enabled; /* filtered: a loaded config holds only enabled proxies */
    const char *local_ip; /* default 127.0.0.1 */
    int64_t local_port;
    struct ufrpc_cfg_map annotations;
    struct ufrpc_cfg_map metadatas;
    struct {
        bool use_encryption, use_compression;
        const char *bandwidth_limit; /* as written ("1MB"), NULL = unlimited */
        int64_t bandwidth_limit_bytes; /* parsed; 0 = unlimited */
        const char *bandwidth_limit_mode; /* "client" (default) | "server" */
        const char *proxy_protocol_version; /* NULL | "v1" | "v2" */
    } transport;
    struct {
        const char *group, *group_key;
    } load_balancer;
    struct ufrpc_health_check health_check;
    struct ufrpc_plugin_config plugin;

    /* tcp, udp */
    int64_t remote_port;
    /* http, https, tcpmux */
    struct ufrpc_cfg_strlist custom_domains;
    const char *subdomain;
    /* http */
    struct ufrpc_cfg_strlist locations;
    const char *host_header_rewrite;
    struct ufrpc_cfg_map request_headers;  /* requestHeaders.set */
    struct ufrpc_cfg_map response_headers; /* responseHeaders.set */
    struct ufrpc_cfg_routes routes;        /* empty: none (frpc's behaviour) */
    /* http, tcpmux */
    const char *http_user, *http_password, *route_by_http_user;
    /* tcpmux */
    const char *multiplexer;
    /* stcp, sudp, xtcp */
    const char *secret_key;
    struct ufrpc_cfg_strlist allow_users;
    /* xtcp */
    bool nat_traversal_present;
    bool disable_assisted_addrs;

    bool from_store; /* read from store.path's file (it replaces a same-named entry) */
    /* where it was defined (file names owned by the config) */
    const char *source_file;
    uint32_t source_line;
};

struct ufrpc_visitor_config {
    const char *name;
    ufrpc_visitor_type type;
    bool enabled;
    struct {
        bool use_encryption, use_compression;
    } transport;
    const char *secret_key;
    const char *server_user;
    const char *server_name;
    const char *bind_addr; /* default 127.0.0.1 */
    int64_t bind_port;     /* < 0: no listener */
    struct ufrpc_plugin_config plugin; /* only NONE or VIRTUAL_NET */
    /* xtcp */
    const char *protocol; /* default "quic" */
    bool keep_tunnel_open;
    int64_t max_retries_an_hour; /* default 8 */
    int64_t min_retry_interval;  /* default 90 */
    const char *fallback_to;
    int64_t fallback_timeout_ms; /* default 1000 */
    bool nat_traversal_present;
    bool disable_assisted_addrs;

    bool from_store;
    const char *source_file;
    uint32_t source_line;
};

/* ---------------------------------------------------------------- the config */

struct ufrpc_config {
    const char *version; /* APIMetadata "version", accepted and kept */
    const char *user;
    const char *client_id;
    const char *server_addr; /* default 0.0.0.0 */
    int64_t server_port;     /* default 7000 */
    const char *nat_hole_stun_server; /* default stun.easyvoip.com:3478 */
    const char *dns_server;
    bool login_fail_exit; /* default true */
    struct ufrpc_cfg_strlist start;
    struct ufrpc_cfg_strlist includes;
    struct ufrpc_cfg_map metadatas;
    struct ufrpc_cfg_bool_map feature_gates;
    int64_t udp_packet_size; /* default 1500 */

    struct {
        const char *method; /* "token" (default) | "oidc" */
        struct ufrpc_cfg_strlist additional_scopes; /* HeartBeats, NewWorkConns */
        const char *token;
        struct ufrpc_cfg_value_source token_source;
        struct {
            const char *client_id, *client_secret, *audience, *scope, *token_endpoint_url;
            struct ufrpc_cfg_map additional_endpoint_params;
            const char *trusted_ca_file;
            bool insecure_skip_verify;
            const char *proxy_url;
            struct ufrpc_cfg_value_source token_source;
        } oidc;
    } auth;

    struct {
        const char *protocol;      /* tcp (default) | kcp | quic | websocket | wss */
        const char *wire_protocol; /* v1 (default) | v2 */
        int64_t dial_server_timeout;   /* default 10 (s) */
        int64_t dial_server_keepalive; /* default 7200 (s); negative: off */
        const char *connect_server_local_ip;
        const char *proxy_url; /* default: $http_proxy */
        int64_t pool_count;    /* default 1 */
        bool tcp_mux;          /* default true */
        int64_t tcp_mux_keepalive_interval; /* default 30 */
        struct {
            int64_t keepalive_period, max_idle_timeout, max_incoming_streams; /* 10/30/100000 */
        } quic;
        int64_t heartbeat_interval, heartbeat_timeout; /* -1/-1 with tcpMux, else 30/90 */
        struct {
            bool enable;                        /* default true */
            bool disable_custom_tls_first_byte; /* default true */
            struct ufrpc_cfg_tls_files files;
        } tls;
    } transport;

    struct {
        const char *addr; /* default 127.0.0.1 */
        int64_t port;     /* 0 = off */
        const char *user, *password, *assets_dir;
        bool pprof_enable;
        bool tls_present;
        struct ufrpc_cfg_tls_files tls;
    } web_server;

    struct {
        const char *to;    /* default "console" */
        const char *level; /* default "info" */
        int64_t max_days;  /* default 3 */
        bool disable_print_color;
    } log;

    struct {
        const char *address;
    } virtual_net;

    struct {
        /* as written; after loading, a relative path is joined to the config file's
         * directory (frpc). Its file's proxies and visitors are loaded with the
         * config's and replace config entries of the same name (frp's aggregator). */
        const char *path;
    } store;

    /* [alerts] — a ufrpc extension (frpc refuses the key): thresholds evaluated
     * on the loop every second (client/core/alerts.h). 0 turns a threshold off. */
    struct {
        bool present;               /* the table is in the file (dumped only then) */
        int64_t error_rate_percent; /* errors per connection attempt, % */
        int64_t min_connections;    /* attempts needed before the rate counts; default 5 */
        int64_t dial_latency_ms;    /* mean local dial time */
        int64_t max_connections;    /* active connections per tunnel */
        int64_t down_seconds;       /* a proxy not running for this long */
        int64_t window_seconds;     /* rate and latency window; default 60 */
        const char *webhook_url;    /* POSTed JSON per firing/resolved alert; "" none */
    } alerts;

    struct ufrpc_proxy_config *proxies; /* after start/enabled filtering */
    size_t nproxies;
    struct ufrpc_visitor_config *visitors;
    size_t nvisitors;

    bool legacy_ini;      /* loaded from the deprecated INI format */
    const char *source_file;

    void *arena_; /* private */
};

/* NULL → "" */
static inline const char *ufrpc_cfg_str(const char *s) { return s != NULL ? s : ""; }

/* ---------------------------------------------------------------- loading */

struct ufrpc_config_load_opts {
    bool non_strict; /* false (default): unknown keys are errors; true: warnings */
    /* Environment used by templates ({{ .Envs.X }}) and transport.proxyURL's default
     * ($http_proxy): a NULL-terminated "NAME=value" array; NULL = the process's. */
    const char *const *envp;
    size_t max_file_size; /* 0 = 8 MiB */
    /* The load's allocator (proto/mem.h; NULL = libc): the returned config's arena,
     * the TOML and JSON readers' trees and buffers, includes and checks go through
     * it; it must outlive the config. Not through it: the diagnostics list (the
     * caller's), template rendering, the YAML and INI readers, json-c and libyaml. */
    const struct ufrpc_mem *mem;
    /* true: store.path is kept (resolved) but its file is not read (verify, as frpc's;
     * a store entry checked on its own). */
    bool no_store;
};

/* The INI deprecation warning printed by frpc (ufrpc wording). */
#define UFRPC_CONFIG_INI_DEPRECATED                                                       \
    "WARNING: ini format is deprecated and the support will be removed in the future, " \
    "please use yaml/json/toml format instead!"

/* Loads, renders, parses, filters, completes and validates `path`.
 * On success returns 0 and *out (free with ufrpc_config_free). On failure returns a
 * negative ufrpc error, *out is NULL, and diag holds every error found. Warnings and
 * "not supported yet" notices are added to diag in both cases. opts may be NULL. */
int ufrpc_config_load(const char *path, const struct ufrpc_config_load_opts *opts,
                      struct ufrpc_config **out, struct ufrpc_cfg_diag *diag);

/* Same from memory: `name` is used in messages and to hint the format by its
 * extension; relative `includes` resolve against the working directory, as frpc. */
int ufrpc_config_load_buffer(const char *text, size_t len, const char *name,
                             const struct ufrpc_config_load_opts *opts, struct ufrpc_config **out,
                             struct ufrpc_cfg_diag *diag);

void ufrpc_config_free(struct ufrpc_config *cfg);

/* Deep equality of two loaded configs (every schema field; source positions and the
 * legacy flag are ignored). */
bool ufrpc_config_equal(const struct ufrpc_config *a, const struct ufrpc_config *b);

/* The same for parts (reload's diff): everything but proxies, visitors, log,
 * webServer and alerts (the "common" part whose change needs a new session: server,
 * auth, transport, ...; log and alerts are applied on their own, webServer only at
 * start); one proxy;
 * one visitor. A failed allocation makes them report "different" (false). */
bool ufrpc_config_common_equal(const struct ufrpc_config *a, const struct ufrpc_config *b);
bool ufrpc_proxy_config_equal(const struct ufrpc_proxy_config *a,
                              const struct ufrpc_proxy_config *b);
bool ufrpc_visitor_config_equal(const struct ufrpc_visitor_config *a,
                                const struct ufrpc_visitor_config *b);

/* Writes the effective configuration, TOML-like (json=false) or as one JSON object
 * (json=true). Secrets (tokens, passwords, secret keys, OIDC client secret) are
 * printed as "***" when set. Returns 0 or UFRPC_ERR_IO. */
int ufrpc_config_dump(const struct ufrpc_config *cfg, FILE *out, bool json);

/* The effective configuration as one JSON object in the schema's keys, secrets
 * masked as "***" when mask is set. Unmasked, ufrpc_config_load_buffer (name
 * "*.json") reads it back into an equal configuration once the `includes` (already
 * expanded) and `start` (already applied) keys are dropped. *out is malloc'd: the
 * caller (wipes, when unmasked, and) frees it. 0 or UFRPC_ERR_NOMEM. */
int ufrpc_config_to_json(const struct ufrpc_config *cfg, bool mask, char **out);

/* Parses an frp bandwidth quantity ("1MB", "512KB", "1.5MB"; empty = 0). */
int ufrpc_config_parse_bandwidth(const char *s, int64_t *bytes);

#endif
