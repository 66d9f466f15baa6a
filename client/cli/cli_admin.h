/* ufrpc — `ufrpc reload | status | stop`: frpc's admin subcommands (cmd/frpc/sub/admin.go).
 *
 *   ufrpc reload|status|stop [-c FILE | --config FILE] [--api-timeout 30s]
 *                            [--strict_config[=true|false]]
 *   ufrpc status --metrics[=prometheus|json]  (ufrpc only) prints GET /metrics (or
 *                            /api/metrics) as the client answered it
 *
 * Each reads webServer.* from the configuration file and calls the running client's
 * admin API over plain HTTP (as frpc does, even when the server uses TLS) with Basic
 * auth when webServer.user/password are set:
 *   reload -> GET /api/reload?strictConfig=true (no query with --strict_config=false),
 *             prints "reload success"
 *   status -> GET /api/status, prints "Proxy Status...", then per proxy type (tcp, udp,
 *             tcpmux, http, https, stcp, sudp, xtcp) the type in upper case and a table
 *             Name Status LocalAddr Plugin RemoteAddr Error (columns padded to the widest
 *             cell + 2, as github.com/rodaine/table), then an empty line
 *   stop   -> POST /api/stop, prints "stop success"
 * Failures print one line and exit 1: the configuration's errors, "web server port
 * should be set if you want to use this feature", "api status code [N]" for a non-200
 * answer, or Go-style transport errors such as
 *   Get "http://127.0.0.1:7400/api/status": dial tcp 127.0.0.1:7400: connect: connection refused
 *   Get "http://127.0.0.1:7400/api/status": context deadline exceeded
 * As in cobra, '_' and '-' are interchangeable in long flags. Without -c, ./frpc.toml is
 * used when it exists, else ./frpc.ini (like the main command).
 *
 * Nothing is retained after return; the password is sent, never printed.
 *
 * Dispatch: client/cli/cli.c's ufrpc_cli_main (the flag table is client/cli/cli_flags.h). */
#ifndef UFRPC_CLIENT_CLI_ADMIN_H
#define UFRPC_CLIENT_CLI_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Runs the subcommand; output (success and error lines) goes to `out` (frpc prints
 * both to stdout). Returns the exit code: 0 or 1. */
int ufrpc_cli_admin(int argc, char **argv, FILE *out);

/* The same with the command line already parsed (client/cli/cli_flags.h; o->cmd is
 * reload, status or stop). */
struct ufrpc_cli_opts;
int ufrpc_cli_admin_opts(const struct ufrpc_cli_opts *o, FILE *out);

/* One blocking HTTP/1.1 exchange (Connection: close) with an overall deadline.
 * body/body_len: request body (may be NULL/0). On success returns 0 with *status and
 * *resp (malloc'd, NUL-terminated, the caller frees; at most 16 MiB) and *resp_len.
 * On failure returns <0 and writes Go's error text (e.g. `Get "http://h:p/x": dial tcp
 * h:p: connect: connection refused`) into err. */
int ufrpc_cli_admin_http(const char *host, uint16_t port, const char *user, const char *password,
                         const char *method, const char *path, const void *body, size_t body_len,
                         int64_t timeout_ms, int *status, char **resp, size_t *resp_len, char *err,
                         size_t errcap);

/* Go's time.ParseDuration, in milliseconds (sub-millisecond parts truncated).
 * 0 or UFRPC_ERR_INVAL. */
int ufrpc_cli_admin_parse_duration(const char *s, int64_t *ms);

#endif
