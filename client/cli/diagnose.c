/* client/cli/diagnose.c — the steps of `ufrpc diagnose` (client/cli/diagnose.h). */
#include "client/cli/diagnose.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/core/supervisor.h"
#include "net/dial.h"
#include "net/tls.h"
#include "proto/error.h"

#define POLL_MS 50
#define PROXY_WAIT_MS 10000
#define ECHO_MAX_QUEUED (1u << 20) /* echo stops reading above this many unsent bytes */
#define PROBE_WINDOW (1u << 20)    /* throughput: at most this much sent and not echoed */
#define PROBE_CHUNK 65536

struct echo_conn {
    uv_tcp_t h;
    struct ufrpc_diag *d;
    struct echo_conn *next;
    bool reading;
};

struct echo_write {
    uv_write_t req;
    struct echo_conn *c;
    char *buf;
};

struct ufrpc_diag {
    uv_loop_t *loop;
    const struct ufrpc_config *cfg;
    struct ufrpc_log *log;
    struct ufrpc_diag_opts o;
    ufrpc_diag_done_cb done;
    void *data;
    struct ufrpc_diag_result r;

    int step;          /* the step running */
    uint64_t t0;       /* its start (uv_hrtime, ns) */
    uint64_t deadline; /* loop ms */
    int handles;       /* libuv handles (and the client) open; done runs at 0 once ending */
    bool ending, reported;

    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    bool gai_busy;
    ufrpc_dial_t *dial;
    struct ufrpc_stream *tls_stream;
    ufrpc_tls_ctx_t *tls;

    ufrpc_sup_t *client;
    bool client_exited;
    char exit_msg[512];
    char temp_name[64];

    uv_tcp_t echo;
    bool echo_open;
    int echo_port;
    struct echo_conn *conns;

    uv_tcp_t probe;
    uv_connect_t probe_req;
    bool probe_open, probe_connected;
    uint64_t sent, echoed, want, tp_base;
    uint64_t ping_t0;
    char *chunk;   /* the probe's read buffer */
    char *pattern; /* PROBE_CHUNK zero bytes every probe write sends (never written) */
};

static const char *const step_names[UFRPC_DIAG_NSTEPS] = {
    "dns", "tcp", "tls", "login", "proxies", "latency", "throughput"};

const char *ufrpc_diag_step_name(enum ufrpc_diag_step_id s)
{
    return (unsigned)s < UFRPC_DIAG_NSTEPS ? step_names[s] : "?";
}

const char *ufrpc_diag_status_name(enum ufrpc_diag_status s)
{
    switch (s) {
    case UFRPC_DIAG_OK: return "ok";
    case UFRPC_DIAG_FAIL: return "FAIL";
    case UFRPC_DIAG_SKIPPED: return "skipped";
    case UFRPC_DIAG_NOT_RUN: return "not run";
    default: return "pending";
    }
}

/* ---- scoring (pure) -------------------------------------------------------------- */

void ufrpc_diag_score(struct ufrpc_diag_result *r)
{
    static const int weight[UFRPC_DIAG_NSTEPS] = {10, 15, 15, 25, 15, 10, 10};
    double score = 0;
    for (int i = 0; i < UFRPC_DIAG_NSTEPS; i++) {
        const struct ufrpc_diag_step *s = &r->steps[i];
        if (s->status == UFRPC_DIAG_SKIPPED) {
            score += weight[i];
            continue;
        }
        if (s->status != UFRPC_DIAG_OK && !(i == UFRPC_DIAG_PROXIES && r->n_proxies > 0 &&
                                            s->status == UFRPC_DIAG_FAIL))
            continue;
        if (i == UFRPC_DIAG_PROXIES && r->n_proxies > 0) {
            size_t ok = 0;
            for (size_t k = 0; k < r->n_proxies; k++)
                ok += r->proxies[k].ok;
            score += (double)weight[i] * (double)ok / (double)r->n_proxies;
        } else if (i == UFRPC_DIAG_LATENCY) {
            score += r->rtt_median < 100 ? weight[i] : r->rtt_median < 500 ? weight[i] / 2.0 : 0;
        } else if (i == UFRPC_DIAG_THROUGHPUT) {
            score += r->tp_mbps >= 10 ? weight[i] : r->tp_mbps >= 1 ? weight[i] / 2.0 : 0;
        } else {
            score += weight[i];
        }
    }
    r->score = (int)(score + 0.5);
    r->verdict = r->score >= 90   ? "excellent"
                 : r->score >= 75 ? "good"
                 : r->score >= 50 ? "fair"
                 : r->score >= 25 ? "poor"
                                  : "critical";
}

static bool has(const char *s, const char *needle)
{
    return s != NULL && strstr(s, needle) != NULL;
}

void ufrpc_diag_login_advice(const char *err, char *out, size_t cap)
{
    const char *a;
    if (has(err, "token") || has(err, "authorization") || has(err, "authenticat"))
        a = "token rejected: check auth.token against frps's auth.token";
    else if (has(err, "oidc") || has(err, "OIDC"))
        a = "OIDC login failed: check auth.oidc.* against frps's auth.oidc settings";
    else if (has(err, "version") || has(err, "unsupported"))
        a = "frps refused this client's protocol: check transport.wireProtocol and frps's "
            "version";
    else if (has(err, "time") && has(err, "out"))
        a = "no answer to Login: is serverPort frps's bindPort (and not, say, its "
            "dashboard)?";
    else if (has(err, "EOF") || has(err, "reset") || has(err, "closed"))
        a = "frps closed the connection: check TLS (frps's transport.tls.force), "
            "transport.protocol and that serverPort is frps's bindPort";
    else
        a = "frps refused the login: read the error above and frps's log";
    snprintf(out, cap, "%s", a);
}

/* ---- plumbing ---------------------------------------------------------------------- */

static double elapsed_ms(const struct ufrpc_diag *d)
{
    return (double)(uv_hrtime() - d->t0) / 1e6;
}

static struct ufrpc_diag_step *cur(struct ufrpc_diag *d)
{
    return &d->r.steps[d->step];
}

/* One handle (or the client) is gone; the last one after end_run reports. */
static void handle_gone(struct ufrpc_diag *d)
{
    d->handles--;
    if (d->ending && d->handles == 0 && !d->reported) {
        d->reported = true;
        ufrpc_diag_score(&d->r);
        d->done(d, &d->r, d->data);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    struct ufrpc_diag *d = h->data;
    if (h->type == UV_TCP && h != (uv_handle_t *)&d->echo && h != (uv_handle_t *)&d->probe)
        free(((struct echo_conn *)h)); /* an echo connection (h is its first member) */
    handle_gone(d);
}

static void close_handle(struct ufrpc_diag *d, uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        h->data = d;
        uv_close(h, on_handle_closed);
    }
}

static void client_exited(ufrpc_sup_t *cl, int code, const char *msg, void *data);

/* Everything is decided: close what is open; done follows the last close. */
static void end_run(struct ufrpc_diag *d)
{
    if (d->ending)
        return;
    d->ending = true;
    for (int i = 0; i < UFRPC_DIAG_NSTEPS; i++)
        if (d->r.steps[i].status == UFRPC_DIAG_PENDING)
            d->r.steps[i].status = UFRPC_DIAG_NOT_RUN;
    if (d->dial != NULL) {
        ufrpc_dial_cancel(d->dial);
        d->dial = NULL;
    }
    if (d->tls_stream != NULL) {
        ufrpc_stream_close(d->tls_stream, NULL);
        d->tls_stream = NULL;
    }
    if (d->gai_busy)
        uv_cancel((uv_req_t *)&d->gai);
    if (d->probe_open)
        close_handle(d, (uv_handle_t *)&d->probe);
    for (struct echo_conn *c = d->conns; c != NULL; c = c->next)
        close_handle(d, (uv_handle_t *)&c->h);
    d->conns = NULL;
    if (d->echo_open)
        close_handle(d, (uv_handle_t *)&d->echo);
    if (d->client != NULL && !d->client_exited) {
        d->handles++; /* the client counts as one until it has stopped */
        ufrpc_sup_shutdown(d->client);
    }
    close_handle(d, (uv_handle_t *)&d->timer);
}

static void fail_step(struct ufrpc_diag *d, const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The current step failed; critical ones end the run. */
static void fail_step(struct ufrpc_diag *d, const char *advice, const char *fmt, ...)
{
    struct ufrpc_diag_step *s = cur(d);
    s->status = UFRPC_DIAG_FAIL;
    s->ms = elapsed_ms(d);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof s->detail, fmt, ap);
    va_end(ap);
    snprintf(s->advice, sizeof s->advice, "%s", advice ? advice : "");
}

static void start_step(struct ufrpc_diag *d, int step);

static void next_step(struct ufrpc_diag *d)
{
    if (d->step + 1 >= UFRPC_DIAG_NSTEPS)
        end_run(d);
    else
        start_step(d, d->step + 1);
}

static void ok_step(struct ufrpc_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void ok_step(struct ufrpc_diag *d, const char *fmt, ...)
{
    struct ufrpc_diag_step *s = cur(d);
    s->status = UFRPC_DIAG_OK;
    s->ms = elapsed_ms(d);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof s->detail, fmt, ap);
    va_end(ap);
}

static const char *server_addr(const struct ufrpc_diag *d)
{
    const char *a = ufrpc_cfg_str(d->cfg->server_addr);
    return a[0] ? a : "0.0.0.0";
}

static const char *protocol(const struct ufrpc_diag *d)
{
    const char *p = ufrpc_cfg_str(d->cfg->transport.protocol);
    return p[0] ? p : "tcp";
}

static bool tls_wanted(const struct ufrpc_diag *d)
{
    return d->cfg->transport.tls.enable || strcmp(protocol(d), "wss") == 0;
}

/* ---- dns ------------------------------------------------------------------------------ */

static void on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct ufrpc_diag *d = req->data;
    d->gai_busy = false;
    if (d->ending) {
        uv_freeaddrinfo(res);
        return;
    }
    if (status != 0) {
        fail_step(d, "check serverAddr and this machine's DNS resolver (/etc/resolv.conf)",
                  "cannot resolve %s: %s", server_addr(d), uv_strerror(status));
        uv_freeaddrinfo(res);
        end_run(d);
        return;
    }
    char list[400] = "";
    size_t o = 0;
    for (struct addrinfo *a = res; a != NULL && d->r.n_addrs < UFRPC_DIAG_MAX_ADDRS; a = a->ai_next) {
        char ip[64];
        if (a->ai_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)a->ai_addr, ip, sizeof ip);
        else if (a->ai_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, ip, sizeof ip);
        else
            continue;
        bool dup = false;
        for (size_t i = 0; i < d->r.n_addrs; i++)
            dup = dup || strcmp(d->r.addrs[i], ip) == 0;
        if (dup)
            continue;
        snprintf(d->r.addrs[d->r.n_addrs++], sizeof d->r.addrs[0], "%s", ip);
        if (o < sizeof list)
            o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", ip);
    }
    uv_freeaddrinfo(res);
    if (d->r.n_addrs == 0) {
        fail_step(d, "serverAddr has no IPv4 or IPv6 address", "%s: no address", server_addr(d));
        end_run(d);
        return;
    }
    ok_step(d, "%s -> %s", server_addr(d), list);
    next_step(d);
}

static void start_dns(struct ufrpc_diag *d)
{
    if (d->cfg->transport.proxy_url != NULL && d->cfg->transport.proxy_url[0] != '\0') {
        d->r.steps[UFRPC_DIAG_DNS].status = UFRPC_DIAG_SKIPPED;
        snprintf(cur(d)->detail, sizeof cur(d)->detail,
                 "resolved by transport.proxyURL's proxy");
        next_step(d);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    d->gai.data = d;
    int rc = uv_getaddrinfo(d->loop, &d->gai, on_gai, server_addr(d), NULL, &hints);
    if (rc != 0) {
        fail_step(d, NULL, "cannot resolve %s: %s", server_addr(d), uv_strerror(rc));
        end_run(d);
        return;
    }
    d->gai_busy = true;
}

/* ---- tcp and tls ------------------------------------------------------------------- */

static void on_tls_closed(struct ufrpc_stream *s)
{
    (void)s;
}

static void on_tls_handshake(struct ufrpc_stream *s, int status)
{
    struct ufrpc_diag *d = s->data;
    if (d == NULL)
        return;
    d->tls_stream = NULL;
    if (status < 0) {
        struct ufrpc_tls_failure f;
        char why[400];
        if (ufrpc_tls_get_failure(s, &f) == 0)
            ufrpc_tls_failure_text(&f, why, sizeof why);
        else
            snprintf(why, sizeof why, "%s", ufrpc_strerror(status));
        const char *advice =
            status == UFRPC_ERR_TLS_VERIFY
                ? "the certificate did not verify: check transport.tls.trustedCaFile and "
                  "serverName against frps's certificate"
                : "TLS failed: check transport.tls.enable, frps's transport.tls settings and "
                  "whether serverPort is frps's bindPort";
        fail_step(d, advice, "%s", why);
        ufrpc_stream_close(s, on_tls_closed);
        end_run(d);
        return;
    }
    struct ufrpc_tls_peer p;
    int prc = ufrpc_tls_peer_info(s, &p);
    snprintf(d->r.tls_version, sizeof d->r.tls_version, "%s", ufrpc_tls_version(s));
    const char *suite = ufrpc_tls_suite(s, NULL);
    snprintf(d->r.tls_suite, sizeof d->r.tls_suite, "%s", suite ? suite : "");
    if (prc == 0) {
        d->r.cert_seen = true;
        d->r.cert_verify_on = p.verify_on;
        d->r.cert_verified = p.verified;
        memcpy(d->r.cert_subject, p.subject, sizeof p.subject);
        memcpy(d->r.cert_issuer, p.issuer, sizeof p.issuer);
        memcpy(d->r.cert_not_before, p.not_before, sizeof p.not_before);
        memcpy(d->r.cert_not_after, p.not_after, sizeof p.not_after);
    }
    s->data = NULL;
    ufrpc_stream_close(s, on_tls_closed);
    ok_step(d, "%s %s; certificate subject \"%s\", issuer \"%s\", valid %s to %s; %s",
            d->r.tls_version, d->r.tls_suite, d->r.cert_subject, d->r.cert_issuer,
            d->r.cert_not_before, d->r.cert_not_after,
            !d->r.cert_verify_on ? "not verified (no transport.tls.trustedCaFile, as frpc)"
                                 : "verified");
    next_step(d);
}

static void on_dial(ufrpc_dial_t *dl, int status, struct ufrpc_stream *s, void *data)
{
    struct ufrpc_diag *d = data;
    (void)dl;
    d->dial = NULL;
    if (d->ending) {
        if (s != NULL)
            ufrpc_stream_close(s, NULL);
        return;
    }
    if (status < 0) {
        char advice[256];
        unsigned port = d->cfg->server_port;
        if (status == UFRPC_ERR_TIMEOUT)
            snprintf(advice, sizeof advice,
                     "port %u did not answer: a firewall drops it or serverAddr is wrong", port);
        else
            snprintf(advice, sizeof advice,
                     "port %u refused: frps not running there, or firewalled", port);
        fail_step(d, advice, "connect to %s:%u: %s", server_addr(d), port, ufrpc_strerror(status));
        end_run(d);
        return;
    }
    if (d->step == UFRPC_DIAG_TCP) {
        ufrpc_stream_close(s, NULL);
        ok_step(d, "connected to %s:%u%s", server_addr(d), (unsigned)d->cfg->server_port,
                d->cfg->transport.proxy_url && d->cfg->transport.proxy_url[0]
                    ? " through transport.proxyURL"
                    : "");
        next_step(d);
        return;
    }
    /* tls */
    const char *sni = ufrpc_cfg_str(d->cfg->transport.tls.files.server_name);
    struct ufrpc_tls_conn_opts o = {
        .server_name = sni[0] ? sni : server_addr(d),
        .first_byte_0x17 = strcmp(protocol(d), "wss") != 0 &&
                           !d->cfg->transport.tls.disable_custom_tls_first_byte,
        .handshake_timeout_ms = d->o.step_timeout_ms,
        .keep_peer_info = true,
    };
    int err = 0;
    d->tls_stream = ufrpc_tls_client_new(d->tls, s, &o, on_tls_handshake, d, &err);
    if (d->tls_stream == NULL) {
        fail_step(d, NULL, "TLS: %s", ufrpc_strerror(err ? err : UFRPC_ERR_TLS));
        end_run(d);
    }
}

static void start_dial(struct ufrpc_diag *d)
{
    struct ufrpc_dial_opts o = {
        .host = server_addr(d),
        .port = (uint16_t)d->cfg->server_port,
        .timeout_ms = d->o.step_timeout_ms,
        .proxy_url = d->cfg->transport.proxy_url,
    };
    int rc = ufrpc_dial(d->loop, &o, on_dial, d, &d->dial);
    if (rc < 0) {
        fail_step(d, NULL, "connect: %s", ufrpc_strerror(rc));
        end_run(d);
    }
}

static void start_tls(struct ufrpc_diag *d)
{
    if (!tls_wanted(d)) {
        cur(d)->status = UFRPC_DIAG_SKIPPED;
        snprintf(cur(d)->detail, sizeof cur(d)->detail, "transport.tls.enable = false");
        next_step(d);
        return;
    }
    const char *p = protocol(d);
    if (strcmp(p, "tcp") != 0 && strcmp(p, "wss") != 0) {
        cur(d)->status = UFRPC_DIAG_SKIPPED;
        snprintf(cur(d)->detail, sizeof cur(d)->detail,
                 "TLS inside %s: checked by the login step", p);
        next_step(d);
        return;
    }
    struct ufrpc_tls_client_opts o = {
        .ca_file = d->cfg->transport.tls.files.trusted_ca_file,
        .cert_file = d->cfg->transport.tls.files.cert_file,
        .key_file = d->cfg->transport.tls.files.key_file,
    };
    int rc = ufrpc_tls_client_ctx_new(&o, &d->tls);
    if (rc < 0) {
        fail_step(d, "check transport.tls.certFile, keyFile and trustedCaFile",
                  "load TLS configuration: %s", ufrpc_strerror(rc));
        end_run(d);
        return;
    }
    start_dial(d);
}

/* ---- login and proxies: the real client with a derived configuration ----------------- */

/* The configuration diagnose runs: the user's without visitors and webServer, with
 * loginFailExit, plus the temporary tcp proxy to the echo service. */
static int derived_config(struct ufrpc_diag *d, struct ufrpc_config **out)
{
    char *text = NULL;
    int rc = ufrpc_config_to_json(d->cfg, false, &text);
    if (rc < 0)
        return rc;
    json_object *root = json_tokener_parse(text);
    free(text);
    if (root == NULL || !json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return UFRPC_ERR_NOMEM;
    }
    json_object_object_del(root, "visitors");
    json_object_object_del(root, "webServer");
    json_object_object_del(root, "start");    /* it would filter the temporary proxy out */
    json_object_object_del(root, "includes"); /* already expanded into the dump */
    json_object_object_del(root, "store");
    json_object_object_add(root, "loginFailExit", json_object_new_boolean(1));
    json_object *proxies = NULL;
    if (!json_object_object_get_ex(root, "proxies", &proxies) ||
        !json_object_is_type(proxies, json_type_array)) {
        proxies = json_object_new_array();
        json_object_object_add(root, "proxies", proxies);
    }
    json_object *t = json_object_new_object();
    if (proxies == NULL || t == NULL) {
        json_object_put(t);
        json_object_put(root);
        return UFRPC_ERR_NOMEM;
    }
    json_object_object_add(t, "name", json_object_new_string(d->temp_name));
    json_object_object_add(t, "type", json_object_new_string("tcp"));
    json_object_object_add(t, "localIP", json_object_new_string("127.0.0.1"));
    json_object_object_add(t, "localPort", json_object_new_int(d->echo_port));
    json_object_object_add(t, "remotePort", json_object_new_int(0));
    json_object_array_add(proxies, t);
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config_load_opts lo = {0};
    rc = s ? ufrpc_config_load_buffer(s, strlen(s), "diagnose.json", &lo, out, &diag)
           : UFRPC_ERR_NOMEM;
    ufrpc_cfg_diag_free(&diag);
    json_object_put(root);
    return rc;
}

static struct ufrpc_tunnel *temp_tunnel(struct ufrpc_diag *d)
{
    struct ufrpc_registry *reg = ufrpc_sup_registry(d->client);
    return ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, d->temp_name);
}

static void client_exited(ufrpc_sup_t *cl, int code, const char *msg, void *data)
{
    struct ufrpc_diag *d = data;
    (void)cl;
    d->client_exited = true;
    snprintf(d->exit_msg, sizeof d->exit_msg, "%s", msg ? msg : "");
    if (d->ending) { /* end_run shut it down and counted it as a handle */
        ufrpc_sup_free(d->client);
        d->client = NULL;
        handle_gone(d);
        return;
    }
    if (d->step == UFRPC_DIAG_LOGIN && code != 0) {
        char advice[256];
        ufrpc_diag_login_advice(d->exit_msg, advice, sizeof advice);
        fail_step(d, advice, "%s", d->exit_msg);
    }
    ufrpc_sup_free(d->client);
    d->client = NULL;
    end_run(d);
}

static void start_login(struct ufrpc_diag *d)
{
    struct ufrpc_config *cfg = NULL;
    int rc = derived_config(d, &cfg);
    if (rc < 0) {
        fail_step(d, NULL, "cannot prepare the login: %s", ufrpc_strerror(rc));
        end_run(d);
        return;
    }
    struct ufrpc_sup_opts co = {
        .loop = d->loop, .cfg = cfg, .log = d->log, .on_exit = client_exited, .data = d};
    rc = ufrpc_sup_new(&co, &d->client);
    if (rc == 0) {
        rc = ufrpc_sup_start(d->client);
        if (rc < 0) {
            ufrpc_sup_free(d->client);
            d->client = NULL;
        }
    }
    if (rc < 0) {
        fail_step(d, NULL, "cannot start the client: %s", ufrpc_strerror(rc));
        end_run(d);
    }
}

static void check_proxies(struct ufrpc_diag *d, bool final)
{
    struct ufrpc_registry *reg = ufrpc_sup_registry(d->client);
    size_t n = ufrpc_registry_count(reg), settled = 0, total = 0, ok = 0;
    for (size_t i = 0; i < n; i++) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(reg, i);
        if (t->kind != UFRPC_TUNNEL_PROXY)
            continue;
        bool is_temp = strcmp(t->name, d->temp_name) == 0;
        bool done = t->state == UFRPC_TUNNEL_RUNNING || t->state == UFRPC_TUNNEL_START_ERROR ||
                    t->state == UFRPC_TUNNEL_CHECK_FAILED;
        total++;
        settled += done;
        if (is_temp || !final || d->r.n_proxies >= d->cfg->nproxies)
            continue;
        struct ufrpc_diag_proxy *p = &d->r.proxies[d->r.n_proxies++];
        snprintf(p->name, sizeof p->name, "%s", t->name);
        snprintf(p->type, sizeof p->type, "%s", t->type ? t->type : "");
        p->ok = t->state == UFRPC_TUNNEL_RUNNING;
        ok += p->ok;
        snprintf(p->remote, sizeof p->remote, "%s", t->remote_addr ? t->remote_addr : "");
        if (!p->ok)
            snprintf(p->error, sizeof p->error, "%s",
                     t->last_error                          ? t->last_error
                     : t->state == UFRPC_TUNNEL_CHECK_FAILED ? "health check failing"
                     : t->unhealthy || t->state == UFRPC_TUNNEL_NEW
                         ? "waiting for its first successful health check"
                         : "no answer from frps within 10 s");
    }
    if (!final) {
        if (settled == total || uv_now(d->loop) >= d->deadline)
            check_proxies(d, true);
        return;
    }
    if (d->r.n_proxies == 0) {
        cur(d)->status = UFRPC_DIAG_SKIPPED;
        snprintf(cur(d)->detail, sizeof cur(d)->detail, "the configuration has no proxies");
    } else if (ok == d->r.n_proxies) {
        ok_step(d, "%zu of %zu proxies registered", ok, d->r.n_proxies);
    } else {
        fail_step(d,
                  "a proxy frps refused: read its error (a port outside frps's allowPorts, "
                  "a name or domain already in use by another client)",
                  "%zu of %zu proxies registered", ok, d->r.n_proxies);
    }
    next_step(d);
}

/* ---- the echo service and the probe through the temporary proxy --------------------- */

static void echo_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)h;
    (void)hint;
    b->base = malloc(PROBE_CHUNK);
    b->len = b->base ? PROBE_CHUNK : 0;
}

static void echo_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void echo_written(uv_write_t *w, int status)
{
    struct echo_write *ew = (struct echo_write *)w;
    struct echo_conn *c = ew->c;
    free(ew->buf);
    free(ew);
    if (status == 0 && !c->reading && !uv_is_closing((uv_handle_t *)&c->h) &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->h) < ECHO_MAX_QUEUED) {
        c->reading = uv_read_start((uv_stream_t *)&c->h, echo_alloc, echo_read) == 0;
    }
}

static void echo_drop(struct echo_conn *c)
{
    struct ufrpc_diag *d = c->d;
    for (struct echo_conn **pp = &d->conns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    close_handle(d, (uv_handle_t *)&c->h);
}

static void echo_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct echo_conn *c = (struct echo_conn *)st;
    if (n <= 0) {
        free(b->base);
        if (n < 0)
            echo_drop(c);
        return;
    }
    struct echo_write *ew = malloc(sizeof *ew);
    if (ew == NULL) {
        free(b->base);
        echo_drop(c);
        return;
    }
    ew->c = c;
    ew->buf = b->base;
    uv_buf_t out = uv_buf_init(b->base, (unsigned)n);
    if (uv_write(&ew->req, st, &out, 1, echo_written) != 0) {
        free(ew->buf);
        free(ew);
        echo_drop(c);
        return;
    }
    if (uv_stream_get_write_queue_size(st) >= ECHO_MAX_QUEUED) {
        uv_read_stop(st);
        c->reading = false;
    }
}

static void echo_accept(uv_stream_t *srv, int status)
{
    struct ufrpc_diag *d = srv->data;
    if (status < 0 || d->ending)
        return;
    struct echo_conn *c = calloc(1, sizeof *c);
    if (c == NULL || uv_tcp_init(d->loop, &c->h) != 0) {
        free(c);
        return;
    }
    c->d = d;
    c->h.data = d;
    d->handles++;
    c->next = d->conns;
    d->conns = c;
    if (uv_accept(srv, (uv_stream_t *)&c->h) != 0) {
        echo_drop(c);
        return;
    }
    c->reading = uv_read_start((uv_stream_t *)&c->h, echo_alloc, echo_read) == 0;
}

static int start_echo(struct ufrpc_diag *d)
{
    if (uv_tcp_init(d->loop, &d->echo) != 0)
        return UFRPC_ERR_IO;
    d->handles++;
    d->echo.data = d;
    d->echo_open = true; /* closed by end_run */
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    struct sockaddr_storage got;
    int len = sizeof got;
    if (uv_tcp_bind(&d->echo, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&d->echo, 16, echo_accept) != 0 ||
        uv_tcp_getsockname(&d->echo, (struct sockaddr *)&got, &len) != 0)
        return UFRPC_ERR_IO;
    d->echo_port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    return 0;
}

static void probe_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct ufrpc_diag *d = h->data;
    (void)hint;
    b->base = d->chunk;
    b->len = PROBE_CHUNK;
}

static void probe_send(struct ufrpc_diag *d);

static void probe_written(uv_write_t *w, int status)
{
    struct ufrpc_diag *d = w->data;
    free(w);
    if (status < 0 && !d->ending && cur(d)->status == UFRPC_DIAG_PENDING) {
        fail_step(d, NULL, "write through the tunnel: %s", uv_strerror(status));
        end_run(d);
    }
}

/* Queues what the current step needs: one byte per ping, or more of the burst
 * while less than PROBE_WINDOW is unanswered. */
static void probe_send(struct ufrpc_diag *d)
{
    while (!d->ending) {
        size_t n;
        if (d->step == UFRPC_DIAG_LATENCY) {
            if (d->sent != d->echoed || d->r.n_rtt >= UFRPC_DIAG_PINGS)
                return;
            n = 1;
            d->ping_t0 = uv_hrtime();
        } else {
            if (d->sent >= d->want || d->sent - d->echoed >= PROBE_WINDOW)
                return;
            n = d->want - d->sent < PROBE_CHUNK ? (size_t)(d->want - d->sent) : PROBE_CHUNK;
        }
        uv_write_t *w = malloc(sizeof *w);
        if (w == NULL)
            return;
        w->data = d;
        /* the payload is constant: every write shares d->pattern (a static array
         * would put 64 KiB into the executable) */
        uv_buf_t b = uv_buf_init(d->pattern, (unsigned)n);
        if (uv_write(w, (uv_stream_t *)&d->probe, &b, 1, probe_written) != 0) {
            free(w);
            return;
        }
        d->sent += n;
    }
}

static void start_throughput(struct ufrpc_diag *d);

static void probe_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct ufrpc_diag *d = st->data;
    (void)b;
    if (d->ending || cur(d)->status != UFRPC_DIAG_PENDING)
        return;
    if (n < 0) {
        fail_step(d, "the tunnel broke: read frps's and this client's logs",
                  "the tunnel closed after %llu of %llu bytes came back: %s",
                  (unsigned long long)d->echoed, (unsigned long long)d->sent,
                  uv_strerror((int)n));
        uv_read_stop(st);
        if (d->step == UFRPC_DIAG_LATENCY)
            d->r.steps[UFRPC_DIAG_THROUGHPUT].status = UFRPC_DIAG_NOT_RUN;
        end_run(d);
        return;
    }
    d->echoed += (uint64_t)n;
    if (d->step == UFRPC_DIAG_LATENCY) {
        if (d->echoed == d->sent) {
            d->r.rtt_ms[d->r.n_rtt++] = (double)(uv_hrtime() - d->ping_t0) / 1e6;
            if (d->r.n_rtt == UFRPC_DIAG_PINGS) {
                double s[UFRPC_DIAG_PINGS];
                memcpy(s, d->r.rtt_ms, sizeof s);
                for (int i = 1; i < UFRPC_DIAG_PINGS; i++) /* insertion sort */
                    for (int j = i; j > 0 && s[j] < s[j - 1]; j--) {
                        double x = s[j];
                        s[j] = s[j - 1];
                        s[j - 1] = x;
                    }
                d->r.rtt_min = s[0];
                d->r.rtt_max = s[UFRPC_DIAG_PINGS - 1];
                d->r.rtt_median = (s[4] + s[5]) / 2;
                ok_step(d, "%d round trips through a temporary tcp proxy: min %.2f ms, "
                           "median %.2f ms, max %.2f ms",
                        UFRPC_DIAG_PINGS, d->r.rtt_min, d->r.rtt_median, d->r.rtt_max);
                start_throughput(d);
                return;
            }
        }
        probe_send(d);
        return;
    }
    if (d->echoed >= d->want) {
        double ms = elapsed_ms(d);
        d->r.tp_bytes = d->echoed - d->tp_base;
        d->r.tp_mbps = ms > 0 ? (double)d->r.tp_bytes / 1e6 / (ms / 1000.0) : 0;
        ok_step(d, "%.1f MB sent and echoed back in %.0f ms: %.1f MB/s each way",
                (double)d->r.tp_bytes / 1e6, ms, d->r.tp_mbps);
        uv_read_stop(st);
        end_run(d);
        return;
    }
    probe_send(d);
}

static void probe_connected(uv_connect_t *req, int status)
{
    struct ufrpc_diag *d = req->data;
    if (d->ending)
        return;
    if (status < 0) {
        fail_step(d, "frps accepted the temporary proxy but its port is not reachable "
                     "from here (a firewall in front of frps?)",
                  "connect to the temporary proxy: %s", uv_strerror(status));
        end_run(d);
        return;
    }
    d->probe_connected = true;
    d->probe.data = d;
    uv_read_start((uv_stream_t *)&d->probe, probe_alloc, probe_read);
    d->t0 = uv_hrtime();
    probe_send(d);
}

static void start_latency(struct ufrpc_diag *d)
{
    struct ufrpc_tunnel *t = temp_tunnel(d);
    if (t == NULL || t->state != UFRPC_TUNNEL_RUNNING || t->remote_addr == NULL) {
        cur(d)->status = UFRPC_DIAG_NOT_RUN;
        snprintf(cur(d)->detail, sizeof cur(d)->detail,
                 "frps did not accept a temporary tcp proxy: %s",
                 t && t->last_error ? t->last_error : "no answer");
        d->r.steps[UFRPC_DIAG_THROUGHPUT].status = UFRPC_DIAG_NOT_RUN;
        snprintf(d->r.steps[UFRPC_DIAG_THROUGHPUT].detail,
                 sizeof d->r.steps[UFRPC_DIAG_THROUGHPUT].detail, "%s", cur(d)->detail);
        end_run(d);
        return;
    }
    const char *colon = strrchr(t->remote_addr, ':');
    int port = colon ? atoi(colon + 1) : 0;
    const char *host = d->r.n_addrs > 0 ? d->r.addrs[0] : server_addr(d);
    struct sockaddr_storage sa;
    if (port <= 0 || port > 65535 ||
        (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
         uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0)) {
        cur(d)->status = UFRPC_DIAG_NOT_RUN;
        snprintf(cur(d)->detail, sizeof cur(d)->detail,
                 "cannot reach the temporary proxy at %s port %s", host, t->remote_addr);
        end_run(d);
        return;
    }
    d->chunk = malloc(PROBE_CHUNK);
    d->pattern = calloc(1, PROBE_CHUNK);
    if (d->chunk == NULL || d->pattern == NULL || uv_tcp_init(d->loop, &d->probe) != 0) {
        fail_step(d, NULL, "out of memory");
        end_run(d);
        return;
    }
    d->handles++;
    d->probe_open = true;
    d->probe.data = d;
    d->probe_req.data = d;
    if (uv_tcp_connect(&d->probe_req, &d->probe, (struct sockaddr *)&sa, probe_connected) != 0) {
        fail_step(d, NULL, "connect to the temporary proxy failed");
        end_run(d);
    }
}

static void start_throughput(struct ufrpc_diag *d)
{
    d->step = UFRPC_DIAG_THROUGHPUT;
    d->t0 = uv_hrtime();
    d->deadline = uv_now(d->loop) + d->o.step_timeout_ms;
    d->tp_base = d->sent; /* every ping came back: echoed == sent */
    d->want = d->sent + d->o.throughput_bytes;
    d->r.tp_bytes = 0;
    probe_send(d);
}

/* ---- the step timer -------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    struct ufrpc_diag *d = t->data;
    if (d->ending)
        return;
    uint64_t now = uv_now(d->loop);
    switch (d->step) {
    case UFRPC_DIAG_LOGIN:
        if (ufrpc_sup_login_count(d->client) > 0) {
            ok_step(d, "logged in, run id %s", ufrpc_sup_run_id(d->client));
            snprintf(d->r.run_id, sizeof d->r.run_id, "%s", ufrpc_sup_run_id(d->client));
            next_step(d);
        } else if (now >= d->deadline) {
            fail_step(d,
                      "no LoginResp: is serverPort frps's bindPort, and does the transport "
                      "(TLS, tcpMux, protocol) match frps's?",
                      "no login within %u s", d->o.step_timeout_ms / 1000);
            end_run(d);
        }
        break;
    case UFRPC_DIAG_PROXIES: check_proxies(d, false); break;
    case UFRPC_DIAG_LATENCY:
    case UFRPC_DIAG_THROUGHPUT:
        if (now >= d->deadline) {
            if (d->step == UFRPC_DIAG_THROUGHPUT && d->echoed > d->tp_base) {
                /* a slow link: report what came back in the time given */
                double ms = elapsed_ms(d);
                uint64_t got = d->echoed - d->tp_base;
                d->r.tp_bytes = got;
                d->r.tp_mbps = (double)got / 1e6 / (ms / 1000.0);
                ok_step(d, "%.1f MB echoed in %.0f ms (deadline): %.2f MB/s each way",
                        (double)got / 1e6, ms, d->r.tp_mbps);
            } else {
                fail_step(d, "the tunnel is stuck: read frps's and this client's logs",
                          "nothing came back through the temporary proxy within %u s",
                          d->o.step_timeout_ms / 1000);
            }
            end_run(d);
        }
        break;
    default: break;
    }
}

static void start_step(struct ufrpc_diag *d, int step)
{
    d->step = step;
    d->t0 = uv_hrtime();
    d->deadline = uv_now(d->loop) + (step == UFRPC_DIAG_PROXIES ? PROXY_WAIT_MS
                                                                 : d->o.step_timeout_ms);
    switch (step) {
    case UFRPC_DIAG_DNS: start_dns(d); break;
    case UFRPC_DIAG_TCP: start_dial(d); break;
    case UFRPC_DIAG_TLS: start_tls(d); break;
    case UFRPC_DIAG_LOGIN: start_login(d); break;
    case UFRPC_DIAG_PROXIES: check_proxies(d, false); break;
    case UFRPC_DIAG_LATENCY: start_latency(d); break;
    default: break;
    }
}

int ufrpc_diag_start(uv_loop_t *loop, const struct ufrpc_config *cfg, struct ufrpc_log *log,
                     const struct ufrpc_diag_opts *opts, ufrpc_diag_done_cb done, void *data,
                     ufrpc_diag_t **out)
{
    struct ufrpc_diag *d = calloc(1, sizeof *d);
    if (d == NULL)
        return UFRPC_ERR_NOMEM;
    d->r.proxies = calloc(cfg->nproxies + 1, sizeof *d->r.proxies);
    if (d->r.proxies == NULL) {
        free(d);
        return UFRPC_ERR_NOMEM;
    }
    d->loop = loop;
    d->cfg = cfg;
    d->log = log;
    d->done = done;
    d->data = data;
    if (opts != NULL)
        d->o = *opts;
    if (d->o.throughput_bytes == 0)
        d->o.throughput_bytes = 16u << 20;
    if (d->o.step_timeout_ms == 0)
        d->o.step_timeout_ms = 15000;
    snprintf(d->temp_name, sizeof d->temp_name, "ufrpc-diagnose-%ld-%llx", (long)getpid(),
             (unsigned long long)(uv_hrtime() & 0xffffff));
    if (uv_timer_init(loop, &d->timer) != 0) {
        free(d->r.proxies);
        free(d);
        return UFRPC_ERR_IO;
    }
    d->handles++;
    d->timer.data = d;
    int rc = start_echo(d);
    if (rc < 0) {
        *out = d;
        cur(d)->status = UFRPC_DIAG_FAIL;
        snprintf(cur(d)->detail, sizeof cur(d)->detail,
                 "cannot listen on 127.0.0.1 for the echo service");
        end_run(d);
        return 0; /* reported through done */
    }
    uv_timer_start(&d->timer, on_timer, POLL_MS, POLL_MS);
    *out = d;
    start_step(d, UFRPC_DIAG_DNS);
    return 0;
}

void ufrpc_diag_free(ufrpc_diag_t *d)
{
    if (d == NULL)
        return;
    if (d->tls != NULL)
        ufrpc_tls_ctx_free(d->tls);
    free(d->chunk);
    free(d->pattern);
    free(d->r.proxies);
    free(d);
}
