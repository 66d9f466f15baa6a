/* client/core/token_exec.c — auth.tokenSource exec. See token_exec.h. */
#include "client/core/token_exec.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

extern char **environ;

struct run {
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    int open;  /* handles not yet closed */
    int flows; /* of out/err not yet at EOF, plus the process until it exits */
    char cmd[256];
    char *buf; /* stdout, UFRPC_TOKEN_EXEC_MAX_OUT + 1 */
    size_t len;
    char ebuf[UFRPC_TOKEN_EXEC_MAX_ERR]; /* the last stderr bytes (a ring) */
    size_t elen;                          /* total stderr bytes seen */
    int64_t exit_status;
    int term_signal;
    bool too_big, timed_out, done;
    ufrpc_token_exec_cb cb;
    void *data;
    uint32_t timeout_ms;
};

static void on_closed(uv_handle_t *h)
{
    struct run *r = h->data;
    if (--r->open > 0)
        return;
    char msg[UFRPC_TOKEN_EXEC_MAX_ERR + 512];
    int rc = 0;
    if (r->timed_out) {
        snprintf(msg, sizeof msg, "failed to execute command %s: timed out after %u ms", r->cmd,
                 r->timeout_ms);
        rc = UFRPC_ERR_TIMEOUT;
    } else if (r->too_big) {
        snprintf(msg, sizeof msg, "failed to execute command %s: output larger than %u bytes",
                 r->cmd, UFRPC_TOKEN_EXEC_MAX_OUT);
        rc = UFRPC_ERR_LIMIT;
    } else if (r->term_signal != 0 || r->exit_status != 0) {
        int n = r->term_signal != 0
                    ? snprintf(msg, sizeof msg, "failed to execute command %s: signal: %s", r->cmd,
                               strsignal(r->term_signal))
                    : snprintf(msg, sizeof msg, "failed to execute command %s: exit status %lld",
                               r->cmd, (long long)r->exit_status);
        /* stderr, on one line: the tail that fits, white space folded */
        size_t have = r->elen < sizeof r->ebuf ? r->elen : sizeof r->ebuf;
        size_t start = r->elen < sizeof r->ebuf ? 0 : r->elen % sizeof r->ebuf;
        size_t o = (size_t)n;
        bool sep = false;
        for (size_t i = 0; i < have && o + 4 < sizeof msg; i++) {
            char ch = r->ebuf[(start + i) % sizeof r->ebuf];
            bool space = ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ';
            if (space) {
                sep = true;
                continue;
            }
            if ((unsigned char)ch < 0x20 || ch == 0x7f)
                ch = '?';
            if (o == (size_t)n)
                msg[o++] = ':', msg[o++] = ' ';
            else if (sep)
                msg[o++] = ' ';
            sep = false;
            msg[o++] = ch;
        }
        msg[o] = '\0';
        rc = UFRPC_ERR_TOKEN_SOURCE;
    }
    if (rc == 0) {
        /* strings.TrimSpace */
        size_t a = 0, b = r->len;
        while (a < b && strchr(" \t\r\n\v\f", r->buf[a]))
            a++;
        while (b > a && strchr(" \t\r\n\v\f", r->buf[b - 1]))
            b--;
        r->buf[b] = '\0';
        r->cb(0, r->buf + a, r->data);
    } else {
        r->cb(rc, msg, r->data);
    }
    memset(r->buf, 0, UFRPC_TOKEN_EXEC_MAX_OUT + 1);
    free(r->buf);
    free(r);
}

static void on_fail_closed(uv_handle_t *h)
{
    struct run *r = h->data;
    if (--r->open == 0) {
        free(r->buf);
        free(r);
    }
}

static void finish(struct run *r)
{
    if (r->done)
        return;
    r->done = true;
    uv_close((uv_handle_t *)&r->timer, on_closed);
    uv_close((uv_handle_t *)&r->proc, on_closed);
    uv_close((uv_handle_t *)&r->out, on_closed);
    uv_close((uv_handle_t *)&r->err, on_closed);
}

static void flow_done(struct run *r)
{
    if (--r->flows == 0)
        finish(r);
}

static void kill_it(struct run *r)
{
    if (!r->done && r->flows > 0)
        uv_process_kill(&r->proc, SIGKILL);
}

/* A grandchild may hold the pipes open: stop waiting for their EOF; the exit of
 * the killed child ends the run. */
static void stop_pipes(struct run *r)
{
    if (uv_is_active((uv_handle_t *)&r->out)) {
        uv_read_stop((uv_stream_t *)&r->out);
        flow_done(r);
    }
    if (uv_is_active((uv_handle_t *)&r->err)) {
        uv_read_stop((uv_stream_t *)&r->err);
        flow_done(r);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    r->timed_out = true;
    kill_it(r);
    stop_pipes(r);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    struct run *r = p->data;
    r->exit_status = status;
    r->term_signal = sig;
    flow_done(r);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    (void)hint;
    struct run *r = h->data;
    static char sink[4096]; /* read-only use: stderr bytes are copied out at once */
    if ((uv_pipe_t *)h == &r->out) {
        size_t room = UFRPC_TOKEN_EXEC_MAX_OUT + 1 - r->len;
        *b = uv_buf_init(r->buf + r->len, (unsigned)room);
    } else {
        *b = uv_buf_init(sink, sizeof sink);
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct run *r = s->data;
    if (n < 0) {
        uv_read_stop(s);
        flow_done(r);
        return;
    }
    if ((uv_pipe_t *)s == &r->out) {
        r->len += (size_t)n;
        if (r->len > UFRPC_TOKEN_EXEC_MAX_OUT) {
            r->len = UFRPC_TOKEN_EXEC_MAX_OUT;
            r->too_big = true;
            kill_it(r);
            stop_pipes(r);
        }
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        r->ebuf[r->elen++ % sizeof r->ebuf] = b->base[i];
}

int ufrpc_token_exec_start(uv_loop_t *loop, const struct ufrpc_cfg_value_source *vs,
                           uint32_t timeout_ms, ufrpc_token_exec_cb cb, void *data, char *err,
                           size_t cap)
{
    if (cap > 0)
        err[0] = '\0';
    const char *cmd = ufrpc_cfg_str(vs->exec_command);
    size_t nargs = vs->exec_args.len;
    size_t nenv = 0;
    if (vs->exec_env.len > 0)
        while (environ[nenv] != NULL)
            nenv++;
    struct run *r = calloc(1, sizeof *r);
    char **argv = calloc(nargs + 2, sizeof *argv);
    char **env = vs->exec_env.len > 0 ? calloc(nenv + vs->exec_env.len + 1, sizeof *env) : NULL;
    char *buf = malloc(UFRPC_TOKEN_EXEC_MAX_OUT + 1);
    bool ok = r && argv && buf && (vs->exec_env.len == 0 || env);
    for (size_t i = 0; ok && i < vs->exec_env.len; i++) {
        size_t l = strlen(vs->exec_env.items[i].key) + strlen(vs->exec_env.items[i].value) + 2;
        env[nenv + i] = malloc(l);
        if (env[nenv + i] == NULL)
            ok = false;
        else
            snprintf(env[nenv + i], l, "%s=%s", vs->exec_env.items[i].key,
                     vs->exec_env.items[i].value);
    }
    int rc = UFRPC_ERR_NOMEM;
    if (ok) {
        for (size_t i = 0; i < nenv; i++)
            env[i] = environ[i];
        argv[0] = (char *)cmd;
        for (size_t i = 0; i < nargs; i++)
            argv[i + 1] = (char *)vs->exec_args.items[i];
        r->buf = buf;
        r->cb = cb;
        r->data = data;
        r->timeout_ms = timeout_ms ? timeout_ms : UFRPC_TOKEN_EXEC_TIMEOUT_MS;
        snprintf(r->cmd, sizeof r->cmd, "%s", cmd);
        uv_pipe_init(loop, &r->out, 0);
        uv_pipe_init(loop, &r->err, 0);
        uv_timer_init(loop, &r->timer);
        r->proc.data = r->out.data = r->err.data = r->timer.data = r;
        uv_stdio_container_t stdio[3] = {
            {.flags = UV_IGNORE},
            {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->out},
            {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&r->err},
        };
        uv_process_options_t o = {
            .exit_cb = on_exit_cb,
            .file = cmd,
            .args = argv,
            .env = env,
            .stdio_count = 3,
            .stdio = stdio,
        };
        int e = uv_spawn(loop, &r->proc, &o);
        if (e != 0) {
            if (e == UV_ENOENT && strchr(cmd, '/') == NULL)
                snprintf(err, cap,
                         "failed to execute command %s: exec: \"%s\": executable file not found in "
                         "$PATH",
                         cmd, cmd);
            else
                snprintf(err, cap, "failed to execute command %s: fork/exec %s: %s", cmd, cmd,
                         uv_strerror(e));
            /* the handles are freed with r once the loop has closed them */
            r->open = 4;
            r->done = true;
            uv_close((uv_handle_t *)&r->proc, on_fail_closed);
            uv_close((uv_handle_t *)&r->out, on_fail_closed);
            uv_close((uv_handle_t *)&r->err, on_fail_closed);
            uv_close((uv_handle_t *)&r->timer, on_fail_closed);
            buf = NULL;
            r = NULL;
            rc = UFRPC_ERR_TOKEN_SOURCE;
            goto out;
        }
        r->open = 4;
        r->flows = 3;
        uv_read_start((uv_stream_t *)&r->out, on_alloc, on_read);
        uv_read_start((uv_stream_t *)&r->err, on_alloc, on_read);
        uv_timer_start(&r->timer, on_timer, r->timeout_ms, 0);
        rc = 0;
    }
out:
    if (env != NULL)
        for (size_t i = 0; i < vs->exec_env.len; i++)
            free(env[nenv + i]);
    free(env);
    free(argv);
    if (rc != 0) {
        free(buf);
        free(r);
    }
    return rc;
}
