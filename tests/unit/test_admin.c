/* Admin API: the sans-I/O session (every route, auth, limits, keep-alive, errors)
 * and the libuv server over real sockets (keep-alive, auth delay, stop delay,
 * PUT/GET config, close). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "client/admin/admin.h"
#include "client/admin/admin_internal.h"
#include "client/admin/admin_session.h"
#include "client/core/registry.h"
#include "config/config.h"
#include "proto/error.h"

/* ---- fixture: a real registry and config, fake callbacks --------------------------- */

static const char CONFIG_TOML[] =
    "serverAddr = \"198.51.100.7\"\n"
    "serverPort = 7000\n"
    "auth.token = \"TOPSECRETTOKEN\"\n"
    "webServer.port = 7400\n"
    "[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\nlocalIP = \"127.0.0.1\"\nlocalPort = "
    "22\nremotePort = 6000\n"
    "[[proxies]]\nname = \"alpha\"\ntype = \"tcp\"\nlocalPort = 2222\nremotePort = 6001\n"
    "[[proxies]]\nname = \"dns\"\ntype = \"udp\"\nlocalIP = \"::1\"\nlocalPort = 53\nremotePort = "
    "6053\n"
    "[[proxies]]\nname = \"web\"\ntype = \"http\"\nlocalPort = 80\ncustomDomains = "
    "[\"a.example.com\"]\n"
    "[[proxies]]\nname = \"sock\"\ntype = \"tcp\"\nremotePort = 6002\n"
    "[proxies.plugin]\ntype = \"socks5\"\nusername = \"u\"\npassword = \"PLUGINPASSWORD\"\n"
    "[[proxies]]\nname = \"secret\"\ntype = \"stcp\"\nsecretKey = \"STCPSECRETKEY\"\nlocalPort = "
    "23\n"
    "[[visitors]]\nname = \"vis\"\ntype = \"stcp\"\nserverName = \"secret\"\nsecretKey = "
    "\"VISITORSECRET\"\nbindPort = 9000\n";

struct fake {
    struct ufrpc_config *cfg;
    struct ufrpc_registry *reg;
    char path[256];
    bool have_path;
    enum ufrpc_admin_reload_result reload_result;
    atomic_int reloads;
    atomic_int stops;
    bool last_strict;
    struct ufrpc_admin *admin; /* server tests */
    bool close_on_stop;
};

static struct ufrpc_registry *f_registry(void *ctx) { return ((struct fake *)ctx)->reg; }
static const struct ufrpc_config *f_config(void *ctx) { return ((struct fake *)ctx)->cfg; }
static const char *f_path(void *ctx)
{
    struct fake *f = ctx;
    return f->have_path ? f->path : NULL;
}
static enum ufrpc_admin_reload_result f_reload(void *ctx, bool strict, char *msg, size_t cap)
{
    struct fake *f = ctx;
    atomic_fetch_add(&f->reloads, 1);
    f->last_strict = strict;
    if (f->reload_result == UFRPC_ADMIN_RELOAD_INVALID)
        snprintf(msg, cap, "frpc.toml:3: unknown key \"<x>\"");
    else if (f->reload_result == UFRPC_ADMIN_RELOAD_APPLY_FAILED)
        snprintf(msg, cap, "cannot bind visitor");
    return f->reload_result;
}
static void f_stop(void *ctx)
{
    struct fake *f = ctx;
    atomic_fetch_add(&f->stops, 1);
    if (f->close_on_stop && f->admin != NULL) {
        ufrpc_admin_close(f->admin, NULL, NULL);
        f->admin = NULL;
    }
}

static struct fake *fake_new(void)
{
    struct fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    int rc = ufrpc_config_load_buffer(CONFIG_TOML, sizeof CONFIG_TOML - 1, "frpc.toml", NULL,
                                      &f->cfg, &d);
    if (rc != 0)
        ufrpc_cfg_diag_print(&d, stderr);
    ufrpc_cfg_diag_free(&d);
    assert_int_equal(rc, 0);
    assert_int_equal(ufrpc_registry_new(NULL, NULL, NULL, &f->reg), 0);
    for (size_t i = 0; i < f->cfg->nproxies; i++)
        assert_int_equal(ufrpc_registry_add(f->reg, UFRPC_TUNNEL_PROXY, f->cfg->proxies[i].name,
                                            ufrpc_proxy_type_name(f->cfg->proxies[i].type),
                                            &f->cfg->proxies[i], 0, NULL),
                         0);
    assert_int_equal(ufrpc_registry_add(f->reg, UFRPC_TUNNEL_VISITOR, "vis", "stcp", NULL, 0, NULL),
                     0);
    /* ssh, alpha, dns, web running; sock failed; secret waiting */
    const char *running[][2] = {
        {"ssh", ":6000"}, {"alpha", ":6001"}, {"dns", ":6053"}, {"web", "http://a.example.com"}};
    for (size_t i = 0; i < 4; i++) {
        struct ufrpc_tunnel *t = ufrpc_registry_find(f->reg, UFRPC_TUNNEL_PROXY, running[i][0]);
        assert_non_null(t);
        assert_int_equal(ufrpc_registry_set_state(f->reg, t, UFRPC_TUNNEL_WAIT_START, NULL, 1), 0);
        assert_int_equal(
            ufrpc_registry_on_new_proxy_resp(f->reg, running[i][0], running[i][1], NULL, 2), 0);
    }
    struct ufrpc_tunnel *t = ufrpc_registry_find(f->reg, UFRPC_TUNNEL_PROXY, "sock");
    assert_int_equal(ufrpc_registry_set_state(f->reg, t, UFRPC_TUNNEL_WAIT_START, NULL, 1), 0);
    assert_int_equal(
        ufrpc_registry_on_new_proxy_resp(f->reg, "sock", ":6002", "port already used", 2),
        UFRPC_ERR_PROXY_START);
    t = ufrpc_registry_find(f->reg, UFRPC_TUNNEL_PROXY, "secret");
    assert_int_equal(ufrpc_registry_set_state(f->reg, t, UFRPC_TUNNEL_WAIT_START, NULL, 1), 0);
    snprintf(f->path, sizeof f->path, "/tmp/ufrpc-admin-test-%d.toml", (int)getpid());
    unlink(f->path);
    f->have_path = true;
    return f;
}

static void fake_free(struct fake *f)
{
    unlink(f->path);
    ufrpc_registry_free(f->reg);
    ufrpc_config_free(f->cfg);
    free(f);
}

static struct ufrpc_admin_hooks hooks_of(struct fake *f)
{
    struct ufrpc_admin_hooks h = {.ctx = f,
                                  .registry = f_registry,
                                  .config = f_config,
                                  .config_path = f_path,
                                  .reload = f_reload,
                                  .stop = f_stop};
    return h;
}

/* ---- session helpers --------------------------------------------------------------- */

struct sess {
    struct ufrpc_admin_session_cfg cfg;
    struct ufrpc_admin_session *s;
    struct fake *f;
};

static void sess_open(struct sess *x, const char *user, const char *pw)
{
    x->f = fake_new();
    x->cfg =
        (struct ufrpc_admin_session_cfg){.user = user, .password = pw, .hooks = hooks_of(x->f)};
    x->s = ufrpc_admin_session_new(&x->cfg);
    assert_non_null(x->s);
}

static void sess_close(struct sess *x)
{
    ufrpc_admin_session_free(x->s);
    fake_free(x->f);
}

/* Feeds len bytes; returns the output (malloc'd, NUL-terminated); *consumed and
 * *delay filled when non-NULL. */
static char *exchange(struct sess *x, const void *req, size_t len, size_t *consumed,
                      uint32_t *delay)
{
    size_t n = ufrpc_admin_session_feed(x->s, req, len);
    if (consumed)
        *consumed = n;
    /* GET/PUT /api/config: the file job the shell would run on its thread pool */
    struct ufrpc_admin_file_job *job = ufrpc_admin_session_take_file_job(x->s);
    if (job != NULL) {
        assert_int_equal(ufrpc_admin_session_feed(x->s, (const uint8_t *)"GET", 3), 0);
        assert_null(ufrpc_admin_session_take_file_job(x->s));
        ufrpc_admin_file_job_run(job);
        ufrpc_admin_session_file_done(x->s, job);
    }
    uint8_t *buf;
    size_t blen;
    uint32_t d;
    char *out;
    if (ufrpc_admin_session_take_output(x->s, &buf, &blen, &d)) {
        out = malloc(blen + 1);
        assert_non_null(out);
        memcpy(out, buf, blen);
        out[blen] = '\0';
        free(buf);
    } else {
        out = strdup("");
        d = 0;
    }
    if (delay)
        *delay = d;
    return out;
}

static char *ask(struct sess *x, const char *req)
{
    return exchange(x, req, strlen(req), NULL, NULL);
}

static int status_of(const char *resp)
{
    int code = 0;
    if (sscanf(resp, "HTTP/1.1 %d ", &code) != 1)
        return -1;
    return code;
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

static char *basic(const char *user, const char *pw)
{
    /* tiny base64 for the tests */
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char raw[256];
    int n = snprintf(raw, sizeof raw, "%s:%s", user, pw);
    char *out = calloc(1, 512);
    size_t o = 0;
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)raw[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)raw[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)raw[i + 2];
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    return out;
}

/* ---- session tests -------------------------------------------------------------- */

static void test_healthz_no_auth(void **st)
{
    struct sess x;
    sess_open(&x, "admin", "pw");
    char *r = ask(&x, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "Content-Length: 0\r\n"));
    assert_string_equal(body_of(r), "");
    assert_false(ufrpc_admin_session_done(x.s));
    free(r);
    sess_close(&x);
}

static void test_auth(void **st)
{
    struct sess x;
    sess_open(&x, "admin", "s3cret:pw");
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *logf = open_memstream(&logbuf, &loglen);
    struct ufrpc_log_opts lo = {.console = logf, .level = UFRPC_LOG_DEBUG};
    assert_int_equal(ufrpc_log_new(&lo, &x.cfg.log), 0);
    uint32_t delay = 0;
    const char *bad[] = {
        "GET /api/status HTTP/1.1\r\n\r\n",
        "GET /api/status HTTP/1.1\r\nAuthorization: Basic YWRtaW46d3Jvbmc=\r\n\r\n", /* admin:wrong
                                                                                      */
        "GET /api/status HTTP/1.1\r\nAuthorization: Bearer abc\r\n\r\n",
        "GET /api/status HTTP/1.1\r\nAuthorization: Basic !!!!\r\n\r\n",
        "GET /api/status HTTP/1.1\r\nAuthorization: Basic YWRtaW4=\r\n\r\n", /* "admin", no colon */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *r = exchange(&x, bad[i], strlen(bad[i]), NULL, &delay);
        assert_int_equal(status_of(r), 401);
        assert_int_equal(delay, UFRPC_ADMIN_AUTH_FAIL_DELAY_MS);
        assert_non_null(strstr(r, "WWW-Authenticate: Basic realm=\"Restricted\"\r\n"));
        assert_string_equal(body_of(r), "Unauthorized\n");
        assert_null(strstr(r, "s3cret"));
        free(r);
    }
    char *cred = basic("admin", "s3cret:pw");
    char req[1024];
    snprintf(req, sizeof req, "GET /api/status HTTP/1.1\r\nauthorization: basic %s\r\n\r\n", cred);
    char *r = exchange(&x, req, strlen(req), NULL, &delay);
    assert_int_equal(status_of(r), 200);
    assert_int_equal(delay, 0);
    assert_null(strstr(r, "s3cret"));
    free(r);
    /* only the first Authorization header counts (Go's Header.Get) */
    snprintf(
        req, sizeof req,
        "GET /api/status HTTP/1.1\r\nAuthorization: Basic eDp5\r\nAuthorization: Basic %s\r\n\r\n",
        cred);
    r = ask(&x, req);
    assert_int_equal(status_of(r), 401);
    free(r);
    free(cred);
    /* user only: password must be empty */
    assert_true(ufrpc_admin_check_basic_auth("Basic dTo=", "u", ""));
    assert_false(ufrpc_admin_check_basic_auth("Basic dTp4", "u", ""));
    assert_true(ufrpc_admin_check_basic_auth(NULL, "", ""));
    /* a control byte in the path stays out of the log */
    cred = basic("admin", "s3cret:pw");
    snprintf(req, sizeof req,
             "GET /api/proxy/a%%0ab/config HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n", cred);
    free(cred);
    r = ask(&x, req);
    assert_int_equal(status_of(r), 404);
    free(r);
    ufrpc_log_free(x.cfg.log);
    fclose(logf);
    /* frpc's request/response lines; failed logins are not logged; no secret anywhere */
    assert_non_null(strstr(logbuf, "http request: [/api/status]"));
    assert_non_null(strstr(logbuf, "http response [/api/status]: code [200]"));
    assert_non_null(strstr(logbuf, "http request: [/api/proxy/a?b/config]"));
    assert_null(strstr(logbuf, "code [401]"));
    assert_null(strstr(logbuf, "s3cret"));
    assert_null(strstr(logbuf, "YWRtaW46"));
    free(logbuf);
    sess_close(&x);
}

static void test_status_json(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    char *r = ask(&x, "GET /api/status HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "Content-Type: application/json\r\n"));
    /* types in Go map order, names sorted; visitors absent; tcp/udp remote_addr gets
     * serverAddr; an error empties remote_addr */
    const char *want =
        "{\"http\":[{\"name\":\"web\",\"type\":\"http\",\"status\":\"running\",\"err\":\"\","
        "\"local_addr\":"
        "\"127.0.0.1:80\",\"plugin\":\"\",\"remote_addr\":\"http://a.example.com\"}],"
        "\"stcp\":[{\"name\":\"secret\",\"type\":\"stcp\",\"status\":\"wait "
        "start\",\"err\":\"\",\"local_addr\":"
        "\"127.0.0.1:23\",\"plugin\":\"\",\"remote_addr\":\"\"}],"
        "\"tcp\":[{\"name\":\"alpha\",\"type\":\"tcp\",\"status\":\"running\",\"err\":\"\",\"local_"
        "addr\":"
        "\"127.0.0.1:2222\",\"plugin\":\"\",\"remote_addr\":\"198.51.100.7:6001\"},"
        "{\"name\":\"sock\",\"type\":\"tcp\",\"status\":\"start error\",\"err\":\"port already "
        "used\","
        "\"local_addr\":\"\",\"plugin\":\"socks5\",\"remote_addr\":\"\"},"
        "{\"name\":\"ssh\",\"type\":\"tcp\",\"status\":\"running\",\"err\":\"\",\"local_addr\":"
        "\"127.0.0.1:22\",\"plugin\":\"\",\"remote_addr\":\"198.51.100.7:6000\"}],"
        "\"udp\":[{\"name\":\"dns\",\"type\":\"udp\",\"status\":\"running\",\"err\":\"\",\"local_"
        "addr\":"
        "\"[::1]:53\",\"plugin\":\"\",\"remote_addr\":\"198.51.100.7:6053\"}]}\n";
    assert_string_equal(body_of(r), want);
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", strlen(want));
    assert_non_null(strstr(r, cl));
    assert_null(strstr(r, "SECRET"));
    free(r);
    /* no registry (not connected): {} */
    struct ufrpc_admin_buf b = {0};
    assert_int_equal(ufrpc_admin_status_json(NULL, NULL, &b), 0);
    assert_string_equal(b.p, "{}\n");
    ufrpc_admin_buf_free(&b);
    sess_close(&x);
}

static void test_json_escaping(void **st)
{
    struct ufrpc_admin_buf b = {0};
    ufrpc_admin_json_str(&b, "a\"b\\c<d>&e\n\t\x01\x7f\xe2\x80\xa8\xff\xc3\xa9");
    assert_string_equal(
        b.p, "\"a\\\"b\\\\c\\u003cd\\u003e\\u0026e\\n\\t\\u0001\x7f\\u2028\\ufffd\xc3\xa9\"");
    ufrpc_admin_buf_free(&b);
    char out[32];
    assert_true(
        ufrpc_admin_query_get("a=1&strictConfig=tr%75e&x", "strictConfig", out, sizeof out));
    assert_string_equal(out, "true");
    assert_false(ufrpc_admin_query_get("strictconfig=1", "strictConfig", out, sizeof out));
    assert_true(ufrpc_admin_query_get("x&strictConfig", "strictConfig", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(ufrpc_admin_query_get("k=a+b%20c", "k", out, sizeof out));
    assert_string_equal(out, "a b c");
}

static void test_reload(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    char *r = ask(&x, "GET /api/reload HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_string_equal(body_of(r), "");
    assert_int_equal(atomic_load(&x.f->reloads), 1);
    assert_false(x.f->last_strict);
    free(r);
    r = ask(&x, "GET /api/reload?strictConfig=true HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_true(x.f->last_strict);
    free(r);
    r = ask(&x, "GET /api/reload?strictConfig=bogus HTTP/1.1\r\n\r\n");
    assert_false(x.f->last_strict);
    free(r);

    x.f->reload_result = UFRPC_ADMIN_RELOAD_INVALID;
    r = ask(&x, "GET /api/reload HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 400);
    assert_string_equal(body_of(r), "{\"Code\":400,\"Msg\":\"invalid argument: frpc.toml:3: "
                                    "unknown key \\\"\\u003cx\\u003e\\\"\"}\n");
    free(r);
    x.f->reload_result = UFRPC_ADMIN_RELOAD_APPLY_FAILED;
    r = ask(&x, "GET /api/reload HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 500);
    assert_string_equal(body_of(r),
                        "{\"Code\":500,\"Msg\":\"apply config failed: cannot bind visitor\"}\n");
    free(r);
    x.f->have_path = false;
    int before = atomic_load(&x.f->reloads);
    r = ask(&x, "GET /api/reload HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 400);
    assert_string_equal(
        body_of(r), "{\"Code\":400,\"Msg\":\"invalid argument: frpc has no config file path\"}\n");
    assert_int_equal(atomic_load(&x.f->reloads), before);
    free(r);
    r = ask(&x, "POST /api/reload HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(status_of(r), 405);
    free(r);
    sess_close(&x);
}

static void test_stop(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    char *r = ask(&x, "GET /api/stop HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 405);
    assert_false(ufrpc_admin_session_take_stop(x.s));
    free(r);
    r = ask(&x, "POST /api/stop HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_string_equal(body_of(r), "");
    assert_true(ufrpc_admin_session_take_stop(x.s));
    assert_false(ufrpc_admin_session_take_stop(x.s));
    assert_int_equal(atomic_load(&x.f->stops), 0); /* the shell calls it later */
    free(r);
    sess_close(&x);
}

/* The config file is touched only by the job the session hands out: until it comes
 * back, nothing more is parsed (a pipelined request waits), and a job handed back
 * without running answers 500. */
static void test_config_file_job(void **st)
{
    (void)st;
    struct sess x;
    sess_open(&x, "", "");
    const char *two = "GET /api/config HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\n\r\n";
    size_t first = strlen("GET /api/config HTTP/1.1\r\n\r\n");
    size_t n = ufrpc_admin_session_feed(x.s, (const uint8_t *)two, strlen(two));
    assert_int_equal(n, first);
    struct ufrpc_admin_file_job *job = ufrpc_admin_session_take_file_job(x.s);
    assert_non_null(job);
    uint8_t *buf;
    size_t len;
    uint32_t d;
    assert_false(ufrpc_admin_session_take_output(x.s, &buf, &len, &d)); /* no answer yet */
    assert_int_equal(ufrpc_admin_session_feed(x.s, (const uint8_t *)two + first,
                                              strlen(two) - first),
                     0);
    ufrpc_admin_session_file_done(x.s, job); /* not run: as if the disk failed */
    assert_true(ufrpc_admin_session_take_output(x.s, &buf, &len, &d));
    assert_true(len > 12 && memcmp(buf, "HTTP/1.1 500 ", 13) == 0);
    free(buf);
    /* the waiting request goes through now */
    n = ufrpc_admin_session_feed(x.s, (const uint8_t *)two + first, strlen(two) - first);
    assert_int_equal(n, strlen(two) - first);
    assert_true(ufrpc_admin_session_take_output(x.s, &buf, &len, &d));
    assert_true(len > 12 && memcmp(buf, "HTTP/1.1 200 ", 13) == 0);
    free(buf);
    /* a job never handed back is freed with the session */
    n = ufrpc_admin_session_feed(x.s, (const uint8_t *)two, first);
    assert_int_equal(n, first);
    sess_close(&x);
}

static void test_config_get_put(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    char *r = ask(&x, "GET /api/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 400); /* the file does not exist yet */
    assert_non_null(strstr(body_of(r), "invalid argument: open /tmp/ufrpc-admin-test-"));
    assert_non_null(strstr(body_of(r), ": no such file or directory\"}\n"));
    free(r);
    r = ask(&x, "PUT /api/config HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_int_equal(status_of(r), 400);
    assert_string_equal(body_of(r), "{\"Code\":400,\"Msg\":\"body can't be empty\"}\n");
    free(r);
    const char *body = "serverPort = 7001\n# <new>\n";
    char req[512];
    snprintf(req, sizeof req, "PUT /api/config HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    r = ask(&x, req);
    assert_int_equal(status_of(r), 200);
    free(r);
    struct stat sb;
    assert_int_equal(stat(x.f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(atomic_load(&x.f->reloads), 0); /* PUT does not reload */
    r = ask(&x, "GET /api/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_string_equal(body_of(r), body);
    assert_non_null(strstr(r, "Content-Type: text/plain; charset=utf-8\r\n"));
    free(r);
    /* chunked upload */
    r = ask(&x, "PUT /api/config HTTP/1.1\r\nTransfer-Encoding: "
                "chunked\r\n\r\n5\r\nab=1\n\r\n3\r\nc=2\r\n0\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    free(r);
    r = ask(&x, "GET /api/config HTTP/1.1\r\n\r\n");
    assert_string_equal(body_of(r), "ab=1\nc=2");
    free(r);
    x.f->have_path = false;
    r = ask(&x, "GET /api/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 400);
    assert_string_equal(
        body_of(r), "{\"Code\":400,\"Msg\":\"invalid argument: frpc has no config file path\"}\n");
    free(r);
    sess_close(&x);
}

static void test_definitions(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    char *r = ask(&x, "GET /api/proxy/ssh/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    const char *b = body_of(r);
    assert_true(strncmp(b, "{\"name\":\"ssh\",\"type\":\"tcp\",\"tcp\":{", 34) == 0);
    assert_non_null(strstr(b, "\"localPort\":22"));
    assert_non_null(strstr(b, "\"remotePort\":6000"));
    free(r);
    r = ask(&x, "GET /api/proxy/secret/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(body_of(r), "\"stcp\":{"));
    assert_null(strstr(r, "STCPSECRETKEY"));
    assert_non_null(strstr(r, "***"));
    free(r);
    r = ask(&x, "GET /api/proxy/sock/config HTTP/1.1\r\n\r\n");
    assert_null(strstr(r, "PLUGINPASSWORD"));
    assert_non_null(strstr(r, "socks5"));
    free(r);
    r = ask(&x, "GET /api/visitor/vis/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 200);
    assert_true(strncmp(body_of(r), "{\"name\":\"vis\",\"type\":\"stcp\",\"stcp\":{", 36) == 0);
    assert_non_null(strstr(r, "\"bindPort\":9000"));
    assert_null(strstr(r, "VISITORSECRET"));
    free(r);
    r = ask(&x, "GET /api/proxy/no%22pe/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 404);
    assert_string_equal(body_of(r),
                        "{\"Code\":404,\"Msg\":\"proxy \\\"no\\\\\\\"pe\\\" not found\"}\n");
    free(r);
    r = ask(&x, "GET /api/visitor/ssh/config HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 404);
    assert_string_equal(body_of(r), "{\"Code\":404,\"Msg\":\"visitor \\\"ssh\\\" not found\"}\n");
    free(r);
    sess_close(&x);
}

static void test_unknown_routes(void **st)
{
    struct sess x;
    sess_open(&x, "admin", "pw");
    /* unknown paths: 404 text, before auth (as gorilla/mux) */
    const char *paths[] = {"/api", "/api/statusx", "/api/proxy//config", "/api/proxy/a/b/config",
                           "/nope"};
    for (size_t i = 0; i < 5; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", paths[i]);
        char *r = ask(&x, req);
        assert_int_equal(status_of(r), 404);
        assert_string_equal(body_of(r), "404 page not found\n");
        free(r);
    }
    /* known web-UI paths need auth, then: ufrpc's dashboard (no assetsDir) / 404 */
    char *r = ask(&x, "GET / HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(r), 401);
    free(r);
    char *cred = basic("admin", "pw");
    char req[256];
    snprintf(req, sizeof req, "GET / HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n", cred);
    r = ask(&x, req);
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(body_of(r), "<table id=\"proxies\">"));
    assert_null(strstr(body_of(r), "{{ROWS}}"));
    free(r);
    snprintf(req, sizeof req, "POST /dashboard HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n", cred);
    r = ask(&x, req);
    assert_int_equal(status_of(r), 405);
    free(r);
    snprintf(req, sizeof req, "GET /static/index.html HTTP/1.1\r\nAuthorization: Basic %s\r\n\r\n",
             cred);
    r = ask(&x, req);
    assert_int_equal(status_of(r), 404);
    free(r);
    free(cred);
    sess_close(&x);
}

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_static_assets(void **st)
{
    char dir[] = "/tmp/ufrpc-admin-assets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[600], secret_dir[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    put_file(dir, "index.html", "<html>ui</html>");
    put_file(dir, "app.js", "console.log(1)");
    put_file(dir, "favicon.ico", "ICO");
    put_file(sub, "x.css", "a{}");
    /* a file next to the root that must stay out of reach */
    snprintf(secret_dir, sizeof secret_dir, "%s.secret", dir);
    FILE *f = fopen(secret_dir, "w");
    fputs("nope", f);
    fclose(f);

    struct sess x;
    sess_open(&x, "", "");
    x.cfg.assets_dir = dir;
    /* with assetsDir, / is frpc's redirect to its UI; ufrpc's page moves to /dashboard */
    char *rr = ask(&x, "GET / HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(rr), 301);
    assert_non_null(strstr(rr, "Location: /static/\r\n"));
    free(rr);
    rr = ask(&x, "GET /dashboard HTTP/1.1\r\n\r\n");
    assert_int_equal(status_of(rr), 200);
    assert_non_null(strstr(body_of(rr), "<table id=\"proxies\">"));
    free(rr);
    struct {
        const char *path, *type, *body;
    } ok[] = {
        {"/static/", "text/html; charset=utf-8", "<html>ui</html>"},
        {"/static/app.js", "text/javascript; charset=utf-8", "console.log(1)"},
        {"/static/sub/x.css", "text/css; charset=utf-8", "a{}"},
        {"/static/sub/../app.js", NULL, NULL},
        {"/favicon.ico", "image/vnd.microsoft.icon", "ICO"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char req[256], ct[128];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", ok[i].path);
        char *r = ask(&x, req);
        if (ok[i].type == NULL) { /* any ".." segment is refused */
            assert_int_equal(status_of(r), 404);
        } else {
            assert_int_equal(status_of(r), 200);
            snprintf(ct, sizeof ct, "Content-Type: %s\r\n", ok[i].type);
            assert_non_null(strstr(r, ct));
            assert_string_equal(body_of(r), ok[i].body);
        }
        free(r);
    }
    const char *base = strrchr(dir, '/') + 1;
    const char *bad[] = {"/static/missing.js", "/static/sub", "/static/../%s.secret",
                         "/static/%%2e%%2e/%s.secret", "/static/..%%2f%s.secret"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[256], req[300];
        snprintf(path, sizeof path, bad[i], base);
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\n\r\n", path);
        char *r = ask(&x, req);
        assert_int_equal(status_of(r), 404);
        assert_null(strstr(r, "nope"));
        free(r);
    }
    sess_close(&x);
    unlink(secret_dir);
    char p2[700];
    snprintf(p2, sizeof p2, "%s/x.css", sub);
    unlink(p2);
    rmdir(sub);
    const char *files[] = {"index.html", "app.js", "favicon.ico"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p2, sizeof p2, "%s/%s", dir, files[i]);
        unlink(p2);
    }
    rmdir(dir);
}

static void test_malformed(void **st)
{
    const char *bad[] = {
        "GARBAGE\r\n\r\n",
        "GET /api/status HTTP/9.9\r\n\r\n",
        "GET /api/status HTTP/1.1\r\nBad Header\r\n\r\n",
        "GET /api/status HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef",
        "GET /a%zz HTTP/1.1\r\n\r\n",
        "GET /a%00b HTTP/1.1\r\n\r\n",
        "GET api/status HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sess x;
        sess_open(&x, "", "");
        char *r = ask(&x, bad[i]);
        assert_int_equal(status_of(r), 400);
        assert_non_null(strstr(r, "Connection: close\r\n"));
        assert_true(ufrpc_admin_session_done(x.s));
        /* further input is ignored */
        assert_int_equal(
            ufrpc_admin_session_feed(x.s, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18), 0);
        free(r);
        sess_close(&x);
    }
}

static void test_limits(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    /* headers over 64 KiB, fed in small pieces */
    const char *start = "GET /api/status HTTP/1.1\r\n";
    char *r = ask(&x, start);
    assert_string_equal(r, "");
    free(r);
    char line[1024];
    memset(line, 'a', sizeof line);
    memcpy(line, "X-Pad: ", 7);
    line[sizeof line - 2] = '\r', line[sizeof line - 1] = '\n';
    char *got = NULL;
    for (int i = 0; i < 80 && got == NULL; i++) {
        r = exchange(&x, line, sizeof line, NULL, NULL);
        if (r[0] != '\0')
            got = r;
        else
            free(r);
    }
    assert_non_null(got);
    assert_int_equal(status_of(got), 431);
    assert_true(ufrpc_admin_session_done(x.s));
    free(got);
    sess_close(&x);

    /* body over 1 MiB: announced */
    sess_open(&x, "", "");
    r = ask(&x, "PUT /api/config HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n");
    assert_int_equal(status_of(r), 413);
    assert_true(ufrpc_admin_session_done(x.s));
    free(r);
    sess_close(&x);
    /* exactly 1 MiB is fine */
    sess_open(&x, "", "");
    size_t big = UFRPC_ADMIN_MAX_BODY;
    char *req = malloc(big + 128);
    assert_non_null(req);
    int hl = snprintf(req, 128, "PUT /api/config HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", big);
    memset(req + hl, 'x', big);
    r = exchange(&x, req, (size_t)hl + big, NULL, NULL);
    assert_int_equal(status_of(r), 200);
    free(r);
    /* a GET with a body: read and dropped, then the next request on the connection */
    hl = snprintf(req, 128, "GET /healthz HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", big);
    memset(req + hl, 'z', big);
    memcpy(req + hl + big, "GET /healthz HTTP/1.1\r\n\r\n", 25);
    size_t used = 0;
    r = exchange(&x, req, (size_t)hl + big + 25, &used, NULL);
    assert_int_equal(status_of(r), 200);
    assert_int_equal(used, (size_t)hl + big);
    free(r);
    r = exchange(&x, req + used, 25, &used, NULL);
    assert_int_equal(status_of(r), 200);
    assert_int_equal(used, 25);
    free(r);
    /* chunked beyond 1 MiB */
    hl = snprintf(req, 128, "PUT /api/config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n",
                  big + 1);
    memset(req + hl, 'y', big + 1);
    r = exchange(&x, req, (size_t)hl + big + 1, NULL, NULL);
    assert_int_equal(status_of(r), 413);
    free(r);
    free(req);
    sess_close(&x);
}

static void test_keepalive_pipelined(void **st)
{
    struct sess x;
    sess_open(&x, "", "");
    const char *two = "GET /healthz HTTP/1.1\r\n\r\nGET /api/status HTTP/1.1\r\n\r\n";
    size_t n = 0;
    char *r = exchange(&x, two, strlen(two), &n, NULL);
    assert_int_equal(n, strlen("GET /healthz HTTP/1.1\r\n\r\n"));
    assert_int_equal(status_of(r), 200);
    assert_string_equal(body_of(r), "");
    free(r);
    size_t n2 = 0;
    r = exchange(&x, two + n, strlen(two) - n, &n2, NULL);
    assert_int_equal(n2, strlen(two) - n);
    assert_int_equal(status_of(r), 200);
    assert_true(strncmp(body_of(r), "{\"http\":[", 9) == 0);
    assert_false(ufrpc_admin_session_done(x.s));
    free(r);
    /* byte by byte */
    const char *one = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
    char *resp = NULL;
    for (size_t i = 0; one[i]; i++) {
        r = exchange(&x, one + i, 1, &n, NULL);
        assert_int_equal(n, 1);
        if (r[0])
            resp = r;
        else
            free(r);
    }
    assert_non_null(resp);
    assert_int_equal(status_of(resp), 200);
    free(resp);
    /* HTTP/1.0 and Connection: close end the connection */
    r = ask(&x, "GET /healthz HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(r, "Connection: close\r\n"));
    assert_true(ufrpc_admin_session_done(x.s));
    free(r);
    sess_close(&x);
    sess_open(&x, "", "");
    r = ask(&x, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_true(ufrpc_admin_session_done(x.s));
    free(r);
    sess_close(&x);
    /* HEAD of the redirect: no body; Expect: 100-continue is answered */
    sess_open(&x, "", "");
    r = ask(&x, "PUT /api/config HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_string_equal(r, "HTTP/1.1 100 Continue\r\n\r\n");
    free(r);
    r = ask(&x, "a=1");
    assert_int_equal(status_of(r), 200);
    free(r);
    sess_close(&x);
}

/* ---- the libuv server over sockets ------------------------------------------------- */

struct srv {
    uv_loop_t loop;
    uv_async_t quit;
    pthread_t th;
    struct fake *f;
    uint16_t port;
    atomic_int closed;
};

static void on_admin_closed(void *data)
{
    struct srv *s = data;
    atomic_store(&s->closed, 1);
}

static void on_quit(uv_async_t *a)
{
    struct srv *s = a->data;
    if (s->f->admin != NULL) {
        ufrpc_admin_close(s->f->admin, on_admin_closed, s);
        s->f->admin = NULL;
    } else {
        atomic_store(&s->closed, 1);
    }
    uv_close((uv_handle_t *)&s->quit, NULL);
}

static void *loop_thread(void *arg)
{
    struct srv *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static uint32_t next_idle_ms; /* idle timeout for the next server started (0: default) */

static void srv_start_tls(struct srv *s, const char *user, const char *pw, const char *cert,
                          const char *key)
{
    memset(s, 0, sizeof *s);
    s->f = fake_new();
    assert_int_equal(uv_loop_init(&s->loop), 0);
    struct ufrpc_admin_opts o = {.addr = "127.0.0.1",
                                 .port = 0,
                                 .user = user,
                                 .password = pw,
                                 .tls_cert_file = cert,
                                 .tls_key_file = key,
                                 .idle_timeout_ms = next_idle_ms};
    struct ufrpc_admin_hooks h = hooks_of(s->f);
    assert_int_equal(ufrpc_admin_start(&s->loop, &o, &h, &s->f->admin), 0);
    s->port = ufrpc_admin_port(s->f->admin);
    assert_true(s->port > 0);
    uv_async_init(&s->loop, &s->quit, on_quit);
    s->quit.data = s;
    assert_int_equal(pthread_create(&s->th, NULL, loop_thread, s), 0);
}

static void srv_start(struct srv *s, const char *user, const char *pw)
{
    srv_start_tls(s, user, pw, NULL, NULL);
}

static void srv_stop(struct srv *s)
{
    uv_async_send(&s->quit);
    pthread_join(s->th, NULL);
    assert_int_equal(atomic_load(&s->closed), 1);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    fake_free(s->f);
}

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void send_all(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Reads one response (headers + Content-Length body); bytes of a following response
 * stay in a per-fd leftover buffer. NULL on EOF/timeout. */
static char leftover[1 << 16];
static size_t leftover_len;
static int leftover_fd = -1;

static char *read_response(int fd)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (leftover_fd == fd && leftover_len > 0) {
        memcpy(buf, leftover, leftover_len);
        len = leftover_len;
    }
    leftover_len = 0;
    leftover_fd = fd;
    for (;;) {
        buf[len] = '\0';
        char *hend = strstr(buf, "\r\n\r\n");
        if (hend != NULL) {
            const char *cl = strstr(buf, "Content-Length: ");
            size_t want =
                (size_t)(hend + 4 - buf) + (cl && cl < hend ? strtoul(cl + 16, NULL, 10) : 0);
            if (len >= want) {
                leftover_len = len - want;
                memcpy(leftover, buf + want, leftover_len);
                buf[want] = '\0';
                return buf;
            }
        }
        if (len + 1 >= cap) {
            free(buf);
            return NULL;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r <= 0) {
            free(buf);
            return NULL;
        }
        len += (size_t)r;
    }
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_server_keepalive_and_auth_delay(void **st)
{
    struct srv s;
    srv_start(&s, "admin", "pw");
    int fd = dial(s.port);
    char *cred = basic("admin", "pw");
    char req[512];
    snprintf(req, sizeof req,
             "GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n\r\n", cred);
    send_all(fd, req);
    char *r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 200);
    assert_non_null(strstr(r, "\"ssh\""));
    free(r);
    /* second request on the same connection, pipelined with a third */
    char two[1024];
    snprintf(two, sizeof two, "GET /healthz HTTP/1.1\r\n\r\n%s", req);
    send_all(fd, two);
    r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 200);
    assert_string_equal(body_of(r), "");
    free(r);
    r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 200);
    free(r);
    /* a failed login costs 200 ms */
    uint64_t t0 = now_ms();
    send_all(fd, "GET /api/status HTTP/1.1\r\nAuthorization: Basic eDp5\r\n\r\n");
    r = read_response(fd);
    uint64_t dt = now_ms() - t0;
    assert_non_null(r);
    assert_int_equal(status_of(r), 401);
    assert_true(dt >= 190);
    free(r);
    close(fd);
    free(cred);
    srv_stop(&s);
}

static void test_server_put_get_stop(void **st)
{
    struct srv s;
    srv_start(&s, "", "");
    int fd = dial(s.port);
    send_all(fd, "PUT /api/config HTTP/1.1\r\nContent-Length: 11\r\n\r\nuser = \"x\"\n");
    char *r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 200);
    free(r);
    send_all(fd, "GET /api/config HTTP/1.1\r\n\r\n");
    r = read_response(fd);
    assert_non_null(r);
    assert_string_equal(body_of(r), "user = \"x\"\n");
    free(r);
    /* malformed: 400 then the server closes */
    send_all(fd, "BOGUS\r\n\r\n");
    r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 400);
    free(r);
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);

    /* stop: 200 at once, the hook ~100 ms later */
    fd = dial(s.port);
    uint64_t t0 = now_ms();
    send_all(fd, "POST /api/stop HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 200);
    free(r);
    while (atomic_load(&s.f->stops) == 0 && now_ms() - t0 < 3000)
        usleep(5000);
    assert_int_equal(atomic_load(&s.f->stops), 1);
    assert_true(now_ms() - t0 >= 90);
    close(fd);
    srv_stop(&s);
}

static void test_server_stop_closes_server(void **st)
{
    struct srv s;
    srv_start(&s, "", "");
    s.f->close_on_stop = true;
    int fd = dial(s.port);
    int idle = dial(s.port); /* an idle keep-alive connection is closed too */
    send_all(fd, "POST /api/stop HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    char *r = read_response(fd);
    assert_non_null(r);
    free(r);
    char c;
    assert_int_equal(recv(idle, &c, 1, 0), 0);
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    close(idle);
    srv_stop(&s);
    (void)st;
}

static void test_server_half_close(void **st)
{
    struct srv s;
    srv_start(&s, "", "");
    int fd = dial(s.port);
    send_all(fd, "GET /api/status HTTP/1.1\r\n\r\n");
    shutdown(fd, SHUT_WR);
    char *r = read_response(fd);
    assert_non_null(r);
    assert_int_equal(status_of(r), 200);
    free(r);
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    srv_stop(&s);
}

/* Runs a shell command; returns its stdout+stderr (caller frees) and exit status. */
static char *sh(const char *cmd, int *rc)
{
    char full[2048];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    if (buf == NULL)
        buf = calloc(1, 1);
    buf[len] = '\0';
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

static bool have(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* curl as an independent client: keep-alive reuse, auth, Expect: 100-continue. */
static void test_server_with_curl(void **st)
{
    if (!have("curl"))
        skip();
    struct srv s;
    srv_start(&s, "admin", "pw");
    char cmd[1024];
    int rc = -1;
    snprintf(cmd, sizeof cmd,
             "curl -sv --max-time 10 -u admin:pw http://127.0.0.1:%u/api/status "
             "http://127.0.0.1:%u/healthz",
             (unsigned)s.port, (unsigned)s.port);
    char *out = sh(cmd, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"remote_addr\":\"198.51.100.7:6000\""));
    assert_non_null(strcasestr(out, "re-using existing connection"));
    free(out);
    /* a large PUT makes curl send Expect: 100-continue */
    snprintf(cmd, sizeof cmd,
             "head -c 200000 /dev/zero | tr '\\0' 'x' | curl -sS --max-time 10 -u admin:pw -T - "
             "-H 'Transfer-Encoding:' -H 'Content-Length: 200000' -w '%%{http_code}' "
             "http://127.0.0.1:%u/api/config",
             (unsigned)s.port);
    out = sh(cmd, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "200");
    free(out);
    struct stat sb;
    assert_int_equal(stat(s.f->path, &sb), 0);
    assert_int_equal(sb.st_size, 200000);
    /* wrong password */
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 10 -u admin:no -w ' %%{http_code}' http://127.0.0.1:%u/api/status",
             (unsigned)s.port);
    out = sh(cmd, &rc);
    assert_string_equal(out, "Unauthorized\n 401");
    free(out);
    srv_stop(&s);
}

/* webServer.tls: HTTPS with the configured certificate and key. */
static void test_server_tls(void **st)
{
    if (!have("curl") || !have("openssl"))
        skip();
    char dir[] = "/tmp/ufrpc-admin-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[1024], cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
             "-subj /CN=localhost -keyout %s -out %s",
             key, cert);
    int rc = -1;
    char *out = sh(cmd, &rc);
    assert_int_equal(rc, 0);
    free(out);
    struct srv s;
    srv_start_tls(&s, "", "", cert, key);
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 10 --cacert %s https://localhost:%u/api/visitor/vis/config", cert,
             (unsigned)s.port);
    out = sh(cmd, &rc);
    assert_int_equal(rc, 0);
    assert_true(strncmp(out, "{\"name\":\"vis\",\"type\":\"stcp\",\"stcp\":{", 34) == 0);
    assert_null(strstr(out, "VISITORSECRET"));
    free(out);
    /* plain HTTP to the TLS port: Go's 400 answer, then close */
    snprintf(cmd, sizeof cmd,
             "curl -s --http1.1 --max-time 5 -w ' %%{http_code}' http://127.0.0.1:%u/healthz",
             (unsigned)s.port);
    out = sh(cmd, &rc);
    assert_string_equal(out, "Client sent an HTTP request to an HTTPS server.\n 400");
    free(out);
    /* a peer that connects and leaves during the first read, and one that sends junk */
    int fd = dial(s.port);
    close(fd);
    fd = dial(s.port);
    /* a handshake record holding a 1-byte ClientHello */
    const char bad_hello[] = {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, (char)0xff};
    assert_int_equal(send(fd, bad_hello, sizeof bad_hello, MSG_NOSIGNAL),
                     (ssize_t)sizeof bad_hello);
    char junk[64];
    ssize_t jr = recv(fd, junk, sizeof junk, 0);
    assert_true(jr >= 0 || errno == ECONNRESET); /* alert, close or reset; never a hang */
    close(fd);
    srv_stop(&s);
    unlink(cert);
    unlink(key);
    rmdir(dir);
    /* a bad certificate path fails at start */
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ufrpc_admin *a = NULL;
    struct ufrpc_admin_opts o = {.tls_cert_file = "/nonexistent.pem",
                                 .tls_key_file = "/nonexistent.key"};
    assert_int_equal(ufrpc_admin_start(&loop, &o, NULL, &a), UFRPC_ERR_TLS);
    assert_null(a);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_server_idle_and_conn_limit(void **st)
{
    next_idle_ms = 300;
    struct srv s;
    srv_start(&s, "", "");
    next_idle_ms = 0;
    /* an idle keep-alive connection is closed after the idle timeout */
    int fd = dial(s.port);
    send_all(fd, "GET /healthz HTTP/1.1\r\n\r\n");
    char *r = read_response(fd);
    assert_non_null(r);
    free(r);
    uint64_t t0 = now_ms();
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    uint64_t dt = now_ms() - t0;
    assert_true(dt >= 250 && dt < 3000);
    close(fd);
    /* a half-sent request too (slowloris) */
    fd = dial(s.port);
    send_all(fd, "GET /api/status HTTP/1.1\r\nX-A: ");
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    srv_stop(&s);
    /* beyond UFRPC_ADMIN_MAX_CONNS, new connections are closed at once (default idle
     * timeout, so that none expires meanwhile) */
    srv_start(&s, "", "");
    int fds[UFRPC_ADMIN_MAX_CONNS + 1];
    for (int i = 0; i < UFRPC_ADMIN_MAX_CONNS; i++) {
        fds[i] = dial(s.port);
        send_all(fds[i], "GET /healthz HTTP/1.1\r\n\r\n"); /* each answered: it is counted */
        r = read_response(fds[i]);
        assert_non_null(r);
        free(r);
    }
    fds[UFRPC_ADMIN_MAX_CONNS] = dial(s.port);
    assert_int_equal(recv(fds[UFRPC_ADMIN_MAX_CONNS], &c, 1, 0), 0);
    for (int i = 0; i <= UFRPC_ADMIN_MAX_CONNS; i++)
        close(fds[i]);
    srv_stop(&s);
}

static void test_opts_from_config(void **st)
{
    struct fake *f = fake_new();
    struct ufrpc_admin_opts o;
    assert_int_equal(ufrpc_admin_opts_from_config(f->cfg, &o), 0);
    assert_int_equal(o.port, 7400);
    assert_string_equal(o.addr, "127.0.0.1");
    assert_null(o.tls_cert_file);
    fake_free(f);
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    const char *t =
        "webServer.addr = \"0.0.0.0\"\nwebServer.port = 7500\nwebServer.user = \"u\"\n"
        "webServer.password = \"p\"\nwebServer.assetsDir = \"/ui\"\nwebServer.tls.certFile = "
        "\"/c.pem\"\nwebServer.tls.keyFile = \"/k.pem\"\n";
    assert_int_equal(ufrpc_config_load_buffer(t, strlen(t), "w.toml", NULL, &cfg, &d), 0);
    assert_int_equal(ufrpc_admin_opts_from_config(cfg, &o), 0);
    assert_string_equal(o.addr, "0.0.0.0");
    assert_int_equal(o.port, 7500);
    assert_string_equal(o.user, "u");
    assert_string_equal(o.password, "p");
    assert_string_equal(o.tls_cert_file, "/c.pem");
    assert_string_equal(o.tls_key_file, "/k.pem");
    assert_string_equal(o.assets_dir, "/ui");
    ufrpc_config_free(cfg);
    t = "serverPort = 7000\n";
    assert_int_equal(ufrpc_config_load_buffer(t, strlen(t), "w.toml", NULL, &cfg, &d), 0);
    assert_int_equal(ufrpc_admin_opts_from_config(cfg, &o), UFRPC_ERR_INVAL); /* port 0: off */
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
    /* a taken port is reported */
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct ufrpc_admin *a = NULL, *b = NULL;
    struct ufrpc_admin_opts lo = {.addr = "127.0.0.1"};
    assert_int_equal(ufrpc_admin_start(&loop, &lo, NULL, &a), 0);
    lo.port = ufrpc_admin_port(a);
    assert_int_equal(ufrpc_admin_start(&loop, &lo, NULL, &b), UFRPC_ERR_ADDR_IN_USE);
    ufrpc_admin_close(a, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int apply_ok(void *ctx, struct ufrpc_config *cfg)
{
    int *calls = ctx;
    (*calls)++;
    assert_int_equal(cfg->nproxies, 1);
    assert_string_equal(cfg->proxies[0].name, "p");
    ufrpc_config_free(cfg);
    return 0;
}

static int apply_fail(void *ctx, struct ufrpc_config *cfg)
{
    ufrpc_config_free(cfg);
    return UFRPC_ERR_ADDR_IN_USE;
}

static void test_reload_file_helper(void **st)
{
    char path[128], msg[512];
    snprintf(path, sizeof path, "/tmp/ufrpc-admin-reload-%d.toml", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("serverPort = 7000\n[[proxies]]\nname = \"p\"\ntype = \"tcp\"\nlocalPort = 1\nremotePort "
          "= 2\nbogusKey = 1\n",
          f);
    fclose(f);
    int calls = 0;
    /* strict: the unknown key is an error, with its position */
    assert_int_equal(ufrpc_admin_reload_file(path, true, apply_ok, &calls, NULL, msg, sizeof msg),
                     UFRPC_ADMIN_RELOAD_INVALID);
    assert_int_equal(calls, 0);
    assert_non_null(strstr(msg, "bogusKey"));
    assert_non_null(strstr(msg, ":7"));
    /* not strict: accepted and applied */
    assert_int_equal(ufrpc_admin_reload_file(path, false, apply_ok, &calls, NULL, msg, sizeof msg),
                     UFRPC_ADMIN_RELOAD_OK);
    assert_int_equal(calls, 1);
    assert_int_equal(ufrpc_admin_reload_file(path, false, apply_fail, NULL, NULL, msg, sizeof msg),
                     UFRPC_ADMIN_RELOAD_APPLY_FAILED);
    assert_string_equal(msg, ufrpc_strerror(UFRPC_ERR_ADDR_IN_USE));
    unlink(path);
    assert_int_equal(ufrpc_admin_reload_file(path, false, apply_ok, &calls, NULL, msg, sizeof msg),
                     UFRPC_ADMIN_RELOAD_INVALID);
    assert_true(strlen(msg) > 0);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_no_auth),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_status_json),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_config_get_put),
        cmocka_unit_test(test_config_file_job),
        cmocka_unit_test(test_definitions),
        cmocka_unit_test(test_unknown_routes),
        cmocka_unit_test(test_static_assets),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_keepalive_pipelined),
        cmocka_unit_test(test_server_keepalive_and_auth_delay),
        cmocka_unit_test(test_server_put_get_stop),
        cmocka_unit_test(test_server_stop_closes_server),
        cmocka_unit_test(test_server_half_close),
        cmocka_unit_test(test_server_with_curl),
        cmocka_unit_test(test_server_tls),
        cmocka_unit_test(test_reload_file_helper),
        cmocka_unit_test(test_server_idle_and_conn_limit),
        cmocka_unit_test(test_opts_from_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
