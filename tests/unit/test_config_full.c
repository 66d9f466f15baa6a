/* The project's full-coverage configurations (tests/data/config): together they set
 * every key of frpc's v1 schema, in TOML, YAML and JSON, and every key of the legacy
 * INI format. Checked here: every key of the schema tables (config/schema_fields.c)
 * appears in each format, every proxy, visitor and plugin type is used, the three
 * formats load into equal configurations, and the loaded struct holds what the
 * files say (values chosen to differ from frpc's defaults). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/cfg_internal.h"
#include "config/config.h"
#include "config/json_reader.h"
#include "config/toml.h"
#include "config/value.h"
#include "config/yaml_reader.h"
#include "proto/error.h"
#include "testutil.h"

/* The configs include config/confd/ through {{ .Envs.CONFD }}. */
static char confd_env[4096];
static const char *env[] = {confd_env, NULL};

static int setup(void **state)
{
    (void)state;
    char *dir = ufrpc_test_data_path("config/confd");
    if (dir == NULL)
        return -1;
    snprintf(confd_env, sizeof confd_env, "CONFD=%s", dir);
    free(dir);
    return 0;
}

static struct ufrpc_config *load_rel(const char *rel, struct ufrpc_cfg_diag *d)
{
    char *path = ufrpc_test_data_path(rel);
    assert_non_null(path);
    struct ufrpc_config_load_opts o = {.envp = env};
    struct ufrpc_config *cfg = NULL;
    ufrpc_cfg_diag_init(d);
    int rc = ufrpc_config_load(path, &o, &cfg, d);
    if (rc != 0 || d->errors != 0)
        ufrpc_cfg_diag_print(d, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(d->errors, 0);
    free(path);
    return cfg;
}

static const struct ufrpc_proxy_config *proxy(const struct ufrpc_config *c, const char *name)
{
    for (size_t i = 0; i < c->nproxies; i++)
        if (strcmp(c->proxies[i].name, name) == 0)
            return &c->proxies[i];
    fail_msg("proxy %s not found", name);
    return NULL;
}

static bool has_proxy(const struct ufrpc_config *c, const char *name)
{
    for (size_t i = 0; i < c->nproxies; i++)
        if (strcmp(c->proxies[i].name, name) == 0)
            return true;
    return false;
}

static const struct ufrpc_visitor_config *visitor(const struct ufrpc_config *c, const char *name)
{
    for (size_t i = 0; i < c->nvisitors; i++)
        if (strcmp(c->visitors[i].name, name) == 0)
            return &c->visitors[i];
    fail_msg("visitor %s not found", name);
    return NULL;
}

static const char *map_get(const struct ufrpc_cfg_map *m, const char *k)
{
    for (size_t i = 0; i < m->len; i++)
        if (strcmp(m->items[i].key, k) == 0)
            return m->items[i].value;
    return NULL;
}

/* ---- every schema key appears ---------------------------------------------------- */

#define MAX_ITEMS 64
struct items {
    const ufrpc_cv *t[MAX_ITEMS];
    uint32_t mask[MAX_ITEMS]; /* type bit of the proxy/visitor/plugin the table belongs to */
    size_t n;
};

static void push(struct items *it, const ufrpc_cv *t, uint32_t mask)
{
    assert_true(it->n < MAX_ITEMS);
    it->t[it->n] = t;
    it->mask[it->n] = mask;
    it->n++;
}

static const char *type_of(const ufrpc_cv *t)
{
    const ufrpc_cv *v = ufrpc_cv_get(t, "type");
    assert_non_null(v);
    assert_int_equal(v->type, UFRPC_CV_STRING);
    return v->u.s.ptr;
}

struct seen_types {
    uint32_t proxies, visitors, plugins;
};

/* Counts the keys of `fields` (recursing into sub-tables) that no table of `in` they
 * apply to (by type mask) sets; the first one's path goes to `missing`. */
static int cover(const char *path, const struct ufrpc_cfg_field *fields, const struct items *in,
                 struct seen_types *seen, char *missing, size_t cap)
{
    int nmissing = 0;
    for (const struct ufrpc_cfg_field *f = fields; f->kind != UFRPC_F_END; f++) {
        struct items sub = {.n = 0};
        bool found = false;
        for (size_t i = 0; i < in->n; i++) {
            if (f->mask != 0 && (f->mask & in->mask[i]) == 0)
                continue;
            const ufrpc_cv *v = ufrpc_cv_get(in->t[i], f->key);
            if (v == NULL)
                continue;
            found = true;
            if (f->kind == UFRPC_F_PROXIES || f->kind == UFRPC_F_VISITORS) {
                assert_int_equal(v->type, UFRPC_CV_ARRAY);
                for (size_t k = 0; k < v->u.a.len; k++) {
                    const ufrpc_cv *e = v->u.a.items[k];
                    int t = f->kind == UFRPC_F_PROXIES ? ufrpc_schema_proxy_type(type_of(e))
                                                       : ufrpc_schema_visitor_type(type_of(e));
                    assert_true(t >= 0);
                    if (f->kind == UFRPC_F_PROXIES)
                        seen->proxies |= 1u << t;
                    else
                        seen->visitors |= 1u << t;
                    push(&sub, e, 1u << t);
                }
            } else if (f->kind == UFRPC_F_ROUTES) {
                assert_int_equal(v->type, UFRPC_CV_ARRAY);
                for (size_t k = 0; k < v->u.a.len; k++)
                    push(&sub, v->u.a.items[k], 0);
            } else if (f->kind == UFRPC_F_TABLE || f->kind == UFRPC_F_STRUCT) {
                assert_int_equal(v->type, UFRPC_CV_TABLE);
                uint32_t m = f->kind == UFRPC_F_TABLE ? in->mask[i] : 0;
                if (f->flags & (UFRPC_FL_PLUGIN | UFRPC_FL_VPLUGIN)) {
                    int t = ufrpc_schema_plugin_type(type_of(v));
                    assert_true(t > 0);
                    seen->plugins |= 1u << t;
                    m = 1u << t;
                }
                push(&sub, v, m);
            }
        }
        if (!found) {
            if (nmissing++ == 0)
                snprintf(missing, cap, "%s%s", path, f->key);
            continue;
        }
        char subpath[256];
        snprintf(subpath, sizeof subpath, "%s%s%s.", path, f->key,
                 f->kind == UFRPC_F_PROXIES || f->kind == UFRPC_F_VISITORS ? "[]" : "");
        const struct ufrpc_cfg_field *subf = f->kind == UFRPC_F_PROXIES    ? ufrpc_cfg_proxy_fields
                                             : f->kind == UFRPC_F_VISITORS ? ufrpc_cfg_visitor_fields
                                             : f->kind == UFRPC_F_TABLE || f->kind == UFRPC_F_STRUCT ||
                                                       f->kind == UFRPC_F_ROUTES
                                                   ? f->sub
                                                                                                     : NULL;
        if (subf != NULL) {
            char first[256] = "";
            int n = cover(subpath, subf, &sub, seen, first, sizeof first);
            if (n > 0 && nmissing == 0)
                snprintf(missing, cap, "%s", first);
            nmissing += n;
        }
    }
    return nmissing;
}

typedef int (*reader_fn)(const char *, size_t, const char *, ufrpc_cv **, struct ufrpc_cfg_error *);

static ufrpc_cv *read_tree(const char *rel, reader_fn rd)
{
    char *path = ufrpc_test_data_path(rel);
    assert_non_null(path);
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(ufrpc_test_read_file(path, &text, &len), 0);
    free(path);
    ufrpc_cv *tree = NULL;
    struct ufrpc_cfg_error err;
    memset(&err, 0, sizeof err);
    int rc = rd((const char *)text, len, rel, &tree, &err);
    if (rc != 0)
        fail_msg("%s:%u: %s", rel, (unsigned)err.line, err.msg);
    free(text);
    return tree;
}

static void check_format_covers(const char *ext, reader_fn rd)
{
    char full[64], sources[64];
    snprintf(full, sizeof full, "config/frpc_full.%s", ext);
    snprintf(sources, sizeof sources, "config/frpc_sources.%s", ext);
    ufrpc_cv *a = read_tree(full, rd);
    ufrpc_cv *b = read_tree(sources, rd);
    struct items top = {.n = 0};
    push(&top, a, 0);
    push(&top, b, 0);
    struct seen_types seen = {0, 0, 0};
    char missing[256] = "";
    int n = cover("", ufrpc_cfg_common_fields, &top, &seen, missing, sizeof missing);
    if (n != 0)
        fail_msg("%s + %s: %d schema keys set nowhere, first %s", full, sources, n, missing);
    for (int t = 0; t < UFRPC_PROXY__COUNT; t++)
        if (!(seen.proxies & (1u << t)))
            fail_msg("%s: no proxy of type %s", full, ufrpc_proxy_type_name((ufrpc_proxy_type)t));
    for (int t = 0; t < UFRPC_VISITOR__COUNT; t++)
        if (!(seen.visitors & (1u << t)))
            fail_msg("%s: no visitor of type %s", full, ufrpc_visitor_type_name((ufrpc_visitor_type)t));
    for (int t = 1; t < UFRPC_PLUGIN__COUNT; t++)
        if (!(seen.plugins & (1u << t)))
            fail_msg("%s: no plugin of type %s", full, ufrpc_plugin_type_name((ufrpc_plugin_type)t));
    ufrpc_cv_free(a);
    ufrpc_cv_free(b);
}

static void test_every_key_toml(void **state)
{
    (void)state;
    check_format_covers("toml", ufrpc_toml_parse);
}

static void test_every_key_yaml(void **state)
{
    (void)state;
    check_format_covers("yaml", ufrpc_yaml_read);
}

static void test_every_key_json(void **state)
{
    (void)state;
    check_format_covers("json", ufrpc_json_read);
}

/* The coverage check itself notices a missing key, a key set only on a proxy type
 * it does not apply to, and a missing plugin key. */
static void test_cover_detects_missing_key(void **state)
{
    (void)state;
    ufrpc_cv *a = read_tree("config/frpc_full.toml", ufrpc_toml_parse);
    ufrpc_cv *b = read_tree("config/frpc_sources.toml", ufrpc_toml_parse); /* routes */
    struct items top = {.n = 0};
    push(&top, a, 0);
    push(&top, b, 0);
    struct seen_types seen = {0, 0, 0};
    char missing[256] = "";
    static const struct ufrpc_cfg_field common[] = {
        {"serverPort", UFRPC_F_INT, 0, 0, 0, 0, NULL},
        {"noSuchKey", UFRPC_F_STR, 0, 0, 0, 0, NULL},
        {NULL, UFRPC_F_END, 0, 0, 0, 0, NULL},
    };
    assert_int_equal(cover("", common, &top, &seen, missing, sizeof missing), 1);
    assert_string_equal(missing, "noSuchKey");

    /* multiplexer exists only on tcpmux proxies: a mask of udp alone finds none */
    static const struct ufrpc_cfg_field proxy_fields[] = {
        {"multiplexer", UFRPC_F_STR, 0, 1u << UFRPC_PROXY_UDP, 0, 0, NULL},
        {NULL, UFRPC_F_END, 0, 0, 0, 0, NULL},
    };
    static const struct ufrpc_cfg_field with_proxies[] = {
        {"proxies", UFRPC_F_PROXIES, 0, 0, 0, 0, NULL},
        {NULL, UFRPC_F_END, 0, 0, 0, 0, NULL},
    };
    struct items px = {.n = 0};
    const ufrpc_cv *arr = ufrpc_cv_get(a, "proxies");
    assert_non_null(arr);
    for (size_t k = 0; k < arr->u.a.len; k++)
        push(&px, arr->u.a.items[k], 1u << ufrpc_schema_proxy_type(type_of(arr->u.a.items[k])));
    missing[0] = '\0';
    assert_int_equal(cover("proxies[].", proxy_fields, &px, &seen, missing, sizeof missing), 1);
    assert_string_equal(missing, "proxies[].multiplexer");
    assert_int_equal(cover("", with_proxies, &top, &seen, missing, sizeof missing), 0);
    ufrpc_cv_free(a);
    ufrpc_cv_free(b);
}

/* ---- the three formats agree -------------------------------------------------- */

static void test_formats_equal(void **state)
{
    (void)state;
    static const char *const bases[] = {"config/frpc_full", "config/frpc_sources"};
    for (size_t i = 0; i < 2; i++) {
        char rel[64];
        struct ufrpc_cfg_diag dt, dy, dj;
        snprintf(rel, sizeof rel, "%s.toml", bases[i]);
        struct ufrpc_config *t = load_rel(rel, &dt);
        snprintf(rel, sizeof rel, "%s.yaml", bases[i]);
        struct ufrpc_config *y = load_rel(rel, &dy);
        snprintf(rel, sizeof rel, "%s.json", bases[i]);
        struct ufrpc_config *j = load_rel(rel, &dj);
        assert_true(ufrpc_config_equal(t, y));
        assert_true(ufrpc_config_equal(t, j));
        ufrpc_config_free(t);
        ufrpc_config_free(y);
        ufrpc_config_free(j);
        ufrpc_cfg_diag_free(&dt);
        ufrpc_cfg_diag_free(&dy);
        ufrpc_cfg_diag_free(&dj);
    }
}

/* ---- values -------------------------------------------------------------------- */

static void test_full_common(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_rel("config/frpc_full.toml", &d);
    assert_false(c->legacy_ini);
    assert_string_equal(c->version, "v1");
    assert_string_equal(c->server_addr, "frps.example.net");
    assert_int_equal(c->server_port, 7443);
    assert_string_equal(c->user, "alice");
    assert_string_equal(c->client_id, "client-7");
    assert_string_equal(c->nat_hole_stun_server, "stun.example.net:3478");
    assert_string_equal(c->dns_server, "192.0.2.53");
    assert_false(c->login_fail_exit);
    assert_int_equal(c->start.len, 24);
    assert_int_equal(c->includes.len, 1);
    assert_non_null(strstr(c->includes.items[0], "config/confd/*.toml")); /* template rendered */
    assert_int_equal(c->udp_packet_size, 1400);
    assert_string_equal(map_get(&c->metadatas, "region"), "eu");
    assert_string_equal(map_get(&c->metadatas, "rack"), "r7");
    assert_int_equal(c->feature_gates.len, 1);
    assert_string_equal(c->feature_gates.keys[0], "VirtualNet");
    assert_true(c->feature_gates.values[0]);

    assert_string_equal(c->auth.method, "oidc");
    assert_int_equal(c->auth.additional_scopes.len, 2);
    assert_string_equal(c->auth.additional_scopes.items[1], "NewWorkConns");
    assert_string_equal(c->auth.token, "full-token");
    assert_false(c->auth.token_source.present);
    assert_string_equal(c->auth.oidc.client_id, "oidc-client");
    assert_string_equal(c->auth.oidc.client_secret, "oidc-secret");
    assert_string_equal(c->auth.oidc.audience, "frps");
    assert_string_equal(c->auth.oidc.scope, "frp.read");
    assert_string_equal(c->auth.oidc.token_endpoint_url, "https://idp.example.net/token");
    assert_string_equal(map_get(&c->auth.oidc.additional_endpoint_params, "tenant"), "t1");
    assert_string_equal(c->auth.oidc.trusted_ca_file, "/etc/frp/idp-ca.pem");
    assert_true(c->auth.oidc.insecure_skip_verify);
    assert_string_equal(c->auth.oidc.proxy_url, "http://proxyuser:proxypass@proxy.example.net:3128");

    assert_string_equal(c->log.to, "/var/log/frpc.log");
    assert_string_equal(c->log.level, "debug");
    assert_int_equal(c->log.max_days, 7);
    assert_true(c->log.disable_print_color);

    assert_string_equal(c->web_server.addr, "0.0.0.0");
    assert_int_equal(c->web_server.port, 7400);
    assert_string_equal(c->web_server.user, "admin");
    assert_string_equal(c->web_server.password, "admin-pass");
    assert_string_equal(c->web_server.assets_dir, "/usr/share/frpc/assets");
    assert_true(c->web_server.pprof_enable);
    assert_true(c->web_server.tls_present);
    assert_string_equal(c->web_server.tls.cert_file, "/etc/frp/admin.crt");
    assert_string_equal(c->web_server.tls.key_file, "/etc/frp/admin.key");
    assert_string_equal(c->web_server.tls.trusted_ca_file, "/etc/frp/admin-ca.crt");
    assert_string_equal(c->web_server.tls.server_name, "admin.example.net");

    assert_string_equal(c->transport.protocol, "websocket");
    assert_string_equal(c->transport.wire_protocol, "v2");
    assert_int_equal(c->transport.dial_server_timeout, 15);
    assert_int_equal(c->transport.dial_server_keepalive, 3600);
    assert_string_equal(c->transport.connect_server_local_ip, "192.0.2.10");
    assert_string_equal(c->transport.proxy_url, "socks5://user:pass@127.0.0.1:1080");
    assert_int_equal(c->transport.pool_count, 3);
    assert_false(c->transport.tcp_mux);
    assert_int_equal(c->transport.tcp_mux_keepalive_interval, 20);
    assert_int_equal(c->transport.heartbeat_interval, 20);
    assert_int_equal(c->transport.heartbeat_timeout, 60);
    assert_int_equal(c->transport.quic.keepalive_period, 12);
    assert_int_equal(c->transport.quic.max_idle_timeout, 40);
    assert_int_equal(c->transport.quic.max_incoming_streams, 5000);
    assert_false(c->transport.tls.enable);
    assert_false(c->transport.tls.disable_custom_tls_first_byte);
    assert_string_equal(c->transport.tls.files.cert_file, "/etc/frp/client.crt");
    assert_string_equal(c->transport.tls.files.key_file, "/etc/frp/client.key");
    assert_string_equal(c->transport.tls.files.trusted_ca_file, "/etc/frp/ca.crt");
    assert_string_equal(c->transport.tls.files.server_name, "frps.internal");
    assert_string_equal(c->virtual_net.address, "100.86.0.2/24");
    assert_string_equal(c->store.path, "/var/lib/frpc/store.json");

    /* features not built yet are reported, not ignored */
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_UNSUPPORTED, "oidc")); /* supported now */
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_UNSUPPORTED, "xtcp")); /* kcp: supported */
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_UNSUPPORTED, "virtual_net"));
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_UNSUPPORTED, "store.path")); /* supported now */
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_full_proxies(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_rel("config/frpc_full.toml", &d);
    /* 19 listed in start + the included one; disabled_proxy (enabled = false) and
     * not_started (not in start) are filtered out */
    assert_int_equal(c->nproxies, 19);
    assert_false(has_proxy(c, "disabled_proxy"));
    assert_false(has_proxy(c, "not_started"));
    assert_int_equal(proxy(c, "included_proxy")->remote_port, 6122);

    const struct ufrpc_proxy_config *p = proxy(c, "tcp_full");
    assert_int_equal(p->type, UFRPC_PROXY_TCP);
    assert_string_equal(p->local_ip, "192.0.2.20");
    assert_int_equal(p->local_port, 22);
    assert_int_equal(p->remote_port, 6022);
    assert_string_equal(map_get(&p->annotations, "example.net/owner"), "ops");
    assert_string_equal(map_get(&p->metadatas, "tier"), "gold");
    assert_true(p->transport.use_encryption);
    assert_true(p->transport.use_compression);
    assert_string_equal(p->transport.bandwidth_limit, "2MB");
    assert_int_equal(p->transport.bandwidth_limit_bytes, 2 * 1024 * 1024);
    assert_string_equal(p->transport.bandwidth_limit_mode, "server");
    assert_string_equal(p->transport.proxy_protocol_version, "v2");
    assert_string_equal(p->load_balancer.group, "ssh-group");
    assert_string_equal(p->load_balancer.group_key, "group-secret");
    assert_string_equal(p->health_check.type, "tcp");
    assert_int_equal(p->health_check.timeout_seconds, 5);
    assert_int_equal(p->health_check.max_failed, 4);
    assert_int_equal(p->health_check.interval_seconds, 15);

    assert_int_equal(proxy(c, "udp_full")->type, UFRPC_PROXY_UDP);
    p = proxy(c, "http_full");
    assert_int_equal(p->type, UFRPC_PROXY_HTTP);
    assert_string_equal(p->local_ip, "127.0.0.1"); /* default */
    assert_int_equal(p->custom_domains.len, 2);
    assert_string_equal(p->custom_domains.items[1], "www.example.net");
    assert_string_equal(p->subdomain, "web");
    assert_string_equal(p->locations.items[1], "/api");
    assert_string_equal(p->http_user, "webuser");
    assert_string_equal(p->http_password, "webpass");
    assert_string_equal(p->host_header_rewrite, "internal.example.net");
    assert_string_equal(map_get(&p->request_headers, "x-from-where"), "frp");
    assert_string_equal(map_get(&p->response_headers, "x-served-by"), "ufrpc");
    assert_string_equal(p->route_by_http_user, "webuser");
    assert_string_equal(p->health_check.type, "http");
    assert_string_equal(p->health_check.path, "/healthz");
    assert_int_equal(p->health_check.http_headers.len, 2);
    assert_string_equal(map_get(&p->health_check.http_headers, "x-check"), "1");
    assert_int_equal(p->health_check.interval_seconds, 10); /* default when type set */
    assert_string_equal(proxy(c, "https_full")->subdomain, "secure");
    p = proxy(c, "tcpmux_full");
    assert_string_equal(p->multiplexer, "httpconnect");
    assert_string_equal(p->route_by_http_user, "muxuser");
    p = proxy(c, "stcp_full");
    assert_string_equal(p->secret_key, "stcp-secret");
    assert_int_equal(p->allow_users.len, 2);
    assert_string_equal(proxy(c, "sudp_full")->allow_users.items[0], "*");
    p = proxy(c, "xtcp_full");
    assert_true(p->nat_traversal_present);
    assert_true(p->disable_assisted_addrs);

    assert_string_equal(proxy(c, "plugin_uds")->plugin.unix_path, "/var/run/docker.sock");
    assert_string_equal(proxy(c, "plugin_http_proxy")->plugin.http_password, "proxypass");
    assert_string_equal(proxy(c, "plugin_socks5")->plugin.username, "socksuser");
    p = proxy(c, "plugin_static");
    assert_int_equal(p->plugin.type, UFRPC_PLUGIN_STATIC_FILE);
    assert_string_equal(p->plugin.local_path, "/srv/www");
    assert_string_equal(p->plugin.strip_prefix, "static");
    assert_string_equal(p->plugin.http_user, "fileuser");
    p = proxy(c, "plugin_https2http");
    assert_string_equal(p->plugin.local_addr, "127.0.0.1:8000");
    assert_string_equal(p->plugin.host_header_rewrite, "127.0.0.1");
    assert_string_equal(map_get(&p->plugin.request_headers, "x-from-where"), "frp");
    assert_false(p->plugin.enable_http2);
    assert_string_equal(p->plugin.crt_path, "/etc/frp/h2h.crt");
    assert_string_equal(proxy(c, "plugin_https2https")->plugin.key_path, "/etc/frp/h2s.key");
    assert_string_equal(proxy(c, "plugin_http2https")->plugin.local_addr, "127.0.0.1:9443");
    assert_int_equal(proxy(c, "plugin_http2http")->plugin.type, UFRPC_PLUGIN_HTTP2HTTP);
    assert_string_equal(proxy(c, "plugin_tls2raw")->plugin.key_path, "/etc/frp/raw.key");
    assert_int_equal(proxy(c, "plugin_vnet")->plugin.type, UFRPC_PLUGIN_VIRTUAL_NET);

    assert_int_equal(c->nvisitors, 4);
    const struct ufrpc_visitor_config *v = visitor(c, "stcp_visitor");
    assert_int_equal(v->type, UFRPC_VISITOR_STCP);
    assert_string_equal(v->server_user, "bob");
    assert_string_equal(v->server_name, "stcp_full");
    assert_string_equal(v->secret_key, "stcp-secret");
    assert_string_equal(v->bind_addr, "0.0.0.0");
    assert_int_equal(v->bind_port, 9000);
    assert_true(v->transport.use_encryption);
    assert_true(v->transport.use_compression);
    assert_int_equal(visitor(c, "sudp_visitor")->type, UFRPC_VISITOR_SUDP);
    v = visitor(c, "xtcp_visitor");
    assert_string_equal(v->protocol, "kcp");
    assert_true(v->keep_tunnel_open);
    assert_int_equal(v->max_retries_an_hour, 4);
    assert_int_equal(v->min_retry_interval, 120);
    assert_string_equal(v->fallback_to, "stcp_visitor");
    assert_int_equal(v->fallback_timeout_ms, 500);
    assert_true(v->disable_assisted_addrs);
    v = visitor(c, "vnet_visitor");
    assert_int_equal(v->bind_port, -1);
    assert_int_equal(v->plugin.type, UFRPC_PLUGIN_VIRTUAL_NET);
    assert_string_equal(v->plugin.destination_ip, "100.86.0.1");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_value_sources(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_rel("config/frpc_sources.toml", &d);
    const struct ufrpc_cfg_value_source *ts = &c->auth.token_source;
    assert_true(ts->present);
    assert_string_equal(ts->type, "file");
    assert_true(ts->file_present);
    assert_string_equal(ts->file_path, "/etc/frp/token");
    assert_true(ts->exec_present);
    assert_string_equal(ts->exec_command, "/usr/local/bin/frp-token");
    assert_int_equal(ts->exec_args.len, 2);
    assert_string_equal(ts->exec_args.items[1], "frps");
    assert_string_equal(map_get(&ts->exec_env, "TOKEN_SCOPE"), "frp");
    ts = &c->auth.oidc.token_source;
    assert_true(ts->present);
    assert_string_equal(ts->type, "exec");
    assert_string_equal(ts->file_path, "/etc/frp/oidc-token");
    assert_string_equal(ts->exec_command, "/usr/local/bin/oidc-token");
    assert_int_equal(ts->exec_env.len, 2);
    assert_string_equal(map_get(&ts->exec_env, "OIDC_REGION"), "eu");
    /* ufrpc's routes: inline tables and an array of tables, defaults filled in */
    assert_int_equal(c->nproxies, 2);
    const struct ufrpc_cfg_routes *rs = &c->proxies[0].routes;
    assert_int_equal(rs->len, 2);
    assert_string_equal(rs->items[0].location, "/api");
    assert_string_equal(rs->items[0].local_ip, "127.0.0.1");
    assert_int_equal(rs->items[0].local_port, 9001);
    assert_true(rs->items[0].strip_prefix);
    assert_string_equal(rs->items[1].local_ip, "127.0.0.2");
    assert_string_equal(rs->items[1].host_header_rewrite, "admin.local");
    assert_false(rs->items[1].strip_prefix);
    assert_true(rs->items[1].source_line > rs->items[0].source_line);
    rs = &c->proxies[1].routes;
    assert_int_equal(rs->len, 1);
    assert_string_equal(rs->items[0].location, "/");
    assert_int_equal(rs->items[0].local_port, 9000);
    assert_int_equal(rs->items[0].source_line, c->proxies[1].source_line + 5);
    /* the three formats agree */
    static const char *const others[] = {"config/frpc_sources.yaml", "config/frpc_sources.json"};
    for (size_t i = 0; i < 2; i++) {
        struct ufrpc_cfg_diag d2;
        struct ufrpc_config *c2 = load_rel(others[i], &d2);
        assert_true(ufrpc_config_equal(c, c2));
        ufrpc_config_free(c2);
        ufrpc_cfg_diag_free(&d2);
    }
    /* ufrpc's [alerts] */
    assert_int_equal(c->alerts.error_rate_percent, 20);
    assert_int_equal(c->alerts.min_connections, 10);
    assert_int_equal(c->alerts.dial_latency_ms, 250);
    assert_int_equal(c->alerts.max_connections, 500);
    assert_int_equal(c->alerts.down_seconds, 30);
    assert_int_equal(c->alerts.window_seconds, 120);
    assert_string_equal(c->alerts.webhook_url, "https://hooks.example.net/ufrpc");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_legacy_ini(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_rel("config/frpc_full.ini", &d);
    assert_true(c->legacy_ini);
    /* every key is one frp's conversion knows: none is reported as ignored */
    for (size_t i = 0; i < d.len; i++)
        if (d.items[i].err.code == UFRPC_ERR_CONFIG_UNKNOWN_KEY)
            fail_msg("unexpected warning, line %u: %s", (unsigned)d.items[i].err.line, d.items[i].err.msg);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_NOTICE, "ini format is deprecated"));

    assert_string_equal(c->server_addr, "frps.example.net");
    assert_int_equal(c->server_port, 7443);
    assert_string_equal(c->nat_hole_stun_server, "stun.example.net:3478");
    assert_int_equal(c->transport.dial_server_timeout, 15);
    assert_int_equal(c->transport.dial_server_keepalive, 3600);
    assert_string_equal(c->transport.connect_server_local_ip, "192.0.2.10");
    assert_string_equal(c->transport.proxy_url, "http://user:pass@proxy.example.net:3128");
    assert_string_equal(c->log.to, "/var/log/frpc.log");
    assert_string_equal(c->log.level, "debug");
    assert_int_equal(c->log.max_days, 7);
    assert_true(c->log.disable_print_color);
    assert_string_equal(c->web_server.addr, "0.0.0.0");
    assert_int_equal(c->web_server.port, 7400);
    assert_string_equal(c->web_server.user, "admin");
    assert_string_equal(c->web_server.password, "admin-pass");
    assert_string_equal(c->web_server.assets_dir, "/usr/share/frpc/assets");
    assert_true(c->web_server.pprof_enable);
    assert_int_equal(c->transport.pool_count, 3);
    assert_false(c->transport.tcp_mux);
    assert_int_equal(c->transport.tcp_mux_keepalive_interval, 20);
    assert_string_equal(c->user, "alice");
    assert_string_equal(c->dns_server, "192.0.2.53");
    assert_false(c->login_fail_exit);
    assert_int_equal(c->start.len, 21);
    assert_string_equal(c->transport.protocol, "websocket");
    assert_int_equal(c->transport.quic.keepalive_period, 12);
    assert_int_equal(c->transport.quic.max_idle_timeout, 40);
    assert_int_equal(c->transport.quic.max_incoming_streams, 5000);
    assert_false(c->transport.tls.enable);
    assert_string_equal(c->transport.tls.files.cert_file, "/etc/frp/client.crt");
    assert_string_equal(c->transport.tls.files.key_file, "/etc/frp/client.key");
    assert_string_equal(c->transport.tls.files.trusted_ca_file, "/etc/frp/ca.crt");
    assert_string_equal(c->transport.tls.files.server_name, "frps.internal");
    assert_false(c->transport.tls.disable_custom_tls_first_byte);
    assert_int_equal(c->transport.heartbeat_interval, 20);
    assert_int_equal(c->transport.heartbeat_timeout, 60);
    assert_int_equal(c->udp_packet_size, 1400);
    assert_int_equal(c->includes.len, 1);
    assert_string_equal(c->auth.method, "oidc");
    assert_string_equal(c->auth.token, "full-token");
    assert_int_equal(c->auth.additional_scopes.len, 2);
    assert_string_equal(c->auth.additional_scopes.items[0], "HeartBeats");
    assert_string_equal(c->auth.additional_scopes.items[1], "NewWorkConns");
    assert_string_equal(c->auth.oidc.client_id, "oidc-client");
    assert_string_equal(c->auth.oidc.client_secret, "oidc-secret");
    assert_string_equal(c->auth.oidc.audience, "frps");
    assert_string_equal(c->auth.oidc.scope, "frp.read");
    assert_string_equal(c->auth.oidc.token_endpoint_url, "https://idp.example.net/token");
    assert_string_equal(map_get(&c->auth.oidc.additional_endpoint_params, "resource"), "frps");
    assert_string_equal(map_get(&c->metadatas, "rack"), "r7");

    /* 15 named proxies + [range:range_tcp] (3 ports) + the included one; not_started
     * is filtered out by start */
    assert_int_equal(c->nproxies, 15 + 3 + 1);
    assert_false(has_proxy(c, "not_started"));
    assert_int_equal(proxy(c, "included_ini")->remote_port, 6123);
    const struct ufrpc_proxy_config *p = proxy(c, "ssh");
    assert_string_equal(p->local_ip, "192.0.2.20");
    assert_int_equal(p->local_port, 22);
    assert_int_equal(p->remote_port, 6022);
    assert_true(p->transport.use_encryption);
    assert_true(p->transport.use_compression);
    assert_int_equal(p->transport.bandwidth_limit_bytes, 2 << 20);
    assert_string_equal(p->transport.bandwidth_limit_mode, "server");
    assert_string_equal(p->transport.proxy_protocol_version, "v2");
    assert_string_equal(p->load_balancer.group, "ssh-group");
    assert_string_equal(p->load_balancer.group_key, "group-secret");
    assert_string_equal(p->health_check.type, "tcp");
    assert_int_equal(p->health_check.timeout_seconds, 5);
    assert_int_equal(p->health_check.max_failed, 4);
    assert_int_equal(p->health_check.interval_seconds, 15);
    assert_string_equal(map_get(&p->metadatas, "tier"), "gold");
    assert_int_equal(proxy(c, "dns")->type, UFRPC_PROXY_UDP);
    p = proxy(c, "web");
    assert_string_equal(p->custom_domains.items[1], "www.example.net");
    assert_string_equal(p->subdomain, "web");
    assert_string_equal(p->locations.items[1], "/api");
    assert_string_equal(p->http_user, "webuser");
    assert_string_equal(p->http_password, "webpass");
    assert_string_equal(p->host_header_rewrite, "internal.example.net");
    assert_string_equal(p->route_by_http_user, "webuser");
    assert_string_equal(map_get(&p->request_headers, "X-From-Where"), "frp");
    assert_string_equal(p->health_check.path, "/healthz");
    assert_string_equal(proxy(c, "secure")->subdomain, "secure");
    assert_string_equal(proxy(c, "tunnel")->multiplexer, "httpconnect");
    assert_string_equal(proxy(c, "tunnel")->route_by_http_user, "muxuser");
    p = proxy(c, "secret_tcp");
    assert_int_equal(p->type, UFRPC_PROXY_STCP);
    assert_string_equal(p->secret_key, "stcp-secret");
    assert_string_equal(p->allow_users.items[1], "carol");
    assert_int_equal(proxy(c, "secret_udp")->type, UFRPC_PROXY_SUDP);
    assert_int_equal(proxy(c, "p2p_tcp")->type, UFRPC_PROXY_XTCP);
    assert_string_equal(proxy(c, "plugin_uds")->plugin.unix_path, "/var/run/docker.sock");
    assert_string_equal(proxy(c, "plugin_http_proxy")->plugin.http_user, "proxyuser");
    assert_string_equal(proxy(c, "plugin_http_proxy")->plugin.http_password, "proxypass");
    assert_string_equal(proxy(c, "plugin_socks5")->plugin.username, "socksuser");
    assert_string_equal(proxy(c, "plugin_socks5")->plugin.password, "sockspass");
    p = proxy(c, "plugin_static");
    assert_string_equal(p->plugin.local_path, "/srv/www");
    assert_string_equal(p->plugin.strip_prefix, "static");
    assert_string_equal(p->plugin.http_user, "fileuser");
    assert_string_equal(p->plugin.http_password, "filepass");
    p = proxy(c, "plugin_https2http");
    assert_string_equal(p->plugin.local_addr, "127.0.0.1:8000");
    assert_string_equal(p->plugin.host_header_rewrite, "127.0.0.1");
    assert_string_equal(p->plugin.crt_path, "/etc/frp/h2h.crt");
    assert_string_equal(p->plugin.key_path, "/etc/frp/h2h.key");
    assert_string_equal(map_get(&p->plugin.request_headers, "X-From-Where"), "frp");
    assert_string_equal(proxy(c, "plugin_https2https")->plugin.crt_path, "/etc/frp/h2s.crt");
    p = proxy(c, "plugin_http2https");
    assert_string_equal(p->plugin.host_header_rewrite, "tls.example.net");
    assert_string_equal(map_get(&p->plugin.request_headers, "X-Via"), "http2https");
    p = proxy(c, "range_tcp_2");
    assert_int_equal(p->local_port, 7005);
    assert_int_equal(p->remote_port, 17005);

    assert_int_equal(c->nvisitors, 2);
    const struct ufrpc_visitor_config *v = visitor(c, "secret_tcp_visitor");
    assert_string_equal(v->server_user, "bob");
    assert_string_equal(v->server_name, "secret_tcp");
    assert_string_equal(v->secret_key, "stcp-secret");
    assert_string_equal(v->bind_addr, "0.0.0.0");
    assert_int_equal(v->bind_port, 9000);
    assert_true(v->transport.use_encryption);
    assert_true(v->transport.use_compression);
    v = visitor(c, "p2p_tcp_visitor");
    assert_int_equal(v->type, UFRPC_VISITOR_XTCP);
    assert_string_equal(v->protocol, "kcp");
    assert_true(v->keep_tunnel_open);
    assert_int_equal(v->max_retries_an_hour, 4);
    assert_int_equal(v->min_retry_interval, 120);
    assert_string_equal(v->fallback_to, "secret_tcp_visitor");
    assert_int_equal(v->fallback_timeout_ms, 500);
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_dump_masks_secrets(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_rel("config/frpc_full.toml", &d);
    static const char *const secrets[] = {"full-token",  "oidc-secret", "admin-pass",  "group-secret", "webpass",
                                          "muxpass",     "stcp-secret", "xtcp-secret", "sockspass",    "filepass",
                                          "proxypass@", "user:pass@"};
    for (int json = 0; json < 2; json++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(ufrpc_config_dump(c, f, json), 0);
        fclose(f);
        for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
            if (strstr(buf, secrets[i]) != NULL)
                fail_msg("dump (%s) shows secret %s", json ? "json" : "toml", secrets[i]);
        assert_non_null(strstr(buf, "***"));
        assert_non_null(strstr(buf, "web.example.net"));
        assert_non_null(strstr(buf, json ? "\"serverPort\": 7443" : "serverPort = 7443"));
        free(buf);
    }
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_toml),   cmocka_unit_test(test_every_key_yaml),
        cmocka_unit_test(test_every_key_json),   cmocka_unit_test(test_cover_detects_missing_key),
        cmocka_unit_test(test_formats_equal),    cmocka_unit_test(test_full_common),
        cmocka_unit_test(test_full_proxies),     cmocka_unit_test(test_value_sources),
        cmocka_unit_test(test_legacy_ini),       cmocka_unit_test(test_dump_masks_secrets),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
