/* ufrpc's `routes` extension on http proxies: every refusal with its message and
 * file:line (locations, duplicates, routes with localPort/plugin/locations, the
 * route conflicts frps would create: exact, prefix, wildcard), INI refusing it,
 * YAML/JSON reading the same, the dump showing it, configs without routes
 * unchanged, and NewProxy carrying the route locations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/core/proxy_msg.h"
#include "config/config.h"
#include "proto/error.h"

static const char *const no_env[] = {NULL};

static int load(const char *text, const char *name, struct ufrpc_config **cfg,
                struct ufrpc_cfg_diag *d)
{
    struct ufrpc_config_load_opts o = {.envp = no_env};
    ufrpc_cfg_diag_init(d);
    return ufrpc_config_load_buffer(text, strlen(text), name, &o, cfg, d);
}

/* The error containing needle must exist, at `line`. */
static void expect(const struct ufrpc_cfg_diag *d, ufrpc_cfg_severity sev, const char *needle,
                   uint32_t line)
{
    const struct ufrpc_cfg_diag_item *it = ufrpc_cfg_diag_find(d, sev, needle);
    if (it == NULL) {
        ufrpc_cfg_diag_print(d, stderr);
        fail_msg("no diagnostic containing \"%s\"", needle);
    }
    if (it->err.line != line) {
        ufrpc_cfg_diag_print(d, stderr);
        fail_msg("\"%s\" at line %u, want %u", needle, (unsigned)it->err.line, (unsigned)line);
    }
}

static void test_route_rules(void **state)
{
    (void)state;
    const char *t = "serverAddr = \"x\"\n"                          /* 1 */
                    "[[proxies]]\n"                                  /* 2 */
                    "name = \"apps\"\n"                              /* 3 */
                    "type = \"http\"\n"                              /* 4 */
                    "localPort = 80\n"                               /* 5 */
                    "locations = [\"/x\"]\n"                         /* 6 */
                    "plugin.type = \"http2http\"\n"                  /* 7 */
                    "plugin.localAddr = \"127.0.0.1:1\"\n"           /* 8 */
                    "customDomains = [\"apps.example.com\"]\n"       /* 9 */
                    "routes = [\n"                                   /* 10 */
                    "  { location = \"/api\", localPort = 9001 },\n" /* 11 */
                    "  { location = \"api\", localPort = 9001 },\n"  /* 12 */
                    "  { location = \"/api/\", localPort = 9002 },\n" /* 13 */
                    "  { location = \"/nop\" },\n"                   /* 14 */
                    "  { localPort = 1 },\n"                         /* 15 */
                    "  { location = \"/a/../b\", localPort = 70000 },\n" /* 16 */
                    "  { location = \"/q\", localPort = 1, nope = 1 },\n" /* 17 */
                    "]\n";
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_cfg_diag d;
    assert_true(load(t, "r.toml", &cfg, &d) < 0);
    assert_null(cfg);
    expect(&d, UFRPC_CFG_ERROR, "localPort and routes on the same proxy", 5);
    expect(&d, UFRPC_CFG_ERROR, "locations and routes on the same proxy", 6);
    expect(&d, UFRPC_CFG_ERROR, "plugin and routes on the same proxy", 7);
    expect(&d, UFRPC_CFG_ERROR, "routes[1]: location \"api\" must start with '/'", 12);
    expect(&d, UFRPC_CFG_ERROR, "routes[2]: location \"/api/\" is already routed by routes[0] (line 11)", 13);
    expect(&d, UFRPC_CFG_ERROR, "routes[3]: localPort is required", 14);
    expect(&d, UFRPC_CFG_ERROR, "routes[4]: location is required", 15);
    expect(&d, UFRPC_CFG_ERROR, "routes[5]: location \"/a/../b\" must start with '/' and be a plain path", 16);
    expect(&d, UFRPC_CFG_ERROR, "routes[5]: localPort is required (1..65535), got another number", 16);
    expect(&d, UFRPC_CFG_ERROR, "unknown key \"proxies[0] (apps).routes[6].nope\"", 17);
    ufrpc_cfg_diag_free(&d);

    /* locations the router could never match; health checks and PROXY protocol */
    assert_true(load("[[proxies]]\nname = \"h\"\ntype = \"http\"\nsubdomain = \"h\"\n"
                     "healthCheck.type = \"tcp\"\n"                           /* 5 */
                     "transport.proxyProtocolVersion = \"v2\"\n"              /* 6 */
                     "routes = [\n"
                     "  { location = \"/%61pi\", localPort = 1 },\n"          /* 8 */
                     "  { location = \"/a/..\", localPort = 1 },\n"           /* 9 */
                     "  { location = \"/a?b\", localPort = 1 },\n"            /* 10 */
                     "  { location = \"/ok/\", localPort = 1 },\n"            /* 11 */
                     "]\n",
                     "p.toml", &cfg, &d) < 0);
    expect(&d, UFRPC_CFG_ERROR, "healthCheck and routes on the same proxy", 5);
    expect(&d, UFRPC_CFG_ERROR, "proxyProtocolVersion and routes on the same proxy", 6);
    expect(&d, UFRPC_CFG_ERROR, "routes[0]: location \"/%61pi\" must start with '/' and be a plain path", 8);
    expect(&d, UFRPC_CFG_ERROR, "routes[1]: location \"/a/..\"", 9);
    expect(&d, UFRPC_CFG_ERROR, "routes[2]: location \"/a?b\"", 10);
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "routes[3]"));
    assert_int_equal(d.errors, 5);
    ufrpc_cfg_diag_free(&d);

    /* routes only on http proxies; the wrong shape is a type error */
    assert_true(load("[[proxies]]\nname = \"t\"\ntype = \"tcp\"\nlocalPort = 1\n"
                     "routes = [{ location = \"/\", localPort = 2 }]\n",
                     "t.toml", &cfg, &d) < 0);
    expect(&d, UFRPC_CFG_ERROR, "unknown key \"proxies[0] (t).routes\"", 5);
    ufrpc_cfg_diag_free(&d);
    assert_true(load("proxies:\n- name: h\n  type: http\n  subdomain: h\n  routes: /api\n", "t.yaml", &cfg,
                     &d) < 0);
    expect(&d, UFRPC_CFG_ERROR, "routes: expected an array of tables, got string", 5);
    ufrpc_cfg_diag_free(&d);
    assert_true(load("{\"proxies\": [{\"name\": \"h\", \"type\": \"http\", \"subdomain\": \"h\",\n"
                     "\"routes\": [\"/api\"]}]}\n",
                     "t.json", &cfg, &d) < 0);
    expect(&d, UFRPC_CFG_ERROR, "routes[0]: expected a table", 2);
    ufrpc_cfg_diag_free(&d);
}

static void test_conflicts(void **state)
{
    (void)state;
    const char *t = "[[proxies]]\n"                                     /* 1 */
                    "name = \"apps\"\n"                                 /* 2 */
                    "type = \"http\"\n"                                 /* 3 */
                    "customDomains = [\"Apps.example.com\"]\n"          /* 4 */
                    "routes = [\n"                                      /* 5 */
                    "  { location = \"/api\", localPort = 9001 },\n"    /* 6 */
                    "  { location = \"/web\", localPort = 9002 },\n"    /* 7 */
                    "  { location = \"/\", localPort = 9000 },\n"       /* 8 */
                    "]\n"                                               /* 9 */
                    "[[proxies]]\n"                                     /* 10 */
                    "name = \"same\"\n"                                 /* 11 */
                    "type = \"http\"\n"                                 /* 12 */
                    "localPort = 1\n"                                   /* 13 */
                    "customDomains = [\"apps.example.com\"]\n"          /* 14 */
                    "locations = [\"/web\"]\n"                          /* 15 */
                    "[[proxies]]\n"                                     /* 16 */
                    "name = \"under\"\n"                                /* 17 */
                    "type = \"http\"\n"                                 /* 18 */
                    "localPort = 1\n"                                   /* 19 */
                    "customDomains = [\"apps.example.com\"]\n"          /* 20 */
                    "locations = [\"/api/v2\", \"/apiary\", \"/other\"]\n" /* 21 */
                    "[[proxies]]\n"                                     /* 22 */
                    "name = \"wild\"\n"                                 /* 23 */
                    "type = \"http\"\n"                                 /* 24 */
                    "customDomains = [\"*.example.com\"]\n"             /* 25 */
                    "[[proxies.routes]]\n"                              /* 26 */
                    "location = \"/shop\"\n"                            /* 27 */
                    "localPort = 9005\n"                                /* 28 */
                    "[[proxies]]\n"                                     /* 29 */
                    "name = \"www\"\n"                                  /* 30 */
                    "type = \"http\"\n"                                 /* 31 */
                    "localPort = 1\n"                                   /* 32 */
                    "customDomains = [\"www.example.com\"]\n"           /* 33 */
                    "locations = [\"/shop/cart\"]\n"                    /* 34 */
                    "[[proxies]]\n"                                     /* 35 */
                    "name = \"blog\"\n"                                 /* 36 */
                    "type = \"http\"\n"                                 /* 37 */
                    "localPort = 1\n"                                   /* 38 */
                    "customDomains = [\"blog.example.com\"]\n"          /* 39 */
                    "[[proxies]]\n"                                     /* 40 */
                    "name = \"two\"\n"                                  /* 41 */
                    "type = \"http\"\n"                                 /* 42 */
                    "localPort = 1\n"                                   /* 43 */
                    "customDomains = [\"example.com\"]\n"               /* 44 */
                    "locations = [\"/shop\"]\n";                        /* 45 */
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_cfg_diag d;
    assert_true(load(t, "c.toml", &cfg, &d) < 0);
    expect(&d, UFRPC_CFG_ERROR,
           "http proxies [apps] and [same] conflict: both route domain \"apps.example.com\" location \"/web\"",
           10);
    expect(&d, UFRPC_CFG_ERROR, "location \"/api/v2\" of [under] lies under route \"/api\" of [apps] (line 6)",
           16);
    expect(&d, UFRPC_CFG_ERROR,
           "route \"/shop\" of [wild] on \"*.example.com\" (line 26) is taken over for host "
           "\"www.example.com\" by [www]'s location \"/shop/cart\"",
           29);
    expect(&d, UFRPC_CFG_WARNING,
           "proxy [blog] takes host \"blog.example.com\" (location \"/\"): route \"/shop\" of [wild]", 35);
    /* not conflicts: "/apiary" and "/other" are no route's; "/" covers everything
     * but layering under a catch-all is what frp does; example.com is not under
     * *.example.com for frps */
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "\"/apiary\""));
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "\"/other\""));
    assert_null(ufrpc_cfg_diag_find(&d, UFRPC_CFG_ERROR, "[two]"));
    assert_int_equal(d.errors, 3);
    ufrpc_cfg_diag_free(&d);

    /* the same proxies in a load-balancing group do not conflict */
    const char *g = "[[proxies]]\nname = \"a\"\ntype = \"http\"\ncustomDomains = [\"h.example.com\"]\n"
                    "loadBalancer.group = \"g\"\nroutes = [{ location = \"/api\", localPort = 1 }]\n"
                    "[[proxies]]\nname = \"b\"\ntype = \"http\"\ncustomDomains = [\"h.example.com\"]\n"
                    "loadBalancer.group = \"g\"\nroutes = [{ location = \"/api\", localPort = 2 }]\n";
    assert_int_equal(load(g, "g.toml", &cfg, &d), 0);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
}

static void test_ini_refuses(void **state)
{
    (void)state;
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_cfg_diag d;
    assert_true(load("[common]\nserver_addr = x\n\n[web]\ntype = http\nlocal_port = 80\n"
                     "custom_domains = a.example.com\nroutes = /api:9001\n",
                     "r.ini", &cfg, &d) < 0);
    expect(&d, UFRPC_CFG_ERROR, "[web] routes (ufrpc's path routes) cannot be written in the legacy INI format",
           8);
    ufrpc_cfg_diag_free(&d);
}

static void test_dump_and_unchanged(void **state)
{
    (void)state;
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_cfg_diag d;
    const char *t = "[[proxies]]\nname = \"apps\"\ntype = \"http\"\ncustomDomains = [\"a.example.com\"]\n"
                    "routes = [{ location = \"/api\", localPort = 9001, stripPrefix = true }]\n";
    assert_int_equal(load(t, "d.toml", &cfg, &d), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(ufrpc_config_dump(cfg, f, false), 0);
    fclose(f);
    assert_non_null(strstr(buf, "routes = [{ location = \"/api\", localIP = \"127.0.0.1\", localPort = 9001, "
                                "stripPrefix = true }]\n"));
    free(buf);
    /* the dump reads back as the same config */
    f = open_memstream(&buf, &len);
    assert_int_equal(ufrpc_config_dump(cfg, f, true), 0);
    fclose(f);
    struct ufrpc_config *back = NULL;
    struct ufrpc_cfg_diag d2;
    assert_int_equal(load(buf, "back.json", &back, &d2), 0);
    assert_true(ufrpc_config_equal(cfg, back));
    /* a route change is a change of the proxy (reload replaces it) */
    struct ufrpc_config *other = NULL;
    struct ufrpc_cfg_diag d3;
    const char *t2 = "[[proxies]]\nname = \"apps\"\ntype = \"http\"\ncustomDomains = [\"a.example.com\"]\n"
                     "routes = [{ location = \"/api\", localPort = 9001 }]\n";
    assert_int_equal(load(t2, "d2.toml", &other, &d3), 0);
    assert_false(ufrpc_proxy_config_equal(&cfg->proxies[0], &other->proxies[0]));
    free(buf);
    ufrpc_config_free(back);
    ufrpc_config_free(other);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
    ufrpc_cfg_diag_free(&d2);
    ufrpc_cfg_diag_free(&d3);

    /* without routes nothing is added to the dump */
    assert_int_equal(load("[[proxies]]\nname = \"w\"\ntype = \"http\"\nlocalPort = 80\n"
                          "customDomains = [\"w.example.com\"]\nlocations = [\"/x\"]\n",
                          "w.toml", &cfg, &d),
                     0);
    assert_int_equal(cfg->proxies[0].routes.len, 0);
    f = open_memstream(&buf, &len);
    assert_int_equal(ufrpc_config_dump(cfg, f, true), 0);
    fclose(f);
    assert_null(strstr(buf, "routes"));
    free(buf);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
}

/* NewProxy carries the route locations as `locations` (each once), nothing of the
 * routes' local side; without routes, the proxy's own locations as before. */
static void test_new_proxy_locations(void **state)
{
    (void)state;
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_cfg_diag d;
    const char *t = "[[proxies]]\nname = \"apps\"\ntype = \"http\"\ncustomDomains = [\"a.example.com\"]\n"
                    "routes = [{ location = \"/api\", localPort = 9001, stripPrefix = true },\n"
                    "  { location = \"/admin\", localIP = \"127.0.0.2\", localPort = 9002 },\n"
                    "  { location = \"/\", localPort = 9000 }]\n"
                    "[[proxies]]\nname = \"w\"\ntype = \"http\"\nlocalPort = 80\n"
                    "customDomains = [\"w.example.com\"]\nlocations = [\"/x\", \"/y\"]\n";
    assert_int_equal(load(t, "n.toml", &cfg, &d), 0);
    struct ufrpc_msg m;
    assert_int_equal(ufrpc_proxy_msg_new_proxy(&cfg->proxies[0], "apps", &m), 0);
    assert_int_equal(m.u.new_proxy.locations.n, 3);
    assert_string_equal(m.u.new_proxy.locations.items[0], "/api");
    assert_string_equal(m.u.new_proxy.locations.items[1], "/admin");
    assert_string_equal(m.u.new_proxy.locations.items[2], "/");
    assert_int_equal(m.u.new_proxy.custom_domains.n, 1);
    ufrpc_msg_free(&m);
    assert_int_equal(ufrpc_proxy_msg_new_proxy(&cfg->proxies[1], "w", &m), 0);
    assert_int_equal(m.u.new_proxy.locations.n, 2);
    assert_string_equal(m.u.new_proxy.locations.items[1], "/y");
    ufrpc_msg_free(&m);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_rules),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_ini_refuses),
        cmocka_unit_test(test_dump_and_unchanged),
        cmocka_unit_test(test_new_proxy_locations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
