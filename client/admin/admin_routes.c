/* client/admin/admin_routes.c — frpc's admin routes and handlers (client/api_router.go,
 * client/http/controller.go, client/config_manager.go). See admin_session.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/admin/admin_internal.h"
#include "proto/error.h"
#include "proto/text.h"

/* Largest config file GET /api/config returns (frpc has none; ours keeps it bounded). */
#define MAX_CONFIG_FILE (8u * 1024u * 1024u)
/* 0 in a build without metrics export (CMakeLists.txt, UFRPC_WITH_METRICS=OFF): no
 * /metrics, /api/metrics or /dashboard route (404; "/" redirects to /static/). */
#ifndef UFRPC_WITH_METRICS
#define UFRPC_WITH_METRICS 1
#endif

/* ---- responses ----------------------------------------------------------------- */

void ufrpc_admin_json_error(struct ufrpc_admin_resp *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = "application/json";
    r->body.len = 0;
    ufrpc_admin_buf_printf(&r->body, "{\"Code\":%d,\"Msg\":", status);
    ufrpc_admin_json_str(&r->body, msg);
    ufrpc_admin_buf_str(&r->body, "}\n");
}

static void json_error(struct ufrpc_admin_resp *r, int status, const char *msg)
{
    ufrpc_admin_json_error(r, status, msg);
}

/* "open /x: no such file or directory" (Go's *PathError text). */
static void path_error(char *out, size_t cap, const char *op, const char *path, int err)
{
    char e[128];
    ufrpc_go_strerror(err, e, sizeof e);
    snprintf(out, cap, "%s %s: %s", op, path, e);
}

/* ---- status -------------------------------------------------------------------- */

static const struct ufrpc_proxy_config *find_proxy(const struct ufrpc_config *cfg, const char *name)
{
    for (size_t i = 0; cfg != NULL && i < cfg->nproxies; i++)
        if (cfg->proxies[i].name != NULL && strcmp(cfg->proxies[i].name, name) == 0)
            return &cfg->proxies[i];
    return NULL;
}

static int by_type_name(const void *a, const void *b)
{
    const struct ufrpc_tunnel *x = *(const struct ufrpc_tunnel *const *)a;
    const struct ufrpc_tunnel *y = *(const struct ufrpc_tunnel *const *)b;
    int c = strcmp(x->type ? x->type : "", y->type ? y->type : "");
    return c != 0 ? c : strcmp(x->name, y->name);
}

int ufrpc_admin_status_json(struct ufrpc_registry *reg, const struct ufrpc_config *cfg,
                            struct ufrpc_admin_buf *out)
{
    size_t n = reg ? ufrpc_registry_count(reg) : 0, np = 0;
    struct ufrpc_tunnel **v = n ? calloc(n, sizeof *v) : NULL;
    if (n && v == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(reg, i);
        if (t != NULL && t->kind == UFRPC_TUNNEL_PROXY)
            v[np++] = t;
    }
    if (np > 1)
        qsort(v, np, sizeof *v, by_type_name);
    const char *server_addr = cfg ? ufrpc_cfg_str(cfg->server_addr) : "";
    ufrpc_admin_buf_str(out, "{");
    for (size_t i = 0; i < np; i++) {
        const struct ufrpc_tunnel *t = v[i];
        const char *type = t->type ? t->type : "";
        bool first_of_type = i == 0 || strcmp(v[i - 1]->type ? v[i - 1]->type : "", type) != 0;
        if (first_of_type) {
            if (i > 0)
                ufrpc_admin_buf_str(out, "],");
            ufrpc_admin_json_str(out, type);
            ufrpc_admin_buf_str(out, ":[");
        } else {
            ufrpc_admin_buf_str(out, ",");
        }
        const char *err = t->last_error ? t->last_error : "";
        const struct ufrpc_proxy_config *pc = find_proxy(cfg, t->name);
        char local[300] = "";
        if (pc != NULL && pc->local_port != 0) {
            const char *ip = ufrpc_cfg_str(pc->local_ip);
            snprintf(local, sizeof local, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip,
                     (long long)pc->local_port);
        }
        const char *plugin = pc && pc->plugin.type != UFRPC_PLUGIN_NONE
                                 ? ufrpc_plugin_type_name(pc->plugin.type)
                                 : "";
        ufrpc_admin_buf_str(out, "{\"name\":");
        ufrpc_admin_json_str(out, t->name);
        ufrpc_admin_buf_str(out, ",\"type\":");
        ufrpc_admin_json_str(out, type);
        ufrpc_admin_buf_str(out, ",\"status\":");
        ufrpc_admin_json_str(out, ufrpc_tunnel_state_name(t->state));
        ufrpc_admin_buf_str(out, ",\"err\":");
        ufrpc_admin_json_str(out, err);
        ufrpc_admin_buf_str(out, ",\"local_addr\":");
        ufrpc_admin_json_str(out, local);
        ufrpc_admin_buf_str(out, ",\"plugin\":");
        ufrpc_admin_json_str(out, plugin ? plugin : "");
        /* frpc: serverAddr + the ":port" frps answered for tcp and udp; empty with an error */
        struct ufrpc_admin_buf ra = {0};
        if (err[0] == '\0') {
            if (strcmp(type, "tcp") == 0 || strcmp(type, "udp") == 0)
                ufrpc_admin_buf_str(&ra, server_addr);
            ufrpc_admin_buf_str(&ra, t->remote_addr ? t->remote_addr : "");
        }
        if (ra.failed)
            out->failed = true;
        ufrpc_admin_buf_str(out, ",\"remote_addr\":");
        ufrpc_admin_json_str(out, ra.p ? ra.p : "");
        ufrpc_admin_buf_free(&ra);
        if (pc != NULL && pc->from_store) /* frpc: "source":"store" for the store's */
            ufrpc_admin_buf_str(out, ",\"source\":\"store\"");
        ufrpc_admin_buf_str(out, "}");
    }
    ufrpc_admin_buf_str(out, np ? "]}\n" : "}\n");
    free(v);
    return out->failed ? UFRPC_ERR_NOMEM : 0;
}

/* ---- definitions ---------------------------------------------------------------- */

int ufrpc_admin_definition_json(const struct ufrpc_config *cfg, bool visitor, const char *name,
                                struct ufrpc_admin_buf *out)
{
    if (cfg == NULL)
        return UFRPC_ERR_NOT_FOUND;
    size_t count = visitor ? cfg->nvisitors : cfg->nproxies;
    const char *type = NULL;
    for (size_t i = 0; i < count && type == NULL; i++) {
        const char *n = visitor ? cfg->visitors[i].name : cfg->proxies[i].name;
        if (n != NULL && strcmp(n, name) == 0)
            type = visitor ? ufrpc_visitor_type_name(cfg->visitors[i].type)
                           : ufrpc_proxy_type_name(cfg->proxies[i].type);
    }
    if (type == NULL)
        return UFRPC_ERR_NOT_FOUND;

    /* The config module's masked JSON dump is the one definition of every key. */
    char *text = NULL;
    size_t tlen = 0;
    FILE *mf = open_memstream(&text, &tlen);
    if (mf == NULL)
        return UFRPC_ERR_NOMEM;
    int rc = ufrpc_config_dump(cfg, mf, true);
    if (fclose(mf) != 0 && rc == 0)
        rc = UFRPC_ERR_IO;
    if (rc != 0) {
        free(text);
        return rc;
    }
    json_object *root = json_tokener_parse(text);
    free(text);
    json_object *arr = NULL, *item = NULL;
    if (root == NULL || !json_object_object_get_ex(root, visitor ? "visitors" : "proxies", &arr) ||
        !json_object_is_type(arr, json_type_array)) {
        json_object_put(root);
        return UFRPC_ERR_IO;
    }
    for (size_t i = 0; i < json_object_array_length(arr) && item == NULL; i++) {
        json_object *e = json_object_array_get_idx(arr, i), *n = NULL;
        if (json_object_object_get_ex(e, "name", &n) &&
            strcmp(json_object_get_string(n), name) == 0)
            item = e;
    }
    if (item == NULL) {
        json_object_put(root);
        return UFRPC_ERR_NOT_FOUND;
    }
    ufrpc_admin_buf_str(out, "{\"name\":");
    ufrpc_admin_json_str(out, name);
    ufrpc_admin_buf_str(out, ",\"type\":");
    ufrpc_admin_json_str(out, type);
    ufrpc_admin_buf_str(out, ",");
    ufrpc_admin_json_str(out, type);
    ufrpc_admin_buf_str(out, ":");
    const char *s = json_object_to_json_string_ext(item, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    ufrpc_admin_buf_str(out, s ? s : "{}");
    ufrpc_admin_buf_str(out, "}\n");
    json_object_put(root);
    return out->failed ? UFRPC_ERR_NOMEM : 0;
}

/* ---- handlers ------------------------------------------------------------------ */

static const char *config_path(const struct ufrpc_admin_hooks *h)
{
    const char *p = h->config_path ? h->config_path(h->ctx) : NULL;
    return p != NULL && p[0] != '\0' ? p : NULL;
}

static void h_reload(const struct ufrpc_admin_session_cfg *c, const struct ufrpc_admin_req *q,
                     struct ufrpc_admin_resp *r)
{
    char val[16];
    bool strict = false;
    if (ufrpc_admin_query_get(q->query, "strictConfig", val, sizeof val) && val[0] != '\0')
        (void)ufrpc_parse_go_bool(val, strlen(val), &strict);
    if (config_path(&c->hooks) == NULL) {
        json_error(r, 400, "invalid argument: frpc has no config file path");
        return;
    }
    if (c->hooks.reload == NULL) {
        json_error(r, 500, "apply config failed: reload is not available");
        return;
    }
    char msg[1024] = "";
    enum ufrpc_admin_reload_result res = c->hooks.reload(c->hooks.ctx, strict, msg, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    if (res == UFRPC_ADMIN_RELOAD_OK) {
        r->status = 200;
        return;
    }
    char text[1100];
    snprintf(text, sizeof text, "%s: %s",
             res == UFRPC_ADMIN_RELOAD_INVALID ? "invalid argument" : "apply config failed", msg);
    json_error(r, res == UFRPC_ADMIN_RELOAD_INVALID ? 400 : 500, text);
}

struct ufrpc_admin_file_job *ufrpc_admin_file_job_new(enum ufrpc_admin_job_kind kind,
                                                      const char *path, const uint8_t *body,
                                                      size_t body_len)
{
    struct ufrpc_admin_file_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    bool write = kind == UFRPC_ADMIN_JOB_WRITE_CONFIG;
    j->kind = kind;
    j->path = strdup(path);
    if (write && body_len > 0) {
        j->body = malloc(body_len);
        if (j->body != NULL)
            memcpy(j->body, body, body_len);
        j->body_len = body_len;
    }
    if (j->path == NULL || (write && body_len > 0 && j->body == NULL)) {
        ufrpc_admin_file_job_free(j);
        return NULL;
    }
    return j;
}

void ufrpc_admin_file_job_free(struct ufrpc_admin_file_job *job)
{
    if (job == NULL)
        return;
    ufrpc_admin_store_job_free(job);
    free(job->path);
    free(job->body);
    ufrpc_admin_buf_free(&job->resp.body);
    free(job);
}

static void job_asset(const char *path, struct ufrpc_admin_resp *r);

/* GET /api/config's file read (on a worker thread). */
static void job_read(const char *path, struct ufrpc_admin_resp *r)
{
    char msg[1200];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        char e[1100];
        path_error(e, sizeof e, "open", path, errno);
        snprintf(msg, sizeof msg, "invalid argument: %s", e);
        json_error(r, 400, msg);
        return;
    }
    char chunk[16384];
    size_t n;
    r->body.limit = MAX_CONFIG_FILE;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && !r->body.failed)
        ufrpc_admin_buf_add(&r->body, chunk, n);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    r->body.limit = 0;
    if (rerr != 0 || r->body.failed) {
        r->body.failed = false;
        char e[1100];
        if (rerr != 0)
            path_error(e, sizeof e, "read", path, rerr);
        else
            snprintf(e, sizeof e, "read %s: file too large", path);
        snprintf(msg, sizeof msg, "invalid argument: %s", e);
        json_error(r, 400, msg);
        return;
    }
    r->status = 200;
    if (r->body.len > 0)
        r->content_type = "text/plain; charset=utf-8";
}

/* PUT /api/config's file write (on a worker thread). */
static void job_write(const char *path, const uint8_t *body, size_t body_len,
                      struct ufrpc_admin_resp *r)
{
    char e[1100];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        path_error(e, sizeof e, "open", path, errno);
        json_error(r, 500, e);
        return;
    }
    size_t off = 0;
    while (off < body_len) {
        ssize_t w = write(fd, body + off, body_len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            path_error(e, sizeof e, "write", path, w < 0 ? errno : EIO);
            close(fd);
            json_error(r, 500, e);
            return;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        path_error(e, sizeof e, "close", path, errno);
        json_error(r, 500, e);
        return;
    }
    r->status = 200;
}

void ufrpc_admin_log_response(struct ufrpc_log *log, const char *path,
                              const struct ufrpc_admin_resp *r)
{
    if (r->status >= 400 && r->content_type != NULL &&
        strcmp(r->content_type, "application/json") == 0)
        UFRPC_LOGW(log, "http response [%s]: error: status %d", path, r->status);
    UFRPC_LOGI(log, "http response [%s]: code [%d]", path, r->status);
}

void ufrpc_admin_file_job_run(struct ufrpc_admin_file_job *job)
{
    if (job->metrics) {
        ufrpc_proc_stats_read(&job->proc);
        job->ran = true;
        return;
    }
    if (job->store != NULL) {
        ufrpc_admin_store_job_run(job);
        job->ran = true;
        return;
    }
    switch (job->kind) {
    case UFRPC_ADMIN_JOB_READ_CONFIG: job_read(job->path, &job->resp); break;
    case UFRPC_ADMIN_JOB_WRITE_CONFIG:
        job_write(job->path, job->body, job->body_len, &job->resp);
        break;
    case UFRPC_ADMIN_JOB_ASSET: job_asset(job->path, &job->resp); break;
    }
    job->ran = true;
}

/* ---- metrics ------------------------------------------------------------------ */

/* Largest /metrics answer: ~1.6 KB per proxy; 64 MiB is far beyond any config. */
#define MAX_METRICS (64u * 1024u * 1024u)

struct ufrpc_admin_file_job *ufrpc_admin_metrics_job_new(int fmt)
{
    struct ufrpc_admin_file_job *j = calloc(1, sizeof *j);
    if (j != NULL)
        j->metrics = fmt;
    return j;
}

void ufrpc_admin_metrics_answer(const struct ufrpc_admin_session_cfg *c, int fmt,
                                const struct ufrpc_proc_stats *proc, struct ufrpc_admin_resp *r)
{
    struct ufrpc_metrics_src src = {0};
    if (c->hooks.metrics)
        c->hooks.metrics(c->hooks.ctx, &src);
    else if (c->hooks.registry)
        src.reg = c->hooks.registry(c->hooks.ctx);
    src.proc = proc;
    ufrpc_admin_buf_free(&r->body);
    r->body = (struct ufrpc_admin_buf){0};
    int rc;
    if (fmt == 1) {
        struct ufrpc_promtext w;
        ufrpc_promtext_init(&w, MAX_METRICS);
        rc = ufrpc_metrics_prom(&src, &w);
        size_t n = 0;
        char *t = ufrpc_promtext_take(&w, &n);
        if (rc == 0 && t != NULL) {
            r->body.p = t, r->body.len = n, r->body.cap = n + 1;
            r->content_type = UFRPC_PROMTEXT_CONTENT_TYPE;
        } else {
            free(t);
            rc = rc ? rc : UFRPC_ERR_NOMEM;
        }
    } else {
        rc = ufrpc_admin_metrics_json(&src, &r->body);
        r->content_type = "application/json";
    }
    if (rc != 0) {
        r->body.failed = false;
        json_error(r, 500, ufrpc_strerror(rc));
        return;
    }
    r->status = 200;
}

static void h_get_config(const struct ufrpc_admin_session_cfg *c, struct ufrpc_admin_resp *r)
{
    const char *path = config_path(&c->hooks);
    if (path == NULL) {
        json_error(r, 400, "invalid argument: frpc has no config file path");
        return;
    }
    r->job = ufrpc_admin_file_job_new(UFRPC_ADMIN_JOB_READ_CONFIG, path, NULL, 0);
    if (r->job == NULL)
        json_error(r, 500, "out of memory");
}

static void h_put_config(const struct ufrpc_admin_session_cfg *c, const struct ufrpc_admin_req *q,
                         struct ufrpc_admin_resp *r)
{
    if (q->body_len == 0) {
        json_error(r, 400, "body can't be empty");
        return;
    }
    const char *path = config_path(&c->hooks);
    if (path == NULL) {
        json_error(r, 500, "open : no such file or directory");
        return;
    }
    r->job = ufrpc_admin_file_job_new(UFRPC_ADMIN_JOB_WRITE_CONFIG, path, q->body, q->body_len);
    if (r->job == NULL)
        json_error(r, 500, "out of memory");
}

static void h_definition(const struct ufrpc_admin_session_cfg *c, bool visitor, const char *name,
                         struct ufrpc_admin_resp *r)
{
    const struct ufrpc_config *cfg = c->hooks.config ? c->hooks.config(c->hooks.ctx) : NULL;
    int rc = ufrpc_admin_definition_json(cfg, visitor, name, &r->body);
    if (rc == 0) {
        r->status = 200;
        r->content_type = "application/json";
        return;
    }
    char q[600], msg[700];
    if (rc == UFRPC_ERR_NOT_FOUND) {
        ufrpc_go_quote(q, sizeof q, name);
        snprintf(msg, sizeof msg, "%s %s not found", visitor ? "visitor" : "proxy", q);
        json_error(r, 404, msg);
    } else {
        r->body.failed = false;
        json_error(r, 500, ufrpc_strerror(rc));
    }
}

/* ---- static files (webServer.assetsDir, Go's http.FileServer without listings) ---- */

#define MAX_ASSET (32u * 1024u * 1024u)

static const char *mime_of(const char *name)
{
    static const struct {
        const char *ext, *type;
    } t[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/vnd.microsoft.icon"},
        {".webp", "image/webp"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".ttf", "font/ttf"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".wasm", "application/wasm"},
        {".xml", "text/xml; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot != NULL && (slash == NULL || dot > slash))
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (strcasecmp(dot, t[i].ext) == 0)
                return t[i].type;
    return "application/octet-stream";
}

static void not_found(struct ufrpc_admin_resp *r)
{
    r->status = 404;
    r->content_type = "text/plain; charset=utf-8";
    r->nosniff = true;
    r->body.len = 0;
    r->body.failed = false;
    ufrpc_admin_buf_str(&r->body, "404 page not found\n");
}

/* A file below assetsDir (a directory means its index.html), on a worker thread. */
static void job_asset(const char *path, struct ufrpc_admin_resp *r)
{
    size_t need = strlen(path) + sizeof "/index.html";
    char *full = malloc(need);
    if (full == NULL) {
        json_error(r, 500, "out of memory");
        return;
    }
    snprintf(full, need, "%s", path);
    struct stat st;
    if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
        size_t l = strlen(full);
        snprintf(full + l, need - l, "%sindex.html", l > 0 && full[l - 1] == '/' ? "" : "/");
    }
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_ASSET) {
        if (fd >= 0)
            close(fd);
        free(full);
        not_found(r);
        return;
    }
    char chunk[16384];
    ssize_t n;
    r->body.limit = MAX_ASSET;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 && !r->body.failed)
        ufrpc_admin_buf_add(&r->body, chunk, (size_t)n);
    close(fd);
    r->body.limit = 0;
    if (n < 0 || r->body.failed) {
        free(full);
        r->body.failed = false;
        json_error(r, 500, "read error");
        return;
    }
    r->status = 200;
    r->content_type = mime_of(full);
    free(full);
}

/* rel: the path below the assets root ("" = the root), already percent-decoded. */
static void h_static(const struct ufrpc_admin_session_cfg *c, const char *rel,
                     struct ufrpc_admin_resp *r)
{
    if (c->assets_dir == NULL || c->assets_dir[0] == '\0') {
        not_found(r);
        return;
    }
    /* no ".." segment may climb out of the root (Go cleans the path the same way) */
    for (const char *seg = rel; *seg;) {
        size_t n = strcspn(seg, "/");
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            not_found(r);
            return;
        }
        seg += n;
        if (*seg == '/')
            seg++;
    }
    size_t need = strlen(c->assets_dir) + strlen(rel) + 2;
    char *full = malloc(need);
    if (full == NULL) {
        json_error(r, 500, "out of memory");
        return;
    }
    snprintf(full, need, "%s/%s", c->assets_dir, rel);
    r->job = ufrpc_admin_file_job_new(UFRPC_ADMIN_JOB_ASSET, full, NULL, 0);
    free(full);
    if (r->job == NULL)
        json_error(r, 500, "out of memory");
}

/* ---- the router -------------------------------------------------------------------- */

enum route {
    R_NONE,
    R_RELOAD,
    R_STOP,
    R_STATUS,
    R_CONFIG,
    R_PROXY_CFG,
    R_VISITOR_CFG,
    R_FAVICON,
    R_METRICS,
    R_API_METRICS,
    R_DASHBOARD,
    R_STATIC,
    R_STORE,
    R_ROOT,
};

/* "/api/<kind>/{name}/config" → name (a non-empty segment without '/'). */
static const char *match_named(const char *path, const char *prefix, char *name, size_t cap)
{
    size_t pl = strlen(prefix);
    if (strncmp(path, prefix, pl) != 0)
        return NULL;
    const char *seg = path + pl;
    const char *slash = strchr(seg, '/');
    if (slash == NULL || slash == seg || strcmp(slash, "/config") != 0)
        return NULL;
    size_t n = (size_t)(slash - seg);
    if (n + 1 > cap)
        return NULL;
    memcpy(name, seg, n);
    name[n] = '\0';
    return name;
}

void ufrpc_admin_route(const struct ufrpc_admin_session_cfg *c, const struct ufrpc_admin_req *q,
                       struct ufrpc_admin_resp *r)
{
    const char *p = q->path, *m = q->method;
    bool get = strcmp(m, "GET") == 0;
    if (strcmp(p, "/healthz") == 0) {
        r->status = 200;
        return;
    }
    char *name = malloc(strlen(p) + 1);
    if (name == NULL) {
        json_error(r, 500, "out of memory");
        return;
    }
    enum route rt = R_NONE;
    bool method_ok = get;
    if (strcmp(p, "/api/reload") == 0)
        rt = R_RELOAD;
    else if (strcmp(p, "/api/stop") == 0)
        rt = R_STOP, method_ok = strcmp(m, "POST") == 0;
    else if (strcmp(p, "/api/status") == 0)
        rt = R_STATUS;
    else if (strcmp(p, "/api/config") == 0)
        rt = R_CONFIG, method_ok = get || strcmp(m, "PUT") == 0;
    else if (match_named(p, "/api/proxy/", name, strlen(p) + 1))
        rt = R_PROXY_CFG;
    else if (match_named(p, "/api/visitor/", name, strlen(p) + 1))
        rt = R_VISITOR_CFG;
    else if (c->hooks.store != NULL && c->hooks.store(c->hooks.ctx) != NULL &&
             ufrpc_admin_store_match(p, m, &method_ok))
        rt = R_STORE;
    else if (strcmp(p, "/favicon.ico") == 0)
        rt = R_FAVICON;
    else if (UFRPC_WITH_METRICS && strcmp(p, "/metrics") == 0)
        rt = R_METRICS;
    else if (UFRPC_WITH_METRICS && strcmp(p, "/api/metrics") == 0)
        rt = R_API_METRICS;
    else if (UFRPC_WITH_METRICS && (strcmp(p, "/dashboard") == 0 ||
             (strcmp(p, "/") == 0 && (c->assets_dir == NULL || c->assets_dir[0] == '\0'))))
        rt = R_DASHBOARD, method_ok = get || strcmp(m, "HEAD") == 0;
    else if (strncmp(p, "/static/", 8) == 0)
        rt = R_STATIC;
    else if (strcmp(p, "/") == 0)
        rt = R_ROOT, method_ok = true;

    if (rt == R_NONE) {
        r->status = 404;
        r->content_type = "text/plain; charset=utf-8";
        r->nosniff = true;
        ufrpc_admin_buf_str(&r->body, "404 page not found\n");
        goto out;
    }
    if (!method_ok) {
        r->status = 405;
        goto out;
    }
    if (!ufrpc_admin_check_basic_auth(q->authorization, c->user, c->password)) {
        r->status = 401;
        r->www_authenticate = true;
        r->nosniff = true;
        r->content_type = "text/plain; charset=utf-8";
        r->delay_ms = UFRPC_ADMIN_AUTH_FAIL_DELAY_MS;
        ufrpc_admin_buf_str(&r->body, "Unauthorized\n");
        goto out;
    }
    /* the decoded path may hold control bytes: never let them into a log line */
    char lp[256];
    size_t li = 0;
    for (const unsigned char *u = (const unsigned char *)p; *u && li + 1 < sizeof lp; u++)
        lp[li++] = *u < 0x20 || *u == 0x7f ? '?' : (char)*u;
    lp[li] = '\0';
    UFRPC_LOGI(c->log, "http request: [%s]", lp);
    switch (rt) {
    case R_RELOAD: h_reload(c, q, r); break;
    case R_STOP:
        r->status = 200;
        r->stop = true;
        break;
    case R_STATUS: {
        struct ufrpc_registry *reg = c->hooks.registry ? c->hooks.registry(c->hooks.ctx) : NULL;
        const struct ufrpc_config *cfg = c->hooks.config ? c->hooks.config(c->hooks.ctx) : NULL;
        if (ufrpc_admin_status_json(reg, cfg, &r->body) != 0) {
            r->body.failed = false;
            json_error(r, 500, "out of memory");
        } else {
            r->status = 200;
            r->content_type = "application/json";
        }
        break;
    }
    case R_CONFIG:
        if (get)
            h_get_config(c, r);
        else
            h_put_config(c, q, r);
        break;
    case R_PROXY_CFG:
    case R_VISITOR_CFG: h_definition(c, rt == R_VISITOR_CFG, name, r); break;
    case R_DASHBOARD: {
        struct ufrpc_metrics_src src = {0};
        if (c->hooks.metrics)
            c->hooks.metrics(c->hooks.ctx, &src);
        else if (c->hooks.registry)
            src.reg = c->hooks.registry(c->hooks.ctx);
        int rc = ufrpc_admin_dashboard(&src, &r->body);
        if (rc != 0) {
            r->body.failed = false;
            r->body.len = 0;
            json_error(r, 500, ufrpc_strerror(rc));
        } else {
            r->status = 200;
            r->content_type = "text/html; charset=utf-8";
        }
        break;
    }
    case R_ROOT:
        r->status = 301;
        r->location = "/static/";
        if (get || strcmp(m, "HEAD") == 0) {
            r->content_type = "text/html; charset=utf-8";
            ufrpc_admin_buf_str(&r->body, "<a href=\"/static/\">Moved Permanently</a>.\n\n");
        }
        break;
    case R_STORE: ufrpc_admin_store_route(c, q, r); break;
    case R_FAVICON: h_static(c, "favicon.ico", r); break;
    case R_METRICS:
    case R_API_METRICS:
        /* /proc is read on the thread pool; the answer is rendered on the loop */
        r->job = ufrpc_admin_metrics_job_new(rt == R_METRICS ? 1 : 2);
        if (r->job == NULL)
            json_error(r, 500, "out of memory");
        break;
    default: /* R_STATIC */ h_static(c, p + 8, r); break;
    }
    if (r->job != NULL) /* logged when the job's answer is written */
        snprintf(r->job->url_path, sizeof r->job->url_path, "%s", lp);
    else
        ufrpc_admin_log_response(c->log, lp, r);
out:
    free(name);
}
