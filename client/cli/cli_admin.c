/* client/cli/cli_admin.c — `ufrpc reload|status|stop`. See cli_admin.h. */
#include "client/cli/cli_admin.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <mbedtls/platform_util.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/cli/cli.h"
#include "client/cli/cli_flags.h"
#include "client/cli/cli_util.h"
#include "llhttp.h"

#include "config/config.h"
#include "proto/base64.h"
#include "proto/error.h"
#include "proto/text.h"

#define MAX_RESPONSE (16u * 1024u * 1024u)

/* ---- small helpers ---------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* strerror with Go's lower-case first letter ("connection refused"). */
static void errtext(int e, char *out, size_t cap)
{
    snprintf(out, cap, "%s", strerror(e));
    if (out[0] != '\0' && isupper((unsigned char)out[0]) && !isupper((unsigned char)out[1]))
        out[0] = (char)tolower((unsigned char)out[0]);
}

static void join_host_port(const char *host, uint16_t port, char *out, size_t cap)
{
    snprintf(out, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

/* base64 of user:password into a malloc'd string (NULL on OOM). */
static char *basic_credentials(const char *user, const char *pw)
{
    size_t ul = strlen(user), pl = strlen(pw), n = ul + 1 + pl;
    unsigned char *raw = malloc(n + 1);
    char *out = malloc(ufrpc_base64_encoded_len(n) + 1);
    if (raw == NULL || out == NULL) {
        free(raw);
        free(out);
        return NULL;
    }
    memcpy(raw, user, ul);
    raw[ul] = ':';
    memcpy(raw + ul + 1, pw, pl);
    ufrpc_base64_encode(raw, n, out);
    mbedtls_platform_zeroize(raw, n);
    free(raw);
    return out;
}

/* ---- durations ------------------------------------------------------------------------ */

int ufrpc_cli_admin_parse_duration(const char *s, int64_t *ms)
{
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (strcmp(p, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (*p == '\0')
        return UFRPC_ERR_INVAL;
    double total_ns = 0;
    while (*p != '\0') {
        if (!isdigit((unsigned char)*p) && *p != '.')
            return UFRPC_ERR_INVAL;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno != 0 || (*p == '.' && !isdigit((unsigned char)p[1])))
            return UFRPC_ERR_INVAL;
        for (const char *q = p; q < end; q++)
            if (!isdigit((unsigned char)*q) && *q != '.')
                return UFRPC_ERR_INVAL; /* no exponents, no hex */
        p = end;
        static const struct {
            const char *u;
            double ns;
        } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
        size_t best = 0, blen = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].u);
            if (strncmp(p, units[i].u, l) == 0 && l > blen)
                best = i, blen = l;
        }
        if (blen == 0)
            return UFRPC_ERR_INVAL;
        total_ns += v * units[best].ns;
        p += blen;
    }
    if (total_ns > 9.2e18)
        return UFRPC_ERR_INVAL;
    *ms = (int64_t)(total_ns / 1e6) * (neg ? -1 : 1);
    return 0;
}

/* ---- the HTTP exchange --------------------------------------------------------------- */

struct resp_parse {
    char *body;
    size_t len, cap;
    bool complete, too_big;
};

static int on_resp_body(llhttp_t *p, const char *at, size_t len)
{
    struct resp_parse *r = p->data;
    if (len > MAX_RESPONSE - r->len) {
        r->too_big = true;
        return -1;
    }
    if (r->len + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (b == NULL)
            return -1;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, at, len);
    r->len += len;
    return 0;
}

static int on_resp_complete(llhttp_t *p)
{
    struct resp_parse *r = p->data;
    /* a 100 Continue is not the answer */
    if (p->status_code >= 100 && p->status_code < 200)
        return 0;
    r->complete = true;
    return HPE_PAUSED;
}

/* Waits for fd to be ready for `events` until the deadline. 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* Connects to one of host:port's addresses. fd or -1 with err set. */
static int connect_any(const char *host, uint16_t port, int64_t deadline, const char *prefix,
                       char *err, size_t errcap, bool *timed_out)
{
    char portstr[8], hp[300], et[128];
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    join_host_port(host, port, hp, sizeof hp);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int gr = getaddrinfo(host, portstr, &hints, &res);
    if (gr != 0 || res == NULL) {
        snprintf(err, errcap, "%s: dial tcp: lookup %s: %s", prefix, host,
                 gr == EAI_NONAME ? "no such host" : gai_strerror(gr));
        return -1;
    }
    int fd = -1, last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                last = errno;
                close(fd);
                fd = -1;
                continue;
            }
            int w = wait_fd(fd, POLLOUT, deadline);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w == 0) {
                close(fd);
                freeaddrinfo(res);
                *timed_out = true;
                snprintf(err, errcap, "%s: context deadline exceeded", prefix);
                return -1;
            }
            if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
                last = w < 0 ? errno : soerr;
                close(fd);
                fd = -1;
            }
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        errtext(last, et, sizeof et);
        snprintf(err, errcap, "%s: dial tcp %s: connect: %s", prefix, hp, et);
    }
    return fd;
}

static int send_all(int fd, const char *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w > 0) {
            data += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r == 0)
                return UFRPC_ERR_TIMEOUT;
            if (r > 0)
                continue;
        }
        return -errno;
    }
    return 0;
}

int ufrpc_cli_admin_http(const char *host, uint16_t port, const char *user, const char *password,
                         const char *method, const char *path, const void *body, size_t body_len,
                         int64_t timeout_ms, int *status, char **resp, size_t *resp_len, char *err,
                         size_t errcap)
{
    *status = 0;
    *resp = NULL;
    *resp_len = 0;
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    char hp[300], prefix[700], op[16], et[128];
    join_host_port(host, port, hp, sizeof hp);
    /* Go's url.Error: Op is the method with only its first letter upper-case */
    size_t ml = strlen(method);
    for (size_t i = 0; i < ml && i + 1 < sizeof op; i++)
        op[i] =
            (char)(i == 0 ? toupper((unsigned char)method[i]) : tolower((unsigned char)method[i]));
    op[ml < sizeof op ? ml : sizeof op - 1] = '\0';
    snprintf(prefix, sizeof prefix, "%s \"http://%s%s\"", op, hp, path);
    if (timeout_ms <= 0) {
        snprintf(err, errcap, "%s: context deadline exceeded", prefix);
        return UFRPC_ERR_TIMEOUT;
    }

    bool timed_out = false;
    int fd = connect_any(host, port, deadline, prefix, err, errcap, &timed_out);
    if (fd < 0)
        return timed_out ? UFRPC_ERR_TIMEOUT : UFRPC_ERR_CONNECT;

    char head[1024];
    char *cred = NULL;
    if ((user && user[0]) || (password && password[0])) {
        cred = basic_credentials(user ? user : "", password ? password : "");
        if (cred == NULL) {
            close(fd);
            snprintf(err, errcap, "%s: out of memory", prefix);
            return UFRPC_ERR_NOMEM;
        }
    }
    struct resp_parse rp = {0};
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ufrpc\r\nConnection: close\r\n",
                      method, path, hp);
    int rc = 0;
    size_t reqcap = (size_t)hl + (cred ? strlen(cred) : 0) + body_len + 128;
    char *req = malloc(reqcap);
    if (req == NULL || hl < 0 || (size_t)hl >= sizeof head) {
        rc = UFRPC_ERR_NOMEM;
        snprintf(err, errcap, "%s: out of memory", prefix);
        goto out;
    }
    size_t rl = (size_t)snprintf(req, reqcap, "%s", head);
    if (cred)
        rl += (size_t)snprintf(req + rl, reqcap - rl, "Authorization: Basic %s\r\n", cred);
    if (body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        rl += (size_t)snprintf(req + rl, reqcap - rl, "Content-Length: %zu\r\n", body_len);
    rl += (size_t)snprintf(req + rl, reqcap - rl, "\r\n");
    if (body_len > 0) {
        memcpy(req + rl, body, body_len);
        rl += body_len;
    }
    rc = send_all(fd, req, rl, deadline);
    mbedtls_platform_zeroize(req, rl); /* it held the credentials */
    if (rc != 0) {
        if (rc == UFRPC_ERR_TIMEOUT) {
            snprintf(err, errcap, "%s: context deadline exceeded", prefix);
        } else {
            errtext(-rc, et, sizeof et);
            snprintf(err, errcap, "%s: write tcp %s: %s", prefix, hp, et);
            rc = UFRPC_ERR_IO;
        }
        goto out;
    }

    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_body = on_resp_body;
    st.on_message_complete = on_resp_complete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_RESPONSE, &st);
    parser.data = &rp;
    char buf[16384];
    bool got_any = false;
    while (!rp.complete) {
        int w = wait_fd(fd, POLLIN, deadline);
        if (w == 0) {
            snprintf(err, errcap, "%s: context deadline exceeded", prefix);
            rc = UFRPC_ERR_TIMEOUT;
            goto out;
        }
        ssize_t n = w > 0 ? recv(fd, buf, sizeof buf, 0) : -1;
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            errtext(errno, et, sizeof et);
            snprintf(err, errcap, "%s: read tcp %s: %s", prefix, hp, et);
            rc = UFRPC_ERR_IO;
            goto out;
        }
        llhttp_errno_t e;
        if (n == 0) {
            e = llhttp_finish(&parser);
            if (!rp.complete) {
                snprintf(err, errcap, "%s: %s", prefix, got_any ? "unexpected EOF" : "EOF");
                rc = UFRPC_ERR_EOF;
                goto out;
            }
            break;
        }
        got_any = true;
        e = llhttp_execute(&parser, buf, (size_t)n);
        if (e != HPE_OK && e != HPE_PAUSED) {
            snprintf(err, errcap, "%s: %s", prefix,
                     rp.too_big ? "response too large" : "malformed HTTP response");
            rc = UFRPC_ERR_HTTP;
            goto out;
        }
    }
    *status = parser.status_code;
    if (rp.body == NULL) {
        rp.body = malloc(1);
        if (rp.body == NULL) {
            rc = UFRPC_ERR_NOMEM;
            snprintf(err, errcap, "%s: out of memory", prefix);
            goto out;
        }
    }
    rp.body[rp.len] = '\0';
    *resp = rp.body;
    *resp_len = rp.len;
    rp.body = NULL;
out:
    free(rp.body);
    free(req);
    if (cred) {
        mbedtls_platform_zeroize(cred, strlen(cred));
        free(cred);
    }
    close(fd);
    return rc;
}

/* ---- status table (github.com/rodaine/table defaults) ------------------------------------ */

static size_t runes(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

#define NCOL 6

static const char *field(json_object *o, const char *k)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, k, &v) || v == NULL)
        return "";
    const char *s = json_object_get_string(v);
    return s ? s : "";
}

static void print_row(FILE *out, const char *const cells[NCOL], const size_t widths[NCOL])
{
    for (int i = 0; i < NCOL; i++) {
        fputs(cells[i], out);
        for (size_t w = runes(cells[i]); w < widths[i]; w++)
            fputc(' ', out);
    }
    fputc('\n', out);
}

/* One cell value can span lines: the table splits it into extra rows. */
static size_t cell_lines(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static char *cell_line(const char *s, size_t idx)
{
    for (size_t i = 0; i < idx; i++) {
        s = strchr(s, '\n');
        if (s == NULL)
            return strdup("");
        s++;
    }
    return strndup(s, strcspn(s, "\n"));
}

static int print_table(FILE *out, json_object *arr)
{
    static const char *const head[NCOL] = {"Name",   "Status",     "LocalAddr",
                                           "Plugin", "RemoteAddr", "Error"};
    static const char *const keys[NCOL] = {"name",   "status",      "local_addr",
                                           "plugin", "remote_addr", "err"};
    size_t n = json_object_array_length(arr);
    size_t widths[NCOL];
    for (int c = 0; c < NCOL; c++)
        widths[c] = runes(head[c]) + 2;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            print_row(out, head, widths);
        for (size_t i = 0; i < n; i++) {
            json_object *o = json_object_array_get_idx(arr, i);
            size_t lines = 1;
            for (int c = 0; c < NCOL; c++) {
                size_t l = cell_lines(field(o, keys[c]));
                lines = l > lines ? l : lines;
            }
            for (size_t li = 0; li < lines; li++) {
                char *cells[NCOL] = {0};
                bool ok = true;
                for (int c = 0; c < NCOL; c++)
                    ok = (cells[c] = cell_line(field(o, keys[c]), li)) != NULL && ok;
                if (ok && pass == 0) {
                    for (int c = 0; c < NCOL; c++)
                        if (runes(cells[c]) + 2 > widths[c])
                            widths[c] = runes(cells[c]) + 2;
                } else if (ok) {
                    print_row(out, (const char *const *)cells, widths);
                }
                for (int c = 0; c < NCOL; c++)
                    free(cells[c]);
                if (!ok)
                    return UFRPC_ERR_NOMEM;
            }
        }
    }
    return 0;
}

static int print_status(FILE *out, const char *body, size_t len)
{
    static const char *const types[] = {"tcp",   "udp",  "tcpmux", "http",
                                        "https", "stcp", "sudp",   "xtcp"};
    json_tokener *tok = json_tokener_new();
    json_object *root = tok ? json_tokener_parse_ex(tok, body, (int)len) : NULL;
    bool ok = root != NULL && json_tokener_get_error(tok) == json_tokener_success &&
              json_object_is_type(root, json_type_object);
    json_tokener_free(tok);
    if (!ok) {
        /* strings.TrimSpace(content) */
        size_t a = 0, b = len;
        while (a < b && isspace((unsigned char)body[a]))
            a++;
        while (b > a && isspace((unsigned char)body[b - 1]))
            b--;
        fprintf(out, "unmarshal http response error: %.*s\n", (int)(b - a), body + a);
        json_object_put(root);
        return 1;
    }
    fprintf(out, "Proxy Status...\n\n");
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        json_object *arr = NULL;
        if (!json_object_object_get_ex(root, types[i], &arr) ||
            !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0)
            continue;
        char up[16];
        size_t k = 0;
        for (; types[i][k] && k + 1 < sizeof up; k++)
            up[k] = (char)toupper((unsigned char)types[i][k]);
        up[k] = '\0';
        fprintf(out, "%s\n", up);
        if (print_table(out, arr) != 0) {
            json_object_put(root);
            return 1;
        }
        fprintf(out, "\n");
    }
    json_object_put(root);
    return 0;
}


int ufrpc_cli_admin(int argc, char **argv, FILE *out)
{
    struct ufrpc_cli_opts o;
    if (ufrpc_cli_parse_opts(argc, argv, &o) != 0) {
        fprintf(out, "Error: %s\n", o.error);
        return 1;
    }
    if (o.cmd != UFRPC_CMD_RELOAD && o.cmd != UFRPC_CMD_STATUS && o.cmd != UFRPC_CMD_STOP) {
        fprintf(out, "Error: expected one of: reload, status, stop\n");
        return 1;
    }
    return ufrpc_cli_admin_opts(&o, out);
}

int ufrpc_cli_admin_opts(const struct ufrpc_cli_opts *o, FILE *out)
{
    const char *file = o->config;
    const char *cmd = o->cmd == UFRPC_CMD_RELOAD ? "reload" : o->cmd == UFRPC_CMD_STOP ? "stop" : "status";
    bool strict = o->strict;
    int64_t timeout_ms = o->api_timeout_ms;
    int metrics = o->metrics; /* status --metrics: 1 Prometheus text, 2 JSON */
    if (metrics && o->cmd != UFRPC_CMD_STATUS) {
        fprintf(out, "Error: --metrics goes with status\n");
        return 1;
    }
    file = ufrpc_cli_config_path(file, NULL);

    struct ufrpc_config_load_opts opts = {.non_strict = !strict, .no_store = true};
    struct ufrpc_config *cfg = ufrpc_cli_load_config(file, &opts, out);
    if (cfg == NULL)
        return 1;
    int code = 1;
    if (cfg->web_server.port <= 0 || cfg->web_server.port > 65535) {
        fprintf(out, "web server port should be set if you want to use this feature\n");
        goto done;
    }
    const char *host =
        cfg->web_server.addr && cfg->web_server.addr[0] ? cfg->web_server.addr : "127.0.0.1";
    const char *method = "GET", *path = "/api/status";
    if (strcmp(cmd, "reload") == 0)
        path = strict ? "/api/reload?strictConfig=true" : "/api/reload";
    else if (strcmp(cmd, "stop") == 0)
        method = "POST", path = "/api/stop";
    else if (metrics)
        path = metrics == 1 ? "/metrics" : "/api/metrics";
    int status = 0;
    char *body = NULL, err[1024];
    size_t blen = 0;
    int rc = ufrpc_cli_admin_http(host, (uint16_t)cfg->web_server.port,
                                  ufrpc_cfg_str(cfg->web_server.user),
                                  ufrpc_cfg_str(cfg->web_server.password), method, path, NULL, 0,
                                  timeout_ms, &status, &body, &blen, err, sizeof err);
    if (rc != 0) {
        fprintf(out, "%s\n", err);
    } else if (status != 200) {
        fprintf(out, "api status code [%d]\n", status);
    } else if (metrics) {
        fwrite(body, 1, blen, out);
        code = 0;
    } else if (strcmp(cmd, "status") == 0) {
        code = print_status(out, body, blen);
    } else {
        fprintf(out, "%s success\n", cmd);
        code = 0;
    }
    free(body);
done:
    ufrpc_config_free(cfg);
    return code;
}
