/* The same configuration written in TOML, YAML, JSON and legacy INI yields equal
 * structs; format detection follows frp (INI with [common], else TOML, else JSON if
 * it starts with '{', else YAML). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/cfg_internal.h"
#include "config/config.h"
#include "testutil.h"

static const char *const no_env[] = {NULL};

static const char toml_text[] = "serverAddr = \"10.0.0.1\"\n"
                                "serverPort = 7001\n"
                                "user = \"u1\"\n"
                                "metadatas.a = \"b\"\n"
                                "auth.token = \"secret\"\n"
                                "auth.additionalScopes = [\"HeartBeats\"]\n"
                                "log.level = \"debug\"\n"
                                "webServer.port = 7400\n"
                                "transport.poolCount = 2\n"
                                "transport.tcpMux = false\n"
                                "\n"
                                "[[proxies]]\n"
                                "name = \"ssh\"\n"
                                "type = \"tcp\"\n"
                                "localPort = 22\n"
                                "remotePort = 6000\n"
                                "transport.useEncryption = true\n"
                                "transport.bandwidthLimit = \"512KB\"\n"
                                "\n"
                                "[[proxies]]\n"
                                "name = \"web\"\n"
                                "type = \"http\"\n"
                                "localPort = 80\n"
                                "customDomains = [\"a.example.com\", \"b.example.com\"]\n"
                                "locations = [\"/\", \"/api\"]\n"
                                "requestHeaders.set.X-A = \"1\"\n"
                                "httpUser = \"u\"\n"
                                "httpPassword = \"p\"\n"
                                "\n"
                                "[[visitors]]\n"
                                "name = \"sv\"\n"
                                "type = \"stcp\"\n"
                                "serverName = \"ssh\"\n"
                                "secretKey = \"k\"\n"
                                "bindPort = 9000\n";

static const char yaml_text[] = "serverAddr: 10.0.0.1\n"
                                "serverPort: 7001\n"
                                "user: u1\n"
                                "metadatas: {a: b}\n"
                                "auth:\n"
                                "  token: secret\n"
                                "  additionalScopes: [HeartBeats]\n"
                                "log: {level: debug}\n"
                                "webServer: {port: 7400}\n"
                                "transport:\n"
                                "  poolCount: 2\n"
                                "  tcpMux: false\n"
                                "proxies:\n"
                                "  - name: ssh\n"
                                "    type: tcp\n"
                                "    localPort: 22\n"
                                "    remotePort: 6000\n"
                                "    transport: {useEncryption: true, bandwidthLimit: 512KB}\n"
                                "  - name: web\n"
                                "    type: http\n"
                                "    localPort: 80\n"
                                "    customDomains: [a.example.com, b.example.com]\n"
                                "    locations: [/, /api]\n"
                                "    requestHeaders: {set: {X-A: \"1\"}}\n"
                                "    httpUser: u\n"
                                "    httpPassword: p\n"
                                "visitors:\n"
                                "  - {name: sv, type: stcp, serverName: ssh, secretKey: k, bindPort: 9000}\n";

static const char json_text[] =
    "{\"serverAddr\": \"10.0.0.1\", \"serverPort\": 7001, \"user\": \"u1\", \"metadatas\": {\"a\": \"b\"},\n"
    " \"auth\": {\"token\": \"secret\", \"additionalScopes\": [\"HeartBeats\"]},\n"
    " \"log\": {\"level\": \"debug\"}, \"webServer\": {\"port\": 7400},\n"
    " \"transport\": {\"poolCount\": 2, \"tcpMux\": false},\n"
    " \"proxies\": [\n"
    "  {\"name\": \"ssh\", \"type\": \"tcp\", \"localPort\": 22, \"remotePort\": 6000,\n"
    "   \"transport\": {\"useEncryption\": true, \"bandwidthLimit\": \"512KB\"}},\n"
    "  {\"name\": \"web\", \"type\": \"http\", \"localPort\": 80,\n"
    "   \"customDomains\": [\"a.example.com\", \"b.example.com\"], \"locations\": [\"/\", \"/api\"],\n"
    "   \"requestHeaders\": {\"set\": {\"X-A\": \"1\"}}, \"httpUser\": \"u\", \"httpPassword\": \"p\"}],\n"
    " \"visitors\": [{\"name\": \"sv\", \"type\": \"stcp\", \"serverName\": \"ssh\", \"secretKey\": \"k\",\n"
    "   \"bindPort\": 9000}]}\n";

static const char ini_text[] = "[common]\n"
                               "server_addr = 10.0.0.1\n"
                               "server_port = 7001\n"
                               "user = u1\n"
                               "meta_a = b\n"
                               "token = secret\n"
                               "authenticate_heartbeats = true\n"
                               "log_level = debug\n"
                               "admin_port = 7400\n"
                               "pool_count = 2\n"
                               "tcp_mux = false\n"
                               "\n"
                               "[ssh]\n"
                               "type = tcp\n"
                               "local_port = 22\n"
                               "remote_port = 6000\n"
                               "use_encryption = true\n"
                               "bandwidth_limit = 512KB\n"
                               "\n"
                               "[web]\n"
                               "type = http\n"
                               "local_port = 80\n"
                               "custom_domains = a.example.com, b.example.com\n"
                               "locations = /,/api\n"
                               "header_X-A = 1\n"
                               "http_user = u\n"
                               "http_pwd = p\n"
                               "\n"
                               "[sv]\n"
                               "role = visitor\n"
                               "type = stcp\n"
                               "server_name = ssh\n"
                               "sk = k\n"
                               "bind_port = 9000\n";

static struct ufrpc_config *load(const char *text, const char *name, bool *legacy)
{
    struct ufrpc_config_load_opts o = {.envp = no_env};
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *c = NULL;
    int rc = ufrpc_config_load_buffer(text, strlen(text), name, &o, &c, &d);
    if (rc != 0)
        ufrpc_cfg_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);
    ufrpc_cfg_diag_free(&d);
    *legacy = c->legacy_ini;
    return c;
}

static void test_four_formats_equal(void **state)
{
    (void)state;
    bool lg;
    /* names without extensions: detection must work on content alone */
    struct ufrpc_config *t = load(toml_text, "a", &lg);
    assert_false(lg);
    struct ufrpc_config *y = load(yaml_text, "b", &lg);
    struct ufrpc_config *j = load(json_text, "c", &lg);
    struct ufrpc_config *i = load(ini_text, "d", &lg);
    assert_true(lg);
    assert_int_equal(t->transport.heartbeat_interval, 30); /* tcpMux off → 30/90 */
    assert_int_equal(t->transport.heartbeat_timeout, 90);
    assert_int_equal(t->proxies[0].transport.bandwidth_limit_bytes, 512 * 1024);
    assert_true(ufrpc_config_equal(t, y));
    assert_true(ufrpc_config_equal(t, j));
    assert_true(ufrpc_config_equal(t, i));
    /* and a difference is seen */
    struct ufrpc_config *t2 = load("serverPort = 7002\n", "e", &lg);
    assert_false(ufrpc_config_equal(t, t2));
    ufrpc_config_free(t);
    ufrpc_config_free(t2);
    ufrpc_config_free(y);
    ufrpc_config_free(j);
    ufrpc_config_free(i);
}

static void test_full_round_trip_through_dump(void **state)
{
    /* dump(JSON) of the full-coverage TOML config loads back into an equal struct
     * (without its `includes` line: the dump holds the included proxies already, and
     * loading it would include them a second time) */
    (void)state;
    char *path = ufrpc_test_data_path("config/frpc_full.toml");
    assert_non_null(path);
    uint8_t *text = NULL;
    size_t len = 0;
    assert_int_equal(ufrpc_test_read_file(path, &text, &len), 0);
    free(path);
    char *inc = strstr((char *)text, "\nincludes = ");
    assert_non_null(inc);
    inc[1] = '#';
    struct ufrpc_config_load_opts o = {.envp = no_env};
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *a = NULL, *b = NULL;
    assert_int_equal(ufrpc_config_load_buffer((const char *)text, len, "full.toml", &o, &a, &d), 0);
    assert_true(a->nproxies > 10);
    char *js = NULL;
    assert_int_equal(ufrpc_config_to_json(a, false, &js), 0);
    assert_int_equal(ufrpc_config_load_buffer(js, strlen(js), "dump.json", &o, &b, &d), 0);
    assert_true(ufrpc_config_equal(a, b));
    free(js);
    free(text);
    ufrpc_config_free(a);
    ufrpc_config_free(b);
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_formats_equal),
        cmocka_unit_test(test_full_round_trip_through_dump),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
