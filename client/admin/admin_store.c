/* client/admin/admin_store.c — the admin API's /api/store routes (frp v0.70.0
 * client/api_router.go, client/http/controller.go, client/config_manager.go).
 *
 * A change is made in memory at once (so a second request sees it), written by a
 * job on the thread pool (client/core/store.h: temporary file, fsync, rename) and then,
 * back on the loop, applied like a reload; a failed write undoes it in memory and
 * answers 500, as frpc's persistOrRollback. Reads answer from memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin/admin_internal.h"
#include "client/core/store.h"
#include "proto/error.h"
#include "proto/text.h"

enum { OP_CREATE = 1, OP_UPDATE, OP_DELETE };

#define PROXIES "/api/store/proxies"
#define VISITORS "/api/store/visitors"

/* "/api/store/proxies" or "/api/store/proxies/{name}" (name: one non-empty segment). */
static bool split(const char *path, bool *visitor, const char **name)
{
    const char *rest;
    if (strncmp(path, PROXIES, sizeof PROXIES - 1) == 0)
        *visitor = false, rest = path + sizeof PROXIES - 1;
    else if (strncmp(path, VISITORS, sizeof VISITORS - 1) == 0)
        *visitor = true, rest = path + sizeof VISITORS - 1;
    else
        return false;
    if (rest[0] == '\0') {
        *name = NULL;
        return true;
    }
    if (rest[0] != '/' || rest[1] == '\0' || strchr(rest + 1, '/') != NULL)
        return false;
    *name = rest + 1;
    return true;
}

bool ufrpc_admin_store_match(const char *path, const char *method, bool *method_ok)
{
    bool visitor;
    const char *name;
    if (!split(path, &visitor, &name))
        return false;
    if (name == NULL)
        *method_ok = strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0;
    else
        *method_ok = strcmp(method, "GET") == 0 || strcmp(method, "PUT") == 0 ||
                     strcmp(method, "DELETE") == 0;
    return true;
}

static void answer_json(struct ufrpc_admin_resp *r, char *text)
{
    if (text == NULL) {
        ufrpc_admin_json_error(r, 500, "out of memory");
        return;
    }
    r->status = 200;
    r->content_type = "application/json";
    ufrpc_admin_buf_str(&r->body, text);
    ufrpc_admin_buf_str(&r->body, "\n");
    free(text);
}

/* Hands the change over to a job that writes the snapshot; undoes it when no job
 * can be made. */
static void start_write(const struct ufrpc_admin_session_cfg *c, struct ufrpc_store *st, int op,
                        bool visitor, const char *name, json_object *entry, json_object *undo,
                        struct ufrpc_admin_resp *r)
{
    size_t len = 0;
    uint64_t seq = 0;
    char *snap = ufrpc_store_snapshot(st, &len, &seq);
    struct ufrpc_admin_file_job *j = snap ? ufrpc_admin_file_job_new(UFRPC_ADMIN_JOB_WRITE_CONFIG, ufrpc_store_path(st),
                                                                     (const uint8_t *)snap, len)
                                          : NULL;
    free(snap);
    char *nm = strdup(name);
    if (j == NULL || nm == NULL) {
        ufrpc_store_undo(st, visitor, name, undo);
        json_object_put(entry);
        ufrpc_admin_file_job_free(j);
        free(nm);
        ufrpc_admin_json_error(r, 500, "out of memory");
        return;
    }
    j->store = st;
    j->seq = seq;
    j->op = op;
    j->visitor = visitor;
    j->name = nm;
    j->entry = entry;
    j->undo = undo;
    j->hooks = c->hooks;
    j->log = c->log;
    r->job = j;
}

void ufrpc_admin_store_route(const struct ufrpc_admin_session_cfg *c,
                             const struct ufrpc_admin_req *q, struct ufrpc_admin_resp *r)
{
    struct ufrpc_store *st = c->hooks.store(c->hooks.ctx);
    bool visitor = false;
    const char *name = NULL;
    char msg[1200];
    if (!split(q->path, &visitor, &name)) { /* the router matched it first */
        ufrpc_admin_json_error(r, 404, "not found");
        return;
    }
    const char *m = q->method;
    if (name == NULL && strcmp(m, "GET") == 0) {
        answer_json(r, ufrpc_store_list_json(st, visitor));
        return;
    }
    if (name != NULL && strcmp(m, "GET") == 0) {
        bool nomem;
        char *t = ufrpc_store_get_json(st, visitor, name, &nomem);
        if (t == NULL && !nomem) {
            char quoted[600];
            ufrpc_go_quote(quoted, sizeof quoted, name);
            snprintf(msg, sizeof msg, "not found: %s %s", visitor ? "visitor" : "proxy", quoted);
            ufrpc_admin_json_error(r, 404, msg);
            return;
        }
        answer_json(r, t);
        return;
    }
    json_object *undo = NULL;
    int status;
    if (strcmp(m, "DELETE") == 0) {
        status = ufrpc_store_delete(st, visitor, name, &undo, msg, sizeof msg);
        if (status != 200) {
            ufrpc_admin_json_error(r, status, msg);
            return;
        }
        start_write(c, st, OP_DELETE, visitor, name, NULL, undo, r);
        return;
    }
    /* POST (create) or PUT (update) */
    json_object *entry = NULL;
    status = ufrpc_store_parse_body(visitor, name, q->body, q->body_len, &entry, msg, sizeof msg);
    if (status == 200) {
        json_object *n = NULL;
        json_object_object_get_ex(entry, "name", &n);
        const char *en = json_object_get_string(n);
        if (name == NULL)
            status = ufrpc_store_create(st, visitor, entry, msg, sizeof msg);
        else
            status = ufrpc_store_update(st, visitor, entry, &undo, msg, sizeof msg);
        if (status == 200) {
            start_write(c, st, name == NULL ? OP_CREATE : OP_UPDATE, visitor, en, entry, undo, r);
            return;
        }
    }
    json_object_put(entry);
    ufrpc_admin_json_error(r, status, msg);
}

void ufrpc_admin_store_job_run(struct ufrpc_admin_file_job *j)
{
    j->write_rc = ufrpc_store_write_file(j->store, (const char *)j->body, j->body_len, j->seq,
                                         j->err, sizeof j->err);
}

void ufrpc_admin_file_job_finish(struct ufrpc_admin_file_job *j)
{
    if (j == NULL || j->store == NULL || j->finished)
        return;
    j->finished = true;
    struct ufrpc_admin_resp *r = &j->resp;
    r->body.len = 0;
    r->body.failed = false;
    if (!j->ran || j->write_rc != 0) {
        ufrpc_store_undo(j->store, j->visitor, j->name, j->undo);
        j->undo = NULL;
        ufrpc_admin_json_error(r, 500, j->ran ? j->err : "failed to persist: not written");
        return;
    }
    const char *what = j->visitor ? "visitor" : "proxy";
    char msg[1100] = "";
    int rc = j->hooks.store_apply ? j->hooks.store_apply(j->hooks.ctx, msg, sizeof msg)
                                  : (snprintf(msg, sizeof msg, "not available"), 1);
    if (rc != 0) {
        char text[1200];
        snprintf(text, sizeof text, "apply config failed: failed to apply config: %s", msg);
        ufrpc_admin_json_error(r, 500, text);
        return;
    }
    UFRPC_LOGI(j->log, "store: %s %s \"%s\"",
               j->op == OP_CREATE ? "created" : j->op == OP_UPDATE ? "updated" : "deleted", what,
               j->name);
    if (j->op == OP_DELETE) {
        r->status = 200;
        return;
    }
    answer_json(r, ufrpc_store_definition_json(j->entry));
}

void ufrpc_admin_store_job_free(struct ufrpc_admin_file_job *j)
{
    json_object_put(j->entry);
    json_object_put(j->undo);
    free(j->name);
}
