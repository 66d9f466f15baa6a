/* ufrpc — auth.method = "oidc": the OAuth 2.0 client-credentials token that frpc
 * puts in Login (and, with additionalScopes, in Ping and NewWorkConn) as
 * privilege_key (frp pkg/auth/oidc.go).
 *
 * The token comes from auth.oidc.tokenEndpointURL (http or https; TLS verified
 * against auth.oidc.trustedCaFile, or the system bundle, unless
 * insecureSkipVerify; through auth.oidc.proxyURL when set), with clientID /
 * clientSecret, audience, scope and additionalEndpointParams, as
 * golang.org/x/oauth2/clientcredentials asks for it (proto/oauth.h): the client
 * credentials go in a Basic header first, and in the body when the server
 * refuses that (x/oauth2's auto-detection), remembered afterwards. A token with
 * expires_in is kept until 10 s before it expires (x/oauth2's expiryDelta); one
 * without is fetched anew for every use, as frp does.
 *
 * One request at a time, driven by the loop: ufrpc_oidc_get's callback runs once,
 * never from inside the call. Errors are worded as frpc's: "couldn't generate
 * OIDC token for login: oauth2: cannot fetch token: 401 Unauthorized ...".
 *
 * Ownership: the fetcher copies what it needs from the configuration at _new;
 * ufrpc_oidc_free cancels a pending get (its callback does not run) and frees
 * everything once the connection in flight has closed. Secrets are wiped. */
#ifndef UFRPC_CLIENT_OIDC_H
#define UFRPC_CLIENT_OIDC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

typedef struct ufrpc_oidc ufrpc_oidc_t;

/* status 0: token (valid during the callback only); else <0 and err (one line). */
typedef void (*ufrpc_oidc_cb)(void *data, int status, const char *token, const char *err);

/* 0 and *out, or UFRPC_ERR_INVAL (bad tokenEndpointURL; err says why),
 * UFRPC_ERR_TLS (CA file or system bundle unreadable), UFRPC_ERR_NOMEM. */
int ufrpc_oidc_new(uv_loop_t *loop, const struct ufrpc_config *cfg, ufrpc_oidc_t **out,
                   char *err, size_t errcap);

/* Starts getting a token (cached or fetched); cb runs once, later. 0, or
 * UFRPC_ERR_STATE when a get is already pending. */
int ufrpc_oidc_get(ufrpc_oidc_t *o, ufrpc_oidc_cb cb, void *data);

/* The token the last successful get returned while it is still valid (expires_in
 * known, more than 10 s left), else NULL. For Ping/NewWorkConn. */
const char *ufrpc_oidc_cached(const ufrpc_oidc_t *o);

void ufrpc_oidc_free(ufrpc_oidc_t *o);

/* Where ufrpc looks for the system's CA bundle when no trustedCaFile is given. */
#define UFRPC_SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

#endif
