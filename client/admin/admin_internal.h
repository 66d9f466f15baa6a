/* ufrpc — internals shared by the admin API's files (admin_session.c, admin_routes.c,
 * admin_json.c). Not for other modules.
 *
 * Buffers: struct ufrpc_admin_buf is a growable byte buffer; appends after an
 * allocation failure or beyond `limit` (0 = none) are dropped and set `failed`.
 * The owner frees `p` (ufrpc_admin_buf_free). */
#ifndef UFRPC_CLIENT_ADMIN_INTERNAL_H
#define UFRPC_CLIENT_ADMIN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "client/admin/admin_session.h"
#include "client/core/metrics.h"

struct ufrpc_admin_buf {
    char *p;
    size_t len, cap;
    size_t limit;
    bool failed;
};

void ufrpc_admin_buf_free(struct ufrpc_admin_buf *b);
void ufrpc_admin_buf_add(struct ufrpc_admin_buf *b, const void *data, size_t len);
void ufrpc_admin_buf_str(struct ufrpc_admin_buf *b, const char *s);
void ufrpc_admin_buf_printf(struct ufrpc_admin_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal with Go encoding/json's escaping (HTML-safe: < > & as \u003c
 * \u003e \u0026, U+2028/U+2029 escaped, invalid UTF-8 as \ufffd). NULL = "". */
void ufrpc_admin_json_str(struct ufrpc_admin_buf *b, const char *s);

/* One parsed request, as the router sees it. */
struct ufrpc_admin_req {
    const char *method;        /* "GET", "PUT", ... */
    const char *path;          /* percent-decoded path, NUL-terminated */
    const char *query;         /* raw query (after '?'), "" when none */
    const char *authorization; /* first Authorization header value, NULL when none */
    const uint8_t *body;
    size_t body_len;
};

/* The answer. The router fills status, the optional headers and the body. */
struct ufrpc_admin_resp {
    int status;
    const char *content_type; /* NULL: none */
    const char *location;     /* NULL: none (redirects) */
    bool www_authenticate;    /* 401 challenge + nosniff, as Go's http.Error */
    bool nosniff;
    uint32_t delay_ms; /* wait before writing */
    bool stop;         /* POST /api/stop succeeded */
    struct ufrpc_admin_buf body;
    /* Non-NULL: the answer needs the config file read or written first, off the
     * loop; the session takes the job over (admin_session.h). */
    struct ufrpc_admin_file_job *job;
};

enum ufrpc_admin_job_kind {
    UFRPC_ADMIN_JOB_READ_CONFIG,  /* GET /api/config: read path */
    UFRPC_ADMIN_JOB_WRITE_CONFIG, /* PUT /api/config: write body to path */
    UFRPC_ADMIN_JOB_ASSET,        /* a file of assetsDir (a directory: its index.html) */
};

/* The admin API's disk access (the config file, assetsDir), run by
 * ufrpc_admin_file_job_run (any thread: it touches only the job) and answered
 * into `resp`. */
struct ufrpc_admin_file_job {
    enum ufrpc_admin_job_kind kind;
    int metrics;         /* 1 /metrics, 2 /api/metrics: read proc, no file */
    struct ufrpc_proc_stats proc;
    char *path;          /* copies, owned by the job */
    uint8_t *body;
    size_t body_len;
    struct ufrpc_admin_resp resp; /* filled by the run */
    bool ran;
    char url_path[256]; /* the request's path as logged */
    /* store jobs (store != NULL): body is a snapshot for ufrpc_store_write_file */
    struct ufrpc_store *store;
    uint64_t seq;
    int op; /* enum in admin_store.c */
    bool visitor, finished;
    char *name;
    json_object *entry; /* the new entry (create/update), a reference */
    json_object *undo;  /* the previous entry (update/delete), a reference */
    struct ufrpc_admin_hooks hooks;
    struct ufrpc_log *log;
    int write_rc;
    char err[600];
};

/* /api/store/... (client/admin/admin_store.c): true when path is a store route (then r is
 * answered, or r->job set); false: not a store path. method_ok tells the router
 * whether the method exists for that path (405 otherwise). */
bool ufrpc_admin_store_match(const char *path, const char *method, bool *method_ok);
void ufrpc_admin_store_route(const struct ufrpc_admin_session_cfg *c,
                             const struct ufrpc_admin_req *q, struct ufrpc_admin_resp *r);
/* The worker part of a store job. */
void ufrpc_admin_store_job_run(struct ufrpc_admin_file_job *job);
void ufrpc_admin_store_job_free(struct ufrpc_admin_file_job *job);
/* {"Code":status,"Msg":msg}\n (frpc's GeneralResponse). */
void ufrpc_admin_json_error(struct ufrpc_admin_resp *r, int status, const char *msg);

/* frpc's "http response [path]: code [n]" line (and the error line before it). */
void ufrpc_admin_log_response(struct ufrpc_log *log, const char *path,
                              const struct ufrpc_admin_resp *r);

/* A job for path (and, for WRITE_CONFIG, a copy of body); NULL on allocation failure. */
struct ufrpc_admin_file_job *ufrpc_admin_file_job_new(enum ufrpc_admin_job_kind kind,
                                                      const char *path, const uint8_t *body,
                                                      size_t body_len);

/* Routes one request (frpc's router + handlers). resp must be zeroed by the caller;
 * resp->body is the caller's to free. */
void ufrpc_admin_route(const struct ufrpc_admin_session_cfg *cfg, const struct ufrpc_admin_req *req,
                       struct ufrpc_admin_resp *resp);

/* GET /api/status body ({"tcp":[...],...}\n; "{}\n" without a registry). 0 or
 * UFRPC_ERR_NOMEM. */
int ufrpc_admin_status_json(struct ufrpc_registry *reg, const struct ufrpc_config *cfg,
                            struct ufrpc_admin_buf *out);

/* {"name":..,"type":..,"<type>":{...}}\n for proxy (visitor=false) or visitor `name`
 * of cfg, secrets masked. 0, UFRPC_ERR_NOT_FOUND or UFRPC_ERR_NOMEM/_IO. */
int ufrpc_admin_definition_json(const struct ufrpc_config *cfg, bool visitor, const char *name,
                                struct ufrpc_admin_buf *out);

/* A metrics job (fmt 1 Prometheus text, 2 JSON): /proc is read on the thread pool;
 * NULL on allocation failure. */
struct ufrpc_admin_file_job *ufrpc_admin_metrics_job_new(int fmt);
/* Answers a metrics request on the loop from the hooks' snapshot and proc (NULL when
 * it could not be read). */
void ufrpc_admin_metrics_answer(const struct ufrpc_admin_session_cfg *c, int fmt,
                                const struct ufrpc_proc_stats *proc, struct ufrpc_admin_resp *r);
/* GET /api/metrics body. 0 or UFRPC_ERR_NOMEM. */
int ufrpc_admin_metrics_json(const struct ufrpc_metrics_src *src, struct ufrpc_admin_buf *out);

/* GET / (without assetsDir) and /dashboard: the page with its proxies table
 * (admin_dashboard.c). 0, UFRPC_ERR_NOMEM or UFRPC_ERR_STATE (no page embedded). */
int ufrpc_admin_dashboard(const struct ufrpc_metrics_src *src, struct ufrpc_admin_buf *out);

/* Go's http.Request.BasicAuth() + constant-time comparison with user/password. */
bool ufrpc_admin_check_basic_auth(const char *header, const char *user, const char *password);

/* url.Values.Get(key) on a raw query: the first value, percent/plus-decoded into
 * out (NUL-terminated, cut at cap). Returns false when the key is absent. */
bool ufrpc_admin_query_get(const char *query, const char *key, char *out, size_t cap);

/* Percent-decodes src[0..len) into out (cap >= len + 1). Returns false on a bad
 * escape (Go answers 400) or an embedded NUL. */
bool ufrpc_admin_path_decode(const char *src, size_t len, char *out, size_t cap);

#endif
