/* config/schema_fields.c — the frpc v1 client schema as data: every key, its type,
 * where it lands in struct ufrpc_config, and which proxy/plugin types accept it
 * (frp decodes each proxy type into its own Go struct, so e.g. remotePort on an http
 * proxy is an unknown key). Parsing (schema.c), dumping and comparison (dump.c) all
 * walk these tables, so a field added here is handled everywhere. */
#include <stddef.h>

#include "config/cfg_internal.h"

#define OC(f) offsetof(struct ufrpc_config, f)
#define OP(f) offsetof(struct ufrpc_proxy_config, f)
#define OV(f) offsetof(struct ufrpc_visitor_config, f)
#define OPL(f) offsetof(struct ufrpc_plugin_config, f)
#define OVS(f) offsetof(struct ufrpc_cfg_value_source, f)
#define PT(x) (1u << UFRPC_PROXY_##x)
#define PG(x) (1u << UFRPC_PLUGIN_##x)
#define VT(x) (1u << UFRPC_VISITOR_##x)
#define END {NULL, UFRPC_F_END, 0, 0, 0, 0, NULL}

#define F(key, kind, off) {key, kind, 0, 0, off, 0, NULL}
#define FS(key, kind, off) {key, kind, UFRPC_FL_SECRET, 0, off, 0, NULL}
#define FM(key, kind, mask, off) {key, kind, 0, mask, off, 0, NULL}
#define FMS(key, kind, mask, off) {key, kind, UFRPC_FL_SECRET, mask, off, 0, NULL}
#define TBL(key, sub) {key, UFRPC_F_TABLE, 0, 0, 0, 0, sub}
#define TBLM(key, mask, sub) {key, UFRPC_F_TABLE, 0, mask, 0, 0, sub}

/* ---- value source (auth.tokenSource, auth.oidc.tokenSource) ---------------- */
static const struct ufrpc_cfg_field vs_file_fields[] = {
    F("path", UFRPC_F_STR, OVS(file_path)),
    END,
};
static const struct ufrpc_cfg_field vs_exec_fields[] = {
    F("command", UFRPC_F_STR, OVS(exec_command)),
    F("args", UFRPC_F_STRLIST, OVS(exec_args)),
    F("env", UFRPC_F_NVLIST, OVS(exec_env)),
    END,
};
static const struct ufrpc_cfg_field vs_fields[] = {
    F("type", UFRPC_F_STR, OVS(type)),
    {"file", UFRPC_F_TABLE, UFRPC_FL_PRESENCE, 0, 0, OVS(file_present), vs_file_fields},
    {"exec", UFRPC_F_TABLE, UFRPC_FL_PRESENCE, 0, 0, OVS(exec_present), vs_exec_fields},
    END,
};

/* ---- common ---------------------------------------------------------------- */
static const struct ufrpc_cfg_field oidc_fields[] = {
    F("clientID", UFRPC_F_STR, OC(auth.oidc.client_id)),
    FS("clientSecret", UFRPC_F_STR, OC(auth.oidc.client_secret)),
    F("audience", UFRPC_F_STR, OC(auth.oidc.audience)),
    F("scope", UFRPC_F_STR, OC(auth.oidc.scope)),
    F("tokenEndpointURL", UFRPC_F_STR, OC(auth.oidc.token_endpoint_url)),
    F("additionalEndpointParams", UFRPC_F_MAP, OC(auth.oidc.additional_endpoint_params)),
    F("trustedCaFile", UFRPC_F_STR, OC(auth.oidc.trusted_ca_file)),
    F("insecureSkipVerify", UFRPC_F_BOOL, OC(auth.oidc.insecure_skip_verify)),
    {"proxyURL", UFRPC_F_STR, UFRPC_FL_URL_SECRET, 0, OC(auth.oidc.proxy_url), 0, NULL},
    {"tokenSource", UFRPC_F_STRUCT, UFRPC_FL_PRESENCE, 0, OC(auth.oidc.token_source),
     OC(auth.oidc.token_source.present), vs_fields},
    END,
};
static const struct ufrpc_cfg_field auth_fields[] = {
    F("method", UFRPC_F_STR, OC(auth.method)),
    F("additionalScopes", UFRPC_F_STRLIST, OC(auth.additional_scopes)),
    FS("token", UFRPC_F_STR, OC(auth.token)),
    {"tokenSource", UFRPC_F_STRUCT, UFRPC_FL_PRESENCE, 0, OC(auth.token_source),
     OC(auth.token_source.present), vs_fields},
    TBL("oidc", oidc_fields),
    END,
};
static const struct ufrpc_cfg_field log_fields[] = {
    F("to", UFRPC_F_STR, OC(log.to)),
    F("level", UFRPC_F_STR, OC(log.level)),
    F("maxDays", UFRPC_F_INT, OC(log.max_days)),
    F("disablePrintColor", UFRPC_F_BOOL, OC(log.disable_print_color)),
    END,
};
static const struct ufrpc_cfg_field web_tls_fields[] = {
    F("certFile", UFRPC_F_STR, OC(web_server.tls.cert_file)),
    F("keyFile", UFRPC_F_STR, OC(web_server.tls.key_file)),
    F("trustedCaFile", UFRPC_F_STR, OC(web_server.tls.trusted_ca_file)),
    F("serverName", UFRPC_F_STR, OC(web_server.tls.server_name)),
    END,
};
static const struct ufrpc_cfg_field web_fields[] = {
    F("addr", UFRPC_F_STR, OC(web_server.addr)),
    F("port", UFRPC_F_INT, OC(web_server.port)),
    F("user", UFRPC_F_STR, OC(web_server.user)),
    FS("password", UFRPC_F_STR, OC(web_server.password)),
    F("assetsDir", UFRPC_F_STR, OC(web_server.assets_dir)),
    F("pprofEnable", UFRPC_F_BOOL, OC(web_server.pprof_enable)),
    {"tls", UFRPC_F_TABLE, UFRPC_FL_PRESENCE, 0, 0, OC(web_server.tls_present), web_tls_fields},
    END,
};
static const struct ufrpc_cfg_field quic_fields[] = {
    F("keepalivePeriod", UFRPC_F_INT, OC(transport.quic.keepalive_period)),
    F("maxIdleTimeout", UFRPC_F_INT, OC(transport.quic.max_idle_timeout)),
    F("maxIncomingStreams", UFRPC_F_INT, OC(transport.quic.max_incoming_streams)),
    END,
};
static const struct ufrpc_cfg_field ttls_fields[] = {
    F("enable", UFRPC_F_BOOL, OC(transport.tls.enable)),
    F("disableCustomTLSFirstByte", UFRPC_F_BOOL, OC(transport.tls.disable_custom_tls_first_byte)),
    F("certFile", UFRPC_F_STR, OC(transport.tls.files.cert_file)),
    F("keyFile", UFRPC_F_STR, OC(transport.tls.files.key_file)),
    F("trustedCaFile", UFRPC_F_STR, OC(transport.tls.files.trusted_ca_file)),
    F("serverName", UFRPC_F_STR, OC(transport.tls.files.server_name)),
    END,
};
static const struct ufrpc_cfg_field transport_fields[] = {
    F("protocol", UFRPC_F_STR, OC(transport.protocol)),
    F("wireProtocol", UFRPC_F_STR, OC(transport.wire_protocol)),
    F("dialServerTimeout", UFRPC_F_INT, OC(transport.dial_server_timeout)),
    F("dialServerKeepalive", UFRPC_F_INT, OC(transport.dial_server_keepalive)),
    F("connectServerLocalIP", UFRPC_F_STR, OC(transport.connect_server_local_ip)),
    {"proxyURL", UFRPC_F_STR, UFRPC_FL_URL_SECRET, 0, OC(transport.proxy_url), 0, NULL},
    F("poolCount", UFRPC_F_INT, OC(transport.pool_count)),
    F("tcpMux", UFRPC_F_BOOL, OC(transport.tcp_mux)),
    F("tcpMuxKeepaliveInterval", UFRPC_F_INT, OC(transport.tcp_mux_keepalive_interval)),
    TBL("quic", quic_fields),
    F("heartbeatInterval", UFRPC_F_INT, OC(transport.heartbeat_interval)),
    F("heartbeatTimeout", UFRPC_F_INT, OC(transport.heartbeat_timeout)),
    TBL("tls", ttls_fields),
    END,
};
static const struct ufrpc_cfg_field vnet_fields[] = {
    F("address", UFRPC_F_STR, OC(virtual_net.address)),
    END,
};
static const struct ufrpc_cfg_field store_fields[] = {
    F("path", UFRPC_F_STR, OC(store.path)),
    END,
};

static const struct ufrpc_cfg_field alerts_fields[] = {
    F("errorRatePercent", UFRPC_F_INT, OC(alerts.error_rate_percent)),
    F("minConnections", UFRPC_F_INT, OC(alerts.min_connections)),
    F("dialLatencyMs", UFRPC_F_INT, OC(alerts.dial_latency_ms)),
    F("maxConnections", UFRPC_F_INT, OC(alerts.max_connections)),
    F("downSeconds", UFRPC_F_INT, OC(alerts.down_seconds)),
    F("windowSeconds", UFRPC_F_INT, OC(alerts.window_seconds)),
    {"webhookURL", UFRPC_F_STR, UFRPC_FL_URL_SECRET, 0, OC(alerts.webhook_url), 0, NULL},
    END,
};

const struct ufrpc_cfg_field ufrpc_cfg_common_fields[] = {
    F("version", UFRPC_F_STR, OC(version)),
    F("serverAddr", UFRPC_F_STR, OC(server_addr)),
    F("serverPort", UFRPC_F_INT, OC(server_port)),
    F("user", UFRPC_F_STR, OC(user)),
    F("clientID", UFRPC_F_STR, OC(client_id)),
    F("natHoleStunServer", UFRPC_F_STR, OC(nat_hole_stun_server)),
    F("dnsServer", UFRPC_F_STR, OC(dns_server)),
    F("loginFailExit", UFRPC_F_BOOL, OC(login_fail_exit)),
    F("start", UFRPC_F_STRLIST, OC(start)),
    F("includes", UFRPC_F_STRLIST, OC(includes)),
    F("udpPacketSize", UFRPC_F_INT, OC(udp_packet_size)),
    F("metadatas", UFRPC_F_MAP, OC(metadatas)),
    F("featureGates", UFRPC_F_BOOLMAP, OC(feature_gates)),
    TBL("auth", auth_fields),
    TBL("log", log_fields),
    TBL("webServer", web_fields),
    TBL("transport", transport_fields),
    TBL("virtualNet", vnet_fields),
    TBL("store", store_fields),
    /* ufrpc only; dumped only when present, so that frpc can read a dump */
    {"alerts", UFRPC_F_TABLE, UFRPC_FL_PRESENCE, 0, 0, OC(alerts.present), alerts_fields},
    F("proxies", UFRPC_F_PROXIES, 0),
    F("visitors", UFRPC_F_VISITORS, 0),
    END,
};

/* ---- plugins (offsets relative to struct ufrpc_plugin_config) --------------- */
#define HTTPISH (PG(HTTP2HTTPS) | PG(HTTPS2HTTP) | PG(HTTPS2HTTPS) | PG(HTTP2HTTP))
static const struct ufrpc_cfg_field plugin_hdr_fields[] = {
    F("set", UFRPC_F_MAP, OPL(request_headers)),
    END,
};
const struct ufrpc_cfg_field ufrpc_cfg_plugin_fields[] = {
    F("type", UFRPC_F_TYPE, OPL(type)),
    FM("localAddr", UFRPC_F_STR, HTTPISH | PG(TLS2RAW), OPL(local_addr)),
    FM("hostHeaderRewrite", UFRPC_F_STR, HTTPISH, OPL(host_header_rewrite)),
    TBLM("requestHeaders", HTTPISH, plugin_hdr_fields),
    FM("enableHTTP2", UFRPC_F_BOOL, PG(HTTPS2HTTP) | PG(HTTPS2HTTPS), OPL(enable_http2)),
    FM("crtPath", UFRPC_F_STR, PG(HTTPS2HTTP) | PG(HTTPS2HTTPS) | PG(TLS2RAW), OPL(crt_path)),
    FM("keyPath", UFRPC_F_STR, PG(HTTPS2HTTP) | PG(HTTPS2HTTPS) | PG(TLS2RAW), OPL(key_path)),
    FM("httpUser", UFRPC_F_STR, PG(HTTP_PROXY) | PG(STATIC_FILE), OPL(http_user)),
    FMS("httpPassword", UFRPC_F_STR, PG(HTTP_PROXY) | PG(STATIC_FILE), OPL(http_password)),
    FM("username", UFRPC_F_STR, PG(SOCKS5), OPL(username)),
    FMS("password", UFRPC_F_STR, PG(SOCKS5), OPL(password)),
    FM("localPath", UFRPC_F_STR, PG(STATIC_FILE), OPL(local_path)),
    FM("stripPrefix", UFRPC_F_STR, PG(STATIC_FILE), OPL(strip_prefix)),
    FM("unixPath", UFRPC_F_STR, PG(UNIX_DOMAIN_SOCKET), OPL(unix_path)),
    END,
};
const struct ufrpc_cfg_field ufrpc_cfg_vplugin_fields[] = {
    F("type", UFRPC_F_TYPE, OPL(type)),
    FM("destinationIP", UFRPC_F_STR, PG(VIRTUAL_NET), OPL(destination_ip)),
    END,
};

/* ---- proxies ----------------------------------------------------------------- */
#define DOMAIN_TYPES (PT(HTTP) | PT(HTTPS) | PT(TCPMUX))
#define SECRET_TYPES (PT(STCP) | PT(SUDP) | PT(XTCP))
static const struct ufrpc_cfg_field ptransport_fields[] = {
    F("useEncryption", UFRPC_F_BOOL, OP(transport.use_encryption)),
    F("useCompression", UFRPC_F_BOOL, OP(transport.use_compression)),
    {"bandwidthLimit", UFRPC_F_BANDWIDTH, 0, 0, OP(transport.bandwidth_limit),
     OP(transport.bandwidth_limit_bytes), NULL},
    F("bandwidthLimitMode", UFRPC_F_STR, OP(transport.bandwidth_limit_mode)),
    F("proxyProtocolVersion", UFRPC_F_STR, OP(transport.proxy_protocol_version)),
    END,
};
static const struct ufrpc_cfg_field lb_fields[] = {
    F("group", UFRPC_F_STR, OP(load_balancer.group)),
    FS("groupKey", UFRPC_F_STR, OP(load_balancer.group_key)),
    END,
};
static const struct ufrpc_cfg_field hc_fields[] = {
    F("type", UFRPC_F_STR, OP(health_check.type)),
    F("timeoutSeconds", UFRPC_F_INT, OP(health_check.timeout_seconds)),
    F("maxFailed", UFRPC_F_INT, OP(health_check.max_failed)),
    F("intervalSeconds", UFRPC_F_INT, OP(health_check.interval_seconds)),
    F("path", UFRPC_F_STR, OP(health_check.path)),
    F("httpHeaders", UFRPC_F_NVLIST, OP(health_check.http_headers)),
    END,
};
static const struct ufrpc_cfg_field req_hdr_fields[] = {
    F("set", UFRPC_F_MAP, OP(request_headers)),
    END,
};
static const struct ufrpc_cfg_field resp_hdr_fields[] = {
    F("set", UFRPC_F_MAP, OP(response_headers)),
    END,
};
static const struct ufrpc_cfg_field pnat_fields[] = {
    F("disableAssistedAddrs", UFRPC_F_BOOL, OP(disable_assisted_addrs)),
    END,
};
#define OR(f) offsetof(struct ufrpc_cfg_route, f)
static const struct ufrpc_cfg_field route_fields[] = {
    F("location", UFRPC_F_STR, OR(location)),
    F("localIP", UFRPC_F_STR, OR(local_ip)),
    F("localPort", UFRPC_F_INT, OR(local_port)),
    F("stripPrefix", UFRPC_F_BOOL, OR(strip_prefix)),
    F("hostHeaderRewrite", UFRPC_F_STR, OR(host_header_rewrite)),
    END,
};
const struct ufrpc_cfg_field ufrpc_cfg_proxy_fields[] = {
    F("name", UFRPC_F_STR, OP(name)),
    F("type", UFRPC_F_TYPE, OP(type)),
    F("enabled", UFRPC_F_BOOL, OP(enabled)),
    F("localIP", UFRPC_F_STR, OP(local_ip)),
    F("localPort", UFRPC_F_INT, OP(local_port)),
    F("annotations", UFRPC_F_MAP, OP(annotations)),
    F("metadatas", UFRPC_F_MAP, OP(metadatas)),
    TBL("transport", ptransport_fields),
    TBL("loadBalancer", lb_fields),
    TBL("healthCheck", hc_fields),
    {"plugin", UFRPC_F_STRUCT, UFRPC_FL_PLUGIN, 0, OP(plugin), 0, ufrpc_cfg_plugin_fields},
    FM("remotePort", UFRPC_F_INT, PT(TCP) | PT(UDP), OP(remote_port)),
    FM("customDomains", UFRPC_F_STRLIST, DOMAIN_TYPES, OP(custom_domains)),
    FM("subdomain", UFRPC_F_STR, DOMAIN_TYPES, OP(subdomain)),
    FM("locations", UFRPC_F_STRLIST, PT(HTTP), OP(locations)),
    FM("hostHeaderRewrite", UFRPC_F_STR, PT(HTTP), OP(host_header_rewrite)),
    TBLM("requestHeaders", PT(HTTP), req_hdr_fields),
    TBLM("responseHeaders", PT(HTTP), resp_hdr_fields),
    {"routes", UFRPC_F_ROUTES, 0, PT(HTTP), OP(routes), 0, route_fields}, /* ufrpc extension */
    FM("httpUser", UFRPC_F_STR, PT(HTTP) | PT(TCPMUX), OP(http_user)),
    FMS("httpPassword", UFRPC_F_STR, PT(HTTP) | PT(TCPMUX), OP(http_password)),
    FM("routeByHTTPUser", UFRPC_F_STR, PT(HTTP) | PT(TCPMUX), OP(route_by_http_user)),
    FM("multiplexer", UFRPC_F_STR, PT(TCPMUX), OP(multiplexer)),
    FMS("secretKey", UFRPC_F_STR, SECRET_TYPES, OP(secret_key)),
    FM("allowUsers", UFRPC_F_STRLIST, SECRET_TYPES, OP(allow_users)),
    {"natTraversal", UFRPC_F_TABLE, UFRPC_FL_PRESENCE, PT(XTCP), 0, OP(nat_traversal_present),
     pnat_fields},
    END,
};

/* ---- visitors ---------------------------------------------------------------- */
static const struct ufrpc_cfg_field vtransport_fields[] = {
    F("useEncryption", UFRPC_F_BOOL, OV(transport.use_encryption)),
    F("useCompression", UFRPC_F_BOOL, OV(transport.use_compression)),
    END,
};
static const struct ufrpc_cfg_field vnat_fields[] = {
    F("disableAssistedAddrs", UFRPC_F_BOOL, OV(disable_assisted_addrs)),
    END,
};
const struct ufrpc_cfg_field ufrpc_cfg_visitor_fields[] = {
    F("name", UFRPC_F_STR, OV(name)),
    F("type", UFRPC_F_TYPE, OV(type)),
    F("enabled", UFRPC_F_BOOL, OV(enabled)),
    TBL("transport", vtransport_fields),
    FS("secretKey", UFRPC_F_STR, OV(secret_key)),
    F("serverUser", UFRPC_F_STR, OV(server_user)),
    F("serverName", UFRPC_F_STR, OV(server_name)),
    F("bindAddr", UFRPC_F_STR, OV(bind_addr)),
    F("bindPort", UFRPC_F_INT, OV(bind_port)),
    {"plugin", UFRPC_F_STRUCT, UFRPC_FL_VPLUGIN, 0, OV(plugin), 0, ufrpc_cfg_vplugin_fields},
    FM("protocol", UFRPC_F_STR, VT(XTCP), OV(protocol)),
    FM("keepTunnelOpen", UFRPC_F_BOOL, VT(XTCP), OV(keep_tunnel_open)),
    FM("maxRetriesAnHour", UFRPC_F_INT, VT(XTCP), OV(max_retries_an_hour)),
    FM("minRetryInterval", UFRPC_F_INT, VT(XTCP), OV(min_retry_interval)),
    FM("fallbackTo", UFRPC_F_STR, VT(XTCP), OV(fallback_to)),
    FM("fallbackTimeoutMs", UFRPC_F_INT, VT(XTCP), OV(fallback_timeout_ms)),
    {"natTraversal", UFRPC_F_TABLE, UFRPC_FL_PRESENCE, VT(XTCP), 0, OV(nat_traversal_present),
     vnat_fields},
    END,
};
