/* libufrpc (client/lib/ufrpc.h) without a server: configuration from every format,
 * errors with their key and file:line, strictness, reloads from the file, generated
 * names, maxProxies, run-time calls on a client that cannot reach its server, thread
 * mode's stop and join. The tunnel
 * side against the test frps: tests/lib. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/lib/ufrpc.h"

static ufrpc_spec *tcp(int local, int remote, const char *name)
{
    ufrpc_spec *s = NULL;
    assert_int_equal(ufrpc_spec_new(UFRPC_PROXY, "tcp", &s), 0);
    assert_int_equal(ufrpc_spec_set_int(s, "localPort", local), 0);
    assert_int_equal(ufrpc_spec_set_int(s, "remotePort", remote), 0);
    if (name)
        assert_int_equal(ufrpc_spec_set_str(s, "name", name), 0);
    return s;
}

static void test_formats(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
    } docs[] = {
        {"a.toml", "serverPort = 7001\n[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\nlocalPort = 22\n"},
        {"a.yaml", "serverPort: 7001\nproxies:\n  - name: ssh\n    type: tcp\n    localPort: 22\n"},
        {"a.json", "{\"serverPort\": 7001, \"proxies\": [{\"name\": \"ssh\", \"type\": \"tcp\", "
                   "\"localPort\": 22}]}"},
        {"a.ini", "[common]\nserver_port = 7001\n[ssh]\ntype = tcp\nlocal_port = 22\n"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        ufrpc_client *c = NULL;
        assert_int_equal(ufrpc_client_new(&c), 0);
        assert_int_equal(ufrpc_client_load_string(c, docs[i].text, strlen(docs[i].text), docs[i].name), 0);
        int st = -1;
        assert_int_equal(ufrpc_client_state(c, UFRPC_PROXY, "ssh", &st, NULL, 0), 0);
        assert_int_equal(st, UFRPC_STATE_NEW);
        uint64_t v = 1;
        assert_int_equal(ufrpc_client_counter(c, UFRPC_PROXY, "ssh", "bytes_in", &v), 0);
        assert_int_equal(v, 0);
        /* the loaded proxy's name is taken */
        ufrpc_spec *s = tcp(22, 0, "ssh");
        assert_int_equal(ufrpc_client_add(c, s, NULL, 0), UFRPC_E_CONFIG_DUPLICATE);
        assert_non_null(strstr(ufrpc_client_last_error(c), "[ssh] already exists"));
        ufrpc_spec_free(s);
        ufrpc_client_free(c);
    }
}

static void test_errors(void **state)
{
    (void)state;
    ufrpc_client *c = NULL;
    assert_int_equal(ufrpc_client_new(&c), 0);
    const char *bad = "serverPort = 7001\n[[proxies]]\nname = \"x\"\ntype = \"tcp\"\nlocalPort = \"no\"\n";
    int rc = ufrpc_client_load_string(c, bad, strlen(bad), "bad.toml");
    assert_true(rc < 0);
    assert_non_null(strstr(ufrpc_client_last_error(c), "bad.toml:5"));
    assert_int_equal(ufrpc_client_load_file(c, "/nonexistent/frpc.toml"), UFRPC_E_CONFIG_IO);
    assert_non_null(strstr(ufrpc_client_last_error(c), "/nonexistent/frpc.toml"));
    /* bad specs: named key, unknown key, unknown type, bad JSON */
    ufrpc_spec *s = tcp(22, 0, NULL);
    assert_int_equal(ufrpc_spec_set_int(s, "localPort", 70000), 0);
    assert_true(ufrpc_client_add(c, s, NULL, 0) < 0);
    assert_non_null(strstr(ufrpc_client_last_error(c), "localPort"));
    ufrpc_spec_free(s);
    s = tcp(22, 0, NULL);
    assert_int_equal(ufrpc_spec_set_str(s, "noSuchKey", "x"), 0);
    assert_int_equal(ufrpc_client_add(c, s, NULL, 0), UFRPC_E_CONFIG_UNKNOWN_KEY);
    assert_non_null(strstr(ufrpc_client_last_error(c), "noSuchKey"));
    assert_int_equal(ufrpc_spec_set_json(s, "metadatas", "{bad"), -23 /* malformed JSON */);
    assert_int_equal(ufrpc_spec_set_str(s, "a..b", "x"), UFRPC_E_INVAL);
    assert_int_equal(ufrpc_spec_set_str(s, "localPort.x", "x"), UFRPC_E_INVAL); /* not a table */
    ufrpc_spec_free(s);
    assert_int_equal(ufrpc_spec_new(UFRPC_PROXY, "", &s), UFRPC_E_INVAL);
    assert_int_equal(ufrpc_spec_new(7, "tcp", &s), UFRPC_E_INVAL);
    assert_int_equal(ufrpc_client_set_str(c, "proxies", "x"), UFRPC_E_INVAL);
    assert_int_equal(ufrpc_client_remove(c, UFRPC_PROXY, "none"), UFRPC_E_NOT_FOUND);
    s = tcp(22, 0, "none");
    assert_int_equal(ufrpc_client_update(c, s), UFRPC_E_NOT_FOUND);
    ufrpc_spec_free(s);
    assert_int_equal(ufrpc_client_stop(c, NULL, NULL), UFRPC_E_STATE);
    assert_string_equal(ufrpc_strerror(UFRPC_E_LIMIT), "size limit exceeded");
    assert_string_equal(ufrpc_state_name(UFRPC_STATE_CHECK_FAILED), "check failed");
    assert_string_equal(ufrpc_state_name(42), "unknown");
    ufrpc_client_free(c);
}

static void test_names_and_limit(void **state)
{
    (void)state;
    ufrpc_client *c = NULL;
    assert_int_equal(ufrpc_client_new(&c), 0);
    assert_int_equal(ufrpc_client_set_name_prefix(c, UFRPC_PROXY, "t"), 0);
    ufrpc_spec *s = tcp(22, 0, "t-2"); /* taken: the generator skips it */
    assert_int_equal(ufrpc_client_add(c, s, NULL, 0), 0);
    ufrpc_spec_free(s);
    char name[8];
    s = tcp(22, 0, NULL);
    assert_int_equal(ufrpc_client_add(c, s, name, sizeof name), 0);
    assert_string_equal(name, "t-1");
    assert_int_equal(ufrpc_client_add(c, s, name, sizeof name), 0);
    assert_string_equal(name, "t-3");
    assert_int_equal(ufrpc_client_set_max_proxies(c, 2), UFRPC_E_LIMIT); /* 3 already */
    assert_int_equal(ufrpc_client_set_max_proxies(c, 4), 0);
    assert_int_equal(ufrpc_client_add(c, s, name, sizeof name), 0);
    assert_string_equal(name, "t-4");
    assert_int_equal(ufrpc_client_add(c, s, name, sizeof name), UFRPC_E_LIMIT);
    assert_non_null(strstr(ufrpc_client_last_error(c), "maxProxies (4) reached: cannot add proxy [t-5]"));
    assert_int_equal(ufrpc_client_remove(c, UFRPC_PROXY, "t-2"), 0);
    assert_int_equal(ufrpc_client_add(c, s, name, sizeof name), 0); /* room again */
    ufrpc_spec_free(s);
    ufrpc_client_free(c);
}

struct closed {
    int n, status;
    char msg[512];
};

static void on_closed(ufrpc_client *c, int status, const char *msg, void *data)
{
    (void)c;
    struct closed *cl = data;
    cl->n++;
    cl->status = status;
    snprintf(cl->msg, sizeof cl->msg, "%s", msg ? msg : "");
}

/* frpc's default loginFailExit = true: a refused first login stops the client, and
 * the close callback says why. */
static void test_login_fail_exit(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    ufrpc_client *c = NULL;
    assert_int_equal(ufrpc_client_new(&c), 0);
    assert_int_equal(ufrpc_client_set_int(c, "serverPort", 1), 0);
    assert_int_equal(ufrpc_client_set_str(c, "log.level", "error"), 0);
    struct closed cl = {0, 0, ""};
    assert_int_equal(ufrpc_client_on_close(c, on_closed, &cl), 0);
    assert_int_equal(ufrpc_client_start(c, &loop), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(cl.n, 1);
    assert_int_equal(cl.status, UFRPC_E_LOGIN);
    assert_non_null(strstr(cl.msg, "login to the server failed"));
    assert_int_equal(ufrpc_client_add(c, NULL, NULL, 0), UFRPC_E_INVAL);
    ufrpc_client_free(c);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* A client whose server does not answer: it keeps retrying; every call still works
 * and a stop ends it. Loop mode, then thread mode. */
static void test_unreachable(void **state)
{
    (void)state;
    for (int threaded = 0; threaded < 2; threaded++) {
        uv_loop_t loop;
        assert_int_equal(uv_loop_init(&loop), 0);
        ufrpc_client *c = NULL;
        assert_int_equal(ufrpc_client_new(&c), 0);
        assert_int_equal(ufrpc_client_set_int(c, "serverPort", 1), 0); /* refused */
        assert_int_equal(ufrpc_client_set_bool(c, "loginFailExit", 0), 0); /* keeps trying */
        assert_int_equal(ufrpc_client_set_str(c, "log.level", "error"), 0);
        ufrpc_spec *s = tcp(22, 6000, NULL);
        assert_int_equal(ufrpc_client_add(c, s, NULL, 0), 0);
        struct closed cl = {0, 1, ""};
        assert_int_equal(ufrpc_client_on_close(c, on_closed, &cl), 0);
        assert_int_equal(threaded ? ufrpc_client_start_thread(c) : ufrpc_client_start(c, &loop), 0);
        assert_int_equal(ufrpc_client_start(c, &loop), UFRPC_E_STATE);
        assert_int_equal(ufrpc_client_set_str(c, "serverAddr", "x"), UFRPC_E_STATE);
        /* run-time changes while not logged in: applied for the next login */
        assert_int_equal(ufrpc_client_add(c, s, NULL, 0), 0);
        assert_int_equal(ufrpc_client_remove(c, UFRPC_PROXY, "proxy-1"), 0);
        int st = -1;
        assert_int_equal(ufrpc_client_state(c, UFRPC_PROXY, "proxy-2", &st, NULL, 0), 0);
        assert_int_equal(st, UFRPC_STATE_NEW);
        ufrpc_spec_free(s);
        assert_int_equal(ufrpc_client_stop(c, NULL, NULL), 0);
        assert_int_equal(ufrpc_client_stop(c, NULL, NULL), UFRPC_E_STATE);
        if (!threaded) {
            uv_run(&loop, UV_RUN_DEFAULT);
            assert_int_equal(cl.n, 1);
        }
        ufrpc_client_free(c); /* thread mode: joins the client's thread */
        assert_int_equal(cl.n, 1);
        assert_int_equal(cl.status, 0);
        assert_int_equal(uv_loop_close(&loop), 0);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int has(ufrpc_client *c, const char *name)
{
    int st = -1;
    return ufrpc_client_state(c, UFRPC_PROXY, name, &st, NULL, 0) == 0;
}

#define CONF(name, extra)                                                                \
    "serverPort = 1\nloginFailExit = false\nlog.level = \"error\"\n" extra              \
    "[[proxies]]\nname = \"" name "\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6000\n"

/* ufrpc_client_set_strict and ufrpc_client_reload: the file is read again, before
 * start and while running; a bad file changes nothing; code-added tunnels not in
 * the file go; a text is kept for its reloads. */
static void test_strict_and_reload(void **state)
{
    (void)state;
    char path[] = "/tmp/test_libufrpc_XXXXXX.toml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    ufrpc_client *c = NULL;
    assert_int_equal(ufrpc_client_new(&c), 0);
    assert_int_equal(ufrpc_client_reload(c), UFRPC_E_STATE); /* nothing loaded */
    write_file(path, CONF("a", "noSuchKey = 1\n"));
    assert_int_equal(ufrpc_client_load_file(c, path), UFRPC_E_CONFIG_UNKNOWN_KEY);
    assert_non_null(strstr(ufrpc_client_last_error(c), "noSuchKey"));
    assert_int_equal(ufrpc_client_set_strict(c, 0), 0);
    assert_int_equal(ufrpc_client_load_file(c, path), 0); /* a warning only */
    assert_true(has(c, "a"));
    write_file(path, CONF("b", ""));
    assert_int_equal(ufrpc_client_reload(c), 0); /* before start */
    assert_true(has(c, "b") && !has(c, "a"));
    write_file(path, "serverPort = \"x\"\n");
    assert_true(ufrpc_client_reload(c) < 0);
    assert_non_null(strstr(ufrpc_client_last_error(c), ":1"));
    assert_true(has(c, "b")); /* unchanged */

    write_file(path, CONF("b", ""));
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct closed cl = {0, 1, ""};
    assert_int_equal(ufrpc_client_on_close(c, on_closed, &cl), 0);
    assert_int_equal(ufrpc_client_start(c, &loop), 0);
    assert_int_equal(ufrpc_client_set_strict(c, 1), UFRPC_E_STATE);
    ufrpc_spec *s = tcp(22, 6001, "code");
    assert_int_equal(ufrpc_client_add(c, s, NULL, 0), 0);
    ufrpc_spec_free(s);
    write_file(path, CONF("c", ""));
    assert_int_equal(ufrpc_client_reload(c), 0); /* running: the reload diff */
    assert_true(has(c, "c") && !has(c, "b") && !has(c, "code"));
    write_file(path, "[[proxies]]\nname = 1\n");
    assert_true(ufrpc_client_reload(c) < 0);
    assert_true(has(c, "c"));
    assert_int_equal(ufrpc_client_stop(c, NULL, NULL), 0);
    assert_int_equal(ufrpc_client_reload(c), UFRPC_E_STATE); /* stopping */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(cl.n, 1);
    assert_int_equal(cl.status, 0);
    ufrpc_client_free(c);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* a text: reloaded as it was given (the caller's copy may go) */
    char *text = strdup(CONF("t", ""));
    assert_non_null(text);
    assert_int_equal(ufrpc_client_new(&c), 0);
    assert_int_equal(ufrpc_client_load_string(c, text, strlen(text), "q.toml"), 0);
    memset(text, ' ', strlen(text));
    free(text);
    assert_int_equal(ufrpc_client_reload(c), 0);
    assert_true(has(c, "t"));
    ufrpc_client_free(c);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_names_and_limit),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_login_fail_exit),
        cmocka_unit_test(test_strict_and_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
