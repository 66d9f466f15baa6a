/* libufrpc internals shared by client/ufrpc_*.c and the ufrpc program (client/cli/cli.c);
 * not installed (nor exported by libufrpc.so). The public API is client/ufrpc.h.
 *
 *   ufrpc_spec.c    tunnel specifications, and the dotted-key JSON setter that the
 *                   client's own settings use too
 *   ufrpc_client.c  the client: configuration document, start, the reload diff
 *                   for every change, state events, stop
 *   ufrpc_thread.c  thread mode: the loop's thread; a call made off it is queued,
 *                   handed over by a uv_async_t, run on the loop, and waited for
 *
 * A client keeps its configuration as one JSON document in frpc's keys (what
 * ufrpc_config_to_json writes). Every change edits a copy of it, loads the copy
 * with the config layer (all of frpc's checks) and, once running, hands the result
 * to the supervisor's reload, whose diff leaves unchanged tunnels alone. */
#ifndef UFRPC_CLIENT_UFRPC_INTERNAL_H
#define UFRPC_CLIENT_UFRPC_INTERNAL_H

#include <json-c/json.h>

#include "client/core/log.h"
#include "client/core/supervisor.h"
#include "client/lib/ufrpc.h"
#include "config/config.h"

struct ufrpc_spec {
    int kind;
    json_object *obj; /* the proxy or visitor table, "type" included */
};

/* Sets the dotted key ("transport.tls.enable") under root to val (taken, also on
 * failure), creating the tables on the way. 0, UFRPC_ERR_INVAL (empty or too long
 * key, or a step that is not a table) or UFRPC_ERR_NOMEM. */
int ufrpc__json_set(json_object *root, const char *key, json_object *val);
/* The value at a dotted key, or NULL. */
json_object *ufrpc__json_get(json_object *root, const char *key);

/* ---- for the ufrpc program ----
 * What client/cli/cli.c needs beyond ufrpc.h: its own logger (console colours, JSON,
 * buffered file), frpc's messages for each step of a reload, the admin API's view
 * of the supervisor, and auth.tokenSource exec's token (resolved by the program,
 * which decides whether exec is allowed). Loop mode only: called on the loop's
 * thread (or before start). */

/* Loads the file or text of the last ufrpc_client_load_* again (strict or not, as
 * the admin API's request says; ufrpc_client_set_strict is not consulted) without
 * applying it: 0 and *out (the caller's: give it to ufrpc__client_use_config or
 * free it), or <0 (the errors in ufrpc__client_diag and last_error; UFRPC_ERR_STATE
 * when nothing was loaded). ufrpc_client_reload is this, then use_config. */
int ufrpc__client_load_source(ufrpc_client *c, int strict, struct ufrpc_config **out);
/* The diagnostics (errors, warnings, notices) of the client's last load (by
 * ufrpc_client_load_* or ufrpc__client_load_source): valid until the next one. */
const struct ufrpc_cfg_diag *ufrpc__client_diag(const ufrpc_client *c);
/* Replaces the configuration with cfg (taken). Before start: the start uses it.
 * Running: as a reload (the supervisor's diff, or a new login when server settings
 * changed). 0 or <0 (last_error says whether it was refused or applied in part). */
int ufrpc__client_use_config(ufrpc_client *c, struct ufrpc_config *cfg);
/* The configuration in effect: the supervisor's once prepared (until its next
 * reload), before that the one loaded (until the next load or change); NULL when
 * none was loaded and nothing changed since. */
const struct ufrpc_config *ufrpc__client_config(const ufrpc_client *c);
/* auth.tokenSource exec's token (copied, wiped when freed), given to the
 * supervisor at start: before start only. 0, UFRPC_ERR_STATE or UFRPC_ERR_NOMEM. */
int ufrpc__client_set_exec_token(ufrpc_client *c, const char *token);
/* The first half of ufrpc_client_start (loop mode): the supervisor exists (so
 * ufrpc__client_sup works and ufrpc_client_stop stops it) but has not started to
 * log in; ufrpc_client_start(c, same loop) does. The program starts its admin API
 * in between, as frpc listens before its first login. 0 or <0. */
int ufrpc__client_prepare(ufrpc_client *c, uv_loop_t *loop);
/* Logger (borrowed; must outlive the client) instead of one made from log.*. */
void ufrpc__client_set_log(ufrpc_client *c, struct ufrpc_log *log);
/* The supervisor (NULL before prepare/start): registry, configuration and metrics
 * for the admin API. Valid until ufrpc_client_free. */
ufrpc_sup_t *ufrpc__client_sup(ufrpc_client *c);

/* ---- between ufrpc_client.c and ufrpc_thread.c ---- */
typedef int (*ufrpc__op_fn)(ufrpc_client *c, void *arg);
struct ufrpc__thread;
/* Thread mode: creates a loop, its async handle and, after init(c, loop) succeeded
 * (run on the caller's thread before the thread exists), the thread running the
 * loop until nothing is left on it. 0 or <0 (then nothing remains). */
int ufrpc__thread_start(ufrpc_client *c, int (*init)(ufrpc_client *c, uv_loop_t *loop),
                        struct ufrpc__thread **out);
/* Runs op(c, arg) on the loop and waits for its result: *ran = 0 when the caller is
 * the loop's own thread (the caller runs op itself). UFRPC_ERR_STATE once closed. */
int ufrpc__thread_call(struct ufrpc__thread *t, ufrpc__op_fn op, ufrpc_client *c, void *arg,
                       int *ran);
/* On the loop: closes the async handle (cb when closed); queued and later calls
 * fail with UFRPC_ERR_STATE. */
void ufrpc__thread_close(struct ufrpc__thread *t, void (*cb)(ufrpc_client *c));
/* Joins the thread and frees the loop and everything else (ufrpc_client_free). */
void ufrpc__thread_join(struct ufrpc__thread *t);

#endif
