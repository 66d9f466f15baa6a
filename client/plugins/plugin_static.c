/* ufrpc — static_file plugin: serves localPath over HTTP/1.1 (GET and HEAD,
 * single byte ranges, keep-alive), under "/<stripPrefix>/" when stripPrefix is set (else "/"),
 * optional basic auth (httpUser/httpPassword: 401 with WWW-Authenticate), index.html
 * for directories, else an HTML listing (at most 10000 entries), "/dir" redirected
 * to "/dir/" as Go's http.FileServer does.
 *
 * Path safety: the URL path is percent-decoded; NUL bytes, backslashes and ".."
 * segments are refused (400); the resolved real path (symlinks followed) must
 * stay inside the real path of localPath, else 404.
 *
 * The loop never touches the disk: resolving a request (realpath, stat, open,
 * the content sniff, a directory listing) runs as one job on libuv's thread pool
 * while parsing is paused (struct sf_job), and file bytes are read with uv_fs_read
 * in 64 KiB pieces, at most HS_MAX_INFLIGHT bytes queued downstream. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/plugins/hs.h"
#include "proto/error.h"
#include "proto/text.h"

struct sf_plugin {
    char root[PATH_MAX]; /* real path of localPath */
    char prefix[512];    /* "/" or "/strip/" */
};

/* The file being sent. Its bytes are read on libuv's thread pool (uv_fs_read),
 * one chunk at a time: `reading` while a read is in flight (it holds a reference
 * on the hs and on rb); the fd is closed only when no read uses it. */
struct sf {
    int fd;
    uint64_t off, left;
    bool reading;
    bool close_pending; /* closed while reading: close when the read returns */
    uv_fs_t req;
    ufrpc_rbuf_t *rb;
};

static const struct {
    const char *ext, *type;
} mime[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"xml", "text/xml; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/vnd.microsoft.icon"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
};

static const char *content_type(const char *path, int fd)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot != NULL && (slash == NULL || dot > slash)) {
        for (size_t i = 0; i < sizeof mime / sizeof mime[0]; i++)
            if (strcasecmp(dot + 1, mime[i].ext) == 0)
                return mime[i].type;
    }
    /* unknown extension: text if the first 512 bytes look like text */
    unsigned char b[512];
    ssize_t n = pread(fd, b, sizeof b, 0);
    for (ssize_t i = 0; i < n; i++)
        if (b[i] < 0x09 || (b[i] > 0x0d && b[i] < 0x20) || b[i] == 0x7f)
            return "application/octet-stream";
    return "text/plain; charset=utf-8";
}

/* Percent-decodes the path part of the URL (up to '?' or '#') into out. 0, or
 * <0 for a bad escape, a NUL or a backslash in the result, or one too long. */
static int decode_path(const char *u, size_t n, char *out, size_t cap)
{
    size_t pn = 0;
    while (pn < n && u[pn] != '?' && u[pn] != '#')
        pn++;
    long len = ufrpc_pct_decode(u, pn, false, out, cap);
    if (len < 0)
        return (int)len;
    if (memchr(out, '\0', (size_t)len) != NULL || memchr(out, '\\', (size_t)len) != NULL)
        return UFRPC_ERR_INVAL;
    return 0;
}

static bool has_dotdot(const char *p)
{
    for (const char *s = p; *s != '\0';) {
        const char *e = strchr(s, '/');
        size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
        if (len == 2 && s[0] == '.' && s[1] == '.')
            return true;
        if (e == NULL)
            break;
        s = e + 1;
    }
    return false;
}

/* True when the resolved path `real` is `root` itself or lies below it. Both
 * are realpath() results (absolute, no trailing slash except "/"). The '/'
 * boundary matters: "/srv/www-old/x" starts with "/srv/www" but is outside. */
static bool path_inside(const char *real, const char *root)
{
    size_t rl = strlen(root);
    if (strncmp(real, root, rl) != 0)
        return false;
    return real[rl] == '\0' || real[rl] == '/' || (rl == 1 && root[0] == '/');
}

static void sf_close_file(struct sf *s)
{
    s->left = 0;
    if (s->reading) {
        s->close_pending = true; /* the read in flight still uses the fd */
        return;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static void sf_pump(struct hs *h);

static void sf_on_read(uv_fs_t *req)
{
    struct hs *h = req->data;
    struct sf *s = h->ctx;
    ssize_t n = (ssize_t)req->result;
    uv_fs_req_cleanup(req);
    ufrpc_rbuf_t *b = s->rb;
    s->rb = NULL;
    s->reading = false;
    if (s->close_pending || h->closing) {
        s->close_pending = false;
        ufrpc_rbuf_unref(b);
        sf_close_file(s);
        ufrpc_hs_unref(h);
        return;
    }
    if (n <= 0) {
        ufrpc_rbuf_unref(b);
        ufrpc_hs_fail(h, UFRPC_ERR_IO, "read failed: %s",
                      n < 0 ? uv_strerror((int)n) : "file shrank");
        ufrpc_hs_unref(h);
        return;
    }
    s->off += (uint64_t)n;
    s->left -= (uint64_t)n;
    int rc = ufrpc_hs_write(h, b, b->base, (size_t)n);
    ufrpc_rbuf_unref(b);
    if (rc < 0)
        ufrpc_hs_fail(h, rc, NULL);
    else
        sf_pump(h);
    ufrpc_hs_unref(h);
}

/* Starts the next chunk's read when the downstream has room; ends the response
 * once the whole range went out. */
static void sf_pump(struct hs *h)
{
    struct sf *s = h->ctx;
    if (s->reading)
        return;
    if (s->fd >= 0 && s->left > 0 && !h->closing && !ufrpc_hs_down_congested(h)) {
        size_t want = s->left < UFRPC_READ_BUF_SIZE ? (size_t)s->left : UFRPC_READ_BUF_SIZE;
        ufrpc_rbuf_t *b = ufrpc_rbuf_new(want);
        if (b == NULL) {
            ufrpc_hs_fail(h, UFRPC_ERR_NOMEM, "out of memory");
            return;
        }
        uv_buf_t ub = uv_buf_init((char *)b->base, (unsigned)want);
        s->rb = b;
        s->req.data = h;
        int rc = uv_fs_read(h->base.plugin->loop, &s->req, s->fd, &ub, 1, (int64_t)s->off,
                            sf_on_read);
        if (rc < 0) {
            s->rb = NULL;
            ufrpc_rbuf_unref(b);
            ufrpc_hs_fail(h, UFRPC_ERR_IO, "read failed: %s", uv_strerror(rc));
            return;
        }
        s->reading = true;
        ufrpc_hs_ref(h);
        return;
    }
    if (s->fd >= 0 && s->left == 0 && !h->closing) {
        sf_close_file(s);
        ufrpc_hs_response_done(h, true);
    }
}

static void sf_on_drain(struct hs *h)
{
    sf_pump(h);
}

static void html_escape(char *out, size_t cap, const char *in)
{
    size_t o = 0;
    for (; *in != '\0' && o + 7 < cap; in++) {
        const char *rep = *in == '<'    ? "&lt;"
                          : *in == '>'  ? "&gt;"
                          : *in == '&'  ? "&amp;"
                          : *in == '"'  ? "&#34;"
                          : *in == '\'' ? "&#39;"
                                        : NULL;
        if (rep != NULL) {
            size_t l = strlen(rep);
            memcpy(out + o, rep, l);
            o += l;
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

static void url_escape(char *out, size_t cap, const char *in)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *in != '\0' && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~!$&'()*+,;=:@", c) != NULL) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Builds the HTML listing of `dir` (at most 10000 entries, sorted) into a
 * malloc'd body. Runs on the thread pool. 0, UFRPC_ERR_IO (unreadable: 403) or
 * UFRPC_ERR_NOMEM. */
static int sf_listing_build(const char *dir, char **body_out, size_t *len_out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return UFRPC_ERR_IO;
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 10000) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, nc * sizeof *nn);
            if (nn == NULL) {
                oom = true;
                break;
            }
            names = nn;
            cap = nc;
        }
        bool is_dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN || e->d_type == DT_LNK) {
            struct stat st;
            is_dir = fstatat(dirfd(d), e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
        }
        size_t l = strlen(e->d_name);
        names[n] = malloc(l + 2);
        if (names[n] == NULL) {
            oom = true;
            break;
        }
        memcpy(names[n], e->d_name, l);
        names[n][l] = is_dir ? '/' : '\0';
        names[n][l + 1] = '\0';
        n++;
    }
    closedir(d);
    if (!oom && n > 1)
        qsort(names, n, sizeof *names, cmp_names);
    size_t bcap = 128;
    for (size_t i = 0; i < n; i++)
        bcap += 9 * strlen(names[i]) + 32;
    char *body = oom ? NULL : malloc(bcap);
    size_t o = 0;
    if (body != NULL) {
        o = (size_t)snprintf(body, bcap, "<pre>\n");
        for (size_t i = 0; i < n; i++) {
            char u[3 * 256 + 8], t[6 * 256 + 8];
            url_escape(u, sizeof u, names[i]);
            html_escape(t, sizeof t, names[i]);
            o += (size_t)snprintf(body + o, bcap - o, "<a href=\"%s\">%s</a>\n", u, t);
        }
        o += (size_t)snprintf(body + o, bcap - o, "</pre>\n");
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (body == NULL)
        return UFRPC_ERR_NOMEM;
    *body_out = body;
    *len_out = o;
    return 0;
}

static void sf_send_listing(struct hs *h, const char *body, size_t len)
{
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      len);
    int rc = ufrpc_hs_write(h, NULL, (const uint8_t *)head, (size_t)hl);
    if (rc == 0 && ufrpc_hs_method_id(h) != HTTP_HEAD)
        rc = ufrpc_hs_write(h, NULL, (const uint8_t *)body, len);
    if (rc < 0)
        ufrpc_hs_fail(h, rc, NULL);
    else
        ufrpc_hs_response_done(h, true);
}

/* One "Range: bytes=a-b" / "a-" / "-n" range: 1 (partial: *from, *count), 0 (no
 * or unsupported Range header: whole file), -1 (unsatisfiable: 416). Several
 * ranges are answered with the whole file, which RFC 9110 allows. */
static int parse_range(struct hs *h, uint64_t size, uint64_t *from, uint64_t *count)
{
    size_t len;
    const char *v = ufrpc_hs_header(h, "Range", &len);
    if (v == NULL || len < 7 || strncasecmp(v, "bytes=", 6) != 0 || memchr(v, ',', len))
        return 0;
    char spec[64];
    if (len - 6 >= sizeof spec)
        return 0;
    memcpy(spec, v + 6, len - 6);
    spec[len - 6] = '\0';
    char *dash = strchr(spec, '-');
    if (dash == NULL)
        return 0;
    *dash = '\0';
    char *e1, *e2;
    if (spec[0] == '\0') { /* suffix */
        unsigned long long n = strtoull(dash + 1, &e2, 10);
        if (dash[1] == '\0' || *e2 != '\0')
            return 0;
        if (n == 0 || size == 0)
            return -1;
        *count = n < size ? n : size;
        *from = size - *count;
        return 1;
    }
    unsigned long long a = strtoull(spec, &e1, 10);
    if (*e1 != '\0' || spec[0] == '-')
        return 0;
    if (a >= size)
        return -1;
    unsigned long long b = size - 1;
    if (dash[1] != '\0') {
        b = strtoull(dash + 1, &e2, 10);
        if (*e2 != '\0' || dash[1] == '-')
            return 0;
        if (b < a)
            return 0;
        if (b >= size)
            b = size - 1;
    }
    *from = a;
    *count = b - a + 1;
    return 1;
}

/* What the thread pool found for one request. */
enum sf_outcome {
    SF_NOT_FOUND,  /* 404 */
    SF_OUTSIDE,    /* 404, logged: the real path leaves localPath */
    SF_FORBIDDEN,  /* 403: cannot open or list */
    SF_REDIRECT,   /* 301 to "<dir>/" */
    SF_LISTING,    /* 200 with `body` */
    SF_FILE,       /* 200/206 from `fd` */
    SF_NOMEM,
};

/* One request's disk work. Filled on the loop, run on the thread pool (sf_resolve:
 * touches only this struct), answered on the loop (sf_resolved), which owns and
 * frees it. Holds a reference on the hs while queued. */
struct sf_job {
    uv_work_t work;
    struct hs *h;
    char root[PATH_MAX];     /* in: real path of localPath */
    char full[PATH_MAX + 8]; /* in: root + "/" + the request's relative path */
    bool want_dir;           /* in: the URL ends in '/' (else a directory redirects) */
    char loc[4200];          /* in: the redirect's header line, for SF_REDIRECT */
    enum sf_outcome out;
    int fd;                  /* SF_FILE: open, owned by the job until handed over */
    struct stat st;          /* SF_FILE */
    const char *ctype;       /* SF_FILE: a static string */
    char *body;              /* SF_LISTING: malloc'd */
    size_t body_len;
};

static void sf_resolve(uv_work_t *w)
{
    struct sf_job *j = w->data;
    char real[PATH_MAX];
    j->fd = -1;
    j->out = SF_NOT_FOUND;
    if (realpath(j->full, real) == NULL)
        return;
    if (!path_inside(real, j->root)) {
        j->out = SF_OUTSIDE;
        return;
    }
    if (stat(real, &j->st) != 0)
        return;
    if (S_ISDIR(j->st.st_mode)) {
        if (!j->want_dir) {
            j->out = SF_REDIRECT;
            return;
        }
        char idx[PATH_MAX + 16], ireal[PATH_MAX];
        snprintf(idx, sizeof idx, "%s/index.html", real);
        struct stat ist;
        if (stat(idx, &ist) == 0 && S_ISREG(ist.st_mode) && realpath(idx, ireal) != NULL) {
            if (!path_inside(ireal, j->root)) {
                j->out = SF_OUTSIDE;
                return;
            }
            memcpy(real, ireal, sizeof real);
            j->st = ist;
        } else {
            int rc = sf_listing_build(real, &j->body, &j->body_len);
            j->out = rc == 0 ? SF_LISTING : rc == UFRPC_ERR_NOMEM ? SF_NOMEM : SF_FORBIDDEN;
            return;
        }
    }
    if (!S_ISREG(j->st.st_mode))
        return;
    j->fd = open(real, O_RDONLY | O_CLOEXEC);
    if (j->fd < 0) {
        j->out = SF_FORBIDDEN;
        return;
    }
    j->ctype = content_type(real, j->fd);
    j->out = SF_FILE;
}

static void sf_job_free(struct sf_job *j)
{
    if (j->fd >= 0)
        close(j->fd);
    free(j->body);
    free(j);
}

/* Answers a resolved file: headers, then the pump reads the range. */
static void sf_send_file(struct hs *h, struct sf_job *j)
{
    struct sf *s = h->ctx;
    char date[64] = "";
    struct tm tm;
    if (gmtime_r(&j->st.st_mtime, &tm) != NULL)
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    uint64_t size = (uint64_t)j->st.st_size, from = 0, count = size;
    int range = parse_range(h, size, &from, &count);
    if (range < 0) {
        char cr[64];
        snprintf(cr, sizeof cr, "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
        ufrpc_hs_simple_response(h, 416, "Requested Range Not Satisfiable", cr, "invalid range\n",
                                 false);
        return;
    }
    char head[768], cr[96] = "";
    if (range > 0)
        snprintf(cr, sizeof cr, "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)from,
                 (unsigned long long)(from + count - 1), (unsigned long long)size);
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %llu\r\n%s"
                      "Accept-Ranges: bytes\r\nLast-Modified: %s\r\n\r\n",
                      range > 0 ? "206 Partial Content" : "200 OK", j->ctype,
                      (unsigned long long)count, cr, date);
    int rc = ufrpc_hs_write(h, NULL, (const uint8_t *)head, (size_t)hl);
    if (rc < 0) {
        ufrpc_hs_fail(h, rc, NULL);
        return;
    }
    if (ufrpc_hs_method_id(h) == HTTP_HEAD || count == 0) {
        ufrpc_hs_response_done(h, true);
        return;
    }
    s->fd = j->fd; /* handed over: sf_close_file closes it */
    j->fd = -1;
    s->off = from;
    s->left = count;
    sf_pump(h);
}

static void sf_resolved(uv_work_t *w, int status)
{
    struct sf_job *j = w->data;
    struct hs *h = j->h;
    if (h->closing || status != 0) {
        if (!h->closing)
            ufrpc_hs_fail(h, UFRPC_ERR_IO, "static_file: %s", uv_strerror(status));
        sf_job_free(j);
        ufrpc_hs_unref(h);
        return;
    }
    switch (j->out) {
    case SF_OUTSIDE:
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_INVAL, "path leaves localPath");
        /* fall through */
    case SF_NOT_FOUND:
        ufrpc_hs_simple_response(h, 404, "Not Found", NULL, "404 page not found\n", false);
        break;
    case SF_FORBIDDEN:
        ufrpc_hs_simple_response(h, 403, "Forbidden", NULL, "403 Forbidden\n", false);
        break;
    case SF_REDIRECT:
        ufrpc_hs_simple_response(h, 301, "Moved Permanently", j->loc, NULL, false);
        break;
    case SF_LISTING:
        sf_send_listing(h, j->body, j->body_len);
        break;
    case SF_FILE:
        sf_send_file(h, j);
        break;
    case SF_NOMEM:
        ufrpc_hs_fail(h, UFRPC_ERR_NOMEM, "out of memory for a listing");
        break;
    }
    sf_job_free(j);
    ufrpc_hs_resume(h);
    ufrpc_hs_unref(h);
}

static int sf_on_head(struct hs *h)
{
    const struct sf_plugin *sp = h->base.plugin->impl;
    int m = ufrpc_hs_method_id(h);
    if (m != HTTP_GET && m != HTTP_HEAD) {
        ufrpc_hs_simple_response(h, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n",
                                 "405 method not allowed\n", false);
        return h->closing ? -1 : 0;
    }
    if (!ufrpc_hs_auth_ok(h, "Authorization")) {
        /* frpc answers 401 after a 200 ms delay and keeps the connection */
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_INVAL, "authentication failed");
        return ufrpc_hs_delayed_response(h, 200, 401, "Unauthorized",
                                         "WWW-Authenticate: Basic realm=\"Restricted\"\r\n",
                                         "Unauthorized\n", false);
    }
    char path[4096];
    if (decode_path(hs_str(h, h->head.url_off), h->head.url_len, path, sizeof path) < 0 ||
        path[0] != '/' || has_dotdot(path)) {
        ufrpc_pl_pconn_fail(&h->base, UFRPC_ERR_HTTP, "refused request path");
        ufrpc_hs_simple_response(h, 400, "Bad Request", NULL, "400 bad request path\n", true);
        return -1;
    }
    size_t plen = strlen(sp->prefix);
    /* "/strip" (without its slash) is part of the prefix's tree too */
    bool bare = plen > 1 && strlen(path) == plen - 1 && strncmp(path, sp->prefix, plen - 1) == 0;
    if (!bare && strncmp(path, sp->prefix, plen) != 0) {
        ufrpc_hs_simple_response(h, 404, "Not Found", NULL, "404 page not found\n", false);
        return h->closing ? -1 : 0;
    }
    struct sf_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        ufrpc_hs_fail(h, UFRPC_ERR_NOMEM, "out of memory");
        return -1;
    }
    j->fd = -1;
    j->h = h;
    j->work.data = j;
    j->want_dir = !bare && path[strlen(path) - 1] == '/';
    memcpy(j->root, sp->root, sizeof j->root);
    /* Go's FileServer redirects a directory to its last segment plus '/' */
    const char *slash = strrchr(path, '/');
    snprintf(j->loc, sizeof j->loc, "Location: %s/\r\n", slash != NULL ? slash + 1 : path);
    int fl = snprintf(j->full, sizeof j->full, "%s/%s", sp->root, bare ? "" : path + plen);
    if (fl < 0 || (size_t)fl >= sizeof j->full) {
        free(j);
        ufrpc_hs_simple_response(h, 404, "Not Found", NULL, "404 page not found\n", false);
        return h->closing ? -1 : 0;
    }
    int rc = uv_queue_work(h->base.plugin->loop, &j->work, sf_resolve, sf_resolved);
    if (rc != 0) {
        free(j);
        ufrpc_hs_fail(h, UFRPC_ERR_IO, "static_file: %s", uv_strerror(rc));
        return -1;
    }
    ufrpc_hs_ref(h);
    return HS_PAUSE;
}

static void sf_teardown(struct hs *h)
{
    sf_close_file(h->ctx);
}

static void sf_destroy(struct hs *h)
{
    struct sf *s = h->ctx;
    if (s != NULL)
        sf_close_file(s);
    free(s);
}

static const struct hs_handler sf_handler = {
    .on_head = sf_on_head,
    .on_teardown = sf_teardown,
    .on_drain = sf_on_drain,
    .destroy = sf_destroy,
};

static int sf_handle(ufrpc_plugin_t *p, struct ufrpc_stream *work, const char *src,
                     const uint8_t *pp, size_t pp_len)
{
    (void)pp;
    (void)pp_len;
    struct sf *s = calloc(1, sizeof *s);
    if (s == NULL) {
        ufrpc_stream_close(work, NULL);
        return UFRPC_ERR_NOMEM;
    }
    s->fd = -1;
    return ufrpc_hs_start(p, work, &sf_handler, s, src, false);
}

static int sf_create(ufrpc_plugin_t *p, char *reason, size_t cap)
{
    const struct ufrpc_plugin_config *c = p->cfg;
    if (c->local_path == NULL || c->local_path[0] == '\0') {
        snprintf(reason, cap, "plugin static_file: localPath is required");
        return UFRPC_ERR_INVAL;
    }
    struct sf_plugin *sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        return UFRPC_ERR_NOMEM;
    /* Once per proxy start or reload, not per request: left on the loop. */
    struct stat st;
    if (realpath(c->local_path, sp->root) == NULL || stat(sp->root, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        snprintf(reason, cap, "plugin static_file: localPath \"%s\" is not a directory",
                 c->local_path);
        free(sp);
        return UFRPC_ERR_INVAL;
    }
    const char *strip = c->strip_prefix != NULL ? c->strip_prefix : "";
    while (*strip == '/')
        strip++;
    size_t sl = strlen(strip);
    while (sl > 0 && strip[sl - 1] == '/')
        sl--;
    if (sl == 0)
        snprintf(sp->prefix, sizeof sp->prefix, "/");
    else if (sl + 3 > sizeof sp->prefix) {
        snprintf(reason, cap, "plugin static_file: stripPrefix too long");
        free(sp);
        return UFRPC_ERR_INVAL;
    } else
        snprintf(sp->prefix, sizeof sp->prefix, "/%.*s/", (int)sl, strip);
    p->impl = sp;
    return 0;
}

static void sf_plugin_destroy(ufrpc_plugin_t *p)
{
    free(p->impl);
    p->impl = NULL;
}

const struct plugin_type ufrpc_pl_type_static_file = {
    .type = UFRPC_PLUGIN_STATIC_FILE,
    .create = sf_create,
    .handle = sf_handle,
    .destroy = sf_plugin_destroy,
};
