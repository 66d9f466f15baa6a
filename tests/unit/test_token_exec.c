/* auth.tokenSource exec (client/core/token_exec.h): the command runs without a shell, its
 * stdout trimmed is the token; failures carry the exit status and stderr; a timeout
 * kills it; too much output is refused; exec.env reaches it; nothing blocks the loop
 * (a timer keeps firing while the command sleeps). Plus the CLI's --allow-unsafe. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli/cli.h"
#include "client/cli/cli_flags.h"
#include "client/core/token_exec.h"
#include "config/config.h"
#include "proto/error.h"

struct res {
    int calls;
    int rc;
    char text[2048];
};

static void on_done(int rc, const char *result, void *data)
{
    struct res *r = data;
    r->calls++;
    r->rc = rc;
    snprintf(r->text, sizeof r->text, "%s", result);
}

static void on_tick(uv_timer_t *t)
{
    (*(int *)t->data)++;
}

/* Runs cmd with args (NULL-terminated) and env (NAME, VALUE pairs). Returns the spawn
 * result; *r the callback's. *ticks: how often a 10 ms timer fired meanwhile. */
static int run_cmd(const char *cmd, const char *const *args, const char *const *env,
                   uint32_t timeout_ms, struct res *r, int *ticks, char *err, size_t cap)
{
    struct ufrpc_cfg_value_source vs = {.present = true, .type = "exec", .exec_present = true,
                                        .exec_command = cmd};
    const char *av[16];
    size_t n = 0;
    while (args && args[n])
        av[n] = args[n], n++;
    vs.exec_args = (struct ufrpc_cfg_strlist){av, n};
    struct ufrpc_cfg_kv kv[4];
    size_t k = 0;
    while (env && env[2 * k])
        kv[k] = (struct ufrpc_cfg_kv){.key = env[2 * k], .value = env[2 * k + 1]}, k++;
    vs.exec_env = (struct ufrpc_cfg_map){kv, k};
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_timer_t tick;
    int t = 0;
    uv_timer_init(&loop, &tick);
    tick.data = &t;
    uv_timer_start(&tick, on_tick, 10, 10);
    uv_unref((uv_handle_t *)&tick);
    memset(r, 0, sizeof *r);
    int rc = ufrpc_token_exec_start(&loop, &vs, timeout_ms, on_done, r, err, cap);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    if (ticks)
        *ticks = t;
    return rc;
}

static void test_token_trimmed_no_shell(void **st)
{
    (void)st;
    struct res r;
    char err[300];
    /* no shell: $HOME and the quotes reach printf as they are */
    const char *args[] = {"  %s|%s \n\n", "$HOME 'x'", "b", NULL};
    assert_int_equal(run_cmd("printf", args, NULL, 0, &r, NULL, err, sizeof err), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.text, "$HOME 'x'|b");
}

static void test_env(void **st)
{
    (void)st;
    struct res r;
    char err[300];
    const char *args[] = {"-c", "echo \"$TOKEN_PART-$HOME\"", NULL};
    const char *env[] = {"TOKEN_PART", "abc", NULL};
    assert_int_equal(run_cmd("/bin/sh", args, env, 0, &r, NULL, err, sizeof err), 0);
    assert_int_equal(r.rc, 0);
    char want[300];
    snprintf(want, sizeof want, "abc-%s", getenv("HOME") ? getenv("HOME") : "");
    assert_string_equal(r.text, want); /* the process's environment is kept too */
}

static void test_failure_status_and_stderr(void **st)
{
    (void)st;
    struct res r;
    char err[300];
    const char *args[] = {"-c", "echo token; echo 'no such\nuser' >&2; exit 3", NULL};
    assert_int_equal(run_cmd("/bin/sh", args, NULL, 0, &r, NULL, err, sizeof err), 0);
    assert_int_equal(r.rc, UFRPC_ERR_TOKEN_SOURCE);
    assert_string_equal(r.text, "failed to execute command /bin/sh: exit status 3: no such user");
    const char *kill_args[] = {"-c", "kill -TERM $$", NULL};
    assert_int_equal(run_cmd("/bin/sh", kill_args, NULL, 0, &r, NULL, err, sizeof err), 0);
    assert_int_equal(r.rc, UFRPC_ERR_TOKEN_SOURCE);
    assert_string_equal(r.text, "failed to execute command /bin/sh: signal: Terminated");
}

static void test_not_found(void **st)
{
    (void)st;
    struct res r;
    char err[300];
    assert_int_equal(run_cmd("ufrpc-no-such-command", NULL, NULL, 0, &r, NULL, err, sizeof err),
                     UFRPC_ERR_TOKEN_SOURCE);
    assert_int_equal(r.calls, 0);
    assert_string_equal(err, "failed to execute command ufrpc-no-such-command: exec: "
                             "\"ufrpc-no-such-command\": executable file not found in $PATH");
    assert_int_equal(run_cmd("/no/such", NULL, NULL, 0, &r, NULL, err, sizeof err),
                     UFRPC_ERR_TOKEN_SOURCE);
    assert_string_equal(err, "failed to execute command /no/such: fork/exec /no/such: no such file "
                             "or directory");
}

static void test_timeout_does_not_block(void **st)
{
    (void)st;
    struct res r;
    char err[300];
    int ticks = 0;
    /* a grandchild (sleep) keeps the pipe open: the kill of the child still ends it */
    const char *args[] = {"-c", "sleep 3 & sleep 3", NULL};
    assert_int_equal(run_cmd("/bin/sh", args, NULL, 300, &r, &ticks, err, sizeof err), 0);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.rc, UFRPC_ERR_TIMEOUT);
    assert_string_equal(r.text, "failed to execute command /bin/sh: timed out after 300 ms");
    assert_true(ticks >= 5); /* the loop kept running while the command slept */
}

static void test_output_bounded(void **st)
{
    (void)st;
    struct res r;
    char err[300];
    const char *args[] = {"-c", "head -c 200000 /dev/zero | tr '\\0' a", NULL};
    assert_int_equal(run_cmd("/bin/sh", args, NULL, 0, &r, NULL, err, sizeof err), 0);
    assert_int_equal(r.rc, UFRPC_ERR_LIMIT);
    assert_non_null(strstr(r.text, "output larger than 65536 bytes"));
}

static void test_allow_unsafe(void **st)
{
    (void)st;
    bool on = false;
    ufrpc_cli_allow_unsafe("Foo", &on);
    assert_false(on);
    ufrpc_cli_allow_unsafe("Foo,TokenSourceExec", &on);
    assert_true(on);
    struct ufrpc_cli_opts a;
    char *argv1[] = {"ufrpc", "-c", "x.toml", "--allow-unsafe", "TokenSourceExec", NULL};
    assert_int_equal(ufrpc_cli_parse_opts(5, argv1, &a), 0);
    assert_true(a.allow_token_exec);
    char *argv2[] = {"ufrpc", "--allow_unsafe=Other", NULL};
    assert_int_equal(ufrpc_cli_parse_opts(2, argv2, &a), 0);
    assert_false(a.allow_token_exec);
    char *argv3[] = {"ufrpc", "--allow-unsafe", NULL};
    assert_int_equal(ufrpc_cli_parse_opts(2, argv3, &a), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_trimmed_no_shell),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_failure_status_and_stderr),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_timeout_does_not_block),
        cmocka_unit_test(test_output_bounded),
        cmocka_unit_test(test_allow_unsafe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
