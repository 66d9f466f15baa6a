/* ufrpc — proxy health checks (healthCheck.type = "tcp" | "http"), as frpc's
 * client/health monitor (docs/PROTOCOL.md §7.1: failing -> CloseProxy, state "check
 * failed"; recovered -> NewProxy again).
 *
 * One check at a time, driven by one uv_timer: the first check starts at once,
 * each later one `interval` after the previous check ended. A check is bounded by
 * `timeout` as a whole (connect, request, response headers).
 *  - tcp: success = a TCP connection to host:port is established (then closed).
 *  - http: connect, send "GET <path> HTTP/1.1" with Host, User-Agent
 *    (Go-http-client/1.1 unless given), the configured headers (names
 *    canonicalised like Go, last value wins, sorted) and Accept-Encoding: gzip;
 *    the response status line and headers are parsed with llhttp; success = a
 *    2xx final status (1xx interim responses are skipped). The body is not read.
 *    Redirects are followed as Go's http.Client (frpc's check) does: a 301, 302,
 *    303, 307 or 308 with a Location leads to a new GET on a new connection, up to
 *    10 times, all within the one timeout; the Location may be relative (resolved
 *    against the current URL, dot segments removed, fragment dropped) or an
 *    absolute http:// URL (its host:port dialed and sent as Host; Authorization,
 *    Www-Authenticate, Cookie and Cookie2 are not sent to another host). An https
 *    (or other scheme) Location fails the check with UFRPC_ERR_UNSUPPORTED; a 3xx
 *    without Location is a failure as any non-2xx.
 *
 * State and callbacks: the monitor starts DOWN (frpc registers a checked proxy
 * only after its first successful check). The first success, and the first
 * success after a DOWN, report UFRPC_HEALTH_UP. While UP, `max_failed`
 * consecutive failures report UFRPC_HEALTH_DOWN (with the last failure's error).
 * A success resets the failure count. (frpc never resets its counter, so after
 * a first failure streak a single failure takes it down again; we count
 * consecutive failures, which is what its configuration documents.)
 *
 * Lifetimes: ufrpc_health_start copies everything from opts. The monitor lives
 * until ufrpc_health_stop; its callback never runs after stop was called. The
 * optional closed callback runs once every handle and connection of the monitor
 * is closed, right before the monitor is freed. Calling stop from inside the
 * event callback is allowed.
 */
#ifndef UFRPC_CLIENT_HEALTH_H
#define UFRPC_CLIENT_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"

enum ufrpc_health_type { UFRPC_HEALTH_TCP = 1, UFRPC_HEALTH_HTTP = 2 };
enum ufrpc_health_event { UFRPC_HEALTH_DOWN = 0, UFRPC_HEALTH_UP = 1 };

typedef struct ufrpc_health ufrpc_health_t;

/* Optional: runs after every failed check (before a DOWN event that the same
 * failure causes), with its error; frpc logs each one ("do one health check
 * failed: ..."). data is the one given to ufrpc_health_start. */
typedef void (*ufrpc_health_fail_cb)(ufrpc_health_t *h, int err, void *data);

struct ufrpc_health_opts {
    enum ufrpc_health_type type;
    const char *host;     /* localIP (name or IP literal), required */
    uint16_t port;        /* localPort, required */
    const char *path;     /* http: required; "/" is prepended when missing */
    const struct ufrpc_cfg_kv *headers; /* http: healthCheck.httpHeaders */
    size_t nheaders;
    const char *host_header; /* http: Host value; NULL = "host:port" as Go */
    uint32_t interval_ms; /* 0 = 10000 (frpc default 10 s) */
    uint32_t timeout_ms;  /* 0 = 3000 */
    int max_failed;       /* <= 0 = 1 */
    ufrpc_health_fail_cb on_fail; /* NULL: failures only show as DOWN events */
};

/* Fills *o from a proxy's configuration the way frpc decides to monitor it: a
 * check runs only when healthCheck.type is set and localPort > 0 (plugins have
 * no local port: no check). Seconds become milliseconds; zero/negative values
 * keep frpc's defaults (10 s interval, 3 s timeout, maxFailed 1). *o points into
 * pc (valid while pc is). 0 = monitor with *o; UFRPC_ERR_NOT_FOUND = no check
 * for this proxy; UFRPC_ERR_INVAL = unknown type or a port out of range. */
int ufrpc_health_opts_from_config(const struct ufrpc_proxy_config *pc,
                                  struct ufrpc_health_opts *o);

/* event: UP or DOWN; err: 0 for UP, the last check's error for DOWN
 * (UFRPC_ERR_TIMEOUT, _CONNECT_REFUSED, _HTTP for a non-2xx status or a
 * malformed response, ...). */
typedef void (*ufrpc_health_cb)(ufrpc_health_t *h, enum ufrpc_health_event event, int err,
                                void *data);

/* Starts monitoring. 0 and *out, or UFRPC_ERR_INVAL (missing host/port/path, bad
 * type, header with CR/LF), UFRPC_ERR_NOMEM. */
int ufrpc_health_start(uv_loop_t *loop, const struct ufrpc_health_opts *opts,
                       ufrpc_health_cb cb, void *data, ufrpc_health_t **out);

/* Stops: cancels a check in flight; no more callbacks. closed (may be NULL) runs
 * later with data, then the monitor is freed. */
void ufrpc_health_stop(ufrpc_health_t *h, void (*closed)(void *data));

struct ufrpc_health_stats {
    uint64_t checks;    /* completed checks */
    uint64_t failures;  /* failed checks */
    int consecutive_failures;
    int up;
    int last_err;       /* error of the last check (0 = success) */
    int last_status;    /* http: status code of the last response, else 0 */
};
void ufrpc_health_get_stats(const ufrpc_health_t *h, struct ufrpc_health_stats *st);

/* A failed check's error err in the words frpc's Go checks use, NUL-terminated
 * and truncated to cap: "dial tcp 127.0.0.1:8080: connect: connection refused"
 * (tcp), `Get "http://127.0.0.1:8080/health": dial tcp ...` or "do http health
 * check, StatusCode is [500] not 2xx" (http). Call it from the callbacks (it
 * describes the last check). */
void ufrpc_health_failure_text(const ufrpc_health_t *h, int err, char *out, size_t cap);

/* The HTTP request bytes a check sends (NUL-terminated, owned by h): for logs
 * and tests. NULL for tcp checks. */
const char *ufrpc_health_request(const ufrpc_health_t *h);

#endif
