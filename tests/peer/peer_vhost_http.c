/* ufrpc-test-frps — the HTTP vhost port: a small HTTP/1.1 reverse proxy in front of
 * http proxies, as frps's pkg/util/vhost/http.go (httputil.ReverseProxy) behaves.
 * Test code, not product (see peer_vhost.c for routing).
 *
 * Per user connection, requests are handled one after the other (keep-alive and
 * pipelined input work; a request is read only after the previous response ended):
 *   1. the request head (llhttp; 32 KiB, 128 header lines at most) → host = the
 *      absolute-form URL's authority or Host, canonicalised (lower case, no port, no
 *      trailing dot); path = the raw path (not percent-decoded, unlike Go); user = the
 *      Basic-auth user (Proxy-Authorization for absolute-form URLs) for routeByHTTPUser;
 *   2. route (vh_route_find): none → 404 with frps's page (text/html; charset=utf-8);
 *      httpUser/httpPassword set and the credentials differ → 401 "Unauthorized\n"
 *      with WWW-Authenticate: Basic realm="Restricted" (407 + Proxy-Authenticate for
 *      absolute-form URLs), as Go's http.Error; the request body is read and dropped,
 *      the connection stays usable;
 *   3. a work connection (peer_get_work, src = the user's address, dst empty, as
 *      frps's http proxy); none in userConnTimeout → 404 as frps's ErrorHandler;
 *   4. the request goes out as HTTP/1.1 in origin form: Host = hostHeaderRewrite or
 *      the original host; hop-by-hop headers dropped (Connection, Keep-Alive,
 *      Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, TE, Trailer,
 *      Upgrade; Transfer-Encoding re-added when chunked); X-Forwarded-For (the user's
 *      IP appended), X-Forwarded-Host (original Host), X-Forwarded-Proto: http as Go's
 *      SetXForwarded; then NewProxy `headers` (requestHeaders.set) set, replacing any
 *      header of that name (canonical MIME key); "Connection: close": one request per
 *      work connection (Go's transport would reuse idle ones). The body is re-framed:
 *      Content-Length as is, chunked re-chunked (trailers dropped);
 *   5. the response head (llhttp): hop-by-hop headers dropped, NewProxy
 *      `response_headers` (responseHeaders.set) set; 1xx interim responses passed on;
 *      a body delimited by EOF is sent chunked to HTTP/1.1 users (as Go's server
 *      does) so keep-alive survives; HEAD, 204 and 304 have no body. A malformed or
 *      missing response before anything was sent to the user → 404 with frps's page
 *      (frps's ErrorHandler does this for every transport error but timeouts) and the
 *      connection goes on with the next request; after the head was sent → the user
 *      connection is closed.
 * Upgrade (WebSocket...): the request goes out with "Connection: Upgrade" and its
 * Upgrade header (as Go's ReverseProxy), a 101 answer is passed on with its headers
 * (plus responseHeaders.set) and then user and work connection are spliced (bytes
 * either side sent early are kept); any other answer ends the user connection after.
 * CONNECT: routed by its authority (path "", Proxy-Authorization, 407 on bad
 * credentials), then, as frps's connectHandler, the request head is written to the
 * work connection as is (Go's Request.Write) and both are spliced: the answer, if
 * any, comes from the local service.
 * Not done: Go's transparent gzip
 * (Accept-Encoding), 100-continue handling beyond passing the backend's 100 on,
 * read timeouts (a silent user keeps its connection). Garbage instead of a request →
 * "400 Bad Request" and close, as Go's server; a head beyond the limit → 431.
 *
 * Events: vhost-request kind=http host= path= proxy= user= src=, vhost-404 kind=http
 * host= path=, vhost-unauthorized kind=http host= proxy=, vhost-response kind=http
 * proxy= status=, vhost-upgrade kind=http proxy= host=, vhost-bad-request kind=http
 * reason=, vhost-bad-response kind=http proxy= reason=.
 *
 * Ownership: struct vh_http_conn (on vh->hconns) owns the user stream, the work stream
 * of the request in flight and one held read buffer (user bytes not parsed yet). Every
 * write in flight holds it (writes); it is freed when ended, no stream is left, no
 * work connection is awaited and no write is in flight, never from inside one of its
 * own callbacks (busy).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llhttp.h"
#include "net/prefix.h"
#include "peer_vhost.h"
#include "proto/error.h"

#define HEAD_MAX (32u * 1024u)
#define MAX_HEADERS 128
#define PIPE_LIMIT (256u * 1024u) /* queued toward one side before reading the other stops */

static void vh_http_update(struct vh_http_conn *hc);

struct hdr {
    uint32_t name, name_len, val, val_len;
};

/* One parsed head: every piece is an offset into buf. */
struct head {
    char buf[HEAD_MAX];
    size_t len;
    uint32_t first, first_len; /* request target, or status reason */
    struct hdr h[MAX_HEADERS];
    size_t n;
    int in_value, overflow;
};

enum { S_HEAD, S_WAIT_WORK, S_FORWARD, S_WAIT_RESP };
enum { EV_NONE, EV_HEADERS, EV_MESSAGE };

struct vh_http_conn {
    struct vhost *vh;
    struct vh_http_conn *next;
    struct ufrpc_stream *user, *work;
    char cip[64];
    uint16_t cport;
    llhttp_t rq, rs;
    struct head qh, sh;
    int state, ev;
    /* the request */
    int discard, req_keepalive, req_chunked, req_http10, req_head, req_done, upgrade;
    struct proxy *px;
    char host[256];
    /* the response */
    int resp_started, resp_done, resp_chunked_out, resp_close, resp_status, switching;
    /* user bytes not parsed yet (one delivery at most: reading stops meanwhile) */
    ufrpc_rbuf_t *pend;
    const uint8_t *pend_data;
    size_t pend_len;
    size_t to_user, to_work;
    unsigned writes, busy;
    int user_reading, work_reading, user_eof, ended, waiting_work, in_run;
};

/* ---- small helpers ------------------------------------------------------------------------ */
struct sb {
    char *b;
    size_t len, cap;
    int err;
};

static void sb_add(struct sb *s, const char *d, size_t n)
{
    if (s->err)
        return;
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 1024;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *nb = realloc(s->b, cap);
        if (nb == NULL) {
            s->err = 1;
            return;
        }
        s->b = nb;
        s->cap = cap;
    }
    memcpy(s->b + s->len, d, n);
    s->len += n;
    s->b[s->len] = 0;
}

static void sb_str(struct sb *s, const char *d)
{
    sb_add(s, d, strlen(d));
}

/* textproto.CanonicalMIMEHeaderKey for plain tokens: "x-from" → "X-From". */
static void sb_canon(struct sb *s, const char *k)
{
    char tmp[256];
    size_t n = strlen(k);
    if (n >= sizeof tmp) {
        sb_add(s, k, n);
        return;
    }
    int up = 1;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        tmp[i] = up ? (char)toupper((unsigned char)ch) : (char)tolower((unsigned char)ch);
        up = ch == '-';
    }
    sb_add(s, tmp, n);
}

static int name_is(const struct head *h, const struct hdr *x, const char *name)
{
    size_t n = strlen(name);
    return x->name_len == n && strncasecmp(h->buf + x->name, name, n) == 0;
}

static const struct hdr *find_hdr(const struct head *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (name_is(h, &h->h[i], name))
            return &h->h[i];
    return NULL;
}

static int in_map(const struct ufrpc_map *m, const struct head *h, const struct hdr *x)
{
    for (size_t i = 0; i < m->n; i++)
        if (name_is(h, x, m->items[i].key))
            return 1;
    return 0;
}

static int is_hop_by_hop(const struct head *h, const struct hdr *x)
{
    static const char *const hop[] = {"connection",          "keep-alive", "proxy-connection",
                                      "proxy-authorization", "proxy-authenticate",
                                      "te",                  "trailer",    "transfer-encoding",
                                      "upgrade",             NULL};
    for (size_t i = 0; hop[i] != NULL; i++)
        if (name_is(h, x, hop[i]))
            return 1;
    return 0;
}

static void head_reset(struct head *h)
{
    h->len = 0;
    h->first = h->first_len = 0;
    h->n = 0;
    h->in_value = 0;
    h->overflow = 0;
}

static int head_add(struct head *h, const char *at, size_t n)
{
    if (h->len + n > sizeof h->buf) {
        h->overflow = 1;
        return -1;
    }
    memcpy(h->buf + h->len, at, n);
    h->len += n;
    return 0;
}

static int head_first(struct head *h, const char *at, size_t n)
{
    if (h->first_len == 0)
        h->first = (uint32_t)h->len;
    if (head_add(h, at, n) < 0)
        return -1;
    h->first_len += (uint32_t)n;
    return 0;
}

static int head_field(struct head *h, const char *at, size_t n)
{
    if (h->n == 0 || h->in_value) {
        if (h->n >= MAX_HEADERS) {
            h->overflow = 1;
            return -1;
        }
        h->h[h->n] = (struct hdr){(uint32_t)h->len, 0, (uint32_t)h->len, 0};
        h->n++;
        h->in_value = 0;
    }
    if (head_add(h, at, n) < 0)
        return -1;
    h->h[h->n - 1].name_len += (uint32_t)n;
    return 0;
}

static int head_value(struct head *h, const char *at, size_t n)
{
    if (h->n == 0)
        return -1;
    struct hdr *x = &h->h[h->n - 1];
    if (!h->in_value) {
        x->val = (uint32_t)h->len;
        h->in_value = 1;
    }
    if (head_add(h, at, n) < 0)
        return -1;
    x->val_len += (uint32_t)n;
    return 0;
}

/* ---- lifetime --------------------------------------------------------------------------------- */
static void hc_maybe_free(struct vh_http_conn *hc)
{
    if (!hc->ended || hc->busy || hc->user != NULL || hc->work != NULL || hc->waiting_work ||
        hc->writes)
        return;
    for (struct vh_http_conn **pp = &hc->vh->hconns; *pp != NULL; pp = &(*pp)->next)
        if (*pp == hc) {
            *pp = hc->next;
            break;
        }
    ufrpc_rbuf_unref(hc->pend);
    free(hc);
}

static void hc_close_work(struct vh_http_conn *hc)
{
    if (hc->work != NULL) {
        ufrpc_stream_close(hc->work, NULL);
        hc->work = NULL;
        hc->work_reading = 0;
    }
}

/* Ends the connection: graceful = the user gets what was queued, then FIN. */
static void hc_end(struct vh_http_conn *hc, int graceful)
{
    if (hc->ended)
        return;
    hc->ended = 1;
    hc->px = NULL;
    hc_close_work(hc);
    if (hc->user != NULL) {
        struct ufrpc_stream *u = hc->user;
        hc->user = NULL;
        if (graceful) {
            ufrpc_stream_read_stop(u);
            vh_close_after_writes(hc->vh->p, u);
        } else {
            ufrpc_stream_close(u, NULL);
        }
    }
}

static void on_user_written(void *arg, int status, size_t len)
{
    struct vh_http_conn *hc = arg;
    hc->writes--;
    hc->to_user -= len;
    if (status < 0 && status != UFRPC_ERR_CANCELED)
        hc_end(hc, 0);
    hc->busy++;
    vh_http_update(hc);
    hc->busy--;
    hc_maybe_free(hc);
}

static void on_work_written(void *arg, int status, size_t len)
{
    struct vh_http_conn *hc = arg;
    hc->writes--;
    hc->to_work -= len;
    (void)status; /* a broken work stream shows up as a read error */
    hc->busy++;
    vh_http_update(hc);
    hc->busy--;
    hc_maybe_free(hc);
}

static int to_user(struct vh_http_conn *hc, const void *d, size_t n)
{
    if (hc->user == NULL)
        return UFRPC_ERR_CLOSED;
    int rc = vh_write_copy(hc->user, d, n, on_user_written, hc);
    if (rc < 0) {
        hc_end(hc, 0);
        return rc;
    }
    hc->writes++;
    hc->to_user += n;
    return 0;
}

static int to_work(struct vh_http_conn *hc, const void *d, size_t n)
{
    if (hc->work == NULL)
        return UFRPC_ERR_CLOSED;
    int rc = vh_write_copy(hc->work, d, n, on_work_written, hc);
    if (rc < 0) {
        hc_end(hc, 0);
        return rc;
    }
    hc->writes++;
    hc->to_work += n;
    return 0;
}

/* A body piece, chunk-framed when asked. */
static int body_piece(struct vh_http_conn *hc, int user_side, int chunked, const char *at,
                      size_t n)
{
    if (n == 0)
        return 0;
    if (!chunked)
        return user_side ? to_user(hc, at, n) : to_work(hc, at, n);
    char *b = malloc(n + 24);
    if (b == NULL) {
        hc_end(hc, 0);
        return UFRPC_ERR_NOMEM;
    }
    int h = snprintf(b, 24, "%zx\r\n", n);
    memcpy(b + h, at, n);
    memcpy(b + h + n, "\r\n", 2);
    int rc = user_side ? to_user(hc, b, (size_t)h + n + 2) : to_work(hc, b, (size_t)h + n + 2);
    free(b);
    return rc;
}

/* ---- canned answers ---------------------------------------------------------------------- */
static void answer(struct vh_http_conn *hc, int code, const char *reason, const char *extra,
                   const char *ctype, const char *body, int close)
{
    struct sb s = {0};
    char line[256];
    snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", code, reason, ctype);
    sb_str(&s, line);
    sb_str(&s, extra);
    snprintf(line, sizeof line, "Content-Length: %zu\r\n%s\r\n", strlen(body),
             close ? "Connection: close\r\n" : "");
    sb_str(&s, line);
    sb_str(&s, body);
    if (s.err)
        hc_end(hc, 0);
    else
        to_user(hc, s.b, s.len);
    free(s.b);
}

static void answer_404(struct vh_http_conn *hc)
{
    answer(hc, 404, "Not Found", "", "text/html; charset=utf-8", vh_not_found_page,
           !hc->req_keepalive);
}

/* ---- the request side ---------------------------------------------------------------------- */
static int rq_begin(llhttp_t *p)
{
    struct vh_http_conn *hc = p->data;
    head_reset(&hc->qh);
    return 0;
}

static int rq_url(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return head_first(&hc->qh, at, n);
}

static int rq_field(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return head_field(&hc->qh, at, n);
}

static int rq_value(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return head_value(&hc->qh, at, n);
}

static int rq_headers_complete(llhttp_t *p)
{
    struct vh_http_conn *hc = p->data;
    hc->ev = EV_HEADERS;
    hc->req_keepalive = llhttp_should_keep_alive(p);
    hc->req_chunked = (p->flags & F_CHUNKED) != 0;
    hc->req_http10 = p->http_major == 1 && p->http_minor == 0;
    hc->req_head = p->method == HTTP_HEAD;
    hc->req_done = 0;
    hc->upgrade = p->upgrade && p->method != HTTP_CONNECT;
    return HPE_PAUSED;
}

static int rq_body(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    if (hc->discard || hc->ended)
        return 0;
    return body_piece(hc, 0, hc->req_chunked, at, n) < 0 ? -1 : 0;
}

static int rq_message_complete(llhttp_t *p)
{
    struct vh_http_conn *hc = p->data;
    hc->ev = EV_MESSAGE;
    return HPE_PAUSED;
}

static const llhttp_settings_t *rq_settings(void)
{
    static llhttp_settings_t s;
    static int init;
    if (!init) {
        llhttp_settings_init(&s);
        s.on_message_begin = rq_begin;
        s.on_url = rq_url;
        s.on_header_field = rq_field;
        s.on_header_value = rq_value;
        s.on_headers_complete = rq_headers_complete;
        s.on_body = rq_body;
        s.on_message_complete = rq_message_complete;
        init = 1;
    }
    return &s;
}

static void on_http_work(struct proxy *px, struct ufrpc_stream *work, void *arg);
static void run_user(struct vh_http_conn *hc);

/* The request head is complete: route it. */
static void request_head(struct vh_http_conn *hc)
{
    struct head *q = &hc->qh;
    const char *url = q->buf + q->first;
    size_t ulen = q->first_len;
    const char *auth_src = "authorization";
    const char *hv = NULL;
    size_t hl = 0;
    int absolute = 0;
    /* absolute form: http://authority/path */
    const char *path = url;
    size_t plen = ulen;
    const char *sep = memchr(url, ':', ulen);
    if (hc->rq.method == HTTP_CONNECT) {
        /* authority form: routed by it, path "", Proxy-Authorization (as Go) */
        hv = url;
        hl = ulen;
        plen = 0;
        absolute = 1;
        auth_src = "proxy-authorization";
    } else if (sep != NULL && (size_t)(sep - url) + 3 <= ulen && sep[1] == '/' && sep[2] == '/') {
        const char *a = sep + 3, *e = url + ulen;
        const char *slash = a;
        while (slash < e && *slash != '/' && *slash != '?')
            slash++;
        hv = a;
        hl = (size_t)(slash - a);
        path = slash;
        plen = (size_t)(e - slash);
        absolute = 1;
        auth_src = "proxy-authorization";
    }
    size_t pl = 0;
    while (pl < plen && path[pl] != '?' && path[pl] != '#')
        pl++;
    char pathz[2048];
    snprintf(pathz, sizeof pathz, "%.*s", (int)(pl < sizeof pathz ? pl : sizeof pathz - 1), path);
    const struct hdr *hh = find_hdr(q, "host");
    if (!absolute && hh != NULL) {
        hv = q->buf + hh->val;
        hl = hh->val_len;
    }
    if (hv == NULL && !hc->req_http10) {
        peer_event("vhost-bad-request", "kind=http reason=missing-host");
        hc->req_keepalive = 0;
        answer(hc, 400, "Bad Request", "", "text/plain; charset=utf-8",
               "400 Bad Request: missing required Host header", 1);
        hc_end(hc, 1);
        return;
    }
    if (vh_canonical_host(hv ? hv : "", hl, hc->host, sizeof hc->host) < 0)
        hc->host[0] = 0;
    char user[256] = "", pwd[256] = "";
    const struct hdr *ah = find_hdr(q, auth_src);
    if (ah == NULL && absolute)
        ah = find_hdr(q, "authorization"); /* routing only, as getRequestRouteUser */
    if (ah != NULL)
        vh_basic_auth(q->buf + ah->val, ah->val_len, user, sizeof user, pwd, sizeof pwd);
    const struct vh_route *r = vh_route_find(hc->vh, VH_HTTP, hc->host, pathz, user);
    if (r != NULL) {
        const struct ufrpc_msg_new_proxy *np = &r->px->msg.u.new_proxy;
        const char *wu = np->http_user ? np->http_user : "";
        const char *wp = np->http_pwd ? np->http_pwd : "";
        if (wu[0] || wp[0]) {
            /* auth proper: from the header of the form, no fallback */
            char au[256] = "", ap[256] = "";
            const struct hdr *x = find_hdr(q, auth_src);
            int ok = x != NULL &&
                     vh_basic_auth(q->buf + x->val, x->val_len, au, sizeof au, ap, sizeof ap) &&
                     strcmp(au, wu) == 0 && strcmp(ap, wp) == 0;
            if (!ok) {
                peer_event("vhost-unauthorized", "kind=http host=%s proxy=%s user=%s", hc->host,
                           r->px->name, au);
                hc->discard = 1;
                if (absolute)
                    answer(hc, 407, "Proxy Authentication Required",
                           "Proxy-Authenticate: Basic realm=\"Restricted\"\r\n"
                           "X-Content-Type-Options: nosniff\r\n",
                           "text/plain; charset=utf-8", "Proxy Authentication Required\n",
                           !hc->req_keepalive);
                else
                    answer(hc, 401, "Unauthorized",
                           "Www-Authenticate: Basic realm=\"Restricted\"\r\n"
                           "X-Content-Type-Options: nosniff\r\n",
                           "text/plain; charset=utf-8", "Unauthorized\n", !hc->req_keepalive);
                return;
            }
        }
    }
    if (r == NULL) {
        peer_event("vhost-404", "kind=http host=%s path=%s user=%s", hc->host, pathz, user);
        hc->discard = 1;
        answer_404(hc);
        return;
    }
    hc->px = r->px;
    peer_event("vhost-request", "kind=http host=%s path=%s proxy=%s user=%s src=%s:%u", hc->host,
               pathz, r->px->name, user, hc->cip, hc->cport);
    hc->state = S_WAIT_WORK;
    hc->waiting_work = 1;
    if (peer_get_work(r->px, hc->cip, hc->cport, NULL, 0, on_http_work, hc) < 0) {
        hc->waiting_work = 0;
        hc->px = NULL;
        hc->state = S_HEAD;
        hc->discard = 1;
        answer_404(hc);
    }
}

/* Writes the request head to the work stream. */
static int send_request_head(struct vh_http_conn *hc)
{
    const struct head *q = &hc->qh;
    const struct ufrpc_msg_new_proxy *np = &hc->px->msg.u.new_proxy;
    struct sb s = {0};
    const char *url = q->buf + q->first;
    size_t ulen = q->first_len;
    const char *sep = memchr(url, ':', ulen);
    if (sep != NULL && (size_t)(sep - url) + 3 <= ulen && sep[1] == '/' && sep[2] == '/') {
        const char *a = sep + 3, *e = url + ulen;
        while (a < e && *a != '/' && *a != '?')
            a++;
        ulen = (size_t)(e - a);
        url = a;
    }
    sb_str(&s, llhttp_method_name((llhttp_method_t)hc->rq.method));
    sb_str(&s, " ");
    if (ulen == 0 || url[0] == '?')
        sb_str(&s, "/");
    sb_add(&s, url, ulen);
    sb_str(&s, " HTTP/1.1\r\nHost: ");
    const struct hdr *hh = find_hdr(q, "host");
    char orig_host[512] = "";
    if (hh != NULL)
        snprintf(orig_host, sizeof orig_host, "%.*s", (int)hh->val_len, q->buf + hh->val);
    else
        snprintf(orig_host, sizeof orig_host, "%s", hc->host);
    if (np->host_header_rewrite != NULL && np->host_header_rewrite[0])
        sb_str(&s, np->host_header_rewrite);
    else
        sb_str(&s, orig_host);
    sb_str(&s, "\r\n");
    char prev_xff[1024] = "";
    for (size_t i = 0; i < q->n; i++) {
        const struct hdr *x = &q->h[i];
        if (name_is(q, x, "host") || is_hop_by_hop(q, x) || in_map(&np->headers, q, x))
            continue;
        if (name_is(q, x, "x-forwarded-for")) {
            size_t used = strlen(prev_xff);
            snprintf(prev_xff + used, sizeof prev_xff - used, "%s%.*s", used ? ", " : "",
                     (int)x->val_len, q->buf + x->val);
            continue;
        }
        if (name_is(q, x, "x-forwarded-host") || name_is(q, x, "x-forwarded-proto"))
            continue;
        sb_add(&s, q->buf + x->name, x->name_len);
        sb_str(&s, ": ");
        sb_add(&s, q->buf + x->val, x->val_len);
        sb_str(&s, "\r\n");
    }
    if (hc->req_chunked)
        sb_str(&s, "Transfer-Encoding: chunked\r\n");
    const struct ufrpc_map *set = &np->headers;
    int set_xff = 0, set_xfh = 0, set_xfp = 0;
    for (size_t i = 0; i < set->n; i++) {
        set_xff |= strcasecmp(set->items[i].key, "x-forwarded-for") == 0;
        set_xfh |= strcasecmp(set->items[i].key, "x-forwarded-host") == 0;
        set_xfp |= strcasecmp(set->items[i].key, "x-forwarded-proto") == 0;
    }
    char line[1400];
    if (!set_xff) {
        snprintf(line, sizeof line, "X-Forwarded-For: %s%s%s\r\n", prev_xff, prev_xff[0] ? ", " : "",
                 hc->cip);
        sb_str(&s, line);
    }
    if (!set_xfh) {
        sb_str(&s, "X-Forwarded-Host: ");
        sb_str(&s, orig_host);
        sb_str(&s, "\r\n");
    }
    if (!set_xfp)
        sb_str(&s, "X-Forwarded-Proto: http\r\n");
    for (size_t i = 0; i < set->n; i++) {
        if (strcasecmp(set->items[i].key, "host") == 0)
            continue; /* Go's Header.Set("Host") does not change req.Host */
        sb_canon(&s, set->items[i].key);
        sb_str(&s, ": ");
        sb_str(&s, set->items[i].value ? set->items[i].value : "");
        sb_str(&s, "\r\n");
    }
    if (hc->upgrade) {
        /* as Go's ReverseProxy: hop-by-hop headers go, Connection/Upgrade come back */
        const struct hdr *up = find_hdr(q, "upgrade");
        sb_str(&s, "Connection: Upgrade\r\nUpgrade: ");
        if (up != NULL)
            sb_add(&s, q->buf + up->val, up->val_len);
        sb_str(&s, "\r\n\r\n");
    } else {
        sb_str(&s, "Connection: close\r\n\r\n");
    }
    int rc = s.err ? UFRPC_ERR_NOMEM : to_work(hc, s.b, s.len);
    free(s.b);
    return rc;
}

/* CONNECT: the request as Go's Request.Write sends it (frps's connectHandler: no
 * header rewriting), then the connection is a tunnel. */
static int send_connect_head(struct vh_http_conn *hc)
{
    const struct head *q = &hc->qh;
    struct sb s = {0};
    sb_str(&s, "CONNECT ");
    sb_add(&s, q->buf + q->first, q->first_len);
    sb_str(&s, " HTTP/1.1\r\nHost: ");
    const struct hdr *hh = find_hdr(q, "host");
    if (hh != NULL)
        sb_add(&s, q->buf + hh->val, hh->val_len);
    else
        sb_add(&s, q->buf + q->first, q->first_len);
    sb_str(&s, "\r\n");
    for (size_t i = 0; i < q->n; i++) {
        const struct hdr *x = &q->h[i];
        if (name_is(q, x, "host") || name_is(q, x, "content-length") ||
            name_is(q, x, "transfer-encoding") || name_is(q, x, "trailer"))
            continue;
        sb_add(&s, q->buf + x->name, x->name_len);
        sb_str(&s, ": ");
        sb_add(&s, q->buf + x->val, x->val_len);
        sb_str(&s, "\r\n");
    }
    sb_str(&s, "\r\n");
    int rc = s.err ? UFRPC_ERR_NOMEM : to_work(hc, s.b, s.len);
    free(s.b);
    return rc;
}

static void tunnel(struct vh_http_conn *hc, const uint8_t *rest, size_t rest_len);

/* ---- the response side ---------------------------------------------------------------------- */
static int rs_begin(llhttp_t *p)
{
    struct vh_http_conn *hc = p->data;
    head_reset(&hc->sh);
    return 0;
}

static int rs_status(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return head_first(&hc->sh, at, n);
}

static int rs_field(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return head_field(&hc->sh, at, n);
}

static int rs_value(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return head_value(&hc->sh, at, n);
}

static int rs_headers_complete(llhttp_t *p)
{
    struct vh_http_conn *hc = p->data;
    const struct head *h = &hc->sh;
    int code = p->status_code;
    int switching = code == 101;
    int interim = code >= 100 && code < 200 && !switching;
    if (switching && !hc->upgrade)
        return -1; /* 101 to a request that did not ask for it */
    struct sb s = {0};
    char line[600];
    snprintf(line, sizeof line, "HTTP/1.1 %03d %.*s\r\n", code, (int)h->first_len,
             h->buf + h->first);
    sb_str(&s, line);
    const struct ufrpc_map *set = hc->px ? &hc->px->msg.u.new_proxy.response_headers : NULL;
    int no_body = hc->req_head || code == 204 || code == 304 || interim;
    int chunked_in = (p->flags & F_CHUNKED) != 0;
    int has_len = (p->flags & F_CONTENT_LENGTH) != 0;
    for (size_t i = 0; i < h->n; i++) {
        const struct hdr *x = &h->h[i];
        if ((!switching && is_hop_by_hop(h, x)) || (set != NULL && in_map(set, h, x)))
            continue;
        sb_add(&s, h->buf + x->name, x->name_len);
        sb_str(&s, ": ");
        sb_add(&s, h->buf + x->val, x->val_len);
        sb_str(&s, "\r\n");
    }
    if (!interim) {
        for (size_t i = 0; set != NULL && i < set->n; i++) {
            sb_canon(&s, set->items[i].key);
            sb_str(&s, ": ");
            sb_str(&s, set->items[i].value ? set->items[i].value : "");
            sb_str(&s, "\r\n");
        }
        hc->resp_chunked_out = 0;
        hc->resp_close = !hc->req_keepalive || hc->upgrade; /* refused upgrade: end */
        if (!no_body && (chunked_in || !has_len)) {
            if (hc->req_http10)
                hc->resp_close = 1; /* EOF-delimited for a 1.0 user */
            else
                hc->resp_chunked_out = 1;
        }
        if (switching)
            no_body = 1, hc->resp_close = 0;
        else if (hc->resp_chunked_out)
            sb_str(&s, "Transfer-Encoding: chunked\r\n");
        if (hc->resp_close)
            sb_str(&s, "Connection: close\r\n");
        hc->resp_status = code;
        hc->resp_started = 1;
    }
    sb_str(&s, "\r\n");
    int rc = s.err ? UFRPC_ERR_NOMEM : to_user(hc, s.b, s.len);
    free(s.b);
    if (rc < 0)
        return -1;
    if (switching) {
        hc->switching = 1;
        return HPE_PAUSED; /* the rest is the new protocol: see on_work_read */
    }
    return hc->req_head && !interim ? 1 : 0;
}

static int rs_body(llhttp_t *p, const char *at, size_t n)
{
    struct vh_http_conn *hc = p->data;
    return body_piece(hc, 1, hc->resp_chunked_out, at, n) < 0 ? -1 : 0;
}

static int rs_message_complete(llhttp_t *p)
{
    struct vh_http_conn *hc = p->data;
    if (p->status_code >= 100 && p->status_code < 200)
        return 0; /* interim: the real response follows */
    if (hc->resp_chunked_out && to_user(hc, "0\r\n\r\n", 5) < 0)
        return -1;
    hc->resp_done = 1;
    return HPE_PAUSED;
}

static const llhttp_settings_t *rs_settings(void)
{
    static llhttp_settings_t s;
    static int init;
    if (!init) {
        llhttp_settings_init(&s);
        s.on_message_begin = rs_begin;
        s.on_status = rs_status;
        s.on_header_field = rs_field;
        s.on_header_value = rs_value;
        s.on_headers_complete = rs_headers_complete;
        s.on_body = rs_body;
        s.on_message_complete = rs_message_complete;
        init = 1;
    }
    return &s;
}

/* The response ended (done) or failed. Closes the work stream; the user connection
 * goes on with its next request, or ends. */
static void response_end(struct vh_http_conn *hc, const char *bad)
{
    if (bad != NULL) {
        peer_event("vhost-bad-response", "kind=http proxy=%s reason=%s",
                   hc->px ? hc->px->name : "-", bad);
        if (hc->resp_started) {
            hc_end(hc, 0);
            return;
        }
        answer_404(hc);
        hc->resp_close = !hc->req_keepalive;
    } else {
        peer_event("vhost-response", "kind=http proxy=%s status=%d", hc->px ? hc->px->name : "-",
                   hc->resp_status);
    }
    hc_close_work(hc);
    hc->px = NULL;
    if (hc->ended)
        return;
    if (!hc->req_done || hc->resp_close || hc->user_eof) {
        /* the request body is still coming, or the connection was to end */
        hc_end(hc, 1);
        return;
    }
    hc->state = S_HEAD;
    hc->resp_started = hc->resp_done = 0;
    if (!hc->in_run)
        run_user(hc);
}

/* 101 Switching Protocols: from now on user and work stream are spliced. The bytes
 * either side sent beyond the heads go first: the user's back into its TCP stream,
 * the backend's in front of the work stream (a prefix stream). */
static void tunnel(struct vh_http_conn *hc, const uint8_t *rest, size_t rest_len)
{
    struct ufrpc_stream *user = hc->user, *work = hc->work;
    struct proxy *px = hc->px;
    ufrpc_stream_read_stop(user);
    ufrpc_stream_read_stop(work);
    hc->user = hc->work = NULL;
    hc->user_reading = hc->work_reading = 0;
    hc->ended = 1;
    hc->px = NULL;
    if (hc->pend_len > 0 && ufrpc_stream_unread(user, NULL, hc->pend_data, hc->pend_len) < 0) {
        ufrpc_stream_close(user, NULL);
        ufrpc_stream_close(work, NULL);
        return;
    }
    hc->pend_len = 0;
    int err = 0;
    struct ufrpc_stream *w = ufrpc_prefix_stream_new(work, rest, rest_len, &err);
    if (w == NULL) { /* work closed by it */
        ufrpc_stream_close(user, NULL);
        return;
    }
    peer_event("vhost-upgrade", "kind=http proxy=%s host=%s method=%s", px->name, hc->host,
               llhttp_method_name((llhttp_method_t)hc->rq.method));
    peer_splice(px, user, w, false);
}

static void on_work_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    struct vh_http_conn *hc = st->data;
    (void)buf;
    hc->busy++;
    if (status < 0) {
        const char *bad = NULL;
        if (status == UFRPC_ERR_EOF) {
            llhttp_errno_t e = llhttp_finish(&hc->rs);
            if (!hc->resp_done)
                bad = e == HPE_OK ? "eof-before-response" : llhttp_errno_name(e);
        } else {
            bad = ufrpc_errname(status);
        }
        if (!hc->ended)
            response_end(hc, hc->resp_done ? NULL : bad);
    } else {
        llhttp_errno_t e = llhttp_execute(&hc->rs, (const char *)data, len);
        if (!hc->ended) {
            if (hc->switching && e == HPE_PAUSED) {
                const uint8_t *rest = (const uint8_t *)llhttp_get_error_pos(&hc->rs);
                tunnel(hc, rest, len - (size_t)(rest - data));
            } else if (hc->resp_done)
                response_end(hc, NULL); /* bytes after the response are dropped */
            else if (e != HPE_OK)
                response_end(hc, llhttp_errno_name(e));
        }
    }
    if (!hc->ended)
        vh_http_update(hc);
    hc->busy--;
    hc_maybe_free(hc);
}

static void on_http_work(struct proxy *px, struct ufrpc_stream *work, void *arg)
{
    struct vh_http_conn *hc = arg;
    (void)px;
    hc->waiting_work = 0;
    hc->busy++;
    if (hc->ended) {
        if (work != NULL)
            ufrpc_stream_close(work, NULL);
    } else if (work == NULL) {
        peer_event("vhost-bad-response", "kind=http proxy=%s reason=no-work-conn", px->name);
        hc->px = NULL;
        hc->state = S_HEAD;
        hc->discard = 1;
        answer_404(hc);
        if (!hc->in_run)
            run_user(hc);
    } else {
        hc->work = work;
        work->data = hc;
        llhttp_init(&hc->rs, HTTP_RESPONSE, rs_settings());
        hc->rs.data = hc;
        hc->resp_started = hc->resp_done = 0;
        hc->resp_status = 0;
        hc->state = S_FORWARD;
        if (hc->rq.method == HTTP_CONNECT) {
            if (send_connect_head(hc) == 0)
                tunnel(hc, NULL, 0);
        } else if (send_request_head(hc) == 0 && !hc->in_run) {
            run_user(hc);
        }
    }
    if (!hc->ended)
        vh_http_update(hc);
    hc->busy--;
    hc_maybe_free(hc);
}

/* Parses buffered user bytes as far as the state allows. */
static void run_user(struct vh_http_conn *hc)
{
    hc->in_run = 1;
    while (!hc->ended && (hc->state == S_HEAD || hc->state == S_FORWARD)) {
        if (hc->state == S_FORWARD && hc->to_work >= PIPE_LIMIT)
            break;
        hc->ev = EV_NONE;
        const char *d = hc->pend_len ? (const char *)hc->pend_data : "";
        llhttp_errno_t e = llhttp_execute(&hc->rq, d, hc->pend_len);
        size_t used = hc->pend_len;
        if (e == HPE_PAUSED) {
            used = (size_t)(llhttp_get_error_pos(&hc->rq) - d);
            llhttp_resume(&hc->rq);
        } else if (e != HPE_OK) {
            if (hc->ended)
                break;
            if (hc->state == S_HEAD && !hc->discard) {
                int big = hc->qh.overflow;
                peer_event("vhost-bad-request", "kind=http reason=%s",
                           big ? "head-too-large" : llhttp_errno_name(e));
                if (big)
                    answer(hc, 431, "Request Header Fields Too Large", "",
                           "text/plain; charset=utf-8", "431 Request Header Fields Too Large", 1);
                else
                    answer(hc, 400, "Bad Request", "", "text/plain; charset=utf-8",
                           "400 Bad Request", 1);
                hc_end(hc, 1);
            } else {
                peer_event("vhost-bad-request", "kind=http reason=body-%s", llhttp_errno_name(e));
                hc_end(hc, 0);
            }
            break;
        }
        hc->pend_data += used;
        hc->pend_len -= used;
        if (hc->ended)
            break;
        if (hc->ev == EV_HEADERS) {
            hc->discard = 0;
            request_head(hc);
        } else if (hc->ev == EV_MESSAGE) {
            if (hc->discard) {
                hc->discard = 0;
                if (!hc->req_keepalive)
                    hc_end(hc, 1);
            } else {
                hc->req_done = 1;
                if (hc->req_chunked && to_work(hc, "0\r\n\r\n", 5) < 0)
                    break;
                if (hc->state == S_FORWARD)
                    hc->state = S_WAIT_RESP;
            }
        } else {
            break; /* everything buffered is parsed */
        }
    }
    if (hc->pend != NULL && hc->pend_len == 0) {
        ufrpc_rbuf_unref(hc->pend);
        hc->pend = NULL;
    }
    hc->in_run = 0;
}

static void set_reading(struct vh_http_conn *hc, struct ufrpc_stream *st, int *flag, int want,
                        ufrpc_stream_read_cb cb)
{
    if (want && !*flag) {
        if (ufrpc_stream_read_start(st, cb) < 0) {
            hc_end(hc, 0);
            return;
        }
        *flag = 1;
    } else if (!want && *flag) {
        ufrpc_stream_read_stop(st);
        *flag = 0;
    }
}

static void on_user_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len);

static void vh_http_update(struct vh_http_conn *hc)
{
    if (hc->ended)
        return;
    if (!hc->in_run && hc->pend_len > 0 && (hc->state == S_HEAD || hc->state == S_FORWARD) &&
        !(hc->state == S_FORWARD && hc->to_work >= PIPE_LIMIT))
        run_user(hc);
    if (hc->ended)
        return;
    int want_user = hc->user != NULL && !hc->user_eof && hc->pend == NULL &&
                    (hc->state == S_HEAD || hc->state == S_FORWARD) && hc->to_work < PIPE_LIMIT;
    set_reading(hc, hc->user, &hc->user_reading, want_user, on_user_read);
    if (hc->ended)
        return;
    int want_work = hc->work != NULL && !hc->resp_done && hc->to_user < PIPE_LIMIT;
    if (hc->work != NULL)
        set_reading(hc, hc->work, &hc->work_reading, want_work, on_work_read);
}

static void on_user_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    struct vh_http_conn *hc = st->data;
    hc->busy++;
    if (status < 0) {
        hc->user_eof = 1;
        hc->user_reading = 0;
        if (status != UFRPC_ERR_EOF || hc->state == S_FORWARD) {
            hc_end(hc, 0); /* an error, or the request body cut short */
        } else if (hc->state == S_HEAD) {
            hc_end(hc, 1);
        }
        /* S_WAIT_WORK / S_WAIT_RESP: the response is still delivered, then the end */
    } else {
        hc->pend = ufrpc_rbuf_hold(buf, &data, len);
        if (hc->pend == NULL) {
            hc_end(hc, 0);
        } else {
            hc->pend_data = data;
            hc->pend_len = len;
            run_user(hc);
        }
    }
    vh_http_update(hc);
    hc->busy--;
    hc_maybe_free(hc);
}

void vh_http_accept(struct vhost *vh, struct ufrpc_stream *user)
{
    struct vh_http_conn *hc = calloc(1, sizeof *hc);
    if (hc == NULL) {
        ufrpc_stream_close(user, NULL);
        return;
    }
    hc->vh = vh;
    hc->user = user;
    user->data = hc;
    peer_addr_of(user, 1, hc->cip, sizeof hc->cip, &hc->cport);
    llhttp_init(&hc->rq, HTTP_REQUEST, rq_settings());
    hc->rq.data = hc;
    hc->next = vh->hconns;
    vh->hconns = hc;
    hc->busy++;
    vh_http_update(hc);
    hc->busy--;
    hc_maybe_free(hc);
}

void vh_http_proxy_closed(struct vhost *vh, struct proxy *px)
{
    for (struct vh_http_conn *hc = vh->hconns; hc != NULL; hc = hc->next)
        if (hc->px == px && !hc->ended) {
            peer_event("vhost-bad-response", "kind=http proxy=%s reason=proxy-closed", px->name);
            hc->busy++; /* not freed while we walk the list */
            hc_end(hc, 0);
            hc->busy--;
        }
    /* freed by their last write callbacks (never from here: the list walk) */
    for (struct vh_http_conn *hc = vh->hconns, *next; hc != NULL; hc = next) {
        next = hc->next;
        hc_maybe_free(hc);
    }
}
