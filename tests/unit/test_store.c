/* The store (store.path) and its admin routes /api/store/...: frpc v0.70.0's JSON
 * shapes, messages and status codes (the expected strings below were taken from the
 * real frpc's answers to the same requests), the atomic write, undo on a failed
 * write, the config loader's merge (a store entry replaces a same-named one). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/admin/admin_internal.h"
#include "client/admin/admin_session.h"
#include "client/core/store.h"
#include "config/config.h"
#include "proto/error.h"

static char dir[256];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/ufrpc-store-test-%d", (int)getpid());
    mkdir(dir, 0700);
}

static void rm_rf(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *b = calloc(1, 1 << 20);
    size_t n = fread(b, 1, (1 << 20) - 1, f);
    b[n] = '\0';
    fclose(f);
    return b;
}

static void spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- the JSON forms -------------------------------------------------------------- */

static void expect_body(bool visitor, const char *path_name, const char *body, int status,
                        const char *want)
{
    json_object *e = NULL;
    char msg[1200] = "";
    int st = ufrpc_store_parse_body(visitor, path_name, (const uint8_t *)body, strlen(body), &e,
                                    msg, sizeof msg);
    if (st != status || (status != 200 && strcmp(msg, want) != 0))
        fail_msg("body %s: got %d \"%s\", want %d \"%s\"", body, st, msg, status, want);
    if (status == 200) {
        char *t = ufrpc_store_definition_json(e);
        if (strcmp(t, want) != 0)
            fail_msg("body %s:\n got %s\nwant %s", body, t, want);
        free(t);
    }
    json_object_put(e);
}

static void test_shapes(void **st)
{
    (void)st;
    expect_body(false, NULL, "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22,\"remotePort\":17502}}\r\n",
                200,
                "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"name\":\"s1\",\"type\":\"tcp\",\"transport\":{\"bandwidthLimit\":\"\"},\"loadBalancer\":{\"group\":\"\"},\"healthCheck\":{\"type\":\"\",\"intervalSeconds\":0},\"localPort\":22,\"plugin\":null,\"remotePort\":17502}}");
    /* unknown keys dropped; the block's own name/type replaced by the body's */
    expect_body(false, NULL, "{\"name\":\"s3\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22,\"bogus\":1,\"name\":\"x\",\"type\":\"udp\"}}",
                200,
                "{\"name\":\"s3\",\"type\":\"tcp\",\"tcp\":{\"name\":\"s3\",\"type\":\"tcp\",\"transport\":{\"bandwidthLimit\":\"\"},\"loadBalancer\":{\"group\":\"\"},\"healthCheck\":{\"type\":\"\",\"intervalSeconds\":0},\"localPort\":22,\"plugin\":null}}");
    expect_body(false, NULL, "{\"name\":\"h1\",\"type\":\"http\",\"http\":{\"localPort\":80,\"subdomain\":\"a\",\"useEncryption\":true,\"transport\":{\"useEncryption\":true}}}",
                200,
                "{\"name\":\"h1\",\"type\":\"http\",\"http\":{\"name\":\"h1\",\"type\":\"http\",\"transport\":{\"useEncryption\":true,\"bandwidthLimit\":\"\"},\"loadBalancer\":{\"group\":\"\"},\"healthCheck\":{\"type\":\"\",\"intervalSeconds\":0},\"localPort\":80,\"plugin\":null,\"subdomain\":\"a\",\"requestHeaders\":{},\"responseHeaders\":{}}}");
    expect_body(false, NULL, "{\"name\":\"h3\",\"type\":\"tcp\",\"tcp\":{\"localPort\":80,\"plugin\":{\"type\":\"http_proxy\"}}}",
                200,
                "{\"name\":\"h3\",\"type\":\"tcp\",\"tcp\":{\"name\":\"h3\",\"type\":\"tcp\",\"transport\":{\"bandwidthLimit\":\"\"},\"loadBalancer\":{\"group\":\"\"},\"healthCheck\":{\"type\":\"\",\"intervalSeconds\":0},\"localPort\":80,\"plugin\":{\"type\":\"http_proxy\"}}}");
    expect_body(true, NULL, "{\"name\":\"v1\",\"type\":\"stcp\",\"stcp\":{\"serverName\":\"x\",\"secretKey\":\"k\",\"bindPort\":17601}}",
                200,
                "{\"name\":\"v1\",\"type\":\"stcp\",\"stcp\":{\"name\":\"v1\",\"type\":\"stcp\",\"transport\":{},\"secretKey\":\"k\",\"serverName\":\"x\",\"bindPort\":17601,\"plugin\":null}}");
    expect_body(true, NULL, "{\"name\":\"v2\",\"type\":\"sudp\",\"sudp\":{\"serverName\":\"x\",\"bindPort\":17602}}",
                200,
                "{\"name\":\"v2\",\"type\":\"sudp\",\"sudp\":{\"name\":\"v2\",\"type\":\"sudp\",\"transport\":{},\"serverName\":\"x\",\"bindPort\":17602,\"plugin\":null}}");
}

static void test_body_errors(void **st)
{
    (void)st;
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"udp\",\"tcp\":{\"localPort\":22}}", 400,
                "proxy type block \"tcp\" does not match type \"udp\"");
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"tcp\"}", 400,
                "exactly one proxy type block is required");
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"tcp\",\"tcp\":{},\"udp\":{}}", 400,
                "exactly one proxy type block is required");
    expect_body(false, NULL, "{\"name\":\"\",\"type\":\"tcp\"}", 400, "proxy name is required");
    expect_body(false, NULL, "{\"name\":\"  \",\"type\":\"tcp\"}", 400, "proxy name is required");
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"foo\"}", 400, "invalid proxy type: foo");
    expect_body(true, NULL, "{\"name\":\"v3\",\"type\":\"tcp\",\"stcp\":{}}", 400,
                "invalid visitor type: tcp");
    expect_body(true, "v1", "{\"name\":\"v1\",\"type\":\"sudp\",\"stcp\":{}}", 400,
                "visitor type block \"stcp\" does not match type \"sudp\"");
    expect_body(false, "s1", "{\"name\":\"s9\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}", 400,
                "proxy name in URL must match name in body");
    expect_body(false, NULL, "[1]", 400,
                "parse JSON error: json: cannot unmarshal array into Go value of type model.ProxyDefinition");
    expect_body(false, NULL, "", 400, "parse JSON error: unexpected end of JSON input");
    expect_body(false, NULL, "{\"name\":\"s", 400, "parse JSON error: unexpected end of JSON input");
    /* jsonx.Unmarshal (encoding/json): nothing but white space after the value, no
     * comments or trailing commas; null decodes to an empty definition */
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}} x", 400,
                "parse JSON error: unexpected character");
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}// c", 400,
                "parse JSON error: unexpected character");
    expect_body(false, NULL, "{\"name\":\"s2\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22,}}", 400,
                "parse JSON error: unexpected character");
    expect_body(false, NULL, "null", 400, "proxy name is required");
    /* frpc's validation, after Complete */
    expect_body(false, NULL, "{\"name\":\"h2\",\"type\":\"http\",\"http\":{\"localPort\":80}}", 400,
                "invalid argument: validation error: subdomain and custom domains should not be both empty");
    expect_body(true, NULL, "{\"name\":\"v3\",\"type\":\"stcp\",\"stcp\":{\"serverName\":\"\",\"bindPort\":17603}}",
                400, "invalid argument: validation error: server name is required");
    json_object *e = NULL;
    char msg[600];
    assert_int_equal(ufrpc_store_parse_body(false, NULL,
                                            (const uint8_t *)"{\"name\":\"h5\",\"type\":\"tcp\",\"tcp\":{\"localPort\":\"x\"}}",
                                            50, &e, msg, sizeof msg),
                     400);
    assert_non_null(strstr(msg, "parse JSON error: json: cannot unmarshal string into Go struct field"));
    assert_non_null(strstr(msg, "localPort of type int"));
    assert_int_equal(ufrpc_store_parse_body(false, NULL,
                                            (const uint8_t *)"{\"name\":\"h4\",\"type\":\"tcp\",\"tcp\":{\"localPort\":99999}}",
                                            52, &e, msg, sizeof msg),
                     400);
    assert_non_null(strstr(msg, "invalid argument: validation error: "));
    assert_non_null(strstr(msg, "99999"));
}

/* ---- the routes, through the sans-I/O session ---------------------------------- */

struct fx {
    struct ufrpc_store *store;
    int applies;
    int apply_rc;
    struct ufrpc_admin_session_cfg cfg;
    struct ufrpc_admin_session *s;
    char path[300];
};

static struct ufrpc_store *f_store(void *ctx) { return ((struct fx *)ctx)->store; }
static int f_apply(void *ctx, char *msg, size_t cap)
{
    struct fx *f = ctx;
    f->applies++;
    if (f->apply_rc != 0)
        snprintf(msg, cap, "proxy [x] is duplicated");
    return f->apply_rc;
}

static void fx_open(struct fx *f, const char *path)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    char err[300];
    assert_int_equal(ufrpc_store_open(f->path, &f->store, err, sizeof err), 0);
    f->cfg.hooks = (struct ufrpc_admin_hooks){.ctx = f, .store = f_store, .store_apply = f_apply};
    f->s = ufrpc_admin_session_new(&f->cfg);
    assert_non_null(f->s);
}

static void fx_close(struct fx *f)
{
    ufrpc_admin_session_free(f->s);
    ufrpc_store_free(f->store);
}

/* One request; the job (if any) run inline as the shell's worker would. Returns the
 * status; *body (malloc'd) the body. */
static int req(struct fx *f, const char *method, const char *path, const char *body, char **out)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    size_t used = ufrpc_admin_session_feed(f->s, (const uint8_t *)buf, (size_t)n);
    assert_int_equal(used, (size_t)n);
    struct ufrpc_admin_file_job *job = ufrpc_admin_session_take_file_job(f->s);
    if (job != NULL) {
        ufrpc_admin_file_job_run(job);
        ufrpc_admin_session_file_done(f->s, job);
    }
    uint8_t *o;
    size_t olen;
    uint32_t d;
    assert_true(ufrpc_admin_session_take_output(f->s, &o, &olen, &d));
    int status = 0;
    assert_int_equal(sscanf((char *)o, "HTTP/1.1 %d", &status), 1);
    const char *b = strstr((char *)o, "\r\n\r\n");
    if (out)
        *out = strndup(b + 4, olen - (size_t)(b + 4 - (char *)o));
    free(o);
    return status;
}

static void expect(struct fx *f, const char *method, const char *path, const char *body,
                   int status, const char *want_body)
{
    char *got = NULL;
    int st = req(f, method, path, body, &got);
    if (st != status || (want_body != NULL && strcmp(got, want_body) != 0))
        fail_msg("%s %s: got %d %s, want %d %s", method, path, st, got, status,
                 want_body ? want_body : "");
    free(got);
}

#define TCP_S1                                                                                  \
    "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"name\":\"s1\",\"type\":\"tcp\",\"transport\":{"  \
    "\"bandwidthLimit\":\"\"},\"loadBalancer\":{\"group\":\"\"},\"healthCheck\":{\"type\":\"\"," \
    "\"intervalSeconds\":0},\"localPort\":%d,\"plugin\":null,\"remotePort\":17502}}"

static void test_routes_crud(void **st)
{
    (void)st;
    mkdir_tmp();
    char path[300], want[1000];
    snprintf(path, sizeof path, "%s/sub/dir/store.json", dir); /* frpc: MkdirAll */
    struct fx f;
    fx_open(&f, path);
    expect(&f, "GET", "/api/store/proxies", NULL, 200, "{\"proxies\":[]}\n");
    expect(&f, "GET", "/api/store/visitors", NULL, 200, "{\"visitors\":[]}\n");
    snprintf(want, sizeof want, TCP_S1 "\n", 22);
    expect(&f, "POST", "/api/store/proxies",
           "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22,\"remotePort\":17502}}", 200,
           want);
    assert_int_equal(f.applies, 1);
    expect(&f, "POST", "/api/store/proxies",
           "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}", 409,
           "{\"Code\":409,\"Msg\":\"conflict: already exists: proxy \\\"s1\\\"\"}\n");
    expect(&f, "PUT", "/api/store/proxies/nope",
           "{\"name\":\"nope\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}", 404,
           "{\"Code\":404,\"Msg\":\"not found: not found: proxy \\\"nope\\\"\"}\n");
    expect(&f, "PUT", "/api/store/proxies/s1",
           "{\"name\":\"s9\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}", 400,
           "{\"Code\":400,\"Msg\":\"proxy name in URL must match name in body\"}\n");
    assert_int_equal(f.applies, 1);
    snprintf(want, sizeof want, TCP_S1 "\n", 23);
    expect(&f, "PUT", "/api/store/proxies/s1",
           "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":23,\"remotePort\":17502}}", 200,
           want);
    expect(&f, "GET", "/api/store/proxies/s1", NULL, 200, want);
    expect(&f, "GET", "/api/store/proxies/nope", NULL, 404,
           "{\"Code\":404,\"Msg\":\"not found: proxy \\\"nope\\\"\"}\n");
    expect(&f, "POST", "/api/store/proxies",
           "{\"name\":\"a0\",\"type\":\"udp\",\"udp\":{\"localPort\":53}}", 200, NULL);
    expect(&f, "POST", "/api/store/visitors",
           "{\"name\":\"v1\",\"type\":\"stcp\",\"stcp\":{\"serverName\":\"x\",\"bindPort\":9}}", 200,
           NULL);
    assert_int_equal(f.applies, 4);
    /* sorted by name, as frpc */
    char *list = NULL;
    assert_int_equal(req(&f, "GET", "/api/store/proxies", NULL, &list), 200);
    assert_true(strstr(list, "\"a0\"") < strstr(list, "\"s1\""));
    free(list);
    /* the file is frpc's store: reopened, it lists the same */
    char *text = slurp(path);
    assert_non_null(text);
    assert_non_null(strstr(text, "{\n  \"proxies\": [\n    {\n      \"name\": \"s1\",\n"));
    assert_non_null(strstr(text, "\"visitors\": [\n"));
    assert_non_null(strstr(text, "\"transport\": {}"));
    free(text);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* renamed, not left behind */
    struct ufrpc_store *again = NULL;
    char err[300];
    assert_int_equal(ufrpc_store_open(path, &again, err, sizeof err), 0);
    char *l1 = ufrpc_store_list_json(f.store, false), *l2 = ufrpc_store_list_json(again, false);
    assert_string_equal(l1, l2);
    free(l1);
    free(l2);
    ufrpc_store_free(again);

    expect(&f, "DELETE", "/api/store/proxies/nope", NULL, 404,
           "{\"Code\":404,\"Msg\":\"not found: not found: proxy \\\"nope\\\"\"}\n");
    expect(&f, "DELETE", "/api/store/proxies/s1", NULL, 200, "");
    expect(&f, "DELETE", "/api/store/visitors/v1", NULL, 200, "");
    assert_int_equal(ufrpc_store_count(f.store, false), 1);
    assert_int_equal(ufrpc_store_count(f.store, true), 0);
    text = slurp(path);
    assert_null(strstr(text, "\"s1\""));
    assert_null(strstr(text, "visitors")); /* omitempty */
    free(text);
    /* methods and paths as frpc's router */
    expect(&f, "PATCH", "/api/store/proxies", NULL, 405, "");
    expect(&f, "DELETE", "/api/store/proxies", NULL, 405, "");
    expect(&f, "POST", "/api/store/proxies/a0", "{}", 405, "");
    expect(&f, "GET", "/api/store/proxies/", NULL, 404, "404 page not found\n");
    expect(&f, "GET", "/api/store", NULL, 404, "404 page not found\n");
    fx_close(&f);
    rm_rf();
}

static void test_routes_without_store(void **st)
{
    (void)st;
    struct fx f;
    memset(&f, 0, sizeof f);
    f.cfg.hooks = (struct ufrpc_admin_hooks){.ctx = &f, .store = f_store};
    f.s = ufrpc_admin_session_new(&f.cfg);
    expect(&f, "GET", "/api/store/proxies", NULL, 404, "404 page not found\n");
    expect(&f, "POST", "/api/store/visitors", "{}", 404, "404 page not found\n");
    ufrpc_admin_session_free(f.s);
}

static void test_write_failure_undoes(void **st)
{
    (void)st;
    mkdir_tmp();
    char blocker[300], path[320];
    snprintf(blocker, sizeof blocker, "%s/file", dir);
    snprintf(path, sizeof path, "%s/store.json", blocker);
    struct fx f;
    fx_open(&f, path);
    spit(blocker, "x"); /* its directory turns out to be a file */
    char *got = NULL;
    assert_int_equal(req(&f, "POST", "/api/store/proxies",
                         "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}", &got),
                     500);
    if (strstr(got, "failed to persist: failed to create directory") == NULL)
        fail_msg("%s", got);
    free(got);
    assert_int_equal(f.applies, 0);
    assert_int_equal(ufrpc_store_count(f.store, false), 0); /* rolled back */
    fx_close(&f);

    /* a write that works but an apply that fails: stored, 500 as frpc */
    snprintf(path, sizeof path, "%s/ok.json", dir);
    fx_open(&f, path);
    f.apply_rc = UFRPC_ERR_CONFIG_DUPLICATE;
    assert_int_equal(req(&f, "POST", "/api/store/proxies",
                         "{\"name\":\"s1\",\"type\":\"tcp\",\"tcp\":{\"localPort\":22}}", &got),
                     500);
    assert_string_equal(got, "{\"Code\":500,\"Msg\":\"apply config failed: failed to apply config: "
                             "proxy [x] is duplicated\"}\n");
    free(got);
    assert_int_equal(ufrpc_store_count(f.store, false), 1);
    fx_close(&f);
    rm_rf();
}

static void test_write_order(void **st)
{
    (void)st;
    mkdir_tmp();
    char path[300], err[300];
    snprintf(path, sizeof path, "%s/s.json", dir);
    struct ufrpc_store *s = NULL;
    assert_int_equal(ufrpc_store_open(path, &s, err, sizeof err), 0);
    assert_int_equal(ufrpc_store_write_file(s, "new", 3, 2, err, sizeof err), 0);
    assert_int_equal(ufrpc_store_write_file(s, "old", 3, 1, err, sizeof err), 0); /* late: skipped */
    char *t = slurp(path);
    assert_string_equal(t, "new");
    free(t);
    ufrpc_store_free(s);
    rm_rf();
}

static void test_open_errors(void **st)
{
    (void)st;
    mkdir_tmp();
    char path[300], err[400];
    snprintf(path, sizeof path, "%s/s.json", dir);
    struct ufrpc_store *s = NULL;
    spit(path, "{\"proxies\":[");
    assert_int_equal(ufrpc_store_open(path, &s, err, sizeof err), UFRPC_ERR_CONFIG_SYNTAX);
    assert_non_null(strstr(err, "failed to load existing data: failed to parse JSON"));
    spit(path, "{\"proxies\":[{\"type\":\"tcp\",\"localPort\":1}]}");
    assert_int_equal(ufrpc_store_open(path, &s, err, sizeof err), UFRPC_ERR_CONFIG_SYNTAX);
    assert_string_equal(err, "failed to load existing data: proxy name cannot be empty");
    spit(path, "{\"visitors\":[{\"name\":\"v\",\"type\":\"http\"}]}");
    assert_int_equal(ufrpc_store_open(path, &s, err, sizeof err), UFRPC_ERR_CONFIG_SYNTAX);
    assert_non_null(strstr(err, "failed to decode visitor at index 0"));
    /* frpc keeps a map: the later of two same-named entries wins */
    spit(path, "{\"proxies\":[{\"name\":\"a\",\"type\":\"tcp\",\"localPort\":1},"
               "{\"name\":\"a\",\"type\":\"tcp\",\"localPort\":2}]}");
    assert_int_equal(ufrpc_store_open(path, &s, err, sizeof err), 0);
    assert_int_equal(ufrpc_store_count(s, false), 1);
    bool nomem;
    char *t = ufrpc_store_get_json(s, false, "a", &nomem);
    assert_non_null(strstr(t, "\"localPort\":2"));
    free(t);
    ufrpc_store_free(s);
    rm_rf();
}

/* config/load.c: store.path relative to the config file; the store's entry replaces
 * the config file's of the same name (frp's aggregator) and is marked from_store. */
static void test_config_merge(void **st)
{
    (void)st;
    mkdir_tmp();
    char cfgp[300], storep[300];
    snprintf(cfgp, sizeof cfgp, "%s/frpc.toml", dir);
    snprintf(storep, sizeof storep, "%s/store.json", dir);
    spit(cfgp, "serverAddr = \"127.0.0.1\"\nstore.path = \"store.json\"\n"
               "[[proxies]]\nname = \"cfg1\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6001\n"
               "[[proxies]]\nname = \"keep\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6002\n");
    spit(storep, "{\"proxies\":[{\"name\":\"cfg1\",\"type\":\"tcp\",\"localPort\":22,\"remotePort\":7001,"
                 "\"bogus\":1}],\"visitors\":[{\"name\":\"v\",\"type\":\"stcp\",\"serverName\":\"cfg1\","
                 "\"bindPort\":9000}]}");
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *cfg = NULL;
    int rc = ufrpc_config_load(cfgp, NULL, &cfg, &d);
    if (rc != 0)
        ufrpc_cfg_diag_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_string_equal(cfg->store.path, storep);
    assert_int_equal(cfg->nproxies, 2);
    assert_int_equal(cfg->nvisitors, 1);
    assert_true(cfg->visitors[0].from_store);
    for (size_t i = 0; i < cfg->nproxies; i++) {
        if (strcmp(cfg->proxies[i].name, "cfg1") == 0) {
            assert_int_equal(cfg->proxies[i].remote_port, 7001);
            assert_true(cfg->proxies[i].from_store);
        } else {
            assert_false(cfg->proxies[i].from_store);
        }
    }
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
    /* a broken store file is an error naming it */
    spit(storep, "{\"proxies\": [");
    ufrpc_cfg_diag_init(&d);
    assert_int_not_equal(ufrpc_config_load(cfgp, NULL, &cfg, &d), 0);
    bool named = false;
    for (size_t i = 0; i < d.len; i++)
        named |= strstr(d.items[i].err.msg, "store: failed to parse JSON") != NULL;
    assert_true(named);
    ufrpc_cfg_diag_free(&d);
    /* no file yet: an empty store */
    unlink(storep);
    ufrpc_cfg_diag_init(&d);
    assert_int_equal(ufrpc_config_load(cfgp, NULL, &cfg, &d), 0);
    assert_int_equal(cfg->nproxies, 2);
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
    rm_rf();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_body_errors),
        cmocka_unit_test(test_routes_crud),
        cmocka_unit_test(test_routes_without_store),
        cmocka_unit_test(test_write_failure_undoes),
        cmocka_unit_test(test_write_order),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_config_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
