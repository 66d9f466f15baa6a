/* Fuzz target: the control session state machine (client/core/control.c) against a hostile
 * frps. Input byte 0 picks the phase:
 *   even: the rest is fed as the server's plaintext bytes before LoginResp;
 *   odd:  a valid LoginResp is fed first, then the rest is encrypted with the
 *         server's AES-128-CFB writer (so it reaches the decoder as plaintext frames:
 *         NewProxyResp, Pong, ReqWorkConn, junk).
 * Bytes are fed in chunks whose sizes come from the input, timers are ticked in
 * between, and every bit of client output is taken. Invariants: feed/tick never crash,
 * report errors only with the control closed, output stays bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/control.h"
#include "proto/cfb.h"
#include "proto/error.h"
#include "proto/msg.h"

static int rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    return 0;
}

static int64_t unix_now(void *ctx)
{
    (void)ctx;
    return 1700000000;
}

static void on_req(void *ctx)
{
    (*(int *)ctx)++;
}

static void drain(struct ufrpc_ctl *ctl)
{
    const uint8_t *p;
    size_t n;
    ufrpc_ctl_pending(ctl, &p, &n);
    if (n > UFRPC_CTL_MAX_OUTPUT)
        abort();
    ufrpc_ctl_consume(ctl, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static uint8_t key[UFRPC_CFB_KEY_LEN];
    static int have_key;
    if (!have_key) {
        if (ufrpc_cfb_derive_key((const uint8_t *)"fuzz", 4, key) != 0)
            abort();
        have_key = 1;
    }
    struct ufrpc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    struct ufrpc_proxy_config px;
    memset(&px, 0, sizeof px);
    px.name = "echo";
    px.type = UFRPC_PROXY_TCP;
    px.remote_port = 6000;
    cfg.proxies = &px;
    cfg.nproxies = 1;
    cfg.user = "u";
    cfg.transport.pool_count = 1;
    cfg.transport.heartbeat_interval = 1;
    cfg.transport.heartbeat_timeout = 5;

    struct ufrpc_registry *reg = NULL;
    if (ufrpc_registry_new(cfg.user, NULL, NULL, &reg) != 0)
        return 0;
    ufrpc_registry_add(reg, UFRPC_TUNNEL_PROXY, "echo", "tcp", &px, 0, NULL);
    int reqs = 0;
    struct ufrpc_ctl_opts o;
    memset(&o, 0, sizeof o);
    o.cfg = &cfg;
    o.reg = reg;
    o.token = "fuzz";
    memcpy(o.key, key, sizeof key);
    o.hostname = "h";
    o.rng = rng;
    o.unix_now = unix_now;
    o.cb.on_req_work_conn = on_req;
    o.cb_ctx = &reqs;
    struct ufrpc_ctl *ctl = NULL;
    if (ufrpc_ctl_new(&o, &ctl) != 0) {
        ufrpc_registry_free(reg);
        return 0;
    }
    uint64_t now = 0;
    ufrpc_ctl_start(ctl, now);
    drain(ctl);

    int encrypted = data[0] & 1;
    data++, size--;
    uint8_t *buf = malloc(size + 16);
    size_t len = size;
    if (!buf)
        goto out;
    if (encrypted) {
        static const char resp[] = "{\"version\":\"0.70.1\",\"run_id\":\"fuzzrun\"}";
        struct ufrpc_msg m;
        uint8_t *f = NULL;
        size_t flen = 0;
        if (ufrpc_msg_decode(UFRPC_MSG_LOGIN_RESP, resp, sizeof resp - 1, &m) == 0) {
            if (ufrpc_msg_encode_frame(&m, &f, &flen) == 0) {
                ufrpc_ctl_feed(ctl, f, flen, now);
                free(f);
            }
            ufrpc_msg_free(&m);
        }
        drain(ctl);
        ufrpc_cfb_writer_t w;
        static const uint8_t iv[16] = {1, 2, 3};
        if (ufrpc_cfb_writer_init(&w, key, iv) != 0)
            goto out;
        if (ufrpc_cfb_writer_write(&w, data, size, buf, size + 16, &len) != 0)
            len = 0;
        ufrpc_cfb_writer_free(&w);
    } else {
        memcpy(buf, data, size);
    }
    size_t off = 0;
    unsigned step = 0;
    while (off < len && ufrpc_ctl_state(ctl) != UFRPC_CTL_CLOSED) {
        size_t chunk = 1 + (buf[off] % 64u) + (step++ % 3 ? 0 : 200);
        if (chunk > len - off)
            chunk = len - off;
        int rc = ufrpc_ctl_feed(ctl, buf + off, chunk, now);
        if (rc < 0 && ufrpc_ctl_state(ctl) != UFRPC_CTL_CLOSED)
            abort();
        off += chunk;
        drain(ctl);
        now += 700;
        rc = ufrpc_ctl_tick(ctl, now);
        if (rc < 0 && ufrpc_ctl_state(ctl) != UFRPC_CTL_CLOSED)
            abort();
        drain(ctl);
    }
out:
    free(buf);
    ufrpc_ctl_free(ctl);
    ufrpc_registry_free(reg);
    return 0;
}
