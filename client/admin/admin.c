/* client/admin/admin.c — the admin API's libuv shell. See admin.h. */
#include "client/admin/admin.h"

#include <arpa/inet.h>
#include <mbedtls/platform_util.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net/tls.h"
#include "proto/error.h"

struct conn;

struct ufrpc_admin {
    uv_loop_t *loop;
    ufrpc_tcp_listener_t *listener;
    ufrpc_tls_ctx_t *tls;
    char *user, *password, *assets_dir;
    struct ufrpc_admin_session_cfg scfg;
    uint32_t idle_ms;
    struct conn *conns;
    size_t nconns;
    uv_timer_t stop_timer;
    bool stop_armed;
    bool closing;
    unsigned pending_closes; /* handles whose close callback is outstanding */
    void (*close_cb)(void *);
    void *close_data;
};

struct conn {
    struct ufrpc_admin *srv;
    struct ufrpc_stream *s;
    struct ufrpc_admin_session *sess;
    uv_timer_t timer; /* idle timeout, or the delay before a queued response */
    struct conn *prev, *next;
    uint8_t *in; /* received bytes not yet consumed by the session */
    size_t in_len, in_off, in_cap;
    uint8_t *wbuf; /* the response being delayed or written */
    size_t wlen;
    uv_buf_t iov;
    struct ufrpc_stream_write wreq;
    bool ready; /* TLS handshake done (always for plain TCP) */
    bool delaying, writing, shutting, closing;
    bool working; /* a config-file job runs on the thread pool (holds a ref) */
    uv_work_t work;
    struct ufrpc_admin_file_job *job;
    bool reading;
    unsigned refs; /* stream + timer (+ a running file job) */
};

static void maybe_finish_close(struct ufrpc_admin *a);
static void pump(struct conn *c);

/* ---- connection teardown -------------------------------------------------------- */

static void conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    struct ufrpc_admin *a = c->srv;
    free(c->in);
    free(c->wbuf);
    ufrpc_admin_session_free(c->sess);
    free(c);
    a->pending_closes--;
    maybe_finish_close(a);
}

static void on_stream_closed(struct ufrpc_stream *s) { conn_unref(s->data); }
static void on_timer_closed(uv_handle_t *h) { conn_unref(h->data); }

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct ufrpc_admin *a = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    a->nconns--;
    a->pending_closes++;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    if (c->s != NULL)
        ufrpc_stream_close(c->s, on_stream_closed);
    else
        conn_unref(c); /* the stream is already gone (TLS setup failure) */
}

/* ---- output ----------------------------------------------------------------------- */

static void on_idle(uv_timer_t *t);

static void restart_idle(struct conn *c)
{
    c->delaying = false;
    uv_timer_start(&c->timer, on_idle, c->srv->idle_ms, 0);
}

static void on_stop_timer(uv_timer_t *t)
{
    struct ufrpc_admin *a = t->data;
    a->stop_armed = false;
    if (!a->closing && a->scfg.hooks.stop != NULL)
        a->scfg.hooks.stop(a->scfg.hooks.ctx);
}

static void on_shutdown(struct ufrpc_stream *s, int status) { conn_close(s->data); }

static void after_output(struct conn *c)
{
    if (ufrpc_admin_session_take_stop(c->sess) && !c->srv->stop_armed && !c->srv->closing) {
        c->srv->stop_armed = true;
        uv_timer_start(&c->srv->stop_timer, on_stop_timer, UFRPC_ADMIN_STOP_DELAY_MS, 0);
    }
}

static void on_written(struct ufrpc_stream_write *req, int status)
{
    struct conn *c = req->data;
    free(c->wbuf);
    c->wbuf = NULL;
    c->writing = false;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    after_output(c);
    pump(c);
}

static void start_write(struct conn *c)
{
    c->iov = uv_buf_init((char *)c->wbuf, (unsigned)c->wlen);
    c->wreq.data = c;
    c->writing = true;
    restart_idle(c);
    if (ufrpc_stream_write(c->s, &c->wreq, &c->iov, 1, on_written) != 0) {
        c->writing = false;
        conn_close(c);
    }
}

static void on_delay_done(uv_timer_t *t)
{
    struct conn *c = t->data;
    c->delaying = false;
    start_write(c);
}

static void on_idle(uv_timer_t *t)
{
    struct conn *c = t->data;
    if (c->delaying) {
        on_delay_done(t);
        return;
    }
    conn_close(c);
}

/* Takes the session's output, if any, and starts writing it (after its delay).
 * Returns true when the connection is now busy. */
static bool take_output(struct conn *c)
{
    uint8_t *buf;
    size_t len;
    uint32_t delay;
    if (!ufrpc_admin_session_take_output(c->sess, &buf, &len, &delay))
        return false;
    c->wbuf = buf;
    c->wlen = len;
    if (delay > 0) {
        c->delaying = true;
        uv_timer_stop(&c->timer);
        uv_timer_start(&c->timer, on_delay_done, delay, 0);
    } else {
        start_write(c);
    }
    return true;
}

static void set_reading(struct conn *c, bool on);

/* The config file is read or written on the thread pool (ufrpc_admin_file_job_run
 * touches only the job); the loop goes on serving everything else. */
static void on_work(uv_work_t *w)
{
    struct conn *c = w->data;
    ufrpc_admin_file_job_run(c->job);
}

static void after_work(uv_work_t *w, int status)
{
    struct conn *c = w->data;
    struct ufrpc_admin_file_job *job = c->job;
    c->job = NULL;
    c->working = false;
    (void)status; /* UV_ECANCELED: the job did not run; the session answers 500 */
    if (c->closing) {
        ufrpc_admin_file_job_finish(job); /* a store change still applies */
        ufrpc_admin_file_job_free(job);
    } else {
        ufrpc_admin_session_file_done(c->sess, job);
        pump(c);
    }
    conn_unref(c);
}

/* Starts the session's file job, if it has one. Returns true when it did. */
static bool start_job(struct conn *c)
{
    struct ufrpc_admin_file_job *job = ufrpc_admin_session_take_file_job(c->sess);
    if (job == NULL)
        return false;
    c->job = job;
    c->work.data = c;
    if (uv_queue_work(c->srv->loop, &c->work, on_work, after_work) != 0) {
        c->job = NULL;
        ufrpc_admin_session_file_done(c->sess, job); /* unrun: 500 */
        return false;
    }
    c->working = true;
    c->refs++;
    uv_timer_stop(&c->timer); /* no idle timeout while the file is busy */
    return true;
}

/* Feeds buffered input while the connection is idle; answers; closes when done. */
static void pump(struct conn *c)
{
    while (!c->closing && !c->writing && !c->delaying && !c->working) {
        if (c->in_off < c->in_len && !ufrpc_admin_session_done(c->sess)) {
            size_t n = ufrpc_admin_session_feed(c->sess, c->in + c->in_off, c->in_len - c->in_off);
            c->in_off += n;
            if (c->in_off == c->in_len)
                c->in_off = c->in_len = 0;
            if (start_job(c))
                break;
            if (take_output(c))
                break;
            if (n == 0 && !ufrpc_admin_session_done(c->sess))
                break;
            continue;
        }
        if (take_output(c))
            break;
        if (ufrpc_admin_session_done(c->sess)) {
            set_reading(c, false);
            if (!c->shutting) {
                c->shutting = true;
                if (ufrpc_stream_shutdown(c->s, on_shutdown) != 0)
                    conn_close(c);
            }
            return;
        }
        set_reading(c, true);
        return;
    }
    if (!c->closing)
        set_reading(c, false);
}

/* ---- input -------------------------------------------------------------------------- */

static void on_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf, const uint8_t *data,
                    size_t len)
{
    struct conn *c = s->data;
    if (status < 0) {
        ufrpc_admin_session_eof(c->sess);
        set_reading(c, false);
        if (status == UFRPC_ERR_EOF && (c->writing || c->delaying || c->working))
            return; /* finish the answer in flight, then close (pump sees done) */
        conn_close(c);
        return;
    }
    if (len == 0)
        return;
    if (c->in_len + len > c->in_cap) {
        size_t cap = c->in_len + len;
        uint8_t *p = realloc(c->in, cap);
        if (p == NULL) {
            conn_close(c);
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, data, len);
    c->in_len += len;
    restart_idle(c);
    pump(c);
}

static void set_reading(struct conn *c, bool on)
{
    if (c->closing || !c->ready || on == c->reading)
        return;
    if (on) {
        if (ufrpc_stream_read_start(c->s, on_read) == 0)
            c->reading = true;
    } else {
        ufrpc_stream_read_stop(c->s);
        c->reading = false;
    }
}

static void on_handshake(struct ufrpc_stream *s, int status)
{
    struct conn *c = s->data;
    if (status != 0) {
        conn_close(c);
        return;
    }
    c->ready = true;
    pump(c);
}

/* Go's answer to plain HTTP on a TLS port (net/http server.go). */
static const char PLAIN_ON_TLS[] =
    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

/* The first bytes on a TLS port: a handshake record goes on to the TLS layer (the
 * bytes are pushed back); anything else gets Go's 400 and the connection closes. */
static void on_first_read(struct ufrpc_stream *s, int status, ufrpc_rbuf_t *buf,
                          const uint8_t *data, size_t len)
{
    struct conn *c = s->data;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (len == 0)
        return;
    ufrpc_stream_read_stop(s);
    if (data[0] != 0x16) {
        ufrpc_admin_session_eof(c->sess);
        c->ready = true;
        c->wbuf = (uint8_t *)strdup(PLAIN_ON_TLS);
        c->wlen = sizeof PLAIN_ON_TLS - 1;
        if (c->wbuf == NULL)
            conn_close(c);
        else
            start_write(c);
        return;
    }
    if (ufrpc_stream_unread(s, buf, data, len) != 0) {
        conn_close(c);
        return;
    }
    int err = 0;
    c->s = ufrpc_tls_server_new(c->srv->tls, s, 10000, on_handshake, c, &err);
    if (c->s == NULL) /* s has been closed by the TLS layer */
        conn_close(c);
}

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *tcp)
{
    struct ufrpc_admin *a = ufrpc_tcp_listener_data(l);
    if (status < 0 || tcp == NULL)
        return;
    struct conn *c = NULL;
    if (a->closing || a->nconns >= UFRPC_ADMIN_MAX_CONNS || (c = calloc(1, sizeof *c)) == NULL ||
        (c->sess = ufrpc_admin_session_new(&a->scfg)) == NULL) {
        free(c);
        ufrpc_stream_close(tcp, NULL);
        return;
    }
    c->srv = a;
    c->s = tcp;
    tcp->data = c;
    if (a->tls != NULL) {
        if (ufrpc_stream_read_start(tcp, on_first_read) != 0) {
            ufrpc_admin_session_free(c->sess);
            free(c);
            ufrpc_stream_close(tcp, NULL);
            return;
        }
    } else {
        c->ready = true;
    }
    uv_timer_init(a->loop, &c->timer);
    c->timer.data = c;
    c->refs = 2;
    c->next = a->conns;
    if (a->conns)
        a->conns->prev = c;
    a->conns = c;
    a->nconns++;
    restart_idle(c);
    if (c->ready)
        pump(c);
}

/* ---- server ------------------------------------------------------------------------------ */

int ufrpc_admin_opts_from_config(const struct ufrpc_config *cfg, struct ufrpc_admin_opts *o)
{
    memset(o, 0, sizeof *o);
    if (cfg->web_server.port <= 0 || cfg->web_server.port > 65535)
        return UFRPC_ERR_INVAL;
    o->addr = cfg->web_server.addr;
    o->port = (uint16_t)cfg->web_server.port;
    o->user = cfg->web_server.user;
    o->password = cfg->web_server.password;
    o->assets_dir = cfg->web_server.assets_dir;
    if (cfg->web_server.tls_present) {
        o->tls_cert_file = cfg->web_server.tls.cert_file;
        o->tls_key_file = cfg->web_server.tls.key_file;
    }
    return 0;
}

static void free_server(struct ufrpc_admin *a)
{
    if (a->tls)
        ufrpc_tls_ctx_free(a->tls);
    if (a->password)
        mbedtls_platform_zeroize(a->password, strlen(a->password));
    free(a->user);
    free(a->password);
    free(a->assets_dir);
    free(a);
}

/* The listen address as an IP literal ("localhost" and names resolved once). */
static int listen_ip(const char *addr, char *out, size_t cap)
{
    unsigned char tmp[16];
    if (addr == NULL || addr[0] == '\0')
        addr = "127.0.0.1";
    if (inet_pton(AF_INET, addr, tmp) == 1 || inet_pton(AF_INET6, addr, tmp) == 1) {
        snprintf(out, cap, "%s", addr);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *res = NULL;
    if (getaddrinfo(addr, NULL, &hints, &res) != 0 || res == NULL)
        return UFRPC_ERR_DNS;
    int rc = uv_ip_name(res->ai_addr, out, cap) == 0 ? 0 : UFRPC_ERR_INVAL;
    freeaddrinfo(res);
    return rc;
}

int ufrpc_admin_start(uv_loop_t *loop, const struct ufrpc_admin_opts *o,
                      const struct ufrpc_admin_hooks *h, struct ufrpc_admin **out)
{
    *out = NULL;
    char ip[INET6_ADDRSTRLEN + 1];
    int rc = listen_ip(o->addr, ip, sizeof ip);
    if (rc != 0)
        return rc;
    struct ufrpc_admin *a = calloc(1, sizeof *a);
    if (a == NULL)
        return UFRPC_ERR_NOMEM;
    a->loop = loop;
    a->user = strdup(o->user ? o->user : "");
    a->password = strdup(o->password ? o->password : "");
    if (a->user == NULL || a->password == NULL) {
        free_server(a);
        return UFRPC_ERR_NOMEM;
    }
    if (o->assets_dir != NULL && o->assets_dir[0] != '\0' &&
        (a->assets_dir = strdup(o->assets_dir)) == NULL) {
        free_server(a);
        return UFRPC_ERR_NOMEM;
    }
    a->scfg.assets_dir = a->assets_dir;
    a->scfg.user = a->user;
    a->scfg.password = a->password;
    if (h != NULL)
        a->scfg.hooks = *h;
    a->scfg.log = o->log;
    a->idle_ms = o->idle_timeout_ms ? o->idle_timeout_ms : UFRPC_ADMIN_IDLE_TIMEOUT_MS;
    bool want_tls =
        o->tls_cert_file && o->tls_cert_file[0] && o->tls_key_file && o->tls_key_file[0];
    if (want_tls) {
        struct ufrpc_tls_server_opts to = {.cert_file = o->tls_cert_file,
                                           .key_file = o->tls_key_file};
        rc = ufrpc_tls_server_ctx_new(&to, &a->tls);
        if (rc != 0) {
            free_server(a);
            return rc;
        }
    }
    int err = 0;
    a->listener = ufrpc_tcp_listen(loop, ip, o->port, on_accept, a, &err);
    if (a->listener == NULL) {
        free_server(a);
        return err ? err : UFRPC_ERR_NET;
    }
    uv_timer_init(loop, &a->stop_timer);
    a->stop_timer.data = a;
    UFRPC_LOGI(o->log, "admin server listen on %s:%u", ip,
               (unsigned)ufrpc_tcp_listener_port(a->listener));
    *out = a;
    return 0;
}

uint16_t ufrpc_admin_port(const struct ufrpc_admin *a)
{
    return a->listener ? ufrpc_tcp_listener_port(a->listener) : 0;
}

size_t ufrpc_admin_conn_count(const struct ufrpc_admin *a) { return a->nconns; }

static void maybe_finish_close(struct ufrpc_admin *a)
{
    if (!a->closing || a->pending_closes > 0)
        return;
    void (*cb)(void *) = a->close_cb;
    void *data = a->close_data;
    free_server(a);
    if (cb)
        cb(data);
}

static void on_listener_closed(void *data)
{
    struct ufrpc_admin *a = data;
    a->pending_closes--;
    maybe_finish_close(a);
}

static void on_stop_timer_closed(uv_handle_t *h)
{
    struct ufrpc_admin *a = h->data;
    a->pending_closes--;
    maybe_finish_close(a);
}

void ufrpc_admin_close(struct ufrpc_admin *a, void (*cb)(void *data), void *data)
{
    if (a == NULL || a->closing)
        return;
    a->closing = true;
    a->close_cb = cb;
    a->close_data = data;
    a->pending_closes += 2;
    uv_timer_stop(&a->stop_timer);
    uv_close((uv_handle_t *)&a->stop_timer, on_stop_timer_closed);
    ufrpc_tcp_listener_close(a->listener, on_listener_closed);
    while (a->conns != NULL)
        conn_close(a->conns);
}
