/* ufrpc — OAuth 2.0 client-credentials requests and answers (see oauth.h). */
#include "proto/oauth.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base64.h"
#include "proto/error.h"
#include "proto/gojson.h"

int ufrpc_url_parse(const char *url, struct ufrpc_url *out)
{
    memset(out, 0, sizeof *out);
    const char *p;
    if (url == NULL)
        return UFRPC_ERR_INVAL;
    if (strncmp(url, "https://", 8) == 0) {
        out->https = true;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return UFRPC_ERR_INVAL;
    }
    size_t alen = strcspn(p, "/?#");
    const char *auth = p, *rest = p + alen;
    if (memchr(auth, '@', alen) != NULL) /* no userinfo in a token URL */
        return UFRPC_ERR_INVAL;
    const char *host = auth, *port = NULL;
    size_t hlen = alen;
    if (alen > 0 && auth[0] == '[') {
        const char *rb = memchr(auth, ']', alen);
        if (rb == NULL)
            return UFRPC_ERR_INVAL;
        host = auth + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < auth + alen) {
            if (rb[1] != ':')
                return UFRPC_ERR_INVAL;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        if (colon != NULL) {
            hlen = (size_t)(colon - auth);
            port = colon + 1;
        }
    }
    if (hlen == 0)
        return UFRPC_ERR_INVAL;
    if (hlen >= sizeof out->host || alen >= sizeof out->hostport)
        return UFRPC_ERR_LIMIT;
    memcpy(out->host, host, hlen);
    memcpy(out->hostport, auth, alen);
    out->port = out->https ? 443 : 80;
    if (port != NULL) {
        size_t plen = (size_t)(auth + alen - port);
        if (plen == 0 || plen > 5)
            return UFRPC_ERR_INVAL;
        unsigned v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9')
                return UFRPC_ERR_INVAL;
            v = v * 10 + (unsigned)(port[i] - '0');
        }
        if (v == 0 || v > 65535)
            return UFRPC_ERR_INVAL;
        out->port = (uint16_t)v;
    }
    size_t rlen = strcspn(rest, "#");
    if (rlen == 0) {
        out->path[0] = '/';
    } else {
        if (rlen >= sizeof out->path)
            return UFRPC_ERR_LIMIT;
        if (rest[0] == '?') { /* "host?q" → "/?q" */
            if (rlen + 1 >= sizeof out->path)
                return UFRPC_ERR_LIMIT;
            out->path[0] = '/';
            memcpy(out->path + 1, rest, rlen);
        } else {
            memcpy(out->path, rest, rlen);
        }
    }
    return 0;
}

/* ---- a bounded text buffer ---------------------------------------------------- */
struct tb {
    char *p;
    size_t len, cap;
    int over;
};

static void tb_put(struct tb *b, const char *s, size_t n)
{
    if (b->over || n > b->cap - b->len) {
        b->over = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void tb_str(struct tb *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

/* Go's url.QueryEscape: unreserved kept, space as '+', the rest %XX. */
static void tb_escape(struct tb *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            tb_put(b, (const char *)c, 1);
        } else if (*c == ' ') {
            tb_put(b, "+", 1);
        } else {
            char e[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            tb_put(b, e, 3);
        }
    }
}

/* ---- the form body, keys sorted as url.Values.Encode ------------------------------ */
#define MAX_FORM 64

static int cmp_param(const void *a, const void *b)
{
    const struct ufrpc_oauth_param *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static int build_body(const struct ufrpc_oauth_req *r, struct tb *b)
{
    struct ufrpc_oauth_param f[MAX_FORM];
    size_t n = 0;
    if (r->nparams > MAX_FORM - 5)
        return UFRPC_ERR_LIMIT;
    f[n++] = (struct ufrpc_oauth_param){"grant_type", "client_credentials"};
    f[n++] = (struct ufrpc_oauth_param){"scope", r->scope ? r->scope : ""};
    for (size_t i = 0; i < r->nparams; i++)
        f[n++] = r->params[i];
    if (r->audience != NULL && r->audience[0] != '\0')
        f[n++] = (struct ufrpc_oauth_param){"audience", r->audience};
    if (r->creds_in_body) {
        f[n++] = (struct ufrpc_oauth_param){"client_id", r->client_id ? r->client_id : ""};
        if (r->client_secret != NULL && r->client_secret[0] != '\0')
            f[n++] = (struct ufrpc_oauth_param){"client_secret", r->client_secret};
    }
    qsort(f, n, sizeof f[0], cmp_param); /* (a key given twice: both are sent) */
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            tb_put(b, "&", 1);
        tb_escape(b, f[i].key);
        tb_put(b, "=", 1);
        tb_escape(b, f[i].value);
    }
    return b->over ? UFRPC_ERR_LIMIT : 0;
}

int ufrpc_oauth_build_request(const struct ufrpc_oauth_req *r, char *out, size_t cap,
                              size_t *len)
{
    if (r == NULL || r->url == NULL)
        return UFRPC_ERR_INVAL;
    char body[4096];
    struct tb bb = {body, 0, sizeof body, 0};
    int rc = build_body(r, &bb);
    if (rc < 0)
        return rc;
    struct tb b = {out, 0, cap, 0};
    tb_str(&b, "POST ");
    tb_str(&b, r->url->path);
    tb_str(&b, " HTTP/1.1\r\nHost: ");
    tb_str(&b, r->url->hostport);
    tb_str(&b, "\r\nUser-Agent: Go-http-client/1.1\r\n");
    char cl[48];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", bb.len);
    tb_str(&b, cl);
    if (!r->creds_in_body) {
        char cred[1024];
        struct tb cb = {cred, 0, sizeof cred, 0};
        tb_escape(&cb, r->client_id ? r->client_id : "");
        tb_put(&cb, ":", 1);
        tb_escape(&cb, r->client_secret ? r->client_secret : "");
        if (cb.over)
            return UFRPC_ERR_LIMIT;
        char enc[1400];
        if (ufrpc_base64_encoded_len(cb.len) + 1 > sizeof enc)
            return UFRPC_ERR_LIMIT;
        size_t elen = ufrpc_base64_encode((const uint8_t *)cred, cb.len, enc);
        tb_str(&b, "Authorization: Basic ");
        tb_put(&b, enc, elen);
        tb_str(&b, "\r\n");
        memset(cred, 0, sizeof cred);
        memset(enc, 0, sizeof enc);
    }
    tb_str(&b, "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n\r\n");
    tb_put(&b, body, bb.len);
    memset(body, 0, sizeof body);
    if (b.over)
        return UFRPC_ERR_LIMIT;
    *len = b.len;
    return 0;
}

int ufrpc_oauth_parse_token(const char *body, size_t len, struct ufrpc_oauth_token *t)
{
    memset(t, 0, sizeof *t);
    enum json_tokener_error je;
    json_object *o;
    if (ufrpc_gojson_parse(body, len, &o, &je) == UFRPC_ERR_NOMEM) /* x/oauth2: json.Unmarshal */
        return UFRPC_ERR_NOMEM;
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return UFRPC_ERR_JSON;
    }
    int rc = UFRPC_ERR_NOT_FOUND;
    json_object *at, *ei;
    if (json_object_object_get_ex(o, "access_token", &at) &&
        json_object_is_type(at, json_type_string) && json_object_get_string_len(at) > 0) {
        t->access_token = strdup(json_object_get_string(at));
        rc = t->access_token != NULL ? 0 : UFRPC_ERR_NOMEM;
    }
    if (rc == 0 && json_object_object_get_ex(o, "expires_in", &ei)) {
        if (json_object_is_type(ei, json_type_int) || json_object_is_type(ei, json_type_double))
            t->expires_in = json_object_get_int64(ei);
        else if (json_object_is_type(ei, json_type_string))
            t->expires_in = strtoll(json_object_get_string(ei), NULL, 10);
        if (t->expires_in < 0)
            t->expires_in = 0;
    }
    json_object_put(o);
    return rc;
}

void ufrpc_oauth_token_free(struct ufrpc_oauth_token *t)
{
    if (t->access_token != NULL) {
        memset(t->access_token, 0, strlen(t->access_token));
        free(t->access_token);
    }
    t->access_token = NULL;
}
