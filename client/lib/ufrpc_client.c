/* libufrpc: the client object (see client/lib/ufrpc.h and client/lib/ufrpc_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/registry.h"
#include "client/lib/ufrpc_internal.h"
#include "client/core/version.h"
#include "proto/error.h"

_Static_assert(sizeof UFRPC_VERSION == sizeof UFRPC_VERSION_STRING, "ufrpc.h's version string");

/* The public codes are the project's (proto/error.h) under stable names. */
_Static_assert((int)UFRPC_E_NOMEM == (int)UFRPC_ERR_NOMEM && (int)UFRPC_E_INVAL == (int)UFRPC_ERR_INVAL &&
                   (int)UFRPC_E_LIMIT == (int)UFRPC_ERR_LIMIT && (int)UFRPC_E_IO == (int)UFRPC_ERR_IO &&
                   (int)UFRPC_E_NOT_FOUND == (int)UFRPC_ERR_NOT_FOUND &&
                   (int)UFRPC_E_UNSUPPORTED == (int)UFRPC_ERR_UNSUPPORTED &&
                   (int)UFRPC_E_STATE == (int)UFRPC_ERR_STATE &&
                   (int)UFRPC_E_CONFIG_SYNTAX == (int)UFRPC_ERR_CONFIG_SYNTAX &&
                   (int)UFRPC_E_CONFIG_UNKNOWN_KEY == (int)UFRPC_ERR_CONFIG_UNKNOWN_KEY &&
                   (int)UFRPC_E_CONFIG_VALUE == (int)UFRPC_ERR_CONFIG_VALUE &&
                   (int)UFRPC_E_CONFIG_DUPLICATE == (int)UFRPC_ERR_CONFIG_DUPLICATE &&
                   (int)UFRPC_E_CONFIG_IO == (int)UFRPC_ERR_CONFIG_IO &&
                   (int)UFRPC_E_CONFIG_MISSING == (int)UFRPC_ERR_CONFIG_MISSING &&
                   (int)UFRPC_E_CONFIG_CONFLICT == (int)UFRPC_ERR_CONFIG_CONFLICT &&
                   (int)UFRPC_E_LOGIN == (int)UFRPC_ERR_LOGIN,
               "public error codes drifted from proto/error.h");
_Static_assert(UFRPC_STATE_NEW == (int)UFRPC_TUNNEL_NEW &&
                   UFRPC_STATE_WAIT_START == (int)UFRPC_TUNNEL_WAIT_START &&
                   UFRPC_STATE_RUNNING == (int)UFRPC_TUNNEL_RUNNING &&
                   UFRPC_STATE_START_ERROR == (int)UFRPC_TUNNEL_START_ERROR &&
                   UFRPC_STATE_CHECK_FAILED == (int)UFRPC_TUNNEL_CHECK_FAILED &&
                   UFRPC_STATE_CLOSED == (int)UFRPC_TUNNEL_CLOSED,
               "public states drifted from client/core/registry.h");

#define DOC_LABEL "ufrpc_client.json" /* how messages name the built configuration */

enum lib_state { LS_NEW, LS_RUNNING, LS_STOPPING, LS_STOPPED };

struct event {
    int kind, state;
    char *name, *err;
};

/* Where the configuration came from, for reloads: a file, or a text (copied). */
struct source {
    char *path;
    char *text;
    size_t len;
    char *name; /* the text's label */
};

struct ufrpc_client {
    json_object *doc; /* the configuration, frpc's keys */
    int max_proxies;
    char *prefix[2];
    unsigned next_n[2];
    ufrpc_state_cb state_cb;
    void *state_data;
    ufrpc_close_cb close_cb;
    void *close_data;
    char err[2048];
    int non_strict;            /* ufrpc_client_set_strict(c, 0) */
    struct source src;         /* the last ufrpc_client_load_*'s (none: both NULL) */
    struct ufrpc_cfg_diag diag; /* the last load's diagnostics */
    char *exec_token;          /* ufrpc__client_set_exec_token's */

    enum lib_state state;
    uv_loop_t *loop;
    struct ufrpc__thread *th; /* thread mode */
    ufrpc_sup_t *sup;
    struct ufrpc_log *log;
    int own_log;
    /* before start: the configuration loaded (or given by ufrpc__client_use_config)
     * and not changed since, which the start uses as it is; NULL: the start loads
     * the document */
    struct ufrpc_config *pending_cfg;
    uv_timer_t ev_timer;              /* delivers queued state events */
    struct event *evs;
    size_t nevs, capevs;
    int handles; /* our own handles still open after the stop */
    int close_status;
    char close_msg[1400];
    int prepared; /* ufrpc__client_prepare'd, ufrpc_client_start not called yet */
};

const char *ufrpc_version(void)
{
    return UFRPC_VERSION;
}

const char *ufrpc_state_name(int state)
{
    if (state < UFRPC_STATE_NEW || state > UFRPC_STATE_CLOSED)
        return "unknown";
    return ufrpc_tunnel_state_name((enum ufrpc_tunnel_state)state);
}

/* Records the text of a failure (ufrpc_client_last_error) and returns rc. */
static int fail(ufrpc_client *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(ufrpc_client *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* The configuration's diagnostics as the failure text ("file:line: message" lines). */
static int fail_diag(ufrpc_client *c, int rc, const struct ufrpc_cfg_diag *diag)
{
    c->err[0] = '\0';
    FILE *f = fmemopen(c->err, sizeof c->err, "w");
    if (f) {
        ufrpc_cfg_diag_print(diag, f);
        fclose(f);
    }
    c->err[sizeof c->err - 1] = '\0';
    if (!c->err[0])
        snprintf(c->err, sizeof c->err, "%s", ufrpc_strerror(rc));
    return rc;
}

static const char *kind_word(int kind)
{
    return kind == UFRPC_VISITOR ? "visitor" : "proxy";
}

static const char *list_key(int kind)
{
    return kind == UFRPC_VISITOR ? "visitors" : "proxies";
}

/* ---- configuration documents ----------------------------------------------- */

/* Loads doc with the config layer; errors into c->err ("file:line: message"). */
static int build_config(ufrpc_client *c, json_object *doc, struct ufrpc_config **out)
{
    const char *text = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
    if (!text)
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    int rc = ufrpc_config_load_buffer(text, strlen(text), DOC_LABEL, NULL, out, &diag);
    if (rc)
        fail_diag(c, rc, &diag);
    ufrpc_cfg_diag_free(&diag);
    return rc;
}

static size_t list_len(json_object *doc, int kind)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(doc, list_key(kind), &a) || !json_object_is_type(a, json_type_array))
        return 0;
    return json_object_array_length(a);
}

static int check_max(ufrpc_client *c, size_t nproxies, const char *adding)
{
    if (c->max_proxies <= 0 || nproxies <= (size_t)c->max_proxies)
        return 0;
    if (adding)
        return fail(c, UFRPC_ERR_LIMIT, "maxProxies (%d) reached: cannot add proxy [%s]", c->max_proxies,
                    adding);
    return fail(c, UFRPC_ERR_LIMIT, "the configuration has %zu proxies, more than maxProxies (%d)",
                nproxies, c->max_proxies);
}

/* The config as a document: its JSON form without includes and start (applied). */
static int doc_from_config(ufrpc_client *c, const struct ufrpc_config *cfg, json_object **out)
{
    char *js = NULL;
    int rc = ufrpc_config_to_json(cfg, false, &js);
    if (rc)
        return fail(c, rc, "%s", ufrpc_strerror(rc));
    json_object *d = json_tokener_parse(js);
    memset(js, 0, strlen(js));
    free(js);
    if (!d)
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    json_object_object_del(d, "includes");
    json_object_object_del(d, "start");
    *out = d;
    return 0;
}

static void source_free(struct source *s)
{
    if (s->text) { /* may hold secrets */
        memset(s->text, 0, s->len);
        free(s->text);
    }
    free(s->path);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* Loads the configuration of s (strict: unknown keys are errors); its diagnostics
 * replace c->diag, its errors go to c->err. Nothing else changes. */
static int load_from(ufrpc_client *c, const struct source *s, int strict, struct ufrpc_config **out)
{
    *out = NULL;
    ufrpc_cfg_diag_free(&c->diag);
    ufrpc_cfg_diag_init(&c->diag);
    struct ufrpc_config_load_opts o = {.non_strict = !strict};
    int rc = s->text ? ufrpc_config_load_buffer(s->text, s->len, s->name, &o, out, &c->diag)
                     : ufrpc_config_load(s->path, &o, out, &c->diag);
    if (rc)
        return fail_diag(c, rc, &c->diag);
    rc = check_max(c, (*out)->nproxies, NULL);
    if (rc) {
        ufrpc_config_free(*out);
        *out = NULL;
    }
    return rc;
}

/* Before start: cfg (taken) becomes the configuration, and what the start uses. */
static int use_pending(ufrpc_client *c, struct ufrpc_config *cfg)
{
    json_object *d = NULL;
    int rc = doc_from_config(c, cfg, &d);
    if (rc) {
        ufrpc_config_free(cfg);
        return rc;
    }
    ufrpc_config_free(c->pending_cfg);
    c->pending_cfg = cfg;
    json_object_put(c->doc);
    c->doc = d;
    return 0;
}

/* ufrpc_client_load_*: s (taken) becomes the source once its configuration loaded. */
static int load_new(ufrpc_client *c, struct source *s)
{
    struct ufrpc_config *cfg = NULL;
    int rc = c->state != LS_NEW
                 ? fail(c, UFRPC_ERR_STATE, "the configuration can only be loaded before start")
                 : load_from(c, s, !c->non_strict, &cfg);
    if (!rc)
        rc = use_pending(c, cfg);
    if (rc) {
        source_free(s);
        return rc;
    }
    source_free(&c->src);
    c->src = *s;
    return 0;
}

/* ---- state events ------------------------------------------------------------ */

static void on_ev_timer(uv_timer_t *t);

static void push_event(ufrpc_client *c, size_t at, int kind, const char *name, int state,
                       const char *err)
{
    if (!c->state_cb)
        return;
    if (c->nevs == c->capevs) {
        size_t ncap = c->capevs ? c->capevs * 2 : 16;
        struct event *p = realloc(c->evs, ncap * sizeof *p);
        if (!p)
            return; /* an event lost to memory pressure; the state is still queryable */
        c->evs = p;
        c->capevs = ncap;
    }
    struct event e = {.kind = kind, .state = state, .name = strdup(name),
                      .err = err ? strdup(err) : NULL};
    if (!e.name || (err && !e.err)) {
        free(e.name);
        free(e.err);
        return;
    }
    if (at > c->nevs)
        at = c->nevs;
    memmove(c->evs + at + 1, c->evs + at, (c->nevs - at) * sizeof *c->evs);
    c->evs[at] = e;
    c->nevs++;
    if (c->state == LS_RUNNING || c->state == LS_STOPPING)
        uv_timer_start(&c->ev_timer, on_ev_timer, 0, 0);
}

static void deliver_events(ufrpc_client *c)
{
    /* callbacks may queue more: taken one at a time from the front */
    while (c->nevs > 0) {
        struct event e = c->evs[0];
        memmove(c->evs, c->evs + 1, (c->nevs - 1) * sizeof *c->evs);
        c->nevs--;
        if (c->state_cb)
            c->state_cb(c, e.kind, e.name, e.state, e.err, c->state_data);
        free(e.name);
        free(e.err);
    }
}

static void on_ev_timer(uv_timer_t *t)
{
    deliver_events(t->data);
}

static void on_tunnel(void *data, const struct ufrpc_tunnel *t, enum ufrpc_tunnel_state old)
{
    (void)old;
    ufrpc_client *c = data;
    push_event(c, SIZE_MAX, t->kind == UFRPC_TUNNEL_VISITOR ? UFRPC_VISITOR : UFRPC_PROXY, t->name,
               (int)t->state, t->state == UFRPC_TUNNEL_START_ERROR ? t->last_error : NULL);
}

/* ---- applying a changed document ------------------------------------------- */

/* Makes nd (taken) the configuration: checked by the config layer, then, when
 * running, applied by the supervisor's reload diff. */
static int apply_doc(ufrpc_client *c, json_object *nd)
{
    struct ufrpc_config *cfg = NULL;
    int rc = check_max(c, list_len(nd, UFRPC_PROXY), NULL);
    if (!rc)
        rc = build_config(c, nd, &cfg);
    if (rc) {
        json_object_put(nd);
        return rc;
    }
    if (c->state == LS_RUNNING) {
        rc = ufrpc_sup_reload(c->sup, cfg); /* takes cfg */
        if (rc && ufrpc_sup_config(c->sup) != cfg) { /* refused before any change */
            json_object_put(nd);
            return fail(c, rc, "%s", ufrpc_strerror(rc));
        }
        if (rc)
            fail(c, rc, "applied in part: %s", ufrpc_strerror(rc));
    } else { /* what the start will use */
        ufrpc_config_free(c->pending_cfg);
        c->pending_cfg = cfg;
    }
    json_object_put(c->doc);
    c->doc = nd;
    return rc;
}

static int copy_doc(ufrpc_client *c, json_object **out)
{
    *out = NULL;
    if (json_object_deep_copy(c->doc, out, NULL) != 0 || !*out)
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    return 0;
}

/* Index of the tunnel called name in the document's list (or -1). */
static int find_in(json_object *doc, int kind, const char *name)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(doc, list_key(kind), &a) || !json_object_is_type(a, json_type_array))
        return -1;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        json_object *n = NULL;
        if (json_object_object_get_ex(json_object_array_get_idx(a, i), "name", &n) &&
            strcmp(json_object_get_string(n), name) == 0)
            return (int)i;
    }
    return -1;
}

struct change {
    const ufrpc_spec *spec;
    int kind;
    const char *name; /* remove */
    char *name_out;
    size_t cap;
    int replace; /* update */
};

static int op_put(ufrpc_client *c, void *arg)
{
    struct change *ch = arg;
    int kind = ch->spec->kind;
    char gen[160];
    const char *name = NULL;
    json_object *n = NULL;
    if (json_object_object_get_ex(ch->spec->obj, "name", &n)) {
        if (!json_object_is_type(n, json_type_string) || !json_object_get_string_len(n))
            return fail(c, UFRPC_ERR_INVAL, "%s name must be a non-empty string", kind_word(kind));
        name = json_object_get_string(n);
    } else if (ch->replace) {
        return fail(c, UFRPC_ERR_INVAL, "%s to update has no name", kind_word(kind));
    } else {
        do {
            snprintf(gen, sizeof gen, "%s-%u", c->prefix[kind], ++c->next_n[kind]);
        } while (find_in(c->doc, kind, gen) >= 0);
        name = gen;
    }
    int at = find_in(c->doc, kind, name);
    if (ch->replace && at < 0)
        return fail(c, UFRPC_ERR_NOT_FOUND, "no %s named [%s]", kind_word(kind), name);
    if (!ch->replace && at >= 0)
        return fail(c, UFRPC_ERR_CONFIG_DUPLICATE, "%s [%s] already exists", kind_word(kind), name);
    if (!ch->replace && kind == UFRPC_PROXY) {
        int rc = check_max(c, list_len(c->doc, UFRPC_PROXY) + 1, name);
        if (rc)
            return rc;
    }
    json_object *nd = NULL, *item = NULL;
    int rc = copy_doc(c, &nd);
    if (rc)
        return rc;
    if (json_object_deep_copy(ch->spec->obj, &item, NULL) != 0 || !item ||
        ufrpc__json_set(item, "name", json_object_new_string(name)) != 0) {
        json_object_put(item);
        json_object_put(nd);
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    }
    json_object *arr = NULL;
    if (!json_object_object_get_ex(nd, list_key(kind), &arr)) {
        arr = json_object_new_array();
        if (ufrpc__json_set(nd, list_key(kind), arr) != 0)
            arr = NULL;
    }
    if (!arr || !json_object_is_type(arr, json_type_array) ||
        (ch->replace ? json_object_array_put_idx(arr, (size_t)at, item)
                     : json_object_array_add(arr, item)) != 0) {
        json_object_put(item);
        json_object_put(nd);
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    }
    size_t mark = c->nevs;
    rc = apply_doc(c, nd); /* (name: in gen or the caller's spec, both still valid) */
    int added = find_in(c->doc, kind, name) >= 0;
    if (added && ch->name_out && ch->cap)
        snprintf(ch->name_out, ch->cap, "%s", name);
    /* (before a start, the start reports every tunnel as new) */
    if (c->state == LS_RUNNING && !ch->replace && added)
        push_event(c, mark, kind, name, UFRPC_STATE_NEW, NULL); /* before what followed */
    return rc;
}

static int op_remove(ufrpc_client *c, void *arg)
{
    struct change *ch = arg;
    int at = find_in(c->doc, ch->kind, ch->name);
    if (at < 0)
        return fail(c, UFRPC_ERR_NOT_FOUND, "no %s named [%s]", kind_word(ch->kind), ch->name);
    json_object *nd = NULL;
    int rc = copy_doc(c, &nd);
    if (rc)
        return rc;
    json_object *arr = NULL;
    json_object_object_get_ex(nd, list_key(ch->kind), &arr);
    json_object_array_del_idx(arr, (size_t)at, 1);
    size_t mark = c->nevs;
    rc = apply_doc(c, nd);
    if (rc && find_in(c->doc, ch->kind, ch->name) >= 0)
        return rc;
    for (size_t i = mark; i < c->nevs; i++)
        if (c->evs[i].kind == ch->kind && c->evs[i].state == UFRPC_STATE_CLOSED &&
            strcmp(c->evs[i].name, ch->name) == 0)
            return rc;
    push_event(c, SIZE_MAX, ch->kind, ch->name, UFRPC_STATE_CLOSED, NULL);
    return rc;
}

/* ---- running ------------------------------------------------------------------ */

static void finish_close(ufrpc_client *c)
{
    c->state = LS_STOPPED; /* the stopped supervisor stays (registry, config) until free */
    ufrpc_close_cb cb = c->close_cb;
    if (cb) /* may free c (loop mode): nothing after */
        cb(c, c->close_status, c->close_msg[0] ? c->close_msg : NULL, c->close_data);
}

static void handle_closed(ufrpc_client *c)
{
    if (--c->handles == 0)
        finish_close(c);
}

static void on_ev_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_sup_exit(ufrpc_sup_t *sup, int code, const char *msg, void *data)
{
    ufrpc_client *c = data;
    c->state = LS_STOPPING;
    c->close_status = code == 0 ? 0 : UFRPC_ERR_LOGIN;
    snprintf(c->close_msg, sizeof c->close_msg, "%s", msg ? msg : "");
    struct ufrpc_registry *reg = ufrpc_sup_registry(sup);
    for (size_t i = 0; i < ufrpc_registry_count(reg); i++) {
        const struct ufrpc_tunnel *t = ufrpc_registry_at(reg, i);
        if (t->state != UFRPC_TUNNEL_CLOSED) /* visitors, and proxies never announced */
            push_event(c, SIZE_MAX, t->kind == UFRPC_TUNNEL_VISITOR ? UFRPC_VISITOR : UFRPC_PROXY,
                       t->name, UFRPC_STATE_CLOSED, NULL);
    }
    deliver_events(c);
    c->handles = 1;
    uv_close((uv_handle_t *)&c->ev_timer, on_ev_timer_closed);
    if (c->th) {
        c->handles++;
        ufrpc__thread_close(c->th, handle_closed);
    }
}

static int log_from_config(ufrpc_client *c, const struct ufrpc_config *cfg)
{
    if (c->log)
        return 0;
    enum ufrpc_log_level lvl = UFRPC_LOG_INFO;
    (void)ufrpc_log_parse_level(ufrpc_cfg_str(cfg->log.level), &lvl);
    struct ufrpc_log_opts lo = {.to = cfg->log.to, .level = lvl, .max_days = (int)cfg->log.max_days};
    int rc = ufrpc_log_new(&lo, &c->log);
    if (rc)
        return fail(c, rc, "open log file [%s] error: %s", ufrpc_cfg_str(cfg->log.to), ufrpc_strerror(rc));
    c->own_log = 1;
    return 0;
}

/* Creates the supervisor on loop (not started yet). */
static int prepare(ufrpc_client *c, uv_loop_t *loop)
{
    struct ufrpc_config *cfg = c->pending_cfg;
    c->pending_cfg = NULL;
    int rc = cfg ? 0 : build_config(c, c->doc, &cfg);
    if (!rc && (rc = check_max(c, cfg->nproxies, NULL)) != 0) {
        ufrpc_config_free(cfg);
        cfg = NULL;
    }
    if (!rc && (rc = log_from_config(c, cfg)) != 0) {
        ufrpc_config_free(cfg);
        cfg = NULL;
    }
    if (rc)
        return rc;
    c->loop = loop;
    for (size_t i = 0; i < cfg->nproxies; i++)
        push_event(c, SIZE_MAX, UFRPC_PROXY, cfg->proxies[i].name, UFRPC_STATE_NEW, NULL);
    for (size_t i = 0; i < cfg->nvisitors; i++)
        push_event(c, SIZE_MAX, UFRPC_VISITOR, cfg->visitors[i].name, UFRPC_STATE_NEW, NULL);
    struct ufrpc_sup_opts so = {
        .loop = loop, .cfg = cfg, .log = c->log, .exec_token = c->exec_token,
        .on_exit = on_sup_exit, .on_tunnel = on_tunnel, .data = c,
    };
    rc = ufrpc_sup_new(&so, &c->sup); /* takes cfg */
    if (rc)
        return fail(c, rc, "%s", ufrpc_strerror(rc));
    uv_timer_init(loop, &c->ev_timer);
    c->ev_timer.data = c;
    c->state = LS_RUNNING;
    uv_timer_start(&c->ev_timer, on_ev_timer, 0, 0); /* the "new" events */
    return 0;
}

/* Starts the first login of a prepared client. */
static int go(ufrpc_client *c)
{
    int rc = ufrpc_sup_start(c->sup);
    if (rc) { /* (a second start only) */
        ufrpc_sup_shutdown(c->sup);
        return fail(c, rc, "%s", ufrpc_strerror(rc));
    }
    return 0;
}

static int start_on(ufrpc_client *c, uv_loop_t *loop)
{
    int rc = prepare(c, loop);
    return rc ? rc : go(c);
}

/* ---- public API --------------------------------------------------------------- */

static int call(ufrpc_client *c, ufrpc__op_fn op, void *arg);

int ufrpc_client_new(ufrpc_client **out)
{
    if (!out)
        return UFRPC_ERR_INVAL;
    *out = NULL;
    ufrpc_client *c = calloc(1, sizeof *c);
    if (!c)
        return UFRPC_ERR_NOMEM;
    ufrpc_cfg_diag_init(&c->diag);
    c->doc = json_object_new_object();
    c->prefix[UFRPC_PROXY] = strdup("proxy");
    c->prefix[UFRPC_VISITOR] = strdup("visitor");
    if (!c->doc || !c->prefix[0] || !c->prefix[1]) {
        ufrpc_client_free(c);
        return UFRPC_ERR_NOMEM;
    }
    *out = c;
    return 0;
}

int ufrpc_client_load_file(ufrpc_client *c, const char *path)
{
    if (!c || !path)
        return UFRPC_ERR_INVAL;
    struct source s = {.path = strdup(path)};
    if (!s.path)
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    return load_new(c, &s);
}

int ufrpc_client_load_string(ufrpc_client *c, const char *text, size_t len, const char *name)
{
    if (!c || !text)
        return UFRPC_ERR_INVAL;
    struct source s = {.text = malloc(len ? len : 1), .len = len, .name = strdup(name ? name : "<string>")};
    if (!s.text || !s.name) {
        source_free(&s);
        return fail(c, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    }
    memcpy(s.text, text, len);
    return load_new(c, &s);
}

int ufrpc_client_set_strict(ufrpc_client *c, int strict)
{
    if (!c)
        return UFRPC_ERR_INVAL;
    if (c->state != LS_NEW)
        return fail(c, UFRPC_ERR_STATE, "strictness can only be set before start");
    c->non_strict = !strict;
    return 0;
}

static int set_common(ufrpc_client *c, const char *key, json_object *v)
{
    if (!c) {
        json_object_put(v);
        return UFRPC_ERR_INVAL;
    }
    if (c->state != LS_NEW) {
        json_object_put(v);
        return fail(c, UFRPC_ERR_STATE, "[%s] can only be set before start", key ? key : "");
    }
    if (key && (strcmp(key, "proxies") == 0 || strcmp(key, "visitors") == 0)) {
        json_object_put(v);
        return fail(c, UFRPC_ERR_INVAL, "[%s]: use ufrpc_client_add", key);
    }
    int rc = ufrpc__json_set(c->doc, key, v);
    if (rc)
        return fail(c, rc, "[%s]: %s", key ? key : "", ufrpc_strerror(rc));
    ufrpc_config_free(c->pending_cfg); /* the start loads the changed document */
    c->pending_cfg = NULL;
    return 0;
}

int ufrpc_client_set_str(ufrpc_client *c, const char *key, const char *value)
{
    return set_common(c, key, value ? json_object_new_string(value) : NULL);
}

int ufrpc_client_set_int(ufrpc_client *c, const char *key, int64_t value)
{
    return set_common(c, key, json_object_new_int64(value));
}

int ufrpc_client_set_bool(ufrpc_client *c, const char *key, int value)
{
    return set_common(c, key, json_object_new_boolean(value != 0));
}

static int op_set_max(ufrpc_client *c, void *arg)
{
    int n = *(int *)arg;
    int old = c->max_proxies;
    c->max_proxies = n;
    int rc = check_max(c, list_len(c->doc, UFRPC_PROXY), NULL);
    if (rc)
        c->max_proxies = old;
    return rc;
}

int ufrpc_client_set_max_proxies(ufrpc_client *c, int n)
{
    if (!c || n < 0)
        return UFRPC_ERR_INVAL;
    return call(c, op_set_max, &n);
}

int ufrpc_client_set_name_prefix(ufrpc_client *c, int kind, const char *prefix)
{
    if (!c || !prefix || !prefix[0] || strlen(prefix) > 100 ||
        (kind != UFRPC_PROXY && kind != UFRPC_VISITOR))
        return UFRPC_ERR_INVAL;
    if (c->state != LS_NEW)
        return fail(c, UFRPC_ERR_STATE, "name prefixes can only be set before start");
    char *p = strdup(prefix);
    if (!p)
        return UFRPC_ERR_NOMEM;
    free(c->prefix[kind]);
    c->prefix[kind] = p;
    return 0;
}

int ufrpc_client_on_state(ufrpc_client *c, ufrpc_state_cb cb, void *data)
{
    if (!c)
        return UFRPC_ERR_INVAL;
    if (c->state != LS_NEW)
        return fail(c, UFRPC_ERR_STATE, "callbacks can only be set before start");
    c->state_cb = cb;
    c->state_data = data;
    return 0;
}

int ufrpc_client_on_close(ufrpc_client *c, ufrpc_close_cb cb, void *data)
{
    if (!c)
        return UFRPC_ERR_INVAL;
    if (c->state != LS_NEW)
        return fail(c, UFRPC_ERR_STATE, "callbacks can only be set before start");
    c->close_cb = cb;
    c->close_data = data;
    return 0;
}

int ufrpc_client_start(ufrpc_client *c, uv_loop_t *loop)
{
    if (!c || !loop)
        return UFRPC_ERR_INVAL;
    if (c->prepared && loop == c->loop && c->state == LS_RUNNING) {
        c->prepared = 0;
        return go(c);
    }
    if (c->state != LS_NEW)
        return fail(c, UFRPC_ERR_STATE, "already started");
    return start_on(c, loop);
}

int ufrpc_client_start_thread(ufrpc_client *c)
{
    if (!c)
        return UFRPC_ERR_INVAL;
    if (c->state != LS_NEW)
        return fail(c, UFRPC_ERR_STATE, "already started");
    int rc = ufrpc__thread_start(c, start_on, &c->th);
    if (rc && !c->err[0])
        fail(c, rc, "cannot start the client's thread: %s", ufrpc_strerror(rc));
    return rc;
}

/* Runs op on the client's loop: at once in loop mode, before start, or on the loop's
 * own thread; else queued and waited for (thread mode). */
static int call(ufrpc_client *c, ufrpc__op_fn op, void *arg)
{
    if (c->th) {
        int ran = 0;
        int rc = ufrpc__thread_call(c->th, op, c, arg, &ran);
        if (ran)
            return rc; /* (UFRPC_ERR_STATE without running: the loop has ended) */
    }
    return op(c, arg);
}

static int op_check_running(ufrpc_client *c)
{
    if (c->state == LS_STOPPING || c->state == LS_STOPPED)
        return fail(c, UFRPC_ERR_STATE, "the client is stopping or stopped");
    return 0;
}

static int op_add(ufrpc_client *c, void *arg)
{
    int rc = op_check_running(c);
    return rc ? rc : op_put(c, arg);
}

static int op_rm(ufrpc_client *c, void *arg)
{
    int rc = op_check_running(c);
    return rc ? rc : op_remove(c, arg);
}

int ufrpc_client_add(ufrpc_client *c, const ufrpc_spec *s, char *name_out, size_t cap)
{
    if (!c || !s)
        return UFRPC_ERR_INVAL;
    struct change ch = {.spec = s, .name_out = name_out, .cap = cap};
    return call(c, op_add, &ch);
}

int ufrpc_client_update(ufrpc_client *c, const ufrpc_spec *s)
{
    if (!c || !s)
        return UFRPC_ERR_INVAL;
    struct change ch = {.spec = s, .replace = 1};
    return call(c, op_add, &ch);
}

int ufrpc_client_remove(ufrpc_client *c, int kind, const char *name)
{
    if (!c || !name || (kind != UFRPC_PROXY && kind != UFRPC_VISITOR))
        return UFRPC_ERR_INVAL;
    struct change ch = {.kind = kind, .name = name};
    return call(c, op_rm, &ch);
}

struct query {
    int kind;
    const char *name, *counter;
    int *state;
    char *err;
    size_t cap;
    uint64_t *value;
};

static int op_query(ufrpc_client *c, void *arg)
{
    struct query *q = arg;
    if (find_in(c->doc, q->kind, q->name) < 0)
        return fail(c, UFRPC_ERR_NOT_FOUND, "no %s named [%s]", kind_word(q->kind), q->name);
    const struct ufrpc_tunnel *t = NULL;
    if (c->sup)
        t = ufrpc_registry_find(ufrpc_sup_registry(c->sup),
                                q->kind == UFRPC_VISITOR ? UFRPC_TUNNEL_VISITOR : UFRPC_TUNNEL_PROXY,
                                q->name);
    if (q->state) {
        *q->state = t ? (int)t->state : UFRPC_STATE_NEW;
        if (q->err && q->cap)
            snprintf(q->err, q->cap, "%s", t && t->last_error ? t->last_error : "");
        return 0;
    }
    static const char *const names[] = {"bytes_in", "bytes_out", "conns_active", "conns_total", "errors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(q->counter, names[i]) != 0)
            continue;
        const uint64_t v[] = {t ? t->c.bytes_in : 0, t ? t->c.bytes_out : 0, t ? t->c.conns_active : 0,
                              t ? t->c.conns_total : 0, t ? t->c.errors : 0};
        *q->value = v[i];
        return 0;
    }
    return fail(c, UFRPC_ERR_INVAL, "unknown counter [%s]", q->counter);
}

int ufrpc_client_state(ufrpc_client *c, int kind, const char *name, int *state, char *err, size_t cap)
{
    if (!c || !name || !state)
        return UFRPC_ERR_INVAL;
    struct query q = {.kind = kind, .name = name, .state = state, .err = err, .cap = cap};
    return call(c, op_query, &q);
}

int ufrpc_client_counter(ufrpc_client *c, int kind, const char *name, const char *counter,
                         uint64_t *value)
{
    if (!c || !name || !counter || !value)
        return UFRPC_ERR_INVAL;
    struct query q = {.kind = kind, .name = name, .counter = counter, .value = value};
    return call(c, op_query, &q);
}

static int op_reload(ufrpc_client *c, void *arg)
{
    (void)arg;
    int rc = op_check_running(c);
    struct ufrpc_config *cfg = NULL;
    if (!rc)
        rc = ufrpc__client_load_source(c, !c->non_strict, &cfg);
    return rc ? rc : ufrpc__client_use_config(c, cfg);
}

int ufrpc_client_reload(ufrpc_client *c)
{
    if (!c)
        return UFRPC_ERR_INVAL;
    return call(c, op_reload, NULL);
}

static int op_stop(ufrpc_client *c, void *arg)
{
    struct {
        ufrpc_close_cb cb;
        void *data;
    } *a = arg;
    if (c->state != LS_RUNNING)
        return fail(c, UFRPC_ERR_STATE, "the client is not running");
    if (a->cb) {
        c->close_cb = a->cb;
        c->close_data = a->data;
    }
    c->state = LS_STOPPING;
    ufrpc_sup_shutdown(c->sup);
    return 0;
}

int ufrpc_client_stop(ufrpc_client *c, ufrpc_close_cb cb, void *data)
{
    if (!c)
        return UFRPC_ERR_INVAL;
    struct {
        ufrpc_close_cb cb;
        void *data;
    } a = {cb, data};
    return call(c, op_stop, &a);
}

const char *ufrpc_client_last_error(const ufrpc_client *c)
{
    return c ? c->err : "";
}

void ufrpc_client_free(ufrpc_client *c)
{
    if (!c)
        return;
    if (c->th) {
        (void)ufrpc_client_stop(c, NULL, NULL); /* (refused unless still running) */
        ufrpc__thread_join(c->th);               /* the loop ends once stopped */
        c->th = NULL;
    }
    ufrpc_sup_free(c->sup); /* stopped, or never started */
    for (size_t i = 0; i < c->nevs; i++) {
        free(c->evs[i].name);
        free(c->evs[i].err);
    }
    free(c->evs);
    ufrpc_config_free(c->pending_cfg);
    ufrpc_cfg_diag_free(&c->diag);
    source_free(&c->src);
    if (c->exec_token) {
        memset(c->exec_token, 0, strlen(c->exec_token));
        free(c->exec_token);
    }
    if (c->own_log)
        ufrpc_log_free(c->log);
    json_object_put(c->doc);
    free(c->prefix[0]);
    free(c->prefix[1]);
    memset(c->err, 0, sizeof c->err);
    free(c);
}

/* ---- for the ufrpc program ---------------------------------------------------- */

int ufrpc__client_load_source(ufrpc_client *c, int strict, struct ufrpc_config **out)
{
    *out = NULL;
    if (!c->src.path && !c->src.text)
        return fail(c, UFRPC_ERR_STATE, "no configuration file or text was loaded");
    return load_from(c, &c->src, strict, out);
}

const struct ufrpc_cfg_diag *ufrpc__client_diag(const ufrpc_client *c)
{
    return &c->diag;
}

int ufrpc__client_use_config(ufrpc_client *c, struct ufrpc_config *cfg)
{
    if (c->state == LS_NEW)
        return use_pending(c, cfg);
    if (c->state != LS_RUNNING) {
        ufrpc_config_free(cfg);
        return fail(c, UFRPC_ERR_STATE, "the client is stopping or stopped");
    }
    json_object *d = NULL;
    int rc = doc_from_config(c, cfg, &d);
    if (rc) {
        ufrpc_config_free(cfg);
        return rc;
    }
    rc = ufrpc_sup_reload(c->sup, cfg); /* takes cfg */
    if (rc && ufrpc_sup_config(c->sup) != cfg) { /* refused before any change */
        json_object_put(d);
        return fail(c, rc, "%s", ufrpc_strerror(rc));
    }
    if (rc)
        fail(c, rc, "applied in part: %s", ufrpc_strerror(rc));
    json_object_put(c->doc);
    c->doc = d;
    return rc;
}

const struct ufrpc_config *ufrpc__client_config(const ufrpc_client *c)
{
    return c->sup ? ufrpc_sup_config(c->sup) : c->pending_cfg;
}

int ufrpc__client_set_exec_token(ufrpc_client *c, const char *token)
{
    if (c->state != LS_NEW)
        return UFRPC_ERR_STATE;
    char *t = token ? strdup(token) : NULL;
    if (token && !t)
        return UFRPC_ERR_NOMEM;
    if (c->exec_token) {
        memset(c->exec_token, 0, strlen(c->exec_token));
        free(c->exec_token);
    }
    c->exec_token = t;
    return 0;
}

int ufrpc__client_prepare(ufrpc_client *c, uv_loop_t *loop)
{
    if (c->state != LS_NEW || c->th)
        return UFRPC_ERR_STATE;
    int rc = prepare(c, loop);
    c->prepared = rc == 0;
    return rc;
}

void ufrpc__client_set_log(ufrpc_client *c, struct ufrpc_log *log)
{
    if (c->own_log)
        ufrpc_log_free(c->log);
    c->log = log;
    c->own_log = 0;
}

ufrpc_sup_t *ufrpc__client_sup(ufrpc_client *c)
{
    return c->sup;
}
