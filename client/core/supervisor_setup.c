/* Supervisor: configuration-derived state (see client/core/supervisor_internal.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/core/proxy_rt.h"
#include "client/core/supervisor_internal.h"
#include "net/xform.h"
#include "proto/error.h"

/* ---- small helpers --------------------------------------------------------- */
void ufrpc_sup_wipe_free(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

double ufrpc_sup_rand01(void *ctx)
{
    ufrpc_sup_t *cl = ctx;
    uint64_t v = 0;
    if (mbedtls_ctr_drbg_random(&cl->drbg, (unsigned char *)&v, sizeof v) != 0)
        return 0.0;
    return (double)(v >> 11) / 9007199254740992.0;
}

void ufrpc_sup_on_reg_change(void *ctx, const struct ufrpc_tunnel *t, enum ufrpc_tunnel_state old)
{
    ufrpc_sup_t *cl = ctx;
    UFRPC_LOGT(cl->log, "[%s] change status from [%s] to [%s]", t->name,
               ufrpc_tunnel_state_name(old), ufrpc_tunnel_state_name(t->state));
    if (cl->on_tunnel)
        cl->on_tunnel(cl->data, t, old);
}

static void on_rt_closed(void *data)
{
    ufrpc_sup_closed_pending(data);
}

/* Closes a tunnel's runtime (async; counted in pending). */
void ufrpc_sup_drop_rt(ufrpc_sup_t *cl, struct ufrpc_tunnel *t)
{
    if (!t->rt)
        return;
    struct ufrpc_proxy_rt *rt = t->rt;
    t->rt = NULL;
    cl->pending++;
    ufrpc_proxy_rt_close(rt, on_rt_closed, cl);
}

static int make_rt(ufrpc_sup_t *cl, struct ufrpc_tunnel *t, const struct ufrpc_proxy_config *pc)
{
    struct ufrpc_proxy_rt *rt = NULL;
    int has_health = 0;
    int rc = ufrpc_proxy_rt_new(cl->loop, cl->log, pc, ufrpc_sup_on_health, cl, &has_health, &rt);
    if (rc)
        return rc;
    t->rt = rt;
    /* frpc announces a health-checked proxy only after its first successful check */
    ufrpc_registry_set_health(t, !has_health);
    return 0;
}

/* Makes the registry hold exactly cfg's proxies and visitors (kept entries keep
 * their counters; their cfg pointers are replaced). */
int ufrpc_sup_sync_registry(ufrpc_sup_t *cl, const struct ufrpc_config *cfg)
{
    uint64_t now = ufrpc_sup_now_ms(cl);
    for (size_t i = ufrpc_registry_count(cl->reg); i-- > 0;) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(cl->reg, i);
        int keep = 0;
        if (t->kind == UFRPC_TUNNEL_PROXY) {
            for (size_t k = 0; k < cfg->nproxies && !keep; k++)
                keep = strcmp(cfg->proxies[k].name, t->name) == 0;
        } else {
            for (size_t k = 0; k < cfg->nvisitors && !keep; k++)
                keep = strcmp(cfg->visitors[k].name, t->name) == 0;
        }
        if (!keep) {
            ufrpc_sup_drop_rt(cl, t);
            ufrpc_registry_remove(cl->reg, t->kind, t->name);
        }
    }
    for (size_t k = 0; k < cfg->nproxies; k++) {
        const struct ufrpc_proxy_config *pc = &cfg->proxies[k];
        struct ufrpc_tunnel *t = ufrpc_registry_find(cl->reg, UFRPC_TUNNEL_PROXY, pc->name);
        if (t) {
            ufrpc_sup_drop_rt(cl, t); /* the configuration may have changed: fresh runtime */
            int rc = ufrpc_registry_restart(cl->reg, t, ufrpc_proxy_type_name(pc->type), pc, now);
            if (rc)
                return rc;
        } else {
            int rc = ufrpc_registry_add(cl->reg, UFRPC_TUNNEL_PROXY, pc->name,
                                        ufrpc_proxy_type_name(pc->type), pc, now, &t);
            if (rc)
                return rc;
        }
        int rc = make_rt(cl, t, pc);
        if (rc)
            return rc;
    }
    for (size_t k = 0; k < cfg->nvisitors; k++) {
        const struct ufrpc_visitor_config *vc = &cfg->visitors[k];
        struct ufrpc_tunnel *t = ufrpc_registry_find(cl->reg, UFRPC_TUNNEL_VISITOR, vc->name);
        if (t) {
            ufrpc_registry_set_cfg(t, vc);
        } else {
            int rc = ufrpc_registry_add(cl->reg, UFRPC_TUNNEL_VISITOR, vc->name,
                                        ufrpc_visitor_type_name(vc->type), vc, now, NULL);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static const struct ufrpc_proxy_config *find_proxy(const struct ufrpc_config *cfg,
                                                   const char *name)
{
    for (size_t k = 0; k < cfg->nproxies; k++)
        if (strcmp(cfg->proxies[k].name, name) == 0)
            return &cfg->proxies[k];
    return NULL;
}

void ufrpc_sup_names_add(struct ufrpc_sup_names *l, const char *name)
{
    static const char more[] = " ...";
    size_t cap = sizeof l->buf - sizeof more; /* room kept for the marker */
    if (l->len >= cap)
        return; /* already full (marked) */
    size_t n = strlen(name) + (l->len ? 1 : 0);
    if (l->len + n >= cap) {
        memcpy(l->buf + l->len, more, sizeof more);
        l->len = cap;
        return;
    }
    snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s%s", l->len ? " " : "", name);
    l->len += n;
}

int ufrpc_sup_diff_proxies(ufrpc_sup_t *cl, const struct ufrpc_config *cfg, int live,
                           struct ufrpc_sup_diff *d)
{
    uint64_t now = ufrpc_sup_now_ms(cl);
    int first = 0;
    for (size_t i = 0; i < ufrpc_registry_count(cl->reg);) {
        struct ufrpc_tunnel *t = ufrpc_registry_at(cl->reg, i);
        if (t->kind != UFRPC_TUNNEL_PROXY) {
            i++;
            continue;
        }
        const struct ufrpc_proxy_config *pc = find_proxy(cfg, t->name);
        if (pc && ufrpc_proxy_config_equal(t->cfg, pc)) {
            d->unchanged++; /* entry, state, runtime and connections untouched */
            i++;
            continue;
        }
        if (live && t->state != UFRPC_TUNNEL_CLOSED) {
            int rc = ufrpc_ctl_close_proxy(cl->ctl, t);
            if (rc && !first)
                first = rc;
        }
        ufrpc_sup_drop_rt(cl, t);
        int rc = 0;
        if (pc) {
            rc = ufrpc_registry_restart(cl->reg, t, ufrpc_proxy_type_name(pc->type), pc, now);
            if (!rc) {
                UFRPC_LOGD(cl->log, "reload: proxy [%s] changed, restarted", t->name);
                ufrpc_sup_names_add(&d->removed_names, t->name);
                ufrpc_sup_names_add(&d->added_names, t->name);
                d->changed++;
                rc = make_rt(cl, t, pc); /* on failure: no runtime (logged as an error) */
                i++;
                if (rc && !first)
                    first = rc;
                continue;
            }
        }
        if (rc && !first)
            first = rc;
        if (rc)
            UFRPC_LOGW(cl->log, "reload: proxy [%s] removed (cannot restart it)", t->name);
        ufrpc_sup_names_add(&d->removed_names, t->name);
        ufrpc_registry_remove(cl->reg, t->kind, t->name);
        d->removed++;
    }
    for (size_t k = 0; k < cfg->nproxies; k++) {
        const struct ufrpc_proxy_config *pc = &cfg->proxies[k];
        if (ufrpc_registry_find(cl->reg, UFRPC_TUNNEL_PROXY, pc->name))
            continue;
        struct ufrpc_tunnel *t = NULL;
        int rc = ufrpc_registry_add(cl->reg, UFRPC_TUNNEL_PROXY, pc->name,
                                    ufrpc_proxy_type_name(pc->type), pc, now, &t);
        if (!rc) {
            ufrpc_sup_names_add(&d->added_names, pc->name);
            d->added++;
            rc = make_rt(cl, t, pc);
        }
        if (rc && !first)
            first = rc;
    }
    if (first)
        UFRPC_LOGE(cl->log, "reload: applying the proxies: %s", ufrpc_strerror(first));
    return first;
}

/* ---- retired configurations ------------------------------------------------ */
int ufrpc_sup_retire_reserve(ufrpc_sup_t *cl)
{
    if (cl->nretired < cl->capretired)
        return 0;
    size_t ncap = cl->capretired ? cl->capretired * 2 : 4;
    struct ufrpc_config **p = realloc(cl->retired, ncap * sizeof *p);
    if (!p)
        return UFRPC_ERR_NOMEM;
    cl->retired = p;
    cl->capretired = ncap;
    return 0;
}

void ufrpc_sup_retire(ufrpc_sup_t *cl, struct ufrpc_config *cfg)
{
    /* room was reserved; the fallback only guards against a caller's mistake */
    if (cl->nretired < cl->capretired)
        cl->retired[cl->nretired++] = cfg;
    else
        UFRPC_LOGE(cl->log, "internal: no room to retire a configuration (kept, leaked)");
}

static int cfg_referenced(ufrpc_sup_t *cl, const struct ufrpc_config *c)
{
    for (size_t i = 0; i < ufrpc_registry_count(cl->reg); i++) {
        const struct ufrpc_tunnel *t = ufrpc_registry_at(cl->reg, i);
        if (t->kind == UFRPC_TUNNEL_PROXY) {
            for (size_t k = 0; k < c->nproxies; k++)
                if (t->cfg == (const void *)&c->proxies[k])
                    return 1;
        } else {
            for (size_t k = 0; k < c->nvisitors; k++)
                if (t->cfg == (const void *)&c->visitors[k])
                    return 1;
        }
    }
    return 0;
}

void ufrpc_sup_release_retired(ufrpc_sup_t *cl)
{
    if (cl->pending > 0)
        return; /* a closing runtime (plugin) or connector may still read its config */
    for (size_t i = cl->nretired; i-- > 0;) {
        if (cfg_referenced(cl, cl->retired[i]))
            continue;
        ufrpc_config_free(cl->retired[i]);
        cl->retired[i] = cl->retired[--cl->nretired];
    }
}

void ufrpc_sup_free_retired(ufrpc_sup_t *cl)
{
    for (size_t i = 0; i < cl->nretired; i++)
        ufrpc_config_free(cl->retired[i]);
    free(cl->retired);
    cl->retired = NULL;
    cl->nretired = cl->capretired = 0;
}

/* TLS context and control key for cfg. */
/* Reads auth.tokenSource (type "file") as frpc does: the whole file, surrounding
 * whitespace trimmed. *out is malloc'd (caller wipes and frees). */
static int read_token_file(ufrpc_sup_t *cl, const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        UFRPC_LOGE(cl->log, "failed to resolve auth.tokenSource: failed to read file %s: %s",
                   path, strerror(errno));
        return UFRPC_ERR_CONFIG_IO;
    }
    char *buf = malloc(65537);
    if (!buf) {
        fclose(f);
        return UFRPC_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, 65537, f);
    fclose(f);
    if (n > 65536) {
        free(buf);
        UFRPC_LOGE(cl->log, "failed to resolve auth.tokenSource: file %s is too large", path);
        return UFRPC_ERR_CONFIG_VALUE;
    }
    size_t a = 0, b = n;
    while (a < b && strchr(" \t\r\n\v\f", buf[a]) && buf[a])
        a++;
    while (b > a && strchr(" \t\r\n\v\f", buf[b - 1]) && buf[b - 1])
        b--;
    memmove(buf, buf + a, b - a);
    buf[b - a] = '\0';
    *out = buf;
    return 0;
}

/* auth.tokenSource exec's settings as one string (command, args, env; NUL-free
 * fields joined by \x1f), to tell whether a reload changed them. */
static char *exec_signature(const struct ufrpc_cfg_value_source *vs)
{
    size_t n = strlen(ufrpc_cfg_str(vs->exec_command)) + 2;
    for (size_t i = 0; i < vs->exec_args.len; i++)
        n += strlen(vs->exec_args.items[i]) + 1;
    for (size_t i = 0; i < vs->exec_env.len; i++)
        n += strlen(vs->exec_env.items[i].key) + strlen(vs->exec_env.items[i].value) + 2;
    char *s = malloc(n);
    if (s == NULL)
        return NULL;
    size_t o = (size_t)snprintf(s, n, "%s\x1f", ufrpc_cfg_str(vs->exec_command));
    for (size_t i = 0; i < vs->exec_args.len; i++)
        o += (size_t)snprintf(s + o, n - o, "%s\x1f", vs->exec_args.items[i]);
    for (size_t i = 0; i < vs->exec_env.len; i++)
        o += (size_t)snprintf(s + o, n - o, "%s=%s\x1f", vs->exec_env.items[i].key,
                              vs->exec_env.items[i].value);
    return s;
}

/* The token of auth.tokenSource exec: the one resolved before start (frpc runs the
 * command once); a reload may not change the command. */
static int exec_token(ufrpc_sup_t *cl, const struct ufrpc_config *cfg, char **out)
{
    if (cl->exec_token == NULL) {
        UFRPC_LOGE(cl->log, "auth.tokenSource exec: the command runs once, at start; restart "
                            "ufrpc to use it");
        return UFRPC_ERR_UNSUPPORTED;
    }
    char *sig = exec_signature(&cfg->auth.token_source);
    if (sig == NULL)
        return UFRPC_ERR_NOMEM;
    if (cl->exec_sig == NULL) {
        cl->exec_sig = sig;
    } else {
        bool same = strcmp(sig, cl->exec_sig) == 0;
        free(sig);
        if (!same) {
            UFRPC_LOGE(cl->log, "auth.tokenSource.exec changed: the command runs once, at start "
                                "(as frpc's); restart ufrpc to use the new one");
            return UFRPC_ERR_UNSUPPORTED;
        }
    }
    return (*out = strdup(cl->exec_token)) ? 0 : UFRPC_ERR_NOMEM;
}

/* What ufrpc cannot do yet must not be silently done wrong. */
static int check_supported(ufrpc_sup_t *cl, const struct ufrpc_config *cfg)
{
    const char *proto = ufrpc_cfg_str(cfg->transport.protocol);
    if (proto[0] && strcmp(proto, "tcp") != 0 && strcmp(proto, "websocket") != 0 &&
        strcmp(proto, "wss") != 0 && strcmp(proto, "quic") != 0 && strcmp(proto, "kcp") != 0) {
        UFRPC_LOGE(cl->log,
                   "transport.protocol = \"%s\" is not supported by ufrpc yet (tcp, kcp, quic, "
                   "websocket and wss only)",
                   proto);
        return UFRPC_ERR_UNSUPPORTED;
    }
    const char *wire = ufrpc_cfg_str(cfg->transport.wire_protocol);
    if (wire[0] && strcmp(wire, "v1") != 0 && strcmp(wire, "v2") != 0) {
        UFRPC_LOGE(cl->log, "transport.wireProtocol = \"%s\" is not supported (v1 or v2)", wire);
        return UFRPC_ERR_UNSUPPORTED;
    }
    if (strcmp(wire, "v2") == 0) {
        /* v2 is wired for the control, work and visitor streams and udp/sudp
         * channels; xtcp (NatHole) still speaks v1 framing only. */
        for (size_t i = 0; i < cfg->nvisitors; i++) {
            if (cfg->visitors[i].type == UFRPC_VISITOR_XTCP) {
                UFRPC_LOGE(cl->log, "transport.wireProtocol = \"v2\" with xtcp visitors is not "
                                    "supported by ufrpc yet");
                return UFRPC_ERR_UNSUPPORTED;
            }
        }
        for (size_t i = 0; i < cfg->nproxies; i++) {
            ufrpc_proxy_type t = cfg->proxies[i].type;
            if (t == UFRPC_PROXY_XTCP) {
                UFRPC_LOGE(cl->log, "transport.wireProtocol = \"v2\" with %s proxies is not "
                                    "supported by ufrpc yet",
                           ufrpc_proxy_type_name(t));
                return UFRPC_ERR_UNSUPPORTED;
            }
        }
    }
    const char *method = ufrpc_cfg_str(cfg->auth.method);
    if (strcmp(method, "oidc") == 0 && cfg->auth.oidc.token_source.present) {
        UFRPC_LOGE(cl->log, "auth.oidc.tokenSource is not supported by ufrpc yet");
        return UFRPC_ERR_UNSUPPORTED;
    }
    if (method[0] && strcmp(method, "token") != 0 && strcmp(method, "oidc") != 0) {
        UFRPC_LOGE(cl->log, "auth.method = \"%s\" is not supported by ufrpc yet", method);
        return UFRPC_ERR_UNSUPPORTED;
    }
    return 0;
}

/* Resolved token, TLS context and control key for cfg. On success the caller owns
 * *token (wipe and free) and *tls. */
int ufrpc_sup_setup_crypto(ufrpc_sup_t *cl, const struct ufrpc_config *cfg, char **token,
                        ufrpc_tls_ctx_t **tls, uint8_t key[UFRPC_CFB_KEY_LEN])
{
    *tls = NULL;
    *token = NULL;
    int rc = check_supported(cl, cfg);
    if (rc)
        return rc;
    if (cfg->auth.token_source.present &&
        strcmp(ufrpc_cfg_str(cfg->auth.token_source.type), "file") == 0)
        rc = read_token_file(cl, ufrpc_cfg_str(cfg->auth.token_source.file_path), token);
    else if (cfg->auth.token_source.present &&
             strcmp(ufrpc_cfg_str(cfg->auth.token_source.type), "exec") == 0)
        rc = exec_token(cl, cfg, token);
    else if (cfg->auth.token_source.present)
        rc = UFRPC_ERR_UNSUPPORTED;
    else
        rc = (*token = strdup(ufrpc_cfg_str(cfg->auth.token))) ? 0 : UFRPC_ERR_NOMEM;
    if (rc)
        return rc;
    rc = ufrpc_cfb_derive_key((const uint8_t *)*token, strlen(*token), key);
    /* wss always runs TLS, whatever transport.tls.enable says (frp connector.go) */
    if (!rc && (cfg->transport.tls.enable ||
                strcmp(ufrpc_cfg_str(cfg->transport.protocol), "wss") == 0)) {
        struct ufrpc_tls_client_opts o = {
            .ca_file = cfg->transport.tls.files.trusted_ca_file,
            .cert_file = cfg->transport.tls.files.cert_file,
            .key_file = cfg->transport.tls.files.key_file,
        };
        rc = ufrpc_tls_client_ctx_new(&o, tls);
        if (rc)
            UFRPC_LOGE(cl->log, "load TLS configuration error: %s", ufrpc_strerror(rc));
    }
    if (rc) {
        memset(*token, 0, strlen(*token));
        free(*token);
        *token = NULL;
    }
    return rc;
}

