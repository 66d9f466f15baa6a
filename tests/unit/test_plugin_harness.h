/* Test harness for client/plugin*: a libuv loop in a thread with a loopback TCP
 * listener whose accepted connections are handed to a plugin as work streams;
 * blocking-socket clients in the test thread; small blocking origin services
 * (echo, HTTP recorder) in their own threads. Everything on 127.0.0.1, every
 * socket with 5 s timeouts. Included by the test_plugin_*.c programs only. */
#ifndef UFRPC_TEST_PLUGIN_HARNESS_H
#define UFRPC_TEST_PLUGIN_HARNESS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <setjmp.h>
#include <cmocka.h>

#include "client/plugins/plugin.h"
#include "net/tcp.h"
#include "proto/error.h"

/* ---- plugin behind a listener ---------------------------------------------------- */

struct ph {
    uv_loop_t loop;
    uv_async_t stop;
    pthread_t th;
    ufrpc_tcp_listener_t *l;
    ufrpc_plugin_t *p;
    uint16_t port;
    pthread_mutex_t mu;
    char logs[4096];
    const char *src_addr;
    const uint8_t *pp;
    size_t pp_len;
};

static inline void ph_log(void *data, int level, const char *proxy, const char *plugin, int err,
                          const char *reason)
{
    struct ph *h = data;
    pthread_mutex_lock(&h->mu);
    size_t n = strlen(h->logs);
    snprintf(h->logs + n, sizeof h->logs - n, "[%d %s %s %s] %s\n", level, proxy, plugin,
             ufrpc_errname(err), reason);
    pthread_mutex_unlock(&h->mu);
}

static inline bool ph_logged(struct ph *h, const char *needle)
{
    for (int i = 0; i < 100; i++) { /* the log line may follow the close */
        pthread_mutex_lock(&h->mu);
        bool found = strstr(h->logs, needle) != NULL;
        pthread_mutex_unlock(&h->mu);
        if (found)
            return true;
        usleep(10000);
    }
    fprintf(stderr, "log does not contain \"%s\":\n%s", needle, h->logs);
    return false;
}

static inline void ph_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *conn)
{
    struct ph *h = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    struct ufrpc_plugin_conn_info info = {
        .src_addr = h->src_addr ? h->src_addr : "127.0.0.1:40000",
        .proxy_protocol_header = h->pp,
        .proxy_protocol_header_len = h->pp_len,
    };
    ufrpc_plugin_handle(h->p, conn, &info);
}

static inline void ph_plugin_closed(void *data)
{
    struct ph *h = data;
    uv_close((uv_handle_t *)&h->stop, NULL);
}

static inline void ph_on_stop(uv_async_t *a)
{
    struct ph *h = a->data;
    ufrpc_tcp_listener_close(h->l, NULL);
    ufrpc_plugin_close(h->p, ph_plugin_closed, h);
}

static void *ph_thread(void *arg)
{
    struct ph *h = arg;
    uv_run(&h->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Creates the plugin (0) or returns the creation error (then nothing runs).
 * routes: the path router's (NULL: cfg's plugin). */
static inline int ph_start_ex(struct ph *h, const struct ufrpc_plugin_config *cfg,
                              const struct ufrpc_cfg_routes *routes, char *err, size_t cap)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    uv_loop_init(&h->loop);
    struct ufrpc_plugin_opts o = {.loop = &h->loop,
                                  .proxy_name = "t",
                                  .cfg = cfg,
                                  .log = ph_log,
                                  .log_data = h,
                                  .dial_timeout_ms = 3000,
                                  .idle_timeout_ms = 3000,
                                  .routes = routes};
    int rc = ufrpc_plugin_create(&o, &h->p, err, cap);
    if (rc < 0) {
        uv_loop_close(&h->loop);
        return rc;
    }
    int e;
    h->l = ufrpc_tcp_listen(&h->loop, "127.0.0.1", 0, ph_accept, h, &e);
    assert_non_null(h->l);
    h->port = ufrpc_tcp_listener_port(h->l);
    uv_async_init(&h->loop, &h->stop, ph_on_stop);
    h->stop.data = h;
    pthread_create(&h->th, NULL, ph_thread, h);
    return 0;
}

static inline int ph_start(struct ph *h, const struct ufrpc_plugin_config *cfg, char *err,
                           size_t cap)
{
    return ph_start_ex(h, cfg, NULL, err, cap);
}

static inline void ph_stop(struct ph *h)
{
    uv_async_send(&h->stop);
    pthread_join(h->th, NULL);
    assert_int_equal(uv_loop_close(&h->loop), 0);
    pthread_mutex_destroy(&h->mu);
}

/* ---- blocking sockets ------------------------------------------------------------ */

static inline void set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static inline int tcp_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    set_timeouts(fd);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline void send_all(int fd, const void *d, size_t n)
{
    const char *p = d;
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        p += k;
        n -= (size_t)k;
    }
}

static inline void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Reads exactly n bytes (or until EOF/timeout); returns bytes read. */
static inline size_t recv_n(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = recv(fd, (char *)buf + got, n - got, 0);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

/* Reads until `end` appears (included) or EOF; NUL-terminates; returns length. */
static inline size_t recv_until(int fd, char *buf, size_t cap, const char *end)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t k = recv(fd, buf + got, 1, 0);
        if (k <= 0)
            break;
        got++;
        buf[got] = '\0';
        if (end != NULL && got >= strlen(end) &&
            memcmp(buf + got - strlen(end), end, strlen(end)) == 0)
            break;
    }
    buf[got] = '\0';
    return got;
}

/* Reads a whole HTTP response with Content-Length; returns body start or NULL. */
static inline char *recv_response(int fd, char *buf, size_t cap)
{
    size_t hl = recv_until(fd, buf, cap, "\r\n\r\n");
    if (hl == 0 || strstr(buf, "\r\n\r\n") == NULL)
        return NULL;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t n = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
    if (hl + n + 1 > cap)
        return NULL;
    size_t got = recv_n(fd, buf + hl, n);
    buf[hl + got] = '\0';
    return buf + hl;
}

/* True when the peer closes within the timeout (reads and drops bytes). */
static inline bool wait_closed(int fd)
{
    char b[4096];
    for (;;) {
        ssize_t k = recv(fd, b, sizeof b, 0);
        if (k == 0)
            return true;
        if (k < 0)
            return errno == ECONNRESET;
    }
}

/* ---- origin services -------------------------------------------------------------- */

enum { ORIGIN_ECHO, ORIGIN_HTTP };

struct origin {
    int kind;
    int lfd;
    bool unix_socket;
    uint16_t port;
    char path[108];
    pthread_t th;
    pthread_mutex_t mu;
    char last_head[8192];
    char last_body[8192];
    int requests;
    int conns;
};

/* HTTP origin: answers every request with 200 and body "echo:<request body>" (a
 * chunked request body is decoded); records head and body. */
static inline void origin_http_conn(struct origin *o, int fd)
{
    char *head = malloc(70000);
    char *body = malloc(8192);
    for (;;) {
        size_t hl = recv_until(fd, head, 70000, "\r\n\r\n");
        if (hl == 0 || strstr(head, "\r\n\r\n") == NULL)
            break;
        size_t bl = 0;
        const char *cl = strcasestr(head, "\r\nContent-Length:");
        if (cl != NULL) {
            bl = strtoul(cl + 17, NULL, 10);
            if (bl >= 8192)
                bl = 8191;
            bl = recv_n(fd, body, bl);
        } else if (strcasestr(head, "\r\nTransfer-Encoding: chunked") != NULL) {
            for (;;) {
                char line[64];
                recv_until(fd, line, sizeof line, "\r\n");
                size_t n = strtoul(line, NULL, 16);
                if (n == 0) {
                    recv_until(fd, line, sizeof line, "\r\n");
                    break;
                }
                if (bl + n >= 8192)
                    break;
                bl += recv_n(fd, body + bl, n);
                recv_until(fd, line, sizeof line, "\r\n");
            }
        }
        body[bl] = '\0';
        pthread_mutex_lock(&o->mu);
        snprintf(o->last_head, sizeof o->last_head, "%s", head);
        snprintf(o->last_body, sizeof o->last_body, "%s", body);
        o->requests++;
        pthread_mutex_unlock(&o->mu);
        char resp[9000];
        bool is_head = strncmp(head, "HEAD ", 5) == 0;
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         "Content-Length: %zu\r\n\r\n%s%s",
                         bl + 5, is_head ? "" : "echo:", is_head ? "" : body);
        send_all(fd, resp, (size_t)n);
    }
    free(head);
    free(body);
}

static void *origin_thread(void *arg)
{
    struct origin *o = arg;
    for (;;) {
        int fd = accept(o->lfd, NULL, NULL);
        if (fd < 0)
            break;
        set_timeouts(fd);
        pthread_mutex_lock(&o->mu);
        o->conns++;
        pthread_mutex_unlock(&o->mu);
        if (o->kind == ORIGIN_ECHO) {
            char b[16384];
            ssize_t k;
            while ((k = recv(fd, b, sizeof b, 0)) > 0)
                send_all(fd, b, (size_t)k);
        } else {
            origin_http_conn(o, fd);
        }
        close(fd);
    }
    return NULL;
}

static inline void origin_start(struct origin *o, int kind, const char *unix_path)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    pthread_mutex_init(&o->mu, NULL);
    if (unix_path != NULL) {
        o->unix_socket = true;
        snprintf(o->path, sizeof o->path, "%s", unix_path);
        unlink(unix_path);
        o->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s", unix_path);
        assert_int_equal(bind(o->lfd, (struct sockaddr *)&a, sizeof a), 0);
    } else {
        o->lfd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(o->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(o->lfd, (struct sockaddr *)&a, sizeof a), 0);
        socklen_t l = sizeof a;
        getsockname(o->lfd, (struct sockaddr *)&a, &l);
        o->port = ntohs(a.sin_port);
    }
    assert_int_equal(listen(o->lfd, 16), 0);
    pthread_create(&o->th, NULL, origin_thread, o);
}

static inline void origin_stop(struct origin *o)
{
    shutdown(o->lfd, SHUT_RDWR);
    pthread_join(o->th, NULL);
    close(o->lfd);
    if (o->unix_socket)
        unlink(o->path);
    pthread_mutex_destroy(&o->mu);
}

static inline void origin_last(struct origin *o, char *head, size_t hcap, char *body, size_t bcap)
{
    pthread_mutex_lock(&o->mu);
    if (head != NULL)
        snprintf(head, hcap, "%s", o->last_head);
    if (body != NULL)
        snprintf(body, bcap, "%s", o->last_body);
    pthread_mutex_unlock(&o->mu);
}

/* ---- external tools ----------------------------------------------------------------- */

static inline bool have_tool(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* Runs a shell command, returns its exit status and stdout (NUL-terminated). */
static inline int run_cmd(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    return pclose(f);
}

static inline uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

static inline bool wait_port(uint16_t port)
{
    for (int i = 0; i < 200; i++) {
        int fd = tcp_connect(port);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        usleep(20000);
    }
    return false;
}

#endif
