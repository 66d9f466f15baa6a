/* frp's own reference configurations (TOML and legacy INI) load without error, and
 * the struct holds what the files set (plus frpc's defaults where they are silent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "testutil.h"

static const char *const no_env[] = {NULL};

static struct ufrpc_config *load_ref(const char *rel, struct ufrpc_cfg_diag *d)
{
    char *path = ufrpc_test_shared_path(rel);
    assert_non_null(path);
    struct ufrpc_config_load_opts o = {.envp = no_env};
    struct ufrpc_config *cfg = NULL;
    ufrpc_cfg_diag_init(d);
    int rc = ufrpc_config_load(path, &o, &cfg, d);
    if (rc != 0)
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

static void test_full_toml(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_ref("reference-configs/frpc_full_example.toml", &d);
    assert_false(c->legacy_ini);
    /* common */
    assert_string_equal(c->client_id, "your_client_id");
    assert_string_equal(c->user, "your_name");
    assert_string_equal(c->server_addr, "0.0.0.0");
    assert_int_equal(c->server_port, 7000);
    assert_true(c->login_fail_exit);
    assert_string_equal(c->log.to, "./frpc.log");
    assert_string_equal(c->log.level, "info");
    assert_int_equal(c->log.max_days, 3);
    assert_false(c->log.disable_print_color);
    assert_string_equal(c->auth.method, "token");
    assert_string_equal(c->auth.token, "12345678");
    assert_false(c->auth.token_source.present);
    assert_string_equal(c->web_server.addr, "127.0.0.1");
    assert_int_equal(c->web_server.port, 7400);
    assert_string_equal(c->web_server.user, "admin");
    assert_string_equal(c->web_server.password, "admin");
    assert_false(c->web_server.pprof_enable);
    assert_int_equal(c->transport.pool_count, 5);
    assert_string_equal(c->transport.protocol, "tcp");
    assert_string_equal(c->transport.connect_server_local_ip, "0.0.0.0");
    assert_true(c->transport.tls.enable);
    assert_int_equal(c->udp_packet_size, 1500);
    assert_string_equal(map_get(&c->metadatas, "var1"), "abc");
    assert_string_equal(map_get(&c->metadatas, "var2"), "123");
    /* defaults where the file is silent */
    assert_int_equal(c->transport.dial_server_timeout, 10);
    assert_int_equal(c->transport.dial_server_keepalive, 7200);
    assert_true(c->transport.tcp_mux);
    assert_int_equal(c->transport.heartbeat_interval, -1);
    assert_int_equal(c->transport.heartbeat_timeout, -1);
    assert_true(c->transport.tls.disable_custom_tls_first_byte);
    assert_string_equal(c->transport.wire_protocol, "v1");
    assert_string_equal(c->nat_hole_stun_server, "stun.easyvoip.com:3478");
    assert_int_equal(c->transport.quic.max_incoming_streams, 100000);

    assert_int_equal(c->nproxies, 18);
    assert_int_equal(c->nvisitors, 3);
    const struct ufrpc_proxy_config *p = proxy(c, "ssh");
    assert_int_equal(p->type, UFRPC_PROXY_TCP);
    assert_string_equal(p->local_ip, "127.0.0.1");
    assert_int_equal(p->local_port, 22);
    assert_string_equal(p->transport.bandwidth_limit, "1MB");
    assert_int_equal(p->transport.bandwidth_limit_bytes, 1048576);
    assert_string_equal(p->transport.bandwidth_limit_mode, "client");
    assert_int_equal(p->remote_port, 6001);
    assert_string_equal(p->load_balancer.group, "test_group");
    assert_string_equal(p->load_balancer.group_key, "123456");
    assert_string_equal(p->health_check.type, "tcp");
    assert_int_equal(p->health_check.timeout_seconds, 3);
    assert_int_equal(p->health_check.max_failed, 3);
    assert_int_equal(p->health_check.interval_seconds, 10);
    assert_string_equal(map_get(&p->metadatas, "var2"), "123");
    assert_string_equal(map_get(&p->annotations, "key1"), "value1");
    assert_string_equal(map_get(&p->annotations, "prefix/key2"), "value2");
    assert_int_equal(proxy(c, "ssh_random")->remote_port, 0);
    assert_string_equal(proxy(c, "ssh_random")->local_ip, "192.168.31.100");
    assert_int_equal(proxy(c, "dns")->type, UFRPC_PROXY_UDP);
    p = proxy(c, "web01");
    assert_int_equal(p->type, UFRPC_PROXY_HTTP);
    assert_string_equal(p->http_user, "admin");
    assert_string_equal(p->subdomain, "web01");
    assert_int_equal(p->custom_domains.len, 1);
    assert_string_equal(p->custom_domains.items[0], "web01.yourdomain.com");
    assert_int_equal(p->locations.len, 2);
    assert_string_equal(p->locations.items[1], "/pic");
    assert_string_equal(p->host_header_rewrite, "example.com");
    assert_string_equal(map_get(&p->request_headers, "x-from-where"), "frp");
    assert_string_equal(map_get(&p->response_headers, "foo"), "bar");
    assert_string_equal(p->health_check.path, "/status");
    assert_string_equal(map_get(&p->health_check.http_headers, "x-from-where"), "frp");
    assert_string_equal(proxy(c, "web02")->transport.proxy_protocol_version, "v2");
    assert_string_equal(proxy(c, "tcpmuxhttpconnect")->multiplexer, "httpconnect");
    assert_int_equal(proxy(c, "plugin_unix_domain_socket")->plugin.type, UFRPC_PLUGIN_UNIX_DOMAIN_SOCKET);
    assert_string_equal(proxy(c, "plugin_unix_domain_socket")->plugin.unix_path, "/var/run/docker.sock");
    assert_string_equal(proxy(c, "plugin_http_proxy")->plugin.http_password, "abc");
    assert_string_equal(proxy(c, "plugin_socks5")->plugin.username, "abc");
    assert_string_equal(proxy(c, "plugin_static_file")->plugin.strip_prefix, "static");
    p = proxy(c, "plugin_https2http");
    assert_string_equal(p->plugin.local_addr, "127.0.0.1:80");
    assert_string_equal(p->plugin.crt_path, "./server.crt");
    assert_true(p->plugin.enable_http2);
    assert_string_equal(map_get(&p->plugin.request_headers, "x-from-where"), "frp");
    assert_string_equal(proxy(c, "plugin_tls2raw")->plugin.key_path, "./server.key");
    assert_string_equal(proxy(c, "secret_tcp")->secret_key, "abcdefg");
    assert_string_equal(proxy(c, "secret_tcp")->allow_users.items[0], "*");
    p = proxy(c, "p2p_tcp");
    assert_int_equal(p->allow_users.len, 2);
    assert_true(p->nat_traversal_present);
    assert_int_equal(proxy(c, "vnet-server")->plugin.type, UFRPC_PLUGIN_VIRTUAL_NET);
    const struct ufrpc_visitor_config *v = visitor(c, "secret_tcp_visitor");
    assert_string_equal(v->server_name, "secret_tcp");
    assert_int_equal(v->bind_port, 9000);
    v = visitor(c, "p2p_tcp_visitor");
    assert_string_equal(v->server_user, "user1");
    assert_string_equal(v->protocol, "quic");
    assert_int_equal(v->max_retries_an_hour, 8);
    assert_int_equal(v->min_retry_interval, 90);
    assert_int_equal(v->fallback_timeout_ms, 1000);
    v = visitor(c, "vnet-visitor");
    assert_int_equal(v->bind_port, -1);
    assert_string_equal(v->plugin.destination_ip, "100.86.0.1");
    assert_string_equal(v->bind_addr, "127.0.0.1");
    /* features not built yet are reported, not ignored */
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_UNSUPPORTED, "xtcp"));
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_UNSUPPORTED, "virtual_net"));
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_legacy_ini(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_ref("reference-configs/frpc_legacy_full.ini", &d);
    assert_true(c->legacy_ini);
    assert_non_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_NOTICE, "ini format is deprecated"));
    assert_string_equal(c->server_addr, "0.0.0.0");
    assert_int_equal(c->server_port, 7000);
    assert_string_equal(c->log.to, "./frpc.log");
    assert_string_equal(c->log.level, "info");
    assert_int_equal(c->log.max_days, 3);
    assert_string_equal(c->auth.token, "12345678");
    assert_string_equal(c->auth.method, "token"); /* "authentication_method =" → default */
    assert_int_equal(c->auth.additional_scopes.len, 0);
    assert_string_equal(c->web_server.addr, "127.0.0.1");
    assert_int_equal(c->web_server.port, 7400);
    assert_string_equal(c->web_server.user, "admin");
    assert_string_equal(c->web_server.password, "admin");
    assert_int_equal(c->transport.pool_count, 5);
    assert_string_equal(c->user, "your_name");
    assert_true(c->login_fail_exit);
    assert_string_equal(c->transport.protocol, "tcp");
    assert_string_equal(c->transport.connect_server_local_ip, "0.0.0.0");
    assert_true(c->transport.tls.enable);
    assert_true(c->transport.tls.disable_custom_tls_first_byte);
    assert_true(c->transport.tcp_mux);
    assert_string_equal(map_get(&c->metadatas, "var1"), "123");
    assert_string_equal(map_get(&c->metadatas, "var2"), "234");
    assert_int_equal(c->udp_packet_size, 1500);
    /* 15 named proxies + [range:tcp_port] (17 ports) + [range:udp_port] (11) */
    assert_int_equal(c->nproxies, 15 + 17 + 11);
    assert_int_equal(c->nvisitors, 2);
    const struct ufrpc_proxy_config *p = proxy(c, "ssh");
    assert_int_equal(p->local_port, 22);
    assert_int_equal(p->remote_port, 6001);
    assert_int_equal(p->transport.bandwidth_limit_bytes, 1 << 20);
    assert_string_equal(p->load_balancer.group_key, "123456");
    assert_string_equal(p->health_check.type, "tcp");
    assert_int_equal(p->health_check.max_failed, 3);
    assert_string_equal(map_get(&p->metadatas, "var1"), "123");
    p = proxy(c, "tcp_port_0");
    assert_int_equal(p->local_port, 6010);
    assert_int_equal(p->remote_port, 6010);
    p = proxy(c, "tcp_port_11");
    assert_int_equal(p->local_port, 6022);
    p = proxy(c, "tcp_port_16");
    assert_int_equal(p->remote_port, 6028);
    assert_int_equal(proxy(c, "udp_port_10")->type, UFRPC_PROXY_UDP);
    assert_int_equal(proxy(c, "udp_port_10")->local_port, 6020);
    p = proxy(c, "web01");
    assert_true(p->transport.use_compression);
    assert_string_equal(p->http_password, "admin");
    assert_string_equal(p->locations.items[0], "/");
    assert_string_equal(p->locations.items[1], "/pic");
    assert_string_equal(map_get(&p->request_headers, "X-From-Where"), "frp");
    assert_string_equal(p->health_check.path, "/status");
    assert_string_equal(proxy(c, "web02")->transport.proxy_protocol_version, "v2");
    assert_string_equal(proxy(c, "plugin_unix_domain_socket")->plugin.unix_path, "/var/run/docker.sock");
    assert_string_equal(proxy(c, "plugin_http_proxy")->plugin.http_user, "abc");
    assert_string_equal(proxy(c, "plugin_socks5")->plugin.password, "abc");
    assert_string_equal(proxy(c, "plugin_static_file")->plugin.local_path, "/var/www/blog");
    p = proxy(c, "plugin_https2https");
    assert_string_equal(p->plugin.local_addr, "127.0.0.1:443");
    assert_string_equal(p->plugin.host_header_rewrite, "127.0.0.1");
    assert_string_equal(map_get(&p->plugin.request_headers, "X-From-Where"), "frp");
    p = proxy(c, "p2p_tcp");
    assert_int_equal(p->allow_users.len, 2);
    assert_string_equal(p->allow_users.items[1], "user2");
    const struct ufrpc_visitor_config *v = visitor(c, "p2p_tcp_visitor");
    assert_int_equal(v->type, UFRPC_VISITOR_XTCP);
    assert_string_equal(v->server_user, "user1");
    assert_int_equal(v->bind_port, 9001);
    assert_int_equal(v->max_retries_an_hour, 8);
    assert_string_equal(visitor(c, "secret_tcp_visitor")->secret_key, "abcdefg");
    assert_string_equal(proxy(c, "tcpmuxhttpconnect")->custom_domains.items[0], "tunnel1");
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

static void test_dump_masks_secrets(void **state)
{
    (void)state;
    struct ufrpc_cfg_diag d;
    struct ufrpc_config *c = load_ref("reference-configs/frpc_full_example.toml", &d);
    for (int json = 0; json < 2; json++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        assert_int_equal(ufrpc_config_dump(c, f, json), 0);
        fclose(f);
        assert_null(strstr(buf, "12345678"));  /* auth.token */
        assert_null(strstr(buf, "abcdefg"));   /* secretKey */
        assert_null(strstr(buf, "your-secret-key"));
        assert_non_null(strstr(buf, "***"));
        assert_non_null(strstr(buf, "web01.yourdomain.com"));
        assert_non_null(strstr(buf, json ? "\"serverPort\": 7000" : "serverPort = 7000"));
        free(buf);
    }
    ufrpc_config_free(c);
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_toml),
        cmocka_unit_test(test_legacy_ini),
        cmocka_unit_test(test_dump_masks_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
