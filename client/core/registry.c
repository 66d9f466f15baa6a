/* The tunnel registry: frpc's proxy phases and timers as pure logic. */
#include "client/core/registry.h"

#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

struct ufrpc_registry {
    char *user; /* "" when none */
    struct ufrpc_tunnel **items;
    size_t n, cap;
    int checked;           /* a check has been made since the last reset */
    uint64_t last_check_ms;
    ufrpc_registry_change_fn on_change;
    void *ctx;
};

const char *ufrpc_tunnel_state_name(enum ufrpc_tunnel_state s)
{
    switch (s) {
    case UFRPC_TUNNEL_NEW:
        return "new";
    case UFRPC_TUNNEL_WAIT_START:
        return "wait start";
    case UFRPC_TUNNEL_RUNNING:
        return "running";
    case UFRPC_TUNNEL_START_ERROR:
        return "start error";
    case UFRPC_TUNNEL_CHECK_FAILED:
        return "check failed";
    case UFRPC_TUNNEL_CLOSED:
        return "closed";
    }
    return "unknown";
}

int ufrpc_registry_new(const char *user, ufrpc_registry_change_fn on_change, void *ctx,
                       struct ufrpc_registry **out)
{
    if (!out)
        return UFRPC_ERR_INVAL;
    *out = NULL;
    struct ufrpc_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return UFRPC_ERR_NOMEM;
    reg->user = strdup(user ? user : "");
    if (!reg->user) {
        free(reg);
        return UFRPC_ERR_NOMEM;
    }
    reg->on_change = on_change;
    reg->ctx = ctx;
    *out = reg;
    return 0;
}

static void tunnel_free(struct ufrpc_tunnel *t)
{
    if (!t)
        return;
    free(t->name);
    free(t->wire_name);
    free(t->type);
    free(t->last_error);
    free(t->remote_addr);
    free(t);
}

void ufrpc_registry_free(struct ufrpc_registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++)
        tunnel_free(reg->items[i]);
    free(reg->items);
    free(reg->user);
    free(reg);
}

const char *ufrpc_registry_user(const struct ufrpc_registry *reg)
{
    return reg ? reg->user : "";
}

int ufrpc_registry_set_user(struct ufrpc_registry *reg, const char *user)
{
    if (!reg)
        return UFRPC_ERR_INVAL;
    char *u = strdup(user ? user : "");
    char **names = calloc(reg->n + 1, sizeof *names);
    int ok = u && names;
    for (size_t i = 0; ok && i < reg->n; i++) {
        size_t wl = ufrpc_registry_wire_name(u, reg->items[i]->name, NULL, 0);
        names[i] = malloc(wl + 1);
        if (!names[i])
            ok = 0;
        else
            ufrpc_registry_wire_name(u, reg->items[i]->name, names[i], wl + 1);
    }
    if (!ok) {
        for (size_t i = 0; names && i < reg->n; i++)
            free(names[i]);
        free(names);
        free(u);
        return UFRPC_ERR_NOMEM;
    }
    for (size_t i = 0; i < reg->n; i++) {
        free(reg->items[i]->wire_name);
        reg->items[i]->wire_name = names[i];
    }
    free(names);
    free(reg->user);
    reg->user = u;
    return 0;
}

size_t ufrpc_registry_wire_name(const char *user, const char *name, char *out, size_t cap)
{
    size_t ul = user ? strlen(user) : 0, nl = name ? strlen(name) : 0;
    size_t total = ul ? ul + 1 + nl : nl;
    if (cap == 0 || !out)
        return total;
    size_t pos = 0;
    if (ul) {
        for (size_t i = 0; i < ul && pos + 1 < cap; i++)
            out[pos++] = user[i];
        if (pos + 1 < cap)
            out[pos++] = '.';
    }
    for (size_t i = 0; i < nl && pos + 1 < cap; i++)
        out[pos++] = name[i];
    out[pos] = '\0';
    return total;
}

const char *ufrpc_registry_strip_user(const char *user, const char *wire_name)
{
    if (!wire_name)
        return "";
    size_t ul = user ? strlen(user) : 0;
    if (ul && strncmp(wire_name, user, ul) == 0 && wire_name[ul] == '.')
        return wire_name + ul + 1;
    return wire_name;
}

struct ufrpc_tunnel *ufrpc_registry_find(struct ufrpc_registry *reg, enum ufrpc_tunnel_kind kind,
                                         const char *name)
{
    if (!reg || !name)
        return NULL;
    for (size_t i = 0; i < reg->n; i++)
        if (reg->items[i]->kind == kind && strcmp(reg->items[i]->name, name) == 0)
            return reg->items[i];
    return NULL;
}

int ufrpc_registry_add(struct ufrpc_registry *reg, enum ufrpc_tunnel_kind kind, const char *name,
                       const char *type, const void *cfg, uint64_t now_ms,
                       struct ufrpc_tunnel **out)
{
    if (out)
        *out = NULL;
    if (!reg || !name || !name[0])
        return UFRPC_ERR_INVAL;
    if (ufrpc_registry_find(reg, kind, name))
        return UFRPC_ERR_CONFIG_DUPLICATE;
    if (reg->n == reg->cap) {
        size_t ncap = reg->cap ? reg->cap * 2 : 8;
        struct ufrpc_tunnel **items = realloc(reg->items, ncap * sizeof *items);
        if (!items)
            return UFRPC_ERR_NOMEM;
        reg->items = items;
        reg->cap = ncap;
    }
    struct ufrpc_tunnel *t = calloc(1, sizeof *t);
    if (!t)
        return UFRPC_ERR_NOMEM;
    size_t wl = ufrpc_registry_wire_name(reg->user, name, NULL, 0);
    t->name = strdup(name);
    t->type = strdup(type ? type : "");
    t->wire_name = malloc(wl + 1);
    if (!t->name || !t->type || !t->wire_name) {
        tunnel_free(t);
        return UFRPC_ERR_NOMEM;
    }
    ufrpc_registry_wire_name(reg->user, name, t->wire_name, wl + 1);
    t->kind = kind;
    t->cfg = cfg;
    t->state = UFRPC_TUNNEL_NEW;
    t->changed_ms = now_ms;
    reg->items[reg->n++] = t;
    if (out)
        *out = t;
    return 0;
}

int ufrpc_registry_remove(struct ufrpc_registry *reg, enum ufrpc_tunnel_kind kind,
                          const char *name)
{
    if (!reg || !name)
        return UFRPC_ERR_NOT_FOUND;
    for (size_t i = 0; i < reg->n; i++) {
        if (reg->items[i]->kind == kind && strcmp(reg->items[i]->name, name) == 0) {
            tunnel_free(reg->items[i]);
            memmove(&reg->items[i], &reg->items[i + 1], (reg->n - i - 1) * sizeof reg->items[0]);
            reg->n--;
            return 0;
        }
    }
    return UFRPC_ERR_NOT_FOUND;
}

void ufrpc_registry_set_cfg(struct ufrpc_tunnel *t, const void *cfg)
{
    if (t)
        t->cfg = cfg;
}

size_t ufrpc_registry_count(const struct ufrpc_registry *reg)
{
    return reg ? reg->n : 0;
}

struct ufrpc_tunnel *ufrpc_registry_at(struct ufrpc_registry *reg, size_t i)
{
    return reg && i < reg->n ? reg->items[i] : NULL;
}

/* Replaces *field by a copy of s (NULL or "" -> NULL). */
static int set_text(char **field, const char *s)
{
    char *copy = NULL;
    if (s && s[0]) {
        copy = strdup(s);
        if (!copy)
            return UFRPC_ERR_NOMEM;
    }
    free(*field);
    *field = copy;
    return 0;
}

int ufrpc_registry_set_state(struct ufrpc_registry *reg, struct ufrpc_tunnel *t,
                             enum ufrpc_tunnel_state state, const char *err, uint64_t now_ms)
{
    if (!reg || !t)
        return UFRPC_ERR_INVAL;
    int rc = set_text(&t->last_error, err);
    enum ufrpc_tunnel_state old = t->state;
    t->state = state;
    if (old != state) {
        t->changed_ms = now_ms;
        if (reg->on_change)
            reg->on_change(reg->ctx, t, old);
    }
    return rc;
}

int ufrpc_registry_restart(struct ufrpc_registry *reg, struct ufrpc_tunnel *t, const char *type,
                           const void *cfg, uint64_t now_ms)
{
    if (!reg || !t || !type)
        return UFRPC_ERR_INVAL;
    if (strcmp(t->type, type) != 0) {
        char *ty = strdup(type);
        if (!ty)
            return UFRPC_ERR_NOMEM;
        free(t->type);
        t->type = ty;
    }
    t->cfg = cfg;
    free(t->remote_addr);
    t->remote_addr = NULL;
    t->last_send_ms = 0;
    t->last_err_ms = 0;
    return ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_NEW, NULL, now_ms);
}

size_t ufrpc_registry_check(struct ufrpc_registry *reg, uint64_t now_ms,
                            ufrpc_registry_send_fn send_new_proxy,
                            ufrpc_registry_send_fn send_close_proxy, void *ctx)
{
    if (!reg)
        return 0;
    size_t sent = 0;
    reg->checked = 1;
    reg->last_check_ms = now_ms;
    for (size_t i = 0; i < reg->n; i++) {
        struct ufrpc_tunnel *t = reg->items[i];
        if (t->kind != UFRPC_TUNNEL_PROXY || t->state == UFRPC_TUNNEL_CLOSED)
            continue;
        if (!t->unhealthy) {
            int due = t->state == UFRPC_TUNNEL_NEW || t->state == UFRPC_TUNNEL_CHECK_FAILED ||
                      (t->state == UFRPC_TUNNEL_WAIT_START &&
                       now_ms > t->last_send_ms + UFRPC_REGISTRY_WAIT_RESPONSE_MS) ||
                      (t->state == UFRPC_TUNNEL_START_ERROR &&
                       now_ms > t->last_err_ms + UFRPC_REGISTRY_START_ERR_RETRY_MS);
            if (!due)
                continue;
            /* the error text of a previous start error stays visible until answered */
            enum ufrpc_tunnel_state old = t->state;
            t->state = UFRPC_TUNNEL_WAIT_START;
            t->last_send_ms = now_ms;
            if (old != t->state) {
                t->changed_ms = now_ms;
                if (reg->on_change)
                    reg->on_change(reg->ctx, t, old);
            }
            if (send_new_proxy)
                send_new_proxy(ctx, t);
            sent++;
        } else if (t->state == UFRPC_TUNNEL_RUNNING || t->state == UFRPC_TUNNEL_WAIT_START) {
            if (send_close_proxy)
                send_close_proxy(ctx, t);
            (void)ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_CHECK_FAILED, "health check failed",
                                           now_ms);
        }
    }
    return sent;
}

uint64_t ufrpc_registry_next_check_ms(const struct ufrpc_registry *reg, uint64_t now_ms)
{
    if (!reg || !reg->checked)
        return now_ms;
    return reg->last_check_ms + UFRPC_REGISTRY_CHECK_INTERVAL_MS;
}

int ufrpc_registry_on_new_proxy_resp(struct ufrpc_registry *reg, const char *name,
                                     const char *remote_addr, const char *error,
                                     uint64_t now_ms)
{
    struct ufrpc_tunnel *t = ufrpc_registry_find(reg, UFRPC_TUNNEL_PROXY, name);
    if (!t)
        return UFRPC_ERR_NOT_FOUND;
    if (t->state != UFRPC_TUNNEL_WAIT_START)
        return UFRPC_ERR_STATE;
    if (set_text(&t->remote_addr, remote_addr) != 0)
        return UFRPC_ERR_NOMEM;
    if (error && error[0]) {
        t->last_err_ms = now_ms;
        ufrpc_tunnel_error(t, UFRPC_TUNNEL_ERR_START);
        int rc = ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_START_ERROR, error, now_ms);
        return rc ? rc : UFRPC_ERR_PROXY_START;
    }
    return ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_RUNNING, NULL, now_ms);
}

void ufrpc_registry_session_reset(struct ufrpc_registry *reg, uint64_t now_ms)
{
    if (!reg)
        return;
    reg->checked = 0;
    for (size_t i = 0; i < reg->n; i++) {
        struct ufrpc_tunnel *t = reg->items[i];
        if (t->kind != UFRPC_TUNNEL_PROXY || t->state == UFRPC_TUNNEL_CLOSED)
            continue;
        free(t->remote_addr);
        t->remote_addr = NULL;
        t->last_send_ms = 0;
        t->last_err_ms = 0;
        enum ufrpc_tunnel_state old = t->state;
        t->state = UFRPC_TUNNEL_NEW;
        if (old != t->state) {
            t->changed_ms = now_ms;
            if (reg->on_change)
                reg->on_change(reg->ctx, t, old);
        }
    }
}

size_t ufrpc_registry_close_all(struct ufrpc_registry *reg, uint64_t now_ms,
                                ufrpc_registry_send_fn send_close_proxy, void *ctx)
{
    if (!reg)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < reg->n; i++) {
        struct ufrpc_tunnel *t = reg->items[i];
        if (t->state == UFRPC_TUNNEL_CLOSED)
            continue;
        if (t->kind == UFRPC_TUNNEL_PROXY && send_close_proxy) {
            send_close_proxy(ctx, t);
            n++;
        }
        (void)ufrpc_registry_set_state(reg, t, UFRPC_TUNNEL_CLOSED, t->last_error, now_ms);
    }
    return n;
}

void ufrpc_registry_set_health(struct ufrpc_tunnel *t, int healthy)
{
    if (t)
        t->unhealthy = !healthy;
}

void ufrpc_tunnel_conn_opened(struct ufrpc_tunnel *t)
{
    if (!t)
        return;
    t->c.conns_active++;
    t->c.conns_total++;
}

void ufrpc_tunnel_conn_closed(struct ufrpc_tunnel *t)
{
    if (t && t->c.conns_active > 0)
        t->c.conns_active--;
}

void ufrpc_tunnel_add_bytes(struct ufrpc_tunnel *t, uint64_t in, uint64_t out)
{
    if (!t)
        return;
    t->c.bytes_in += in;
    t->c.bytes_out += out;
}

const char *ufrpc_tunnel_err_kind_name(enum ufrpc_tunnel_err_kind k)
{
    static const char *const names[UFRPC_TUNNEL_ERR_KINDS] = {"local_dial", "work_conn",
                                                              "transfer", "plugin", "start"};
    return (unsigned)k < UFRPC_TUNNEL_ERR_KINDS ? names[k] : "other";
}

void ufrpc_tunnel_error(struct ufrpc_tunnel *t, enum ufrpc_tunnel_err_kind kind)
{
    if (!t || (unsigned)kind >= UFRPC_TUNNEL_ERR_KINDS)
        return;
    t->c.errors++;
    t->c.errors_by_kind[kind]++;
}

void ufrpc_tunnel_conn_failed(struct ufrpc_tunnel *t, enum ufrpc_tunnel_err_kind kind)
{
    if (!t)
        return;
    t->c.conns_failed++;
    ufrpc_tunnel_error(t, kind);
}

void ufrpc_tunnel_dial_latency(struct ufrpc_tunnel *t, uint64_t us)
{
    if (t)
        ufrpc_latency_observe(&t->c.dial, us);
}

void ufrpc_tunnel_touch(struct ufrpc_tunnel *t, uint64_t now_ms)
{
    if (t)
        t->c.last_activity_ms = now_ms;
}
