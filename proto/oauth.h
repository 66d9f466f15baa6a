/* ufrpc — OAuth 2.0 client-credentials token requests (RFC 6749 §4.4), sans-I/O:
 * the request bytes frpc's OIDC auth sends (frp pkg/auth/oidc.go through
 * golang.org/x/oauth2/clientcredentials) and the parse of the token answer.
 *
 * What Go sends, and so this: POST to the token endpoint's path, form body
 * grant_type=client_credentials, scope (sent even when empty: frp passes a
 * one-element scope list), the additional endpoint parameters and audience;
 * the client credentials either in an Authorization: Basic header (both parts
 * form-escaped first, as x/oauth2 does) or, as x/oauth2's auto-detection falls
 * back to when the header form is refused, as client_id/client_secret in the
 * body. Keys of the body are in sorted order, as url.Values.Encode writes them.
 *
 * Ownership: nothing is kept; outputs go to the caller's buffers, except the
 * parsed access token, which is malloc'd (see ufrpc_oauth_token_free). */
#ifndef UFRPC_PROTO_OAUTH_H
#define UFRPC_PROTO_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A parsed http:// or https:// URL. path includes the query ("/" when empty). */
struct ufrpc_url {
    bool https;
    char host[256]; /* without brackets */
    uint16_t port;  /* explicit, or 80/443 */
    char hostport[272]; /* as the Host header writes it (port only when explicit) */
    char path[1024];
};

/* 0, UFRPC_ERR_INVAL (not http(s), no host, bad port), UFRPC_ERR_LIMIT (too long). */
int ufrpc_url_parse(const char *url, struct ufrpc_url *out);

struct ufrpc_oauth_param {
    const char *key, *value;
};

struct ufrpc_oauth_req {
    const struct ufrpc_url *url;
    const char *client_id, *client_secret;
    const char *scope;     /* sent as is, also when "" */
    const char *audience;  /* NULL/"": not sent */
    const struct ufrpc_oauth_param *params; /* additionalEndpointParams */
    size_t nparams;
    bool creds_in_body;    /* false: Authorization: Basic; true: client_id/secret in body */
};

/* Writes the whole HTTP/1.1 request (head and body). 0 and *len, UFRPC_ERR_LIMIT
 * (cap too small), UFRPC_ERR_INVAL (missing url). */
int ufrpc_oauth_build_request(const struct ufrpc_oauth_req *r, char *out, size_t cap,
                              size_t *len);

struct ufrpc_oauth_token {
    char *access_token; /* malloc'd */
    int64_t expires_in; /* seconds; 0 when the answer had none (no caching, as frp) */
};

/* Parses a 2xx answer's JSON body. 0, UFRPC_ERR_JSON (not a JSON object),
 * UFRPC_ERR_NOT_FOUND (no non-empty "access_token": x/oauth2's "server response
 * missing access_token"), UFRPC_ERR_NOMEM. expires_in may be a number or a
 * numeric string. */
int ufrpc_oauth_parse_token(const char *body, size_t len, struct ufrpc_oauth_token *t);
void ufrpc_oauth_token_free(struct ufrpc_oauth_token *t);

#endif
