/* Allocation failures: every allocation of an object's life fails in turn (one
 * run per N, the Nth allocation failing, for every N the life makes), through the
 * allocator hook of proto/mem.h: a yamux session pair, config loading (TOML, JSON,
 * a file with includes) and the control session's own blocks. Each run must end without a crash, report the
 * failure as UFRPC_ERR_NOMEM where an API call had to allocate, and leave no block
 * behind (the counting allocator checks it; ASan builds check the rest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/core/control.h"
#include "config/config.h"
#include "proto/cfb.h"
#include "proto/msg.h"
#include "failmem.h"
#include "proto/error.h"
#include "proto/yamux.h"

/* ---- yamux: a client and a server session in memory ---------------------------- */

struct ypeer {
    ufrpc_yamux_session_t *s;
    ufrpc_yamux_stream_t *accepted;
    size_t rx;
    int fin;
};

static int on_open(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    if (p->accepted != NULL)
        return -1;
    p->accepted = st;
    return 0;
}

static void on_data(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, const uint8_t *d,
                    size_t n, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    (void)d;
    p->rx += n;
    ufrpc_yamux_stream_consume(st, n);
}

static void on_fin(ufrpc_yamux_session_t *s, ufrpc_yamux_stream_t *st, void *ud)
{
    struct ypeer *p = ud;
    (void)s;
    (void)st;
    p->fin = 1;
}

/* Moves a's output into b; stops at the first error either side reports. */
static int move(struct ypeer *a, struct ypeer *b, uint64_t now)
{
    for (int guard = 0; guard < 1000; guard++) {
        struct iovec iov[2];
        int n = ufrpc_yamux_pending_output(a->s, iov, 2);
        if (n <= 0)
            return 0;
        int rc = ufrpc_yamux_feed(b->s, iov[0].iov_base, iov[0].iov_len, now);
        ufrpc_yamux_output_sent(a->s, iov[0].iov_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* One life: sessions, 3 streams opened by the client (the stream table grows
 * past its first size with more), data both ways, pings, half-closes, GoAway.
 * Returns 0 when the life ran to its end, or the first error. whole: no
 * allocation fails, so every byte must arrive. */
static int yamux_life(const struct ufrpc_mem *cmem, const struct ufrpc_mem *smem, bool whole)
{
    struct ufrpc_yamux_config cc, sc;
    ufrpc_yamux_config_default(&cc);
    ufrpc_yamux_config_default(&sc);
    cc.mem = cmem;
    sc.mem = smem;
    struct ufrpc_yamux_callbacks cb = {.on_stream_open = on_open, .on_stream_data = on_data,
                                       .on_stream_fin = on_fin};
    struct ypeer c = {0}, s = {0};
    uint64_t now = 1000;
    int rc = ufrpc_yamux_session_new(&c.s, UFRPC_YAMUX_CLIENT, &cc, &cb, &c, now);
    if (rc == 0) {
        rc = ufrpc_yamux_session_new(&s.s, UFRPC_YAMUX_SERVER, &sc, &cb, &s, now);
    }
    ufrpc_yamux_stream_t *st[40] = {0};
    int nst = 0;
    static const uint8_t msg[3000] = {1};
    for (int i = 0; rc == 0 && i < 40; i++) {
        rc = ufrpc_yamux_stream_open(c.s, &st[nst]);
        if (rc == 0) {
            nst++;
            ptrdiff_t w = ufrpc_yamux_stream_write(st[nst - 1], msg, sizeof msg);
            rc = w < 0 ? (int)w : 0;
        }
        if (rc == 0)
            rc = move(&c, &s, now);
        if (rc == 0)
            rc = move(&s, &c, now);
        s.accepted = NULL; /* only the first is kept open by the test */
    }
    if (rc == 0) {
        now += 31000; /* keepalive ping and its ACK */
        rc = ufrpc_yamux_on_timeout(c.s, now);
        if (rc == 0)
            rc = move(&c, &s, now);
        if (rc == 0)
            rc = move(&s, &c, now);
    }
    for (int i = 0; rc == 0 && i < nst; i++)
        rc = ufrpc_yamux_stream_close(st[i]);
    if (rc == 0)
        rc = move(&c, &s, now);
    if (rc == 0)
        rc = ufrpc_yamux_session_goaway(c.s, 0);
    if (rc == 0)
        rc = move(&c, &s, now);
    /* with a failure absorbed (a stream refused for want of memory: RST), less
     * data arrives; the whole life must deliver everything */
    if (rc == 0 && whole && (s.rx != 40 * sizeof msg || ufrpc_yamux_session_remote_goaway(s.s) == 0))
        rc = UFRPC_ERR_STATE;
    for (int i = 0; i < nst; i++)
        ufrpc_yamux_stream_release(st[i]);
    ufrpc_yamux_session_free(c.s);
    ufrpc_yamux_session_free(s.s);
    return rc;
}

static void test_yamux_every_allocation(void **state)
{
    (void)state;
    struct failmem fm;
    /* a run without failures first: it must succeed and tell how many there are */
    failmem_init(&fm, 0);
    assert_int_equal(yamux_life(&fm.mem, &fm.mem, true), 0);
    assert_int_equal(fm.live, 0);
    long total = fm.n_allocs;
    assert_true(total >= 10);
    int nomem_seen = 0;
    for (long n = 1; n <= total; n++) {
        failmem_init(&fm, n);
        int rc = yamux_life(&fm.mem, &fm.mem, false);
        assert_true(fm.failed);
        /* a failed allocation either surfaces as NOMEM or is absorbed (the stream
         * table keeps its size); never another error, never a leak */
        if (rc != 0)
            assert_int_equal(rc, UFRPC_ERR_NOMEM);
        nomem_seen += rc == UFRPC_ERR_NOMEM;
        if (fm.live != 0)
            fail_msg("allocation %ld of %ld failed: %ld blocks leaked", n, total, fm.live);
    }
    assert_true(nomem_seen > 0);
    printf("yamux: %ld allocations, each failed once, %d surfaced as NOMEM\n", total, nomem_seen);
}

/* ---- config loading ------------------------------------------------------------ */

static const char toml_cfg[] =
    "serverAddr = \"frps.example.com\"\nserverPort = 7000\nauth.token = \"t0k\"\n"
    "user = \"alice\"\nloginFailExit = false\n"
    "transport.protocol = \"tcp\"\ntransport.poolCount = 2\n"
    "log.level = \"debug\"\nmetadatas.a = \"1\"\nmetadatas.b = \"2\"\n"
    "webServer.addr = \"127.0.0.1\"\nwebServer.port = 7400\n"
    "[[proxies]]\nname = \"ssh\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6000\n"
    "transport.useEncryption = true\n"
    "[[proxies]]\nname = \"web\"\ntype = \"http\"\nlocalPort = 80\n"
    "customDomains = [\"a.example.com\", \"b.example.com\"]\nlocations = [\"/\", \"/api\"]\n"
    "[proxies.plugin]\ntype = \"static_file\"\nlocalPath = \"/srv\"\n"
    "[[proxies]]\nname = \"web2\"\ntype = \"http\"\nlocalPort = 81\n"
    "customDomains = [\"c.example.com\"]\n"
    "[[visitors]]\nname = \"v\"\ntype = \"stcp\"\nserverName = \"ssh\"\nsecretKey = \"s\"\n"
    "bindPort = 9000\n";

static const char json_cfg[] =
    "{\"serverAddr\": \"frps.example.com\", \"serverPort\": 7000, \"auth\": {\"token\": \"t\"},"
    " \"proxies\": [{\"name\": \"a\", \"type\": \"tcp\", \"localPort\": 22, \"remotePort\": 6001},"
    " {\"name\": \"b\", \"type\": \"udp\", \"localPort\": 53, \"remotePort\": 6002}]}";

/* Loads text (or path when text is NULL) with fm; returns the load's result. The
 * config, when one is returned, is checked and freed. */
static int load_once(struct failmem *fm, const char *text, const char *name, const char *path,
                     size_t want_proxies)
{
    struct ufrpc_config_load_opts opts = {.mem = &fm->mem};
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    int rc = text != NULL ? ufrpc_config_load_buffer(text, strlen(text), name, &opts, &cfg, &diag)
                          : ufrpc_config_load(path, &opts, &cfg, &diag);
    if (rc == 0) {
        assert_non_null(cfg);
        assert_int_equal(cfg->nproxies, want_proxies);
        assert_string_equal(cfg->server_addr, "frps.example.com");
    } else {
        assert_null(cfg);
    }
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&diag);
    return rc;
}

static void config_every_allocation(const char *text, const char *name, const char *path,
                                    size_t want_proxies)
{
    struct failmem fm;
    failmem_init(&fm, 0);
    assert_int_equal(load_once(&fm, text, name, path, want_proxies), 0);
    assert_int_equal(fm.live, 0);
    long total = fm.n_allocs;
    assert_true(total >= 5);
    for (long n = 1; n <= total; n++) {
        failmem_init(&fm, n);
        int rc = load_once(&fm, text, name, path, want_proxies);
        assert_true(fm.failed);
        /* every block of a load is needed: the load must fail with NOMEM (never
         * succeed with a part missing, never report another error) and not leak */
        if (rc != UFRPC_ERR_NOMEM)
            fail_msg("%s: allocation %ld of %ld failed: load returned %d", name, n, total, rc);
        if (fm.live != 0)
            fail_msg("%s: allocation %ld of %ld failed: %ld blocks leaked", name, n, total,
                     fm.live);
    }
    printf("%s: %ld allocations, each failed once\n", name, total);
}

static void test_config_toml_every_allocation(void **state)
{
    (void)state;
    config_every_allocation(toml_cfg, "frpc.toml", NULL, 3);
}

static void test_config_json_every_allocation(void **state)
{
    (void)state;
    config_every_allocation(json_cfg, "frpc.json", NULL, 2);
}

/* From disk, with an included file: reading, the include list and the second
 * tree go through the allocator too. */
static void test_config_file_with_includes_every_allocation(void **state)
{
    (void)state;
    char dir[64], path[128], inc[128], text[512];
    snprintf(dir, sizeof dir, "/tmp/ufrpc-allocfail-%d", (int)getpid());
    mkdir(dir, 0755);
    snprintf(inc, sizeof inc, "%s/more.toml", dir);
    FILE *f = fopen(inc, "w");
    assert_non_null(f);
    fputs("[[proxies]]\nname = \"inc\"\ntype = \"tcp\"\nlocalPort = 23\nremotePort = 6100\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/frpc.toml", dir);
    snprintf(text, sizeof text,
             "serverAddr = \"frps.example.com\"\nincludes = [\"%s/more.toml\"]\n"
             "[[proxies]]\nname = \"main\"\ntype = \"tcp\"\nlocalPort = 22\nremotePort = 6000\n",
             dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    config_every_allocation(NULL, "frpc.toml+includes", path, 2);
    unlink(inc);
    unlink(path);
    rmdir(dir);
}

/* ---- the control session --------------------------------------------------------- */

static int ctl_rng(void *ctx, unsigned char *buf, size_t len)
{
    uint64_t *x = ctx;
    for (size_t i = 0; i < len; i++) {
        *x = *x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (unsigned char)(*x >> 56);
    }
    return 0;
}

static void ctl_drain(struct ufrpc_ctl *ctl)
{
    const uint8_t *d;
    size_t n;
    ufrpc_ctl_pending(ctl, &d, &n);
    ufrpc_ctl_consume(ctl, n);
}

/* Login queued, LoginResp fed, a heartbeat and a NewWorkConn message built, all
 * output taken. Returns 0 or the first error. */
static int ctl_life(const struct ufrpc_mem *mem, const struct ufrpc_config *cfg)
{
    uint64_t seed = 9;
    struct ufrpc_ctl_opts o = {.cfg = cfg, .token = "t0k", .hostname = "host", .rng = ctl_rng,
                               .rng_ctx = &seed, .mem = mem};
    assert_int_equal(ufrpc_cfb_derive_key((const uint8_t *)"t0k", 3, o.key), 0);
    struct ufrpc_ctl *ctl = NULL;
    int rc = ufrpc_ctl_new(&o, &ctl);
    if (rc != 0) {
        assert_null(ctl);
        return rc;
    }
    uint64_t now = 1000;
    rc = ufrpc_ctl_start(ctl, now);
    if (rc == 0) {
        ctl_drain(ctl);
        struct ufrpc_msg m;
        ufrpc_msg_init(&m, UFRPC_MSG_LOGIN_RESP);
        ufrpc_msg_set_str(&m.u.login_resp.version, "0.70.0");
        ufrpc_msg_set_str(&m.u.login_resp.run_id, "run-1");
        uint8_t *frame = NULL;
        size_t flen = 0;
        assert_int_equal(ufrpc_msg_encode_frame(&m, &frame, &flen), 0);
        ufrpc_msg_free(&m);
        rc = ufrpc_ctl_feed(ctl, frame, flen, now);
        free(frame);
    }
    if (rc == 0 && ufrpc_ctl_state(ctl) != UFRPC_CTL_RUNNING)
        rc = UFRPC_ERR_STATE;
    for (int i = 1; rc == 0 && i <= 2; i++) { /* within the 90 s heartbeat timeout */
        rc = ufrpc_ctl_tick(ctl, now + (uint64_t)i * 31000);
        if (rc == 0)
            ctl_drain(ctl);
    }
    if (rc == 0) {
        struct ufrpc_msg nw;
        rc = ufrpc_ctl_build_new_work_conn(ctl, &nw);
        if (rc == 0)
            ufrpc_msg_free(&nw);
    }
    ufrpc_ctl_free(ctl);
    return rc;
}

static void test_control_every_allocation(void **state)
{
    (void)state;
    struct ufrpc_config cfg = {0};
    cfg.user = "alice";
    cfg.transport.heartbeat_interval = 30;
    cfg.transport.heartbeat_timeout = 90;
    cfg.auth.token = "t0k";
    struct failmem fm;
    failmem_init(&fm, 0);
    assert_int_equal(ctl_life(&fm.mem, &cfg), 0);
    assert_int_equal(fm.live, 0);
    long total = fm.n_allocs;
    assert_true(total >= 4);
    for (long n = 1; n <= total; n++) {
        failmem_init(&fm, n);
        int rc = ctl_life(&fm.mem, &cfg);
        assert_true(fm.failed);
        if (rc != UFRPC_ERR_NOMEM)
            fail_msg("control: allocation %ld of %ld failed: returned %d", n, total, rc);
        if (fm.live != 0)
            fail_msg("control: allocation %ld of %ld failed: %ld blocks leaked", n, total,
                     fm.live);
    }
    printf("control: %ld allocations, each failed once\n", total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yamux_every_allocation),
        cmocka_unit_test(test_config_toml_every_allocation),
        cmocka_unit_test(test_config_json_every_allocation),
        cmocka_unit_test(test_config_file_with_includes_every_allocation),
        cmocka_unit_test(test_control_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
