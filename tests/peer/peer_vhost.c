/* ufrpc-test-frps — http, https and tcpmux proxies behind frps's vhost ports
 * (--vhost-http-port, --vhost-https-port, --tcpmux-httpconnect-port, --subdomain-host).
 * Test code, not product. Behaviour follows frp v0.70 (pkg/util/vhost/router.go,
 * vhost.go, https.go, http.go, pkg/util/tcpmux/httpconnect.go, server/proxy/http.go,
 * https.go, tcpmux.go, pkg/config/v1/validation/proxy.go); the code is our own.
 *
 * Registration (NewProxy):
 *   - http needs the HTTP port ("type [http] not supported when vhost http port is not
 *     set"), https the HTTPS port, tcpmux multiplexer "httpconnect" the tcpmux port
 *     (other multiplexers: "unknown multiplexer [x]"). subdomain needs subDomainHost
 *     and may not hold '.' or '*'; a custom domain may not belong to subDomainHost.
 *   - domains = customDomains (non-empty ones) + subdomain "." subDomainHost; routes
 *     (lower-cased domain, location, routeByHTTPUser) for each domain × location (http;
 *     locations default [""]), one per domain with location "" for https and tcpmux
 *     (tcpmux with routeByHTTPUser). A route equal to an existing one refuses the
 *     proxy ("router config conflict"). NewProxyResp remote_addr: "domain:port" per
 *     route joined by "," (no ":port" for 80/443), as frps.
 *   - CloseProxy / control end: the proxy's routes go; HTTP requests using it end.
 * Lookup (all three ports, vh_route_find): exact host with the request's user, then
 * with routes for any user, then "*.rest" wildcards for hosts with 3+ labels, then
 * "*"; among a host's routes the greatest location (byte order) that prefixes the
 * path wins, i.e. the longest matching prefix.
 *
 * HTTPS port: reads the TLS ClientHello (records of type 22 up to 16 KiB of
 * handshake, partial input safe, 10 s deadline), takes the SNI host_name, lower-cased,
 * routes it; unknown name or no SNI → TLS alert unrecognized_name and close (as Go's
 * tls.Server with no certificate in frps's vhostFailed); not a ClientHello → close.
 * Found → a work connection (src = user address, dst = the vhost port's address, as
 * frps's handleUserTCPConnection), the bytes read so far pushed back into the user
 * stream and both spliced. Encrypted end to end; frps never terminates TLS here.
 *
 * tcpmux httpconnect port: reads one HTTP request head (8 KiB, 10 s). Not CONNECT or
 * malformed → close without answer (frps: vhostFunc error). Host = the CONNECT target
 * canonicalised; user/password from Proxy-Authorization. Unknown → frps's 404
 * NotFoundResponse and close. Found → "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
 * (Go's Response.Write of OkResponse), THEN, as frps does (success hook before the
 * auth check), when httpUser is set and the credentials differ: "HTTP/1.1 407 Proxy
 * Authentication Required" with Proxy-Authenticate and close. Otherwise work
 * connection + splice. Bytes the user sent together with the CONNECT head are
 * dropped, as frps drops what its bufio reader buffered past the head (event
 * vhost-early-dropped).
 *
 * HTTP port: see peer_vhost_http.c.
 *
 * Events: vhost-listen kind= port=, vhost-route-add / vhost-route-del proxy= kind=
 * domain= location= user=, vhost-request kind=https|tcpmux host= proxy= src=,
 * vhost-404 kind= host=, vhost-auth-failed kind=tcpmux proxy=, vhost-bad-request
 * kind= reason=, plus peer_vhost_http.c's.
 *
 * Ownership: struct vhost (p->vhost) owns the listeners and the routes; struct
 * sniff_conn owns its user stream until it hands it to peer_get_work's callback (then
 * peer_splice) or closes it, and frees itself in its timer's close callback.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_internal.h" /* px->c->p */
#include "llhttp.h"
#include "peer_vhost.h"
#include "proto/base64.h"
#include "proto/error.h"

#define SNIFF_TIMEOUT_MS 10000u
#define HELLO_MAX (16u * 1024u)          /* handshake bytes of a ClientHello we accept */
#define SNIFF_BUF (HELLO_MAX + 5u * 8u)  /* plus up to 8 record headers */
#define CONNECT_HEAD_MAX (8u * 1024u)

static const char *const kind_names[VH_KINDS] = {"http", "https", "tcpmux"};

const char vh_not_found_page[] =
    "<!DOCTYPE html>\n<html>\n<head>\n<title>Not Found</title>\n<style>\n"
    "    body {\n        width: 35em;\n        margin: 0 auto;\n"
    "        font-family: Tahoma, Verdana, Arial, sans-serif;\n    }\n</style>\n</head>\n"
    "<body>\n<h1>The page you requested was not found.</h1>\n"
    "<p>Sorry, the page you are looking for is currently unavailable.<br/>\n"
    "Please try again later.</p>\n"
    "<p>The server is powered by <a href=\"https://github.com/fatedier/frp\">frp</a>.</p>\n"
    "<p><em>Faithfully yours, frp.</em></p>\n</body>\n</html>\n";

/* ---- small helpers --------------------------------------------------------------------- */
struct wcopy {
    struct ufrpc_stream_write req;
    vh_write_done cb;
    void *arg;
    size_t len;
    uint8_t data[];
};

static void on_wcopy_done(struct ufrpc_stream_write *req, int status)
{
    struct wcopy *w = req->data;
    if (w->cb != NULL)
        w->cb(w->arg, status, w->len);
    free(w);
}

int vh_write_copy(struct ufrpc_stream *st, const void *data, size_t len, vh_write_done cb,
                  void *arg)
{
    struct wcopy *w = malloc(sizeof *w + len);
    if (w == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(w->data, data, len);
    w->cb = cb;
    w->arg = arg;
    w->len = len;
    w->req.data = w;
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    int rc = ufrpc_stream_write(st, &w->req, &b, 1, on_wcopy_done);
    if (rc < 0)
        free(w);
    return rc;
}

int vh_canonical_host(const char *in, size_t len, char *out, size_t cap)
{
    size_t colons = 0;
    for (size_t i = 0; i < len; i++)
        colons += in[i] == ':';
    size_t start = 0, end = len;
    if (colons == 1) {
        end = (size_t)((const char *)memchr(in, ':', len) - in);
    } else if (colons > 1 && len > 0 && in[0] == '[') {
        const char *rb = memchr(in, ']', len);
        if (rb == NULL)
            return UFRPC_ERR_INVAL;
        size_t rbi = (size_t)(rb - in);
        if (rbi + 1 < len) {
            if (in[rbi + 1] != ':')
                return UFRPC_ERR_INVAL;
            start = 1; /* SplitHostPort drops the brackets */
            end = rbi;
        }
    }
    if (end > start && in[end - 1] == '.')
        end--;
    if (end - start >= cap)
        return UFRPC_ERR_LIMIT;
    for (size_t i = start; i < end; i++)
        out[i - start] = (char)tolower((unsigned char)in[i]);
    out[end - start] = 0;
    return 0;
}

int vh_basic_auth(const char *v, size_t len, char *user, size_t ucap, char *pwd, size_t pcap)
{
    static const char prefix[] = "basic ";
    if (len < sizeof prefix - 1 || strncasecmp(v, prefix, sizeof prefix - 1) != 0)
        return 0;
    v += sizeof prefix - 1;
    len -= sizeof prefix - 1;
    uint8_t dec[512];
    if (ufrpc_base64_decoded_max(len) > sizeof dec)
        return 0;
    long n = ufrpc_base64_decode(v, len, dec);
    if (n < 0)
        return 0;
    uint8_t *colon = memchr(dec, ':', (size_t)n);
    if (colon == NULL)
        return 0;
    size_t ul = (size_t)(colon - dec), pl = (size_t)n - ul - 1;
    if (ul >= ucap || pl >= pcap)
        return 0;
    memcpy(user, dec, ul);
    user[ul] = 0;
    memcpy(pwd, colon + 1, pl);
    pwd[pl] = 0;
    return 1;
}

/* ---- routes -------------------------------------------------------------------------------- */
static const struct vh_route *find_exact(const struct vhost *vh, int kind, const char *host,
                                         const char *path, const char *user)
{
    const struct vh_route *best = NULL;
    for (const struct vh_route *r = vh->routes; r != NULL; r = r->next) {
        if (r->kind != kind || strcmp(r->domain, host) != 0 || strcmp(r->user, user) != 0)
            continue;
        if (strncmp(path, r->location, strlen(r->location)) != 0)
            continue;
        if (best == NULL || strcmp(r->location, best->location) > 0)
            best = r;
    }
    return best;
}

static const struct vh_route *find_host(const struct vhost *vh, int kind, const char *host,
                                        const char *path, const char *user)
{
    const struct vh_route *r = find_exact(vh, kind, host, path, user);
    if (r == NULL)
        r = find_exact(vh, kind, host, path, "");
    return r;
}

const struct vh_route *vh_route_find(const struct vhost *vh, int kind, const char *host,
                                     const char *path, const char *user)
{
    const struct vh_route *r = find_host(vh, kind, host, path, user);
    if (r != NULL)
        return r;
    /* "a.b.c" → "*.b.c", then "*.c"... while 3+ labels remain */
    char buf[300];
    const char *rest = host;
    for (;;) {
        size_t labels = 1;
        for (const char *q = rest; *q; q++)
            labels += *q == '.';
        if (labels < 3)
            break;
        const char *dot = strchr(rest, '.');
        snprintf(buf, sizeof buf, "*%s", dot);
        r = find_host(vh, kind, buf, path, user);
        if (r != NULL)
            return r;
        rest = dot + 1;
    }
    return find_host(vh, kind, "*", path, user);
}

static void route_del_proxy(struct vhost *vh, struct proxy *px)
{
    for (struct vh_route **pp = &vh->routes; *pp != NULL;) {
        struct vh_route *r = *pp;
        if (r->px == px) {
            *pp = r->next;
            peer_event("vhost-route-del", "proxy=%s kind=%s domain=%s location=%s user=%s",
                       px->name, kind_names[r->kind], r->domain, r->location, r->user);
            free(r->domain);
            free(r->location);
            free(r->user);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

static int route_add(struct vhost *vh, int kind, const char *domain, const char *location,
                     const char *user, struct proxy *px)
{
    char low[256];
    size_t n = strlen(domain);
    if (n >= sizeof low)
        return UFRPC_ERR_LIMIT;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)domain[i]);
    for (const struct vh_route *r = vh->routes; r != NULL; r = r->next)
        if (r->kind == kind && strcmp(r->domain, low) == 0 && strcmp(r->user, user) == 0 &&
            strcmp(r->location, location) == 0)
            return UFRPC_ERR_CONFIG_CONFLICT;
    struct vh_route *r = calloc(1, sizeof *r);
    if (r == NULL)
        return UFRPC_ERR_NOMEM;
    r->domain = strdup(low);
    r->location = strdup(location);
    r->user = strdup(user);
    if (r->domain == NULL || r->location == NULL || r->user == NULL) {
        free(r->domain);
        free(r->location);
        free(r->user);
        free(r);
        return UFRPC_ERR_NOMEM;
    }
    r->kind = kind;
    r->px = px;
    r->next = vh->routes;
    vh->routes = r;
    peer_event("vhost-route-add", "proxy=%s kind=%s domain=%s location=%s user=%s", px->name,
               kind_names[kind], r->domain, location, user);
    return 0;
}

/* ---- the three kinds ------------------------------------------------------------------------ */
static int kind_index(const struct proxy *px)
{
    const char *t = px->kind->type;
    return strcmp(t, "http") == 0 ? VH_HTTP : strcmp(t, "https") == 0 ? VH_HTTPS : VH_TCPMUX;
}

static void append_addr(char *ra, size_t cap, const char *domain, uint16_t port)
{
    size_t used = strlen(ra);
    char one[300];
    int n = port == 80 || port == 443 ? snprintf(one, sizeof one, "%s%s", used ? "," : "", domain)
                                      : snprintf(one, sizeof one, "%s%s:%u", used ? "," : "", domain, port);
    /* bounded: an address that does not fit, and later ones, are left out */
    if (n > 0 && (size_t)n < sizeof one && used + (size_t)n < cap)
        memcpy(ra + used, one, (size_t)n + 1);
}

static int vhost_open(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    struct peer *p = px->c->p;
    struct vhost *vh = p->vhost;
    const struct ufrpc_msg_new_proxy *np = &px->msg.u.new_proxy;
    int kind = kind_index(px);
    const char *user = np->route_by_http_user ? np->route_by_http_user : "";
    ra[0] = 0;
    if (kind == VH_TCPMUX &&
        (np->multiplexer == NULL || strcmp(np->multiplexer, "httpconnect") != 0)) {
        snprintf(err, err_cap, "unknown multiplexer [%s]", np->multiplexer ? np->multiplexer : "");
        return UFRPC_ERR_INVAL;
    }
    if (vh == NULL || vh->l[kind] == NULL) {
        if (kind == VH_TCPMUX)
            snprintf(err, err_cap, "tcpmux with multiplexer httpconnect not supported because "
                                   "this feature is not enabled in server");
        else
            snprintf(err, err_cap, "type [%s] not supported when vhost %s port is not set",
                     kind_names[kind], kind_names[kind]);
        return UFRPC_ERR_UNSUPPORTED;
    }
    const char *sdh = p->o.subdomain_host;
    for (size_t i = 0; i < np->custom_domains.n; i++) {
        const char *d = np->custom_domains.items[i];
        size_t dl = strlen(d), sl = strlen(sdh);
        size_t dlabels = 1, slabels = 1;
        for (const char *q = d; *q; q++)
            dlabels += *q == '.';
        for (const char *q = sdh; *q; q++)
            slabels += *q == '.';
        if (sl > 0 && slabels < dlabels && dl > sl + 1 && d[dl - sl - 1] == '.' &&
            strcmp(d + dl - sl, sdh) == 0) {
            snprintf(err, err_cap, "custom domain [%s] should not belong to subdomain host [%s]",
                     d, sdh);
            return UFRPC_ERR_INVAL;
        }
    }
    if (np->subdomain != NULL && np->subdomain[0]) {
        if (!sdh[0]) {
            snprintf(err, err_cap,
                     "subdomain is not supported because this feature is not enabled in server");
            return UFRPC_ERR_UNSUPPORTED;
        }
        if (strpbrk(np->subdomain, ".*") != NULL) {
            snprintf(err, err_cap, "'.' and '*' are not supported in subdomain");
            return UFRPC_ERR_INVAL;
        }
    }
    /* domains: custom ones, then the subdomain */
    size_t nd = np->custom_domains.n + 1;
    char sub[300] = "";
    if (np->subdomain != NULL && np->subdomain[0])
        snprintf(sub, sizeof sub, "%s.%s", np->subdomain, sdh);
    static const char *const no_location[] = {""};
    const char *const *locs = no_location;
    size_t nl = 1;
    if (kind == VH_HTTP && np->locations.n > 0) {
        locs = (const char *const *)np->locations.items;
        nl = np->locations.n;
    }
    int rc = 0;
    for (size_t i = 0; i < nd && rc == 0; i++) {
        const char *d = i < np->custom_domains.n ? np->custom_domains.items[i] : sub;
        if (d == NULL || !d[0])
            continue;
        for (size_t j = 0; j < nl && rc == 0; j++) {
            rc = route_add(vh, kind, d, locs[j], kind == VH_HTTPS ? "" : user, px);
            if (rc == 0)
                append_addr(ra, ra_cap, d, vh->port[kind]);
        }
    }
    if (rc < 0) {
        route_del_proxy(vh, px);
        snprintf(err, err_cap, "%s", rc == UFRPC_ERR_CONFIG_CONFLICT ? "router config conflict"
                                                                       : ufrpc_strerror(rc));
        return rc;
    }
    return 0;
}

static void vhost_close(struct proxy *px)
{
    struct vhost *vh = px->c->p->vhost;
    if (vh != NULL) {
        route_del_proxy(vh, px);
        vh_http_proxy_closed(vh, px);
    }
    peer_proxy_free(px);
}

const struct proxy_kind peer_kind_http = {"http", vhost_open, vhost_close};
const struct proxy_kind peer_kind_https = {"https", vhost_open, vhost_close};
const struct proxy_kind peer_kind_tcpmux = {"tcpmux", vhost_open, vhost_close};

/* ---- closing a user connection after an answer ------------------------------------------------ */
/* vh_close_after_writes: reading (and dropping) what the user still sends keeps the
 * kernel from resetting the answer away; the close waits for our FIN (shutdown done)
 * and the user's EOF, or 5 s. */
struct vh_linger {
    uv_timer_t t;
    struct ufrpc_stream *st;
    int shut_done, eof, handles; /* freed when the timer and the stream are closed */
};

static void linger_unref(struct vh_linger *lg)
{
    if (--lg->handles == 0)
        free(lg);
}

static void on_linger_timer_closed(uv_handle_t *h)
{
    linger_unref(h->data);
}

static void on_linger_stream_closed(struct ufrpc_stream *st)
{
    linger_unref(st->data);
}

static void linger_end(struct vh_linger *lg)
{
    if (lg->st != NULL) {
        ufrpc_stream_close(lg->st, on_linger_stream_closed);
        lg->st = NULL;
        uv_close((uv_handle_t *)&lg->t, on_linger_timer_closed);
    }
}

static void on_linger_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                           const uint8_t *data, size_t len)
{
    struct vh_linger *lg = st->data;
    (void)buf;
    (void)data;
    (void)len;
    if (status == UFRPC_ERR_EOF) {
        lg->eof = 1;
        if (lg->shut_done)
            linger_end(lg);
    } else if (status < 0) {
        linger_end(lg);
    }
}

static void on_linger_shutdown(struct ufrpc_stream *st, int status)
{
    struct vh_linger *lg = st->data;
    if (lg->st == NULL)
        return; /* canceled by linger_end */
    lg->shut_done = 1;
    if (status < 0 || lg->eof)
        linger_end(lg);
}

static void on_linger_timeout(uv_timer_t *t)
{
    linger_end(t->data);
}

void vh_close_after_writes(struct peer *p, struct ufrpc_stream *st)
{
    struct vh_linger *lg = calloc(1, sizeof *lg);
    if (lg == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    lg->st = st;
    lg->handles = 2;
    st->data = lg;
    uv_timer_init(p->loop, &lg->t);
    lg->t.data = lg;
    uv_timer_start(&lg->t, on_linger_timeout, 5000, 0);
    if (ufrpc_stream_shutdown(st, on_linger_shutdown) < 0)
        linger_end(lg);
    else if (ufrpc_stream_read_start(st, on_linger_read) < 0)
        lg->eof = 1; /* the user has half-closed already: end when our FIN is out */
}

/* ---- https and tcpmux: read the head, route, splice ---------------------------------------- */
struct sniff_conn {
    struct vhost *vh;
    int kind;
    struct ufrpc_stream *user;
    uv_timer_t timer;
    uint8_t buf[SNIFF_BUF];
    size_t len;
    /* tcpmux head */
    llhttp_t hp;
    char host[256], auth[512];
    size_t host_len, auth_len;
    int field; /* current header: 0 other, 1 Proxy-Authorization */
    char fname[32];
    size_t fname_len;
    int head_done, bad;
    /* bytes read beyond buf (one delivery at most: reading stops then) */
    ufrpc_rbuf_t *extra;
    const uint8_t *extra_data;
    size_t extra_len;
};

static void on_sniff_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Frees sc; its user stream must have been handed over or closed. */
static void sniff_free(struct sniff_conn *sc)
{
    ufrpc_rbuf_unref(sc->extra);
    sc->extra = NULL;
    uv_timer_stop(&sc->timer);
    uv_close((uv_handle_t *)&sc->timer, on_sniff_timer_closed);
}

static void sniff_fail(struct sniff_conn *sc, const char *reason)
{
    peer_event("vhost-bad-request", "kind=%s reason=%s", kind_names[sc->kind], reason);
    ufrpc_stream_close(sc->user, NULL);
    sc->user = NULL;
    sniff_free(sc);
}

static void on_sniff_timeout(uv_timer_t *t)
{
    sniff_fail(t->data, "timeout");
}

static void on_mux_work(struct proxy *px, struct ufrpc_stream *work, void *arg)
{
    struct ufrpc_stream *user = arg;
    if (work == NULL) {
        ufrpc_stream_close(user, NULL);
        return;
    }
    peer_splice(px, user, work, false);
}

/* Routing found px: push back `keep` bytes and get a work connection. Frees sc. */
static void sniff_forward(struct sniff_conn *sc, struct proxy *px, const uint8_t *keep,
                          size_t keep_len)
{
    struct ufrpc_stream *user = sc->user;
    sc->user = NULL;
    char src[64], dst[64];
    uint16_t sport, dport;
    peer_addr_of(user, 1, src, sizeof src, &sport);
    peer_addr_of(user, 0, dst, sizeof dst, &dport);
    ufrpc_stream_read_stop(user);
    size_t total = keep_len + sc->extra_len;
    uint8_t *all = total > 0 ? malloc(total) : NULL;
    int ok = total == 0 || all != NULL;
    if (all != NULL) {
        memcpy(all, keep, keep_len);
        if (sc->extra_len > 0)
            memcpy(all + keep_len, sc->extra_data, sc->extra_len);
        ok = ufrpc_stream_unread(user, NULL, all, total) == 0; /* copied */
        free(all);
    }
    if (!ok || peer_get_work(px, src, sport, dst, dport, on_mux_work, user) < 0)
        ufrpc_stream_close(user, NULL);
    sniff_free(sc);
}

/* 1: complete (name filled, "" without SNI), 0: need more, <0: not a ClientHello. */
static int parse_client_hello(const uint8_t *b, size_t len, char *name, size_t cap)
{
    uint8_t hs[HELLO_MAX];
    size_t hl = 0, off = 0;
    name[0] = 0;
    /* gather handshake bytes from consecutive records */
    for (;;) {
        if (hl >= 4) {
            size_t need = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
            if (hs[0] != 1)
                return -1;
            if (need > sizeof hs)
                return -1;
            if (hl >= need)
                break;
        }
        if (len - off < 5)
            return 0;
        if (b[off] != 22 || b[off + 1] != 3)
            return -1;
        size_t rl = (size_t)b[off + 3] << 8 | b[off + 4];
        if (rl == 0 || rl > 16384)
            return -1;
        if (len - off - 5 < rl)
            return 0; /* wait for the whole record */
        size_t take = rl;
        if (take > sizeof hs - hl)
            take = sizeof hs - hl;
        if (take == 0)
            return -1;
        memcpy(hs + hl, b + off + 5, take);
        hl += take;
        off += 5 + rl;
    }
    size_t end = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
    size_t i = 4 + 2 + 32; /* type+len, client_version, random */
#define NEED(n)                                                                                \
    do {                                                                                       \
        if (end - i < (size_t)(n) || i > end)                                                  \
            return -1;                                                                         \
    } while (0)
    NEED(1);
    i += 1 + hs[i]; /* session id */
    NEED(2);
    i += 2 + ((size_t)hs[i] << 8 | hs[i + 1]); /* cipher suites */
    NEED(1);
    i += 1 + hs[i]; /* compression methods */
    if (i == end)
        return 1; /* no extensions */
    NEED(2);
    size_t ext_end = i + 2 + ((size_t)hs[i] << 8 | hs[i + 1]);
    i += 2;
    if (ext_end > end)
        return -1;
    while (i < ext_end) {
        if (ext_end - i < 4)
            return -1;
        unsigned type = (unsigned)hs[i] << 8 | hs[i + 1];
        size_t el = (size_t)hs[i + 2] << 8 | hs[i + 3];
        i += 4;
        if (ext_end - i < el)
            return -1;
        if (type == 0) { /* server_name: list len, then (type, len, name)... */
            size_t j = i + 2, lend = i + el;
            if (el < 2)
                return -1;
            while (j + 3 <= lend) {
                unsigned nt = hs[j];
                size_t nl = (size_t)hs[j + 1] << 8 | hs[j + 2];
                j += 3;
                if (lend - j < nl)
                    return -1;
                if (nt == 0) {
                    if (nl >= cap)
                        return -1;
                    for (size_t k = 0; k < nl; k++)
                        name[k] = (char)tolower(hs[j + k]);
                    name[nl] = 0;
                    return 1;
                }
                j += nl;
            }
        }
        i += el;
    }
#undef NEED
    return 1;
}

static void https_input(struct sniff_conn *sc)
{
    char name[256];
    int rc = parse_client_hello(sc->buf, sc->len, name, sizeof name);
    if (rc == 0) {
        if (sc->extra != NULL || sc->len >= sizeof sc->buf)
            sniff_fail(sc, "client-hello-too-long");
        return;
    }
    if (rc < 0) {
        sniff_fail(sc, "not-a-client-hello");
        return;
    }
    const struct vh_route *r = name[0] ? vh_route_find(sc->vh, VH_HTTPS, name, "", "") : NULL;
    if (r == NULL) {
        /* as Go's tls.Server without certificates: alert unrecognized_name */
        static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 112};
        peer_event("vhost-404", "kind=https host=%s", name[0] ? name : "-");
        struct ufrpc_stream *user = sc->user;
        sc->user = NULL;
        ufrpc_stream_read_stop(user);
        if (vh_write_copy(user, alert, sizeof alert, NULL, NULL) < 0)
            ufrpc_stream_close(user, NULL);
        else
            vh_close_after_writes(sc->vh->p, user);
        sniff_free(sc);
        return;
    }
    char src[64];
    uint16_t sport;
    peer_addr_of(sc->user, 1, src, sizeof src, &sport);
    peer_event("vhost-request", "kind=https host=%s proxy=%s src=%s:%u", name, r->px->name, src,
               sport);
    sniff_forward(sc, r->px, sc->buf, sc->len);
}

/* tcpmux: llhttp callbacks collecting the CONNECT target and Proxy-Authorization */
static int tm_on_url(llhttp_t *h, const char *at, size_t n)
{
    struct sniff_conn *sc = h->data;
    if (sc->host_len + n >= sizeof sc->host)
        return sc->bad = 1, -1;
    memcpy(sc->host + sc->host_len, at, n);
    sc->host_len += n;
    return 0;
}

static int tm_on_field(llhttp_t *h, const char *at, size_t n)
{
    struct sniff_conn *sc = h->data;
    if (sc->field != 2) { /* a new field starts after a value */
        sc->fname_len = 0;
        sc->field = 2;
    }
    if (sc->fname_len + n < sizeof sc->fname) {
        memcpy(sc->fname + sc->fname_len, at, n);
        sc->fname_len += n;
    } else {
        sc->fname_len = sizeof sc->fname; /* too long: not one we want */
    }
    return 0;
}

static int tm_on_value(llhttp_t *h, const char *at, size_t n)
{
    struct sniff_conn *sc = h->data;
    if (sc->field == 2) {
        static const char pa[] = "proxy-authorization";
        sc->field = (sc->fname_len == sizeof pa - 1 && strncasecmp(sc->fname, pa, sizeof pa - 1) == 0)
                        ? 1
                        : 0;
        if (sc->field == 1)
            sc->auth_len = 0; /* Header.Get: the first one; keep it simple: the last one */
    }
    if (sc->field == 1) {
        if (sc->auth_len + n >= sizeof sc->auth)
            return sc->bad = 1, -1;
        memcpy(sc->auth + sc->auth_len, at, n);
        sc->auth_len += n;
    }
    if (sc->field == 0)
        sc->field = 3; /* inside a value we do not keep */
    return 0;
}

static int tm_on_headers_complete(llhttp_t *h)
{
    struct sniff_conn *sc = h->data;
    sc->head_done = 1;
    return 0;
}

static void tcpmux_input(struct sniff_conn *sc, size_t new_off)
{
    static llhttp_settings_t st;
    static int st_init;
    if (!st_init) {
        llhttp_settings_init(&st);
        st.on_url = tm_on_url;
        st.on_header_field = tm_on_field;
        st.on_header_value = tm_on_value;
        st.on_headers_complete = tm_on_headers_complete;
        st_init = 1;
    }
    if (new_off == 0) {
        llhttp_init(&sc->hp, HTTP_REQUEST, &st);
        sc->hp.data = sc;
    }
    llhttp_errno_t e = llhttp_execute(&sc->hp, (const char *)sc->buf + new_off, sc->len - new_off);
    if (e == HPE_OK) {
        if (sc->head_done) { /* a complete request that is not CONNECT */
            sniff_fail(sc, "not-connect");
        } else if (sc->extra != NULL || sc->len >= CONNECT_HEAD_MAX) {
            sniff_fail(sc, "head-too-long");
        }
        return;
    }
    if (e != HPE_PAUSED_UPGRADE || llhttp_get_method(&sc->hp) != HTTP_CONNECT) {
        sniff_fail(sc, llhttp_get_method(&sc->hp) != HTTP_CONNECT && sc->head_done
                           ? "not-connect"
                           : "malformed");
        return;
    }
    const uint8_t *rest = (const uint8_t *)llhttp_get_error_pos(&sc->hp);
    size_t rest_len = sc->len - (size_t)(rest - sc->buf);
    char host[256], user[256] = "", pwd[256] = "";
    if (vh_canonical_host(sc->host, sc->host_len, host, sizeof host) < 0) {
        sniff_fail(sc, "bad-host");
        return;
    }
    if (sc->auth_len > 0)
        vh_basic_auth(sc->auth, sc->auth_len, user, sizeof user, pwd, sizeof pwd);
    const struct vh_route *r = vh_route_find(sc->vh, VH_TCPMUX, host, "", user);
    struct ufrpc_stream *u = sc->user;
    if (r == NULL) {
        char resp[2048];
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 404 Not Found\r\nContent-Length: %zu\r\n"
                         "Content-Type: text/html\r\nServer: frp/0.70.1\r\n\r\n%s",
                         strlen(vh_not_found_page), vh_not_found_page);
        peer_event("vhost-404", "kind=tcpmux host=%s user=%s", host, user);
        sc->user = NULL;
        ufrpc_stream_read_stop(u);
        if (vh_write_copy(u, resp, (size_t)n, NULL, NULL) < 0)
            ufrpc_stream_close(u, NULL);
        else
            vh_close_after_writes(sc->vh->p, u);
        sniff_free(sc);
        return;
    }
    struct proxy *px = r->px;
    const struct ufrpc_msg_new_proxy *np = &px->msg.u.new_proxy;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    if (vh_write_copy(u, ok, sizeof ok - 1, NULL, NULL) < 0) {
        sniff_fail(sc, "write-failed");
        return;
    }
    const char *wu = np->http_user ? np->http_user : "";
    const char *wp = np->http_pwd ? np->http_pwd : "";
    if (wu[0] && (strcmp(wu, user) != 0 || strcmp(wp, pwd) != 0)) {
        static const char deny[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
                                   "Content-Length: 0\r\n"
                                   "Proxy-Authenticate: Basic realm=\"Restricted\"\r\n\r\n";
        peer_event("vhost-auth-failed", "kind=tcpmux proxy=%s user=%s", px->name, user);
        sc->user = NULL;
        ufrpc_stream_read_stop(u);
        if (vh_write_copy(u, deny, sizeof deny - 1, NULL, NULL) < 0)
            ufrpc_stream_close(u, NULL);
        else
            vh_close_after_writes(sc->vh->p, u);
        sniff_free(sc);
        return;
    }
    char src[64];
    uint16_t sport;
    peer_addr_of(u, 1, src, sizeof src, &sport);
    peer_event("vhost-request", "kind=tcpmux host=%s proxy=%s user=%s src=%s:%u", host, px->name,
               user, src, sport);
    /* frps reads the head through a bufio.Reader and splices the raw connection:
     * whatever arrived with the head is lost (seen with frps v0.70.0) */
    size_t dropped = rest_len + sc->extra_len;
    if (dropped > 0)
        peer_event("vhost-early-dropped", "kind=tcpmux proxy=%s bytes=%zu", px->name, dropped);
    sc->extra_len = 0;
    (void)rest;
    sniff_forward(sc, px, NULL, 0);
}

static void on_sniff_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct sniff_conn *sc = st->data;
    if (status < 0) {
        sniff_fail(sc, status == UFRPC_ERR_EOF ? "eof" : "read-error");
        return;
    }
    size_t cap = sc->kind == VH_HTTPS ? sizeof sc->buf : CONNECT_HEAD_MAX;
    size_t room = cap - sc->len;
    if (len > room) {
        /* more than a head can be: the head must end within what fits (else the
         * input fails below); the rest is kept for the work stream */
        const uint8_t *x = data + room;
        sc->extra = ufrpc_rbuf_hold(buf, &x, len - room);
        if (sc->extra == NULL) {
            sniff_fail(sc, "no-memory");
            return;
        }
        sc->extra_data = x;
        sc->extra_len = len - room;
        len = room;
        ufrpc_stream_read_stop(st);
    }
    size_t old = sc->len;
    memcpy(sc->buf + sc->len, data, len);
    sc->len += len;
    if (sc->kind == VH_HTTPS)
        https_input(sc);
    else
        tcpmux_input(sc, old);
}

static void on_vhost_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *user)
{
    struct vhost *vh = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    int kind = l == vh->l[VH_HTTP] ? VH_HTTP : l == vh->l[VH_HTTPS] ? VH_HTTPS : VH_TCPMUX;
    if (kind == VH_HTTP) {
        vh_http_accept(vh, user);
        return;
    }
    struct sniff_conn *sc = calloc(1, sizeof *sc);
    if (sc == NULL) {
        ufrpc_stream_close(user, NULL);
        return;
    }
    sc->vh = vh;
    sc->kind = kind;
    sc->user = user;
    user->data = sc;
    uv_timer_init(vh->p->loop, &sc->timer);
    sc->timer.data = sc;
    uv_timer_start(&sc->timer, on_sniff_timeout, SNIFF_TIMEOUT_MS, 0);
    if (ufrpc_stream_read_start(user, on_sniff_read) < 0)
        sniff_fail(sc, "read-start");
}

int peer_vhost_start(struct peer *p)
{
    const uint16_t ports[VH_KINDS] = {p->o.vhost_http_port, p->o.vhost_https_port,
                                      p->o.tcpmux_httpconnect_port};
    if (!ports[0] && !ports[1] && !ports[2])
        return 0;
    /* a user that goes away while we answer must not kill the test frps */
    signal(SIGPIPE, SIG_IGN);
    struct vhost *vh = calloc(1, sizeof *vh);
    if (vh == NULL)
        return UFRPC_ERR_NOMEM;
    vh->p = p;
    for (int k = 0; k < VH_KINDS; k++) {
        if (!ports[k])
            continue;
        int rc = 0;
        vh->l[k] = ufrpc_tcp_listen(p->loop, p->o.proxy_ip, ports[k], on_vhost_accept, vh, &rc);
        if (vh->l[k] == NULL) {
            fprintf(stderr, "ufrpc-test-frps: listen %s:%u (%s): %s\n", p->o.proxy_ip, ports[k],
                    kind_names[k], ufrpc_strerror(rc));
            return rc < 0 ? rc : UFRPC_ERR_INVAL; /* the process exits */
        }
        vh->port[k] = ufrpc_tcp_listener_port(vh->l[k]);
        peer_event("vhost-listen", "kind=%s port=%u", kind_names[k], vh->port[k]);
    }
    p->vhost = vh;
    return 0;
}
