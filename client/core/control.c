/* The control session state machine: Login, encrypted control, NewProxy, Ping, ReqWorkConn. */
#include "client/core/control.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/core/proxy_msg.h"
#include "client/core/version.h"
#include "proto/auth.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/v2chan.h"
#include "proto/v2hello.h"
#include "proto/wire.h"

#include <mbedtls/platform_util.h>

#define SCRATCH 4096

struct ufrpc_ctl {
    const struct ufrpc_config *cfg;
    struct ufrpc_registry *reg;
    struct ufrpc_log *log;
    char *token;
    char *oidc_token; /* auth.method oidc: the privilege key as is (NULL: token's MD5) */
    uint8_t key[UFRPC_CFB_KEY_LEN];
    char *hostname;
    const char *arch;
    char *prev_run_id;
    ufrpc_rng_fn rng;
    void *rng_ctx;
    int64_t (*unix_now)(void *ctx);
    void *clock_ctx;
    struct ufrpc_ctl_callbacks cb;
    void *cb_ctx;

    enum ufrpc_ctl_state state;
    char run_id[128];
    char err[512];
    int err_code;

    int scope_heartbeats, scope_new_work_conns;
    int64_t hb_interval_ms, hb_timeout_ms;
    uint64_t login_deadline;
    uint64_t next_ping;
    uint64_t last_pong;
    uint64_t ping_sent; /* when the unanswered Ping went out */
    int ping_outstanding;

    int crypto; /* reader/writer initialised */
    ufrpc_cfb_reader_t rd;
    ufrpc_cfb_writer_t wr;
    struct ufrpc_frame_decoder dec;

    /* wire protocol v2: the handshake until LoginResp, then the AEAD channel */
    int v2;
    struct ufrpc_v2hs *hs;
    struct ufrpc_v2chan *ch;

    uint8_t *out;
    size_t out_off, out_len, out_cap;
    const struct ufrpc_mem *mem; /* the control's own blocks (opts->mem or libc's) */
};

const char *ufrpc_ctl_build_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
    return "ppc64le";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#elif defined(__loongarch64)
    return "loong64";
#elif defined(__mips64) && defined(__MIPSEL__)
    return "mips64le";
#elif defined(__mips64)
    return "mips64";
#elif defined(__mips__) && defined(__MIPSEL__)
    return "mipsle";
#elif defined(__mips__)
    return "mips";
#else
    return "unknown";
#endif
}

static int64_t default_unix_now(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static int has_scope(const struct ufrpc_config *cfg, const char *scope)
{
    if (!cfg)
        return 0;
    for (size_t i = 0; i < cfg->auth.additional_scopes.len; i++)
        if (strcmp(ufrpc_cfg_str(cfg->auth.additional_scopes.items[i]), scope) == 0)
            return 1;
    return 0;
}

static char *dup_or_empty(const struct ufrpc_mem *mem, const char *s)
{
    return ufrpc_mem_strdup(mem, s ? s : "");
}

int ufrpc_ctl_new(const struct ufrpc_ctl_opts *opts, struct ufrpc_ctl **out)
{
    if (!opts || !out || !opts->cfg || !opts->rng)
        return UFRPC_ERR_INVAL;
    *out = NULL;
    const struct ufrpc_mem *mem = ufrpc_mem_or_default(opts->mem);
    struct ufrpc_ctl *ctl = ufrpc_mem_calloc(mem, 1, sizeof *ctl);
    if (!ctl)
        return UFRPC_ERR_NOMEM;
    ctl->mem = mem;
    ctl->cfg = opts->cfg;
    ctl->reg = opts->reg;
    ctl->log = opts->log;
    ctl->token = dup_or_empty(mem, opts->token);
    ctl->hostname = dup_or_empty(mem, opts->hostname);
    ctl->prev_run_id = dup_or_empty(mem, opts->prev_run_id);
    if (!ctl->token || !ctl->hostname || !ctl->prev_run_id) {
        ufrpc_ctl_free(ctl);
        return UFRPC_ERR_NOMEM;
    }
    memcpy(ctl->key, opts->key, sizeof ctl->key);
    ctl->arch = opts->arch ? opts->arch : ufrpc_ctl_build_arch();
    ctl->rng = opts->rng;
    ctl->rng_ctx = opts->rng_ctx;
    ctl->unix_now = opts->unix_now ? opts->unix_now : default_unix_now;
    ctl->clock_ctx = opts->clock_ctx;
    ctl->cb = opts->cb;
    ctl->cb_ctx = opts->cb_ctx;
    ctl->scope_heartbeats = has_scope(opts->cfg, "HeartBeats");
    ctl->scope_new_work_conns = has_scope(opts->cfg, "NewWorkConns");
    ctl->hb_interval_ms = opts->cfg->transport.heartbeat_interval * 1000;
    ctl->hb_timeout_ms = opts->cfg->transport.heartbeat_timeout * 1000;
    enum ufrpc_wire_version ver = UFRPC_WIRE_V1;
    if (ufrpc_wire_parse(opts->cfg->transport.wire_protocol, &ver) != 0) {
        ufrpc_ctl_free(ctl);
        return UFRPC_ERR_INVAL;
    }
    ctl->v2 = ver == UFRPC_WIRE_V2;
    ufrpc_frame_decoder_init(&ctl->dec);
    *out = ctl;
    return 0;
}

void ufrpc_ctl_free(struct ufrpc_ctl *ctl)
{
    if (!ctl)
        return;
    if (ctl->crypto) {
        ufrpc_cfb_reader_free(&ctl->rd);
        ufrpc_cfb_writer_free(&ctl->wr);
    }
    ufrpc_v2hs_free(ctl->hs);
    ufrpc_v2chan_free(ctl->ch);
    ufrpc_ctl_set_oidc_token(ctl, NULL);
    if (ctl->token) {
        mbedtls_platform_zeroize(ctl->token, strlen(ctl->token));
        ufrpc_mem_free(ctl->mem, ctl->token);
    }
    mbedtls_platform_zeroize(ctl->key, sizeof ctl->key);
    ufrpc_mem_free(ctl->mem, ctl->hostname);
    ufrpc_mem_free(ctl->mem, ctl->prev_run_id);
    ufrpc_mem_free(ctl->mem, ctl->out);
    ufrpc_mem_free(ctl->mem, ctl);
}

/* Marks the control closed with a code and a text (the first failure wins). */
static int fail(struct ufrpc_ctl *ctl, int code, const char *text)
{
    if (ctl->state != UFRPC_CTL_CLOSED) {
        ctl->state = UFRPC_CTL_CLOSED;
        ctl->err_code = code;
        snprintf(ctl->err, sizeof ctl->err, "%s", text && text[0] ? text : ufrpc_strerror(code));
    }
    return ctl->err_code;
}

/* Reserves n bytes at the end of the output buffer. */
static uint8_t *out_reserve(struct ufrpc_ctl *ctl, size_t n)
{
    if (ctl->out_off > 0 && ctl->out_off == ctl->out_len)
        ctl->out_off = ctl->out_len = 0;
    if (ctl->out_len - ctl->out_off + n > UFRPC_CTL_MAX_OUTPUT)
        return NULL;
    if (ctl->out_len + n > ctl->out_cap && ctl->out_off > 0) {
        memmove(ctl->out, ctl->out + ctl->out_off, ctl->out_len - ctl->out_off);
        ctl->out_len -= ctl->out_off;
        ctl->out_off = 0;
    }
    if (ctl->out_len + n > ctl->out_cap) {
        size_t ncap = ctl->out_cap ? ctl->out_cap : 1024;
        while (ncap < ctl->out_len + n)
            ncap *= 2;
        uint8_t *p = ufrpc_mem_realloc(ctl->mem, ctl->out, ncap);
        if (!p)
            return NULL;
        ctl->out = p;
        ctl->out_cap = ncap;
    }
    return ctl->out + ctl->out_len;
}

/* Queues a message: plaintext before LoginResp, CFB-encrypted after. */
/* Appends n bytes to the output. */
static int out_append(struct ufrpc_ctl *ctl, const uint8_t *p, size_t n)
{
    uint8_t *dst = out_reserve(ctl, n);
    if (!dst)
        return ctl->out_len - ctl->out_off + n > UFRPC_CTL_MAX_OUTPUT ? UFRPC_ERR_LIMIT
                                                                     : UFRPC_ERR_NOMEM;
    memcpy(dst, p, n);
    ctl->out_len += n;
    return 0;
}

/* Queues a message: plaintext before LoginResp, CFB-encrypted after (v1); v2: on
 * the AEAD channel (only exists after LoginResp). */
static int queue_msg(struct ufrpc_ctl *ctl, const struct ufrpc_msg *m)
{
    uint8_t *frame = NULL;
    size_t flen = 0;
    if (ctl->v2) {
        if (!ctl->ch)
            return UFRPC_ERR_STATE;
        int rc = ufrpc_v2chan_encode(ctl->ch, m, &frame, &flen);
        if (rc)
            return rc;
        rc = out_append(ctl, frame, flen);
        free(frame);
        if (!rc)
            UFRPC_LOGT(ctl->log, "send %s message (%zu bytes encrypted)",
                       ufrpc_frame_type_name(m->type), flen);
        return rc;
    }
    int rc = ufrpc_msg_encode_frame(m, &frame, &flen);
    if (rc)
        return rc;
    size_t need = ctl->crypto ? ufrpc_cfb_writer_bound(&ctl->wr, flen) : flen;
    uint8_t *dst = out_reserve(ctl, need);
    if (!dst) {
        free(frame);
        return ctl->out_len - ctl->out_off + need > UFRPC_CTL_MAX_OUTPUT ? UFRPC_ERR_LIMIT
                                                                        : UFRPC_ERR_NOMEM;
    }
    size_t wrote = flen;
    if (ctl->crypto)
        rc = ufrpc_cfb_writer_write(&ctl->wr, frame, flen, dst, need, &wrote);
    else
        memcpy(dst, frame, flen);
    free(frame);
    if (rc)
        return rc;
    ctl->out_len += wrote;
    UFRPC_LOGT(ctl->log, "send %s message (%zu bytes)", ufrpc_frame_type_name(m->type), flen);
    return 0;
}

void ufrpc_ctl_pending(const struct ufrpc_ctl *ctl, const uint8_t **data, size_t *len)
{
    *data = ctl->out ? ctl->out + ctl->out_off : NULL;
    *len = ctl->out_len - ctl->out_off;
}

void ufrpc_ctl_consume(struct ufrpc_ctl *ctl, size_t n)
{
    size_t have = ctl->out_len - ctl->out_off;
    ctl->out_off += n < have ? n : have;
    if (ctl->out_off == ctl->out_len)
        ctl->out_off = ctl->out_len = 0;
}

/* v2: magic + ClientHello + Login, written at once (frpc does not wait for the
 * ServerHello). The login deadline covers ServerHello and LoginResp together. */
static int start_v2(struct ufrpc_ctl *ctl, const struct ufrpc_msg *login)
{
    const struct ufrpc_config *cfg = ctl->cfg;
    const char *proto = ufrpc_cfg_str(cfg->transport.protocol);
    struct ufrpc_v2hs_opts o = {
        .bootstrap = {.transport = proto[0] ? proto : "tcp",
                      .tls = cfg->transport.tls.enable || strcmp(proto, "wss") == 0 ||
                             strcmp(proto, "quic") == 0,
                      .tcp_mux = cfg->transport.tcp_mux},
        .algs = NULL,
        .rng = ctl->rng,
        .rng_ctx = ctl->rng_ctx,
        .token = (const uint8_t *)ctl->token,
        .token_len = strlen(ctl->token),
        .login = login,
    };
    int rc = ufrpc_v2hs_new(&o, &ctl->hs);
    if (rc)
        return rc;
    const uint8_t *p = NULL;
    size_t n = 0;
    ufrpc_v2hs_output(ctl->hs, &p, &n);
    rc = out_append(ctl, p, n);
    if (!rc)
        UFRPC_LOGT(ctl->log, "send wire v2 ClientHello and Login (%zu bytes)", n);
    return rc;
}

/* privilege_key of Login, Ping and NewWorkConn: the OIDC token as is, or frp's
 * MD5(token + timestamp). */
static int set_privilege(struct ufrpc_ctl *ctl, int64_t ts, char **field)
{
    if (ctl->oidc_token != NULL)
        return ufrpc_msg_set_str(field, ctl->oidc_token);
    char key[UFRPC_AUTH_KEY_LEN + 1];
    int rc = ufrpc_auth_key_str(ctl->token, ts, key);
    if (!rc)
        rc = ufrpc_msg_set_str(field, key);
    memset(key, 0, sizeof key);
    return rc;
}

int ufrpc_ctl_set_oidc_token(struct ufrpc_ctl *ctl, const char *token)
{
    char *t = NULL;
    if (token != NULL && (t = strdup(token)) == NULL)
        return UFRPC_ERR_NOMEM;
    if (ctl->oidc_token != NULL) {
        memset(ctl->oidc_token, 0, strlen(ctl->oidc_token));
        free(ctl->oidc_token);
    }
    ctl->oidc_token = t;
    return 0;
}

int ufrpc_ctl_start(struct ufrpc_ctl *ctl, uint64_t now_ms)
{
    if (!ctl || ctl->state != UFRPC_CTL_IDLE)
        return UFRPC_ERR_STATE;
    const struct ufrpc_config *cfg = ctl->cfg;
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_LOGIN);
    struct ufrpc_msg_login *l = &m.u.login;
    int64_t ts = ctl->unix_now(ctl->clock_ctx);
    int rc = set_privilege(ctl, ts, &l->privilege_key);
    if (!rc)
        rc = ufrpc_msg_set_str(&l->version, UFRPC_FRP_VERSION);
    if (!rc && ctl->hostname[0])
        rc = ufrpc_msg_set_str(&l->hostname, ctl->hostname);
    if (!rc)
        rc = ufrpc_msg_set_str(&l->os, "linux");
    if (!rc)
        rc = ufrpc_msg_set_str(&l->arch, ctl->arch);
    if (!rc && cfg->user && cfg->user[0])
        rc = ufrpc_msg_set_str(&l->user, cfg->user);
    l->timestamp = ts;
    if (!rc && ctl->prev_run_id[0])
        rc = ufrpc_msg_set_str(&l->run_id, ctl->prev_run_id);
    if (!rc && cfg->client_id && cfg->client_id[0])
        rc = ufrpc_msg_set_str(&l->client_id, cfg->client_id);
    for (size_t i = 0; !rc && i < cfg->metadatas.len; i++)
        rc = ufrpc_map_set(&l->metas, ufrpc_cfg_str(cfg->metadatas.items[i].key),
                           ufrpc_cfg_str(cfg->metadatas.items[i].value));
    l->pool_count = cfg->transport.pool_count;
    if (!rc && ctl->v2)
        rc = start_v2(ctl, &m);
    else if (!rc)
        rc = queue_msg(ctl, &m);
    if (l->privilege_key != NULL) /* a secret: wiped before the message is freed */
        memset(l->privilege_key, 0, strlen(l->privilege_key));
    ufrpc_msg_free(&m);
    if (rc)
        return fail(ctl, rc, "cannot build the Login message");
    ctl->state = UFRPC_CTL_LOGIN_SENT;
    ctl->login_deadline = now_ms + UFRPC_CTL_LOGIN_TIMEOUT_MS;
    return 0;
}

static int send_ping(struct ufrpc_ctl *ctl)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_PING);
    int rc = 0;
    if (ctl->scope_heartbeats) {
        int64_t ts = ctl->unix_now(ctl->clock_ctx);
        rc = set_privilege(ctl, ts, &m.u.ping.privilege_key);
        m.u.ping.timestamp = ts;
    }
    UFRPC_LOGD(ctl->log, "send heartbeat to server");
    if (!rc)
        rc = queue_msg(ctl, &m);
    ufrpc_msg_free(&m);
    return rc;
}

/* Registry callbacks: NewProxy / CloseProxy on the control. Failures are recorded
 * in the control's error and surface from the calling function. */
static void send_new_proxy(void *vctl, struct ufrpc_tunnel *t)
{
    struct ufrpc_ctl *ctl = vctl;
    if (!t->cfg || ctl->state != UFRPC_CTL_RUNNING)
        return;
    struct ufrpc_msg m;
    int rc = ufrpc_proxy_msg_new_proxy(t->cfg, t->wire_name, &m);
    if (!rc) {
        rc = queue_msg(ctl, &m);
        ufrpc_msg_free(&m);
    }
    if (rc)
        fail(ctl, rc, "cannot send NewProxy");
}

static void send_close_proxy(void *vctl, struct ufrpc_tunnel *t)
{
    struct ufrpc_ctl *ctl = vctl;
    if (ctl->state != UFRPC_CTL_RUNNING)
        return;
    struct ufrpc_msg m;
    int rc = ufrpc_proxy_msg_close_proxy(t->wire_name, &m);
    if (!rc) {
        rc = queue_msg(ctl, &m);
        ufrpc_msg_free(&m);
    }
    if (rc)
        fail(ctl, rc, "cannot send CloseProxy");
}

static int check_proxies(struct ufrpc_ctl *ctl, uint64_t now_ms)
{
    if (ctl->reg)
        ufrpc_registry_check(ctl->reg, now_ms, send_new_proxy, send_close_proxy, ctl);
    return ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
}

static int handle_login_resp(struct ufrpc_ctl *ctl, const struct ufrpc_frame *f, uint64_t now_ms)
{
    struct ufrpc_msg m;
    int rc = ufrpc_msg_decode(UFRPC_MSG_LOGIN_RESP, f->body, f->body_len, &m);
    if (rc)
        return fail(ctl, rc, "malformed LoginResp");
    const struct ufrpc_msg_login_resp *r = &m.u.login_resp;
    if (r->error && r->error[0]) {
        fail(ctl, UFRPC_ERR_LOGIN, r->error);
        ufrpc_msg_free(&m);
        return UFRPC_ERR_LOGIN;
    }
    snprintf(ctl->run_id, sizeof ctl->run_id, "%s", ufrpc_cfg_str(r->run_id));
    ufrpc_msg_free(&m);

    if (ctl->v2) {
        ufrpc_aead_alg_t alg;
        uint8_t kc[UFRPC_AEAD_KEY_LEN], ks[UFRPC_AEAD_KEY_LEN];
        rc = ufrpc_v2hs_keys(ctl->hs, &alg, NULL, kc, ks);
        if (!rc) {
            struct ufrpc_v2chan_opts co = {.alg = alg, .write_key = kc, .read_key = ks,
                                           .write_nonce = NULL, .rng = ctl->rng,
                                           .rng_ctx = ctl->rng_ctx};
            rc = ufrpc_v2chan_new(&co, &ctl->ch);
        }
        mbedtls_platform_zeroize(kc, sizeof kc);
        mbedtls_platform_zeroize(ks, sizeof ks);
        if (rc)
            return fail(ctl, rc, "cannot set up control encryption");
    } else {
        rc = ufrpc_cfb_reader_init(&ctl->rd, ctl->key);
        if (rc)
            return fail(ctl, rc, "cannot set up control encryption");
        rc = ufrpc_cfb_writer_init_rng(&ctl->wr, ctl->key, ctl->rng, ctl->rng_ctx);
        if (rc) {
            ufrpc_cfb_reader_free(&ctl->rd);
            return fail(ctl, rc, "cannot set up control encryption");
        }
        ctl->crypto = 1;
    }
    ctl->state = UFRPC_CTL_RUNNING;
    ctl->last_pong = now_ms;
    ufrpc_frame_decoder_reset(&ctl->dec);
    if (ctl->cb.on_login)
        ctl->cb.on_login(ctl->cb_ctx, ctl->run_id);
    if (ctl->state != UFRPC_CTL_RUNNING)
        return ctl->err_code;

    /* frpc: proxies are started (NewProxy) and the heartbeat worker sends its first
     * Ping at once when heartbeats are enabled. */
    if (ctl->reg)
        ufrpc_registry_session_reset(ctl->reg, now_ms);
    rc = check_proxies(ctl, now_ms);
    if (rc)
        return rc;
    if (ctl->hb_interval_ms > 0) {
        rc = send_ping(ctl);
        if (rc)
            return fail(ctl, rc, "cannot send Ping");
        ctl->ping_sent = now_ms, ctl->ping_outstanding = 1;
        ctl->next_ping = now_ms + (uint64_t)ctl->hb_interval_ms;
    } else {
        ctl->next_ping = now_ms + UFRPC_CTL_KEEPALIVE_PING_MS;
    }
    return 0;
}

static void handle_new_proxy_resp(struct ufrpc_ctl *ctl, const struct ufrpc_msg_new_proxy_resp *r,
                                  uint64_t now_ms)
{
    const char *name = ufrpc_registry_strip_user(ctl->cfg->user, ufrpc_cfg_str(r->proxy_name));
    int rc = ufrpc_registry_on_new_proxy_resp(ctl->reg, name, r->remote_addr, r->error, now_ms);
    switch (rc) {
    case 0:
        UFRPC_LOGI(ctl->log, "[%s] start proxy success", name);
        break;
    case UFRPC_ERR_PROXY_START:
        UFRPC_LOGW(ctl->log, "[%s] start error: %s", name, ufrpc_cfg_str(r->error));
        break;
    case UFRPC_ERR_NOT_FOUND:
        UFRPC_LOGW(ctl->log, "[%s] start error: proxy [%s] not found", name, name);
        break;
    case UFRPC_ERR_STATE:
        UFRPC_LOGW(ctl->log, "[%s] start error: status not wait start, ignore start message", name);
        break;
    default:
        UFRPC_LOGW(ctl->log, "[%s] start error: %s", name, ufrpc_strerror(rc));
        break;
    }
}

static int handle_msg(struct ufrpc_ctl *ctl, const struct ufrpc_frame *f, uint64_t now_ms)
{
    switch (f->type) {
    case UFRPC_MSG_REQ_WORK_CONN:
        UFRPC_LOGT(ctl->log, "receive ReqWorkConn");
        if (ctl->cb.on_req_work_conn)
            ctl->cb.on_req_work_conn(ctl->cb_ctx);
        return ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
    case UFRPC_MSG_NEW_PROXY_RESP:
    case UFRPC_MSG_PONG: {
        struct ufrpc_msg m;
        int rc = ufrpc_msg_decode(f->type, f->body, f->body_len, &m);
        if (rc)
            return fail(ctl, rc, "malformed control message");
        if (f->type == UFRPC_MSG_NEW_PROXY_RESP) {
            handle_new_proxy_resp(ctl, &m.u.new_proxy_resp, now_ms);
        } else if (m.u.pong.error && m.u.pong.error[0]) {
            UFRPC_LOGE(ctl->log, "pong message contains error: %s", m.u.pong.error);
            fail(ctl, UFRPC_ERR_PONG, m.u.pong.error);
        } else {
            ctl->last_pong = now_ms;
            UFRPC_LOGD(ctl->log, "receive heartbeat from server");
            if (ctl->ping_outstanding && ctl->cb.on_pong)
                ctl->cb.on_pong(ctl->cb_ctx, now_ms - ctl->ping_sent);
            ctl->ping_outstanding = 0;
        }
        ufrpc_msg_free(&m);
        return ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
    }
    case UFRPC_MSG_NAT_HOLE_RESP: {
        struct ufrpc_msg m;
        int rc = ufrpc_msg_decode(f->type, f->body, f->body_len, &m);
        if (rc)
            return fail(ctl, rc, "malformed control message");
        if (ctl->cb.on_nat_hole_resp)
            ctl->cb.on_nat_hole_resp(ctl->cb_ctx, &m.u.nat_hole_resp);
        ufrpc_msg_free(&m);
        return ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
    }
    default:
        /* frpc's dispatcher drops messages it has no handler for. */
        UFRPC_LOGD(ctl->log, "ignore %s message on the control connection",
                   ufrpc_frame_type_name(f->type));
        return 0;
    }
}

static int frame_error(struct ufrpc_ctl *ctl, int rc)
{
    return fail(ctl, rc, ufrpc_strerror(rc));
}

/* v2 RUNNING: decrypt and dispatch every complete message; all of data is used. */
static int feed_v2chan(struct ufrpc_ctl *ctl, const uint8_t *data, size_t len, uint64_t now_ms)
{
    for (;;) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_v2chan_feed_frame(ctl->ch, data, len, &used, &f);
        data += used;
        len -= used;
        if (rc < 0)
            return fail(ctl, rc, rc == UFRPC_ERR_AEAD_AUTH ? "control decryption failed"
                                                           : ufrpc_strerror(rc));
        if (rc == 0)
            return 0;
        rc = handle_msg(ctl, &f, now_ms);
        if (rc)
            return rc;
        if (ctl->state != UFRPC_CTL_RUNNING)
            return ctl->err_code;
    }
}

int ufrpc_ctl_feed(struct ufrpc_ctl *ctl, const uint8_t *data, size_t len, uint64_t now_ms)
{
    if (!ctl || (!data && len))
        return UFRPC_ERR_INVAL;
    uint8_t plain[SCRATCH];
    while (len > 0) {
        if (ctl->state == UFRPC_CTL_CLOSED)
            return ctl->err_code ? ctl->err_code : UFRPC_ERR_CLOSED;
        if (ctl->state == UFRPC_CTL_IDLE)
            return UFRPC_ERR_STATE;
        if (ctl->state == UFRPC_CTL_LOGIN_SENT && ctl->v2) {
            size_t used = 0;
            int rc = ufrpc_v2hs_feed(ctl->hs, data, len, &used);
            data += used;
            len -= used;
            if (rc < 0)
                return fail(ctl, rc, ufrpc_v2hs_error(ctl->hs));
            if (rc == 1) {
                struct ufrpc_frame f;
                rc = ufrpc_v2hs_login_resp_frame(ctl->hs, &f);
                if (!rc)
                    rc = handle_login_resp(ctl, &f, now_ms);
                else
                    fail(ctl, rc, "no LoginResp");
                ufrpc_v2hs_free(ctl->hs);
                ctl->hs = NULL;
                if (rc)
                    return rc;
                /* the rest of data is already the server's AEAD stream */
                if (ctl->state == UFRPC_CTL_RUNNING) {
                    rc = feed_v2chan(ctl, data, len, now_ms);
                    if (rc)
                        return rc;
                    len = 0;
                }
            }
            continue;
        }
        if (ctl->state == UFRPC_CTL_RUNNING && ctl->v2) {
            int rc = feed_v2chan(ctl, data, len, now_ms);
            if (rc)
                return rc;
            len = 0;
            continue;
        }
        if (ctl->state == UFRPC_CTL_LOGIN_SENT) {
            size_t used = 0;
            struct ufrpc_frame f;
            int rc = ufrpc_frame_decoder_feed(&ctl->dec, data, len, &used, &f);
            data += used;
            len -= used;
            if (rc < 0)
                return frame_error(ctl, rc);
            if (rc == 1) {
                rc = handle_login_resp(ctl, &f, now_ms);
                if (rc)
                    return rc;
            }
            continue;
        }
        /* RUNNING: decrypt a chunk, then decode every frame in it */
        size_t chunk = len < sizeof plain ? len : sizeof plain;
        size_t plen = 0;
        int rc = ufrpc_cfb_reader_decrypt(&ctl->rd, data, chunk, plain, &plen);
        if (rc)
            return fail(ctl, rc, "control decryption failed");
        data += chunk;
        len -= chunk;
        const uint8_t *p = plain;
        while (plen > 0) {
            size_t used = 0;
            struct ufrpc_frame f;
            rc = ufrpc_frame_decoder_feed(&ctl->dec, p, plen, &used, &f);
            p += used;
            plen -= used;
            if (rc < 0)
                return frame_error(ctl, rc);
            if (rc == 1) {
                rc = handle_msg(ctl, &f, now_ms);
                if (rc)
                    return rc;
            }
        }
    }
    return ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
}

void ufrpc_ctl_on_eof(struct ufrpc_ctl *ctl, int err)
{
    if (!ctl)
        return;
    /* Go's io.EOF text, which frpc prints ("connect to server error: EOF") */
    fail(ctl, err ? err : UFRPC_ERR_EOF, err ? ufrpc_strerror(err) : "EOF");
}

int ufrpc_ctl_tick(struct ufrpc_ctl *ctl, uint64_t now_ms)
{
    if (!ctl)
        return UFRPC_ERR_INVAL;
    switch (ctl->state) {
    case UFRPC_CTL_IDLE:
        return 0;
    case UFRPC_CTL_CLOSED:
        return ctl->err_code ? ctl->err_code : UFRPC_ERR_CLOSED;
    case UFRPC_CTL_LOGIN_SENT:
        if (now_ms >= ctl->login_deadline)
            return fail(ctl, UFRPC_ERR_TIMEOUT, "i/o timeout (no LoginResp within 10s)");
        return 0;
    case UFRPC_CTL_RUNNING:
        break;
    }
    if (ctl->hb_interval_ms > 0 && ctl->hb_timeout_ms > 0 &&
        now_ms > ctl->last_pong + (uint64_t)ctl->hb_timeout_ms) {
        UFRPC_LOGW(ctl->log, "heartbeat timeout");
        return fail(ctl, UFRPC_ERR_HEARTBEAT, "heartbeat timeout");
    }
    if (now_ms >= ctl->next_ping) {
        int rc = send_ping(ctl);
        if (rc)
            return fail(ctl, rc, "cannot send Ping");
        if (!ctl->ping_outstanding)
            ctl->ping_sent = now_ms, ctl->ping_outstanding = 1;
        ctl->next_ping = now_ms + (uint64_t)(ctl->hb_interval_ms > 0 ? ctl->hb_interval_ms
                                                                    : UFRPC_CTL_KEEPALIVE_PING_MS);
    }
    if (ctl->reg && now_ms >= ufrpc_registry_next_check_ms(ctl->reg, now_ms)) {
        int rc = check_proxies(ctl, now_ms);
        if (rc)
            return rc;
    }
    return 0;
}

uint64_t ufrpc_ctl_next_deadline(const struct ufrpc_ctl *ctl)
{
    if (!ctl)
        return UINT64_MAX;
    if (ctl->state == UFRPC_CTL_LOGIN_SENT)
        return ctl->login_deadline;
    if (ctl->state != UFRPC_CTL_RUNNING)
        return UINT64_MAX;
    uint64_t d = ctl->next_ping;
    if (ctl->hb_interval_ms > 0 && ctl->hb_timeout_ms > 0) {
        uint64_t hb = ctl->last_pong + (uint64_t)ctl->hb_timeout_ms + 1;
        if (hb < d)
            d = hb;
    }
    if (ctl->reg) {
        uint64_t c = ufrpc_registry_next_check_ms(ctl->reg, 0);
        if (c < d)
            d = c;
    }
    return d;
}

int ufrpc_ctl_close_proxies(struct ufrpc_ctl *ctl, uint64_t now_ms)
{
    if (!ctl || ctl->state != UFRPC_CTL_RUNNING)
        return UFRPC_ERR_STATE;
    if (!ctl->reg)
        return 0;
    size_t n = ufrpc_registry_close_all(ctl->reg, now_ms, send_close_proxy, ctl);
    if (ctl->state == UFRPC_CTL_CLOSED)
        return ctl->err_code;
    return (int)n;
}

int ufrpc_ctl_close_proxy(struct ufrpc_ctl *ctl, struct ufrpc_tunnel *t)
{
    if (!ctl || !t)
        return UFRPC_ERR_INVAL;
    if (ctl->state != UFRPC_CTL_RUNNING)
        return UFRPC_ERR_STATE;
    send_close_proxy(ctl, t);
    return ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
}

void ufrpc_ctl_set_cfg(struct ufrpc_ctl *ctl, const struct ufrpc_config *cfg)
{
    if (ctl && cfg)
        ctl->cfg = cfg;
}

int ufrpc_ctl_check_proxies(struct ufrpc_ctl *ctl, uint64_t now_ms)
{
    if (!ctl || ctl->state != UFRPC_CTL_RUNNING)
        return UFRPC_ERR_STATE;
    return check_proxies(ctl, now_ms);
}

int ufrpc_ctl_send(struct ufrpc_ctl *ctl, const struct ufrpc_msg *m)
{
    if (!ctl || !m)
        return UFRPC_ERR_INVAL;
    if (ctl->state != UFRPC_CTL_RUNNING)
        return UFRPC_ERR_STATE;
    int rc = queue_msg(ctl, m);
    if (rc)
        return fail(ctl, rc, "cannot queue a control message");
    return 0;
}

int ufrpc_ctl_build_new_work_conn(struct ufrpc_ctl *ctl, struct ufrpc_msg *out)
{
    if (!ctl || !out)
        return UFRPC_ERR_INVAL;
    ufrpc_msg_init(out, UFRPC_MSG_NEW_WORK_CONN);
    int rc = ufrpc_msg_set_str(&out->u.new_work_conn.run_id, ctl->run_id);
    if (!rc && ctl->scope_new_work_conns) {
        int64_t ts = ctl->unix_now(ctl->clock_ctx);
        rc = set_privilege(ctl, ts, &out->u.new_work_conn.privilege_key);
        out->u.new_work_conn.timestamp = ts;
    }
    if (rc)
        ufrpc_msg_free(out);
    return rc;
}

enum ufrpc_ctl_state ufrpc_ctl_state(const struct ufrpc_ctl *ctl)
{
    return ctl ? ctl->state : UFRPC_CTL_CLOSED;
}

const char *ufrpc_ctl_run_id(const struct ufrpc_ctl *ctl)
{
    return ctl ? ctl->run_id : "";
}

const char *ufrpc_ctl_error(const struct ufrpc_ctl *ctl)
{
    return ctl && ctl->state == UFRPC_CTL_CLOSED ? ctl->err : "";
}

int ufrpc_ctl_error_code(const struct ufrpc_ctl *ctl)
{
    return ctl && ctl->state == UFRPC_CTL_CLOSED ? ctl->err_code : 0;
}
