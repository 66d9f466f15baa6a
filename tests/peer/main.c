/* ufrpc-test-frps — command line, listener, TLS sniffing, tcpMux, stdin commands.
 * Test code, not product (see peer.h).
 *
 * Usage: ufrpc-test-frps [options]
 *   --bind IP:PORT            listen address (default 127.0.0.1:7000; port 0 = any;
 *                             IPv6 as [::1]:PORT)
 *   --proxy-bind IP           address of the proxies' remote ports (default: bind IP)
 *   --token T                 auth token (default "")
 *   --tls=off|auto|force      plaintext only / both (frps default) / TLS only (default auto)
 *   --tls-cert F --tls-key F  certificate (default: generated as frps generates its
 *                             own: RSA-2048, empty issuer and subject)
 *   --tls-client-ca F         require client certificates signed by F
 *   --cert-out F              generate a named certificate instead (CN=ufrpc-test,
 *                             SAN DNS:localhost), which a client can trust, and
 *                             write it (PEM) to F
 *   --mux=true|false          tcpMux (default true)
 *   --mux-keepalive-ms N      our yamux ping interval (default 30000)
 *   --max-pool-count N        frps transport.maxPoolCount (default 5)
 *   --heartbeat-timeout S     close controls without Ping for S s (default off)
 *   --user-conn-timeout-ms N  how long a user connection waits for a work
 *                             connection (frps userConnTimeout; default 10000)
 *   --auth-heartbeats --auth-work-conns   verify the additional auth scopes
 *   --vhost-http-port N --vhost-https-port N --tcpmux-httpconnect-port N
 *                             frps's vhost / tcpmux ports for http, https and tcpmux
 *                             proxies (default off; see peer_vhost.c)
 *   --subdomain-host D        frps subDomainHost (proxies' subdomain + "." + D)
 *   --oidc-token T            as frps with auth.method oidc, but without a verifier:
 *                             Login's privilege_key must be exactly T
 *   --kcp-bind-port N         also serve KCP on UDP N of the bind IP (frps
 *                             kcpBindPort; 0 = any free port, told by an
 *                             "EVENT kcp-listen port=P" line right after READY);
 *                             KCP connections are sniffed for TLS as TCP ones
 *   --quic-bind-port N        also serve QUIC on UDP N of the bind IP (frps
 *                             quicBindPort: ALPN "frp", TLS 1.3 with --tls-cert/
 *                             --tls-key or a generated certificate; every QUIC
 *                             stream is one frp connection, no TLS sniff, no
 *                             tcpMux); 0 = any free port, told by an
 *                             "EVENT quic-listen port=P" line right after READY;
 *                             events accept-quic, quic-session-end
 *   --udp-packet-size N       frps udpPacketSize (default 1500, max 65536): user
 *                             datagrams longer than N are cut to N, as frps does
 *   faults: --refuse-login [--close-without-resp]
 *           --drop-after-ms N | --corrupt-after-ms N | --stall-after-ms N (after login)
 *   --commands                read commands from stdin, one per line:
 *           drop | corrupt | stall | kill | refuse-login on|off | quit
 *
 * Websocket (frp's websocket transport) is served on the bind port as frps does:
 * a connection starting with "GET /~!frp" is upgraded, then sniffed for TLS
 * inside the websocket (peer_ws.c); events accept-ws, ws ok=0|1, ws-closed.
 *
 * Output (stdout, line-buffered), first: "READY port=P tls=M mux=0|1 pid=N", then
 * "EVENT <name> k=v ..." lines: accept, tls, rejected-plaintext, login,
 * login-refused, proxy-new, proxy-refused, proxy-closed, close-proxy, work-conn,
 * work-conn-refused, work-conn-dropped, user-conn, user-conn-done, user-conn-timeout,
 * ping, fault, control-closed, session-end, bad-*. SIGTERM/SIGINT end the process.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "peer.h"
#include "pmux.h"
#include "net/kcp.h"
#include "net/quic.h"
#include "proto/error.h"

void peer_event(const char *name, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("EVENT %s %s\n", name, line);
    fflush(stdout);
}

int peer_rng(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- transports ---------------------------------------------------------------------- */
static void on_mux_accept(pmux_t *m, struct ufrpc_stream *st, void *data)
{
    peer_conn_new(data, st, m);
}

static void on_mux_end(pmux_t *m, int status, void *data)
{
    (void)m;
    (void)data;
    peer_event("session-end", "status=%s", ufrpc_errname(status));
}

static void transport_ready(struct peer *p, struct ufrpc_stream *st)
{
    if (p->o.mux) {
        struct pmux_opts mo = {.keepalive_ms = p->o.mux_keepalive_ms};
        pmux_new(p->loop, st, &mo, on_mux_accept, on_mux_end, p);
    } else {
        peer_conn_new(p, st, NULL);
    }
}

static void on_handshake(struct ufrpc_stream *st, int status)
{
    struct peer *p = st->data;
    if (status < 0) {
        peer_event("tls", "ok=0 error=%s", ufrpc_errname(status));
        ufrpc_stream_close(st, NULL);
        return;
    }
    peer_event("tls", "ok=1");
    transport_ready(p, st);
}

/* After the first-byte sniff (of TCP, or inside a websocket): plaintext or TLS. */
static void sniffed(struct peer *p, struct ufrpc_stream *st, int kind)
{
    if (kind == UFRPC_SNIFF_PLAIN) {
        if (p->o.tls == 2) {
            peer_event("rejected-plaintext", "%s", "");
            ufrpc_stream_close(st, NULL);
            return;
        }
        transport_ready(p, st);
        return;
    }
    peer_event("accept-tls", "first_byte_0x17=%d", kind == UFRPC_SNIFF_TLS_0x17);
    int err;
    struct ufrpc_stream *t = ufrpc_tls_server_new(p->tls, st, 10000, on_handshake, p, &err);
    if (t == NULL)
        peer_event("tls", "ok=0 error=%s", ufrpc_errname(err));
}

static void on_sniff(struct ufrpc_stream *st, int kind, void *data)
{
    struct peer *p = data;
    if (kind < 0) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    sniffed(p, st, kind);
}

/* The websocket prefix sniff is done: websocket, or the usual path. */
static void after_ws_sniff(struct peer *p, struct ufrpc_stream *st, int is_ws)
{
    if (is_ws) {
        peer_ws_accept(p, st, sniffed);
        return;
    }
    if (p->o.tls == 0) {
        transport_ready(p, st);
        return;
    }
    int rc = ufrpc_tls_sniff(st, 10000, on_sniff, p);
    if (rc < 0)
        ufrpc_stream_close(st, NULL);
}

/* a KCP session from a new address: frp's connection runs inside it (frps's
 * kcp listener feeds the same HandleListener as TCP) */
static void on_kcp_accept(ufrpc_kcp_listener_t *l, struct ufrpc_stream *st)
{
    struct peer *p = ufrpc_kcp_listener_data(l);
    peer_event("accept-kcp", "%s", "");
    peer_sniff_inner(p, st, sniffed);
}

/* a QUIC stream: frps's HandleQUICListener hands it to handleConnection as it is */
static void on_quic_accept(ufrpc_quic_listener_t *l, struct ufrpc_stream *st, void *data)
{
    (void)l;
    peer_event("accept-quic", "%s", "");
    peer_conn_new(data, st, NULL);
}

static void on_quic_end(ufrpc_quic_listener_t *l, int err, const char *why, void *data)
{
    (void)l, (void)data;
    peer_event("quic-session-end", "status=%s why=\"%s\"", ufrpc_errname(err), why);
}

static void on_accept(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *st)
{
    struct peer *p = ufrpc_tcp_listener_data(l);
    if (status < 0)
        return;
    char ip[64] = "";
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(ufrpc_tcp_handle(st), (struct sockaddr *)&ss, &len) == 0)
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
    peer_event("accept", "from=%s", ip);
    /* websocket on the bind port, as frps (peer_ws.c) */
    if (peer_ws_sniff(p, st, after_ws_sniff) < 0)
        ufrpc_stream_close(st, NULL);
}

/* ---- stdin commands --------------------------------------------------------------------- */
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[256]; /* single-threaded test program: one read at a time */
    (void)h;
    (void)hint;
    *b = uv_buf_init(buf, sizeof buf);
}

static void run_command(struct peer *p, char *line)
{
    if (strcmp(line, "quit") == 0) {
        peer_event("quit", "%s", "");
        _exit(0);
    } else if (strcmp(line, "refuse-login on") == 0) {
        p->o.refuse_login = 1;
    } else if (strcmp(line, "refuse-login off") == 0) {
        p->o.refuse_login = 0;
    } else if (*line) {
        peer_fault_all(p, line);
        return;
    } else {
        return;
    }
    peer_event("command", "cmd=\"%s\"", line);
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct peer *p = s->data;
    if (n < 0) {
        uv_read_stop(s);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char ch = b->base[i];
        if (ch == '\n') {
            p->inbuf[p->inlen] = 0;
            p->inlen = 0;
            run_command(p, p->inbuf);
        } else if (p->inlen + 1 < sizeof p->inbuf) {
            p->inbuf[p->inlen++] = ch;
        }
    }
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)s;
    peer_event("signal", "sig=%d", sig);
    /* Test program: end at once; the kernel reclaims sockets and memory. */
    _exit(0);
}

/* ---- options ---------------------------------------------------------------------------- */
static int parse_bool(const char *v)
{
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: ufrpc-test-frps [--bind IP:PORT] [--token T] [--tls=off|auto|force] "
                    "[--mux=true|false] ... (see tests/peer/main.c)\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct peer_opts *o)
{
    snprintf(o->bind_ip, sizeof o->bind_ip, "127.0.0.1");
    o->bind_port = 7000;
    o->token = "";
    o->tls = 1;
    o->mux = 1;
    o->max_pool_count = 5;
    o->user_conn_timeout_ms = 10000;
    o->udp_packet_size = 1500;
    o->kcp_port = -1;
    o->quic_port = -1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        char *val = NULL;
        char *eq = strchr(a, '=');
        char name[64];
        if (eq != NULL && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
#define NEEDVAL()                                                                            \
    do {                                                                                     \
        if (val == NULL) {                                                                   \
            if (i + 1 >= argc)                                                               \
                return -1;                                                                   \
            val = argv[++i];                                                                 \
        }                                                                                    \
    } while (0)
        if (strcmp(name, "--bind") == 0) {
            NEEDVAL();
            char *colon = strrchr(val, ':');
            const char *ip = val;
            if (colon != NULL && val[0] == '[' && colon > val && colon[-1] == ']')
                ip = val + 1; /* "[::1]:7000" */
            size_t iplen = colon != NULL ? (size_t)(colon - ip) - (ip != val) : 0;
            if (colon == NULL || iplen >= sizeof o->bind_ip)
                return -1;
            memcpy(o->bind_ip, ip, iplen);
            o->bind_ip[iplen] = 0;
            o->bind_port = (uint16_t)atoi(colon + 1);
        } else if (strcmp(name, "--proxy-bind") == 0) {
            NEEDVAL();
            snprintf(o->proxy_ip, sizeof o->proxy_ip, "%s", val);
        } else if (strcmp(name, "--token") == 0) {
            NEEDVAL();
            o->token = val;
        } else if (strcmp(name, "--tls") == 0) {
            if (val == NULL)
                o->tls = 2;
            else
                o->tls = strcmp(val, "off") == 0 || strcmp(val, "false") == 0 ? 0
                         : strcmp(val, "force") == 0                          ? 2
                                                                              : 1;
        } else if (strcmp(name, "--tls-cert") == 0) {
            NEEDVAL();
            o->tls_cert = val;
        } else if (strcmp(name, "--tls-key") == 0) {
            NEEDVAL();
            o->tls_key = val;
        } else if (strcmp(name, "--tls-client-ca") == 0) {
            NEEDVAL();
            o->tls_client_ca = val;
        } else if (strcmp(name, "--cert-out") == 0) {
            NEEDVAL();
            o->cert_out = val;
        } else if (strcmp(name, "--mux") == 0) {
            o->mux = val == NULL ? 1 : parse_bool(val);
        } else if (strcmp(name, "--mux-keepalive-ms") == 0) {
            NEEDVAL();
            o->mux_keepalive_ms = (uint32_t)atoi(val);
        } else if (strcmp(name, "--max-pool-count") == 0) {
            NEEDVAL();
            o->max_pool_count = atoi(val);
        } else if (strcmp(name, "--heartbeat-timeout") == 0) {
            NEEDVAL();
            o->heartbeat_timeout_s = atoi(val);
        } else if (strcmp(name, "--user-conn-timeout-ms") == 0) {
            NEEDVAL();
            o->user_conn_timeout_ms = atoi(val);
        } else if (strcmp(name, "--vhost-http-port") == 0) {
            NEEDVAL();
            o->vhost_http_port = (uint16_t)atoi(val);
        } else if (strcmp(name, "--vhost-https-port") == 0) {
            NEEDVAL();
            o->vhost_https_port = (uint16_t)atoi(val);
        } else if (strcmp(name, "--tcpmux-httpconnect-port") == 0) {
            NEEDVAL();
            o->tcpmux_httpconnect_port = (uint16_t)atoi(val);
        } else if (strcmp(name, "--kcp-bind-port") == 0) {
            NEEDVAL();
            o->kcp_port = atoi(val);
            if (o->kcp_port < 0 || o->kcp_port > 65535)
                return -1;
        } else if (strcmp(name, "--quic-bind-port") == 0) {
            NEEDVAL();
            o->quic_port = atoi(val);
            if (o->quic_port < 0 || o->quic_port > 65535)
                return -1;
        } else if (strcmp(name, "--udp-packet-size") == 0) {
            NEEDVAL();
            long n = atol(val);
            if (n < 1 || n > 65536)
                return -1;
            o->udp_packet_size = (uint32_t)n;
        } else if (strcmp(name, "--oidc-token") == 0) {
            NEEDVAL();
            o->oidc_token = val;
        } else if (strcmp(name, "--subdomain-host") == 0) {
            NEEDVAL();
            snprintf(o->subdomain_host, sizeof o->subdomain_host, "%s", val);
        } else if (strcmp(name, "--auth-heartbeats") == 0) {
            o->auth_heartbeats = 1;
        } else if (strcmp(name, "--auth-work-conns") == 0) {
            o->auth_work_conns = 1;
        } else if (strcmp(name, "--refuse-login") == 0) {
            o->refuse_login = 1;
        } else if (strcmp(name, "--close-without-resp") == 0) {
            o->close_without_resp = 1;
        } else if (strcmp(name, "--drop-after-ms") == 0) {
            NEEDVAL();
            o->drop_after_ms = atoi(val);
        } else if (strcmp(name, "--corrupt-after-ms") == 0) {
            NEEDVAL();
            o->corrupt_after_ms = atoi(val);
        } else if (strcmp(name, "--stall-after-ms") == 0) {
            NEEDVAL();
            o->stall_after_ms = atoi(val);
        } else if (strcmp(name, "--commands") == 0) {
            o->commands = 1;
        } else {
            fprintf(stderr, "ufrpc-test-frps: unknown option %s\n", a);
            return -1;
        }
#undef NEEDVAL
    }
    if (o->proxy_ip[0] == 0)
        snprintf(o->proxy_ip, sizeof o->proxy_ip, "%s", o->bind_ip);
    return 0;
}

int main(int argc, char **argv)
{
    static struct peer p; /* lives for the whole process */
    if (parse_args(argc, argv, &p.o) < 0)
        return usage();
    p.loop = uv_default_loop();
    /* a client that goes away while we write (a discarded work connection, a
     * websocket close or pong) must not kill the test frps; Go ignores SIGPIPE
     * on sockets too */
    signal(SIGPIPE, SIG_IGN);
    if (ufrpc_cfb_derive_key((const uint8_t *)p.o.token, strlen(p.o.token), p.key) < 0)
        return 1;
    if (p.o.tls != 0) {
        struct ufrpc_tls_server_opts so = {.cert_file = p.o.tls_cert,
                                           .key_file = p.o.tls_key,
                                           .generate = p.o.cert_out != NULL
                                                           ? UFRPC_TLS_GEN_NAMED
                                                           : UFRPC_TLS_GEN_FRPS,
                                           .client_ca_file = p.o.tls_client_ca};
        int rc = ufrpc_tls_server_ctx_new(&so, &p.tls);
        if (rc < 0) {
            fprintf(stderr, "ufrpc-test-frps: TLS setup: %s\n", ufrpc_strerror(rc));
            return 1;
        }
        if (p.o.cert_out != NULL) {
            static char pem[8192];
            FILE *f = NULL;
            if (ufrpc_tls_ctx_cert_pem(p.tls, pem, sizeof pem) < 0 ||
                (f = fopen(p.o.cert_out, "w")) == NULL || fputs(pem, f) < 0) {
                fprintf(stderr, "ufrpc-test-frps: cannot write %s\n", p.o.cert_out);
                if (f != NULL)
                    fclose(f);
                return 1;
            }
            fclose(f);
        }
    }
    int err;
    p.listener = ufrpc_tcp_listen(p.loop, p.o.bind_ip, p.o.bind_port, on_accept, &p, &err);
    if (p.listener == NULL) {
        fprintf(stderr, "ufrpc-test-frps: listen %s:%u: %s\n", p.o.bind_ip, p.o.bind_port,
                ufrpc_strerror(err));
        return 1;
    }
    err = peer_vhost_start(&p);
    if (err < 0) {
        fprintf(stderr, "ufrpc-test-frps: vhost ports: %s\n", ufrpc_strerror(err));
        return 1;
    }
    uv_signal_init(p.loop, &p.sigterm);
    uv_signal_start(&p.sigterm, on_signal, SIGTERM);
    uv_signal_init(p.loop, &p.sigint);
    uv_signal_start(&p.sigint, on_signal, SIGINT);
    if (p.o.commands) {
        uv_pipe_init(p.loop, &p.in, 0);
        p.in.data = &p;
        if (uv_pipe_open(&p.in, 0) == 0)
            uv_read_start((uv_stream_t *)&p.in, on_alloc, on_stdin);
    }
    if (p.o.kcp_port >= 0) {
        p.kcp = ufrpc_kcp_listen(p.loop, p.o.bind_ip, (uint16_t)p.o.kcp_port, on_kcp_accept, &p,
                                 &err);
        if (p.kcp == NULL) {
            fprintf(stderr, "ufrpc-test-frps: kcp listen %s:%d: %s\n", p.o.bind_ip,
                    p.o.kcp_port, ufrpc_strerror(err));
            return 1;
        }
    }
    if (p.o.quic_port >= 0) {
        struct ufrpc_quic_listen_opts qo = {
            .bind_ip = p.o.bind_ip,
            .port = (uint16_t)p.o.quic_port,
            .cert_file = p.o.tls_cert,
            .key_file = p.o.tls_key,
            .keepalive_s = 10, /* frps's transport.quic defaults */
            .idle_timeout_s = 30,
        };
        char why[256];
        err = ufrpc_quic_listen(p.loop, &qo, on_quic_accept, on_quic_end, &p, &p.quic, why,
                                sizeof why);
        if (err < 0) {
            fprintf(stderr, "ufrpc-test-frps: %s\n", why);
            return 1;
        }
    }
    printf("READY port=%u tls=%s mux=%d pid=%d\n", ufrpc_tcp_listener_port(p.listener),
           p.o.tls == 0 ? "off" : p.o.tls == 1 ? "auto" : "force", p.o.mux, (int)getpid());
    if (p.kcp != NULL)
        printf("EVENT kcp-listen port=%u\n", ufrpc_kcp_listener_port(p.kcp));
    if (p.quic != NULL)
        printf("EVENT quic-listen port=%u\n", ufrpc_quic_listener_port(p.quic));
    fflush(stdout);
    uv_run(p.loop, UV_RUN_DEFAULT);
    return 0;
}
