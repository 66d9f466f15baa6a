/* ufrpc — auth.tokenSource type "exec": the token is what a command prints (frp
 * v0.70.0 pkg/config/v1/value_source.go ExecSource.Resolve, resolved once when the
 * service is built: pkg/auth/auth.go BuildClientAuth).
 *
 * frpc runs it only with `--allow-unsafe TokenSourceExec` (the CLI checks that, with
 * frpc's message, before calling this). The command runs without a shell (uv_spawn:
 * the command and its args as an array, PATH searched as execvp does), with the
 * process's environment plus exec.env, stdin from /dev/null, on the caller's loop:
 * nothing blocks. stdout is kept up to UFRPC_TOKEN_EXEC_MAX_OUT bytes (more is an
 * error) and trimmed of white space as frpc's strings.TrimSpace; the last
 * UFRPC_TOKEN_EXEC_MAX_ERR bytes of stderr go into the error text. A command still
 * running after timeout_ms is killed (SIGKILL) and reported as timed out.
 *
 * Ownership: `vs` is read during the call only. The callback runs once, on the loop,
 * after every handle of the run is closed; `result` (the token, or the error text:
 * "failed to execute command CMD: exit status 3: <stderr>") is valid during the
 * callback only; the token buffer is wiped after it. */
#ifndef UFRPC_CLIENT_TOKEN_EXEC_H
#define UFRPC_CLIENT_TOKEN_EXEC_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"

#define UFRPC_TOKEN_EXEC_MAX_OUT (64u * 1024u)
#define UFRPC_TOKEN_EXEC_MAX_ERR 512u
#define UFRPC_TOKEN_EXEC_TIMEOUT_MS 30000u

/* rc 0: result is the token; rc < 0: result is the error text. */
typedef void (*ufrpc_token_exec_cb)(int rc, const char *result, void *data);

/* Starts the command. 0 (cb will run), or <0 with nothing started (cb will not run):
 * UFRPC_ERR_NOMEM, or the spawn's failure, written into err (cap bytes) as Go words
 * it ("failed to execute command nope: exec: \"nope\": executable file not found in
 * $PATH"). timeout_ms 0: UFRPC_TOKEN_EXEC_TIMEOUT_MS. */
int ufrpc_token_exec_start(uv_loop_t *loop, const struct ufrpc_cfg_value_source *vs,
                           uint32_t timeout_ms, ufrpc_token_exec_cb cb, void *data, char *err,
                           size_t cap);

#endif
