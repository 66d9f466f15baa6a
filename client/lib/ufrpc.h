/* libufrpc — the ufrpc frp client as a C library (installed as <ufrpc.h>).
 *
 * A client is an opaque object holding one frpc configuration (the same keys as
 * frpc.toml: serverAddr, serverPort, auth.token, transport.*, proxies, visitors) and,
 * once started, one session with frps: login, reconnect with frpc's backoff, work
 * connections, health checks, as the `ufrpc` program does (which is built on this
 * API). Proxies and visitors can be added, changed and removed while it runs: each
 * change goes through the same diff as a configuration reload, so tunnels left
 * unchanged keep their registration and their connections.
 *
 *     ufrpc_client *c;
 *     ufrpc_client_new(&c);
 *     ufrpc_client_set_str(c, "serverAddr", "frps.example.com");
 *     ufrpc_client_set_str(c, "auth.token", "secret");
 *     ufrpc_spec *s;
 *     ufrpc_spec_new(UFRPC_PROXY, "tcp", &s);
 *     ufrpc_spec_set_int(s, "localPort", 22);
 *     ufrpc_spec_set_int(s, "remotePort", 6000);
 *     ufrpc_client_add(c, s, NULL, 0);      (the name is generated: "proxy-1")
 *     ufrpc_spec_free(s);
 *     ufrpc_client_start(c, loop);          (or ufrpc_client_start_thread(c))
 *
 * Errors: every function that can fail returns 0 or a negative code (the UFRPC_E_*
 * values below, or another negative value: all are described by ufrpc_strerror).
 * ufrpc_client_last_error() gives the full text of a client's last failure (with
 * file:line for configuration errors).
 *
 * Threads. A client runs on one libuv loop:
 *   - loop mode (ufrpc_client_start): the caller's loop; every ufrpc_client_* call
 *     and every callback happens on the thread running that loop.
 *   - thread mode (ufrpc_client_start_thread): the client's own loop on its own
 *     thread. Calls may come from any thread: each one is handed to the loop through
 *     a uv_async_t and waits for its result (so a call returns after its effect,
 *     e.g. the diff of ufrpc_client_add, has been applied). Callbacks run on the
 *     client's thread; from a callback, calls run at once (never wait).
 * Before a start, calls only change the configuration and may come from any one
 * thread at a time. A ufrpc_spec is a plain value: one thread at a time.
 *
 * Callbacks must not block. A state callback may call any ufrpc_client_* function
 * except ufrpc_client_free. No global state: clients are independent, any number may
 * live in one process (each with its own session, logger and random generator).
 *
 * Ownership: every object here is created by its *_new and freed by its *_free;
 * strings passed in are copied; strings returned are the object's, valid as each
 * function says. Nothing is shared between clients. */
#ifndef UFRPC_H
#define UFRPC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UFRPC_VERSION_STRING "0.1.0"

/* The library's version ("0.1.0"), static. */
const char *ufrpc_version(void);

/* Error codes (negative; 0 is success). The numbers are stable. */
enum ufrpc_error_code {
    UFRPC_E_NOMEM = -1,
    UFRPC_E_INVAL = -2,        /* a bad argument (NULL, unknown key syntax, ...) */
    UFRPC_E_LIMIT = -4,        /* maxProxies reached, or a buffer too small */
    UFRPC_E_IO = -8,
    UFRPC_E_NOT_FOUND = -9,    /* no tunnel of that name */
    UFRPC_E_UNSUPPORTED = -10, /* a setting ufrpc does not support */
    UFRPC_E_STATE = -11,       /* not valid now (not started, stopping, stopped, ...) */
    UFRPC_E_CONFIG_SYNTAX = -80,
    UFRPC_E_CONFIG_UNKNOWN_KEY = -81,
    UFRPC_E_CONFIG_VALUE = -82,
    UFRPC_E_CONFIG_DUPLICATE = -83, /* a name already taken */
    UFRPC_E_CONFIG_IO = -84,        /* configuration file unreadable */
    UFRPC_E_CONFIG_MISSING = -85,
    UFRPC_E_CONFIG_CONFLICT = -86,
    UFRPC_E_LOGIN = -130 /* login refused, with loginFailExit (close callback) */
};

/* A static text for any code (0, known, unknown); never NULL. */
const char *ufrpc_strerror(int err);

/* ---- tunnel specifications ---------------------------------------------------- */

enum ufrpc_kind { UFRPC_PROXY = 0, UFRPC_VISITOR = 1 };

/* frpc's tunnel states (its proxy phases). */
enum ufrpc_state {
    UFRPC_STATE_NEW = 0,
    UFRPC_STATE_WAIT_START = 1,
    UFRPC_STATE_RUNNING = 2,
    UFRPC_STATE_START_ERROR = 3,
    UFRPC_STATE_CHECK_FAILED = 4,
    UFRPC_STATE_CLOSED = 5
};

/* frpc's text: "new", "wait start", "running", "start error", "check failed",
 * "closed"; "unknown" otherwise. Static. */
const char *ufrpc_state_name(int state);

/* One proxy or visitor being described: frpc's keys for it ("name", "localIP",
 * "localPort", "remotePort", "customDomains", "transport.useEncryption",
 * "healthCheck.type", "secretKey", "serverName", "bindPort", ...), dotted keys for
 * nested tables. Values are checked when the spec is added (all of frpc's rules, with
 * an error naming the key). Without "name" the client generates one. */
typedef struct ufrpc_spec ufrpc_spec;

/* kind: UFRPC_PROXY or UFRPC_VISITOR; type: "tcp", "udp", "http", "https", "tcpmux",
 * "stcp", "sudp", "xtcp" (copied). 0, UFRPC_E_INVAL or UFRPC_E_NOMEM. */
int ufrpc_spec_new(int kind, const char *type, ufrpc_spec **out);
void ufrpc_spec_free(ufrpc_spec *s);
/* Sets key to a string, integer or boolean (replacing any earlier value). */
int ufrpc_spec_set_str(ufrpc_spec *s, const char *key, const char *value);
int ufrpc_spec_set_int(ufrpc_spec *s, const char *key, int64_t value);
int ufrpc_spec_set_bool(ufrpc_spec *s, const char *key, int value);
/* Appends a string to the list at key ("customDomains", "locations", "allowUsers"). */
int ufrpc_spec_add_str(ufrpc_spec *s, const char *key, const char *value);
/* Sets key to a JSON value (objects such as "metadatas" or "plugin"). */
int ufrpc_spec_set_json(ufrpc_spec *s, const char *key, const char *json);

/* ---- clients ------------------------------------------------------------------ */

typedef struct ufrpc_client ufrpc_client;

/* A tunnel changed state (also "new" when it is added, "closed" when it is removed
 * or the client stops). name: valid during the call; error: the server's or local
 * error text for "start error" (else NULL). Called on the loop's thread (see top). */
typedef void (*ufrpc_state_cb)(ufrpc_client *c, int kind, const char *name, int state,
                               const char *error, void *data);
/* The client has stopped and closed everything it had on the loop. status: 0 after
 * ufrpc_client_stop, UFRPC_E_LOGIN when the first login failed with loginFailExit
 * (msg: frpc's text, valid during the call; NULL when none). In loop mode the
 * callback may free the client; in thread mode the client's thread ends after it and
 * ufrpc_client_free (from another thread) joins it. */
typedef void (*ufrpc_close_cb)(ufrpc_client *c, int status, const char *msg, void *data);

/* A client with frpc's default configuration (127.0.0.1:7000, no proxies). */
int ufrpc_client_new(ufrpc_client **out);
/* Replaces the configuration (before start) with a file or a text in TOML, YAML,
 * JSON or legacy INI (format detected as frpc does; `name` labels messages and its
 * extension hints the format, NULL: "<string>"). Templates and includes are
 * resolved now. On error, ufrpc_client_last_error has every problem found. */
int ufrpc_client_load_file(ufrpc_client *c, const char *path);
int ufrpc_client_load_string(ufrpc_client *c, const char *text, size_t len, const char *name);
/* Unknown keys in the files and texts loaded (ufrpc_client_load_*, _reload) are
 * errors when strict (the default, as frpc's --strict_config), else ignored with a
 * warning. Before start only. */
int ufrpc_client_set_strict(ufrpc_client *c, int strict);
/* Loads the file of the last ufrpc_client_load_file again (or the text of the last
 * ufrpc_client_load_string, kept by the client) and makes it the configuration, as
 * frpc's reload: running, through the same diff as ufrpc_client_add (unchanged
 * tunnels keep their connections, tunnels added in code and not in the file are
 * removed; changed server settings log in again); before start, for the start.
 * On a load error nothing changes (ufrpc_client_last_error: every problem, with
 * file:line). UFRPC_E_STATE when nothing was loaded, or stopping or stopped. */
int ufrpc_client_reload(ufrpc_client *c);
/* Sets a client-wide key ("serverAddr", "serverPort", "auth.token", "user",
 * "transport.tls.enable", "loginFailExit", "log.level", ...): before start only. */
int ufrpc_client_set_str(ufrpc_client *c, const char *key, const char *value);
int ufrpc_client_set_int(ufrpc_client *c, const char *key, int64_t value);
int ufrpc_client_set_bool(ufrpc_client *c, const char *key, int value);
/* At most n proxies (0: no limit, the default). Adding one more fails with
 * UFRPC_E_LIMIT; so does a start or load with more. */
int ufrpc_client_set_max_proxies(ufrpc_client *c, int n);
/* Generated names are "<prefix>-<n>" (n = 1, 2, ...; names taken are skipped).
 * Default prefixes: "proxy" and "visitor". prefix is copied. */
int ufrpc_client_set_name_prefix(ufrpc_client *c, int kind, const char *prefix);
/* Callbacks (before start; NULL clears). */
int ufrpc_client_on_state(ufrpc_client *c, ufrpc_state_cb cb, void *data);
int ufrpc_client_on_close(ufrpc_client *c, ufrpc_close_cb cb, void *data);

/* Starts on the caller's loop (which must outlive the client), or on a new thread
 * with its own loop. Once only. */
int ufrpc_client_start(ufrpc_client *c, uv_loop_t *loop);
int ufrpc_client_start_thread(ufrpc_client *c);

/* Adds a proxy or visitor (copied from s: s stays the caller's). Its name, given or
 * generated, is written to name_out (when not NULL, truncated to cap). Errors:
 * UFRPC_E_CONFIG_DUPLICATE (name taken), UFRPC_E_LIMIT (maxProxies), configuration
 * errors (the spec is invalid). Running: applied at once (NewProxy, listener). */
int ufrpc_client_add(ufrpc_client *c, const ufrpc_spec *s, char *name_out, size_t cap);
/* Replaces the tunnel named by s's "name" (required). An equal spec changes nothing;
 * a different one is closed and started anew (CloseProxy, NewProxy). */
int ufrpc_client_update(ufrpc_client *c, const ufrpc_spec *s);
/* Removes a tunnel (CloseProxy when running). UFRPC_E_NOT_FOUND when none. */
int ufrpc_client_remove(ufrpc_client *c, int kind, const char *name);

/* A tunnel's state, and its last error text into err (when not NULL; "" when none). */
int ufrpc_client_state(ufrpc_client *c, int kind, const char *name, int *state, char *err,
                       size_t cap);
/* A tunnel's counter: "bytes_in" (from frps to the local side), "bytes_out",
 * "conns_active", "conns_total", "errors". UFRPC_E_NOT_FOUND for an unknown tunnel,
 * UFRPC_E_INVAL for an unknown counter. Before start all are 0. */
int ufrpc_client_counter(ufrpc_client *c, int kind, const char *name, const char *counter,
                         uint64_t *value);

/* Stops: CloseProxy for each proxy (up to 500 ms for them to be written), then the
 * session is closed; the close callback follows (cb, when not NULL, replaces the one
 * set by ufrpc_client_on_close). UFRPC_E_STATE when not running. */
int ufrpc_client_stop(ufrpc_client *c, ufrpc_close_cb cb, void *data);

/* The text of the client's last failed call (valid until its next call); "" if none. */
const char *ufrpc_client_last_error(const ufrpc_client *c);

/* Frees a client never started, or stopped (after its close callback; in thread mode
 * this joins the client's thread). A running client: stop it first. */
void ufrpc_client_free(ufrpc_client *c);

#ifdef __cplusplus
}
#endif

#endif
