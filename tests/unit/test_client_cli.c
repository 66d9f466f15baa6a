/* client/cli: frpc-like flag parsing and the default configuration path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/cli/cli.h"
#include "client/cli/cli_flags.h"
#include "client/cli/cli_util.h"

static int parse(struct ufrpc_cli_opts *a, int argc, const char **argv)
{
    return ufrpc_cli_parse_opts(argc, (char **)argv, a);
}

static void test_config_flag_forms(void **state)
{
    (void)state;
    struct ufrpc_cli_opts a;
    const char *v1[] = {"ufrpc", "-c", "a.toml"};
    assert_int_equal(parse(&a, 3, v1), 0);
    assert_string_equal(a.config, "a.toml");
    assert_true(a.strict);
    assert_false(a.version);
    const char *v2[] = {"ufrpc", "-cb.toml"};
    assert_int_equal(parse(&a, 2, v2), 0);
    assert_string_equal(a.config, "b.toml");
    const char *v3[] = {"ufrpc", "--config", "c.ini"};
    assert_int_equal(parse(&a, 3, v3), 0);
    assert_string_equal(a.config, "c.ini");
    const char *v4[] = {"ufrpc", "--config=d.yaml"};
    assert_int_equal(parse(&a, 2, v4), 0);
    assert_string_equal(a.config, "d.yaml");
    const char *v5[] = {"ufrpc", "-c=e.json"};
    assert_int_equal(parse(&a, 2, v5), 0);
    assert_string_equal(a.config, "e.json");
    const char *v6[] = {"ufrpc"};
    assert_int_equal(parse(&a, 1, v6), 0);
    assert_null(a.config);
}

static void test_bool_flags_and_word_separators(void **state)
{
    (void)state;
    struct ufrpc_cli_opts a;
    const char *v1[] = {"ufrpc", "-v"};
    assert_int_equal(parse(&a, 2, v1), 0);
    assert_true(a.version);
    const char *v2[] = {"ufrpc", "--version"};
    assert_int_equal(parse(&a, 2, v2), 0);
    assert_true(a.version);
    const char *v3[] = {"ufrpc", "--strict_config=false", "-c", "x"};
    assert_int_equal(parse(&a, 4, v3), 0);
    assert_false(a.strict);
    const char *v4[] = {"ufrpc", "--strict-config=true"};
    assert_int_equal(parse(&a, 2, v4), 0);
    assert_true(a.strict);
    const char *v5[] = {"ufrpc", "--log_json"};
    assert_int_equal(parse(&a, 2, v5), 0);
    assert_true(a.log_json);
    const char *v6[] = {"ufrpc", "-h"};
    assert_int_equal(parse(&a, 2, v6), 0);
    assert_true(a.help);
}

static void test_errors(void **state)
{
    (void)state;
    struct ufrpc_cli_opts a;
    const char *v1[] = {"ufrpc", "--bogus"};
    assert_int_equal(parse(&a, 2, v1), -1);
    assert_string_equal(a.error, "unknown flag: --bogus");
    const char *v2[] = {"ufrpc", "-c"};
    assert_int_equal(parse(&a, 2, v2), -1);
    assert_non_null(strstr(a.error, "needs an argument"));
    const char *v3[] = {"ufrpc", "--strict_config=maybe"};
    assert_int_equal(parse(&a, 2, v3), -1);
    assert_non_null(strstr(a.error, "invalid argument"));
    const char *v4[] = {"ufrpc", "-x"};
    assert_int_equal(parse(&a, 2, v4), -1);
    const char *v5[] = {"ufrpc", "nosuch"};
    assert_int_equal(parse(&a, 2, v5), -1);
    assert_non_null(strstr(a.error, "unknown command"));
    const char *v6[] = {"ufrpc", "--config="};
    assert_int_equal(parse(&a, 2, v6), -1);
}

static int has_toml(const char *p)
{
    return strcmp(p, "./frpc.toml") == 0;
}

static int has_nothing(const char *p)
{
    (void)p;
    return 0;
}

static void test_default_config_path(void **state)
{
    (void)state;
    struct ufrpc_cli_opts a;
    const char *v[] = {"ufrpc"};
    assert_int_equal(parse(&a, 1, v), 0);
    assert_string_equal(ufrpc_cli_config_path(a.config, has_toml), "./frpc.toml");
    assert_string_equal(ufrpc_cli_config_path(a.config, has_nothing), "./frpc.ini");
    assert_string_equal(ufrpc_cli_config_path("given.toml", has_nothing), "given.toml");
}

/* The one long-name helper all cli_*.c files share. */
static void test_long_name(void **state)
{
    (void)state;
    char b[16];
    assert_string_equal(ufrpc_cli_long_name("--strict_config=x", b, sizeof b), "strict-config");
    assert_string_equal(ufrpc_cli_long_name("--a_b_c", b, sizeof b), "a-b-c");
    assert_string_equal(ufrpc_cli_long_name("--x=", b, sizeof b), "x");
    assert_null(ufrpc_cli_long_name("--", b, sizeof b));
    assert_null(ufrpc_cli_long_name("-c", b, sizeof b));
    assert_null(ufrpc_cli_long_name("config", b, sizeof b));
    /* 15 characters fit in 16 bytes, 16 do not (no truncated match) */
    assert_string_equal(ufrpc_cli_long_name("--abcdefghijklmno", b, sizeof b), "abcdefghijklmno");
    assert_null(ufrpc_cli_long_name("--abcdefghijklmnop", b, sizeof b));
    assert_null(ufrpc_cli_long_name("--abcdefghijklmnop=1", b, sizeof b));
}

/* The command path: the first words that name commands, flags anywhere. */
static void test_commands(void **state)
{
    (void)state;
    struct ufrpc_cli_opts a;
    const char *v1[] = {"ufrpc", "-c", "x", "verify", "--print"};
    assert_int_equal(parse(&a, 5, v1), 0);
    assert_int_equal(a.cmd, UFRPC_CMD_VERIFY);
    assert_true(a.print);
    assert_string_equal(a.config, "x");
    const char *v2[] = {"ufrpc", "-c", "status"}; /* "status" is -c's value */
    assert_int_equal(parse(&a, 3, v2), 0);
    assert_int_equal(a.cmd, UFRPC_CMD_ROOT);
    const char *v3[] = {"ufrpc", "status", "--api-timeout", "5s"};
    assert_int_equal(parse(&a, 4, v3), 0);
    assert_int_equal(a.cmd, UFRPC_CMD_STATUS);
    assert_int_equal(a.api_timeout_ms, 5000);
    const char *v4[] = {"ufrpc", "--api-timeout", "5s", "reload"}; /* not a root flag */
    assert_int_equal(parse(&a, 4, v4), -1);
    assert_string_equal(a.error, "unknown flag: --api-timeout");
    const char *v5[] = {"ufrpc", "help", "completion", "bash"};
    assert_int_equal(parse(&a, 4, v5), 0);
    assert_int_equal(a.cmd, UFRPC_CMD_HELP);
    assert_int_equal(a.nargs, 2);
    const char *v6[] = {"ufrpc", "completion", "bash", "--no-descriptions"};
    assert_int_equal(parse(&a, 4, v6), 0);
    assert_int_equal(a.cmd, UFRPC_CMD_COMPLETION_BASH);
    assert_true(a.no_descriptions);
    const char *v7[] = {"ufrpc", "tcp", "-l", "22"};
    assert_int_equal(parse(&a, 4, v7), 0);
    assert_int_equal(a.cmd, UFRPC_CMD_QUICK);
    const char *v8[] = {"ufrpc", "reload", "-h"};
    assert_int_equal(parse(&a, 3, v8), 0);
    assert_true(a.help);
    assert_int_equal(a.cmd, UFRPC_CMD_RELOAD);
    const char *v9[] = {"ufrpc", "--allow-unsafe=A,TokenSourceExec", "--config-dir", "d"};
    assert_int_equal(parse(&a, 4, v9), 0);
    assert_true(a.allow_token_exec);
    assert_string_equal(a.config_dir, "d");
    const char *v10[] = {"ufrpc", "verify", "-x"};
    assert_int_equal(parse(&a, 3, v10), -1);
    assert_string_equal(a.error, "unknown shorthand flag: 'x' in -x");
    assert_true(a.error_usage);
}

static char *capture(void (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fn(f, arg);
    fclose(f);
    return buf;
}

static void help_of(FILE *f, const void *cmd) { ufrpc_cli_help(f, *(const enum ufrpc_cli_cmd *)cmd); }
static void topic_of(FILE *f, const void *t)
{
    ufrpc_cli_help_topic(f, 1, (const char *const *)t);
}

/* cobra's layout, with frpc's wording (tests/interop/cli_help.sh compares with frpc). */
static void test_help_text(void **state)
{
    (void)state;
    enum ufrpc_cli_cmd c = UFRPC_CMD_STATUS;
    char *h = capture(help_of, &c);
    assert_string_equal(
        h, "Overview of all proxies status\n\n"
           "Usage:\n  ufrpc status [flags]\n\n"
           "Flags:\n"
           "      --api-timeout duration   Timeout for admin API calls (default 30s)\n"
           "  -h, --help                   help for status\n"
           "      --metrics                print the client's metrics: Prometheus text, or with "
           "=json /api/metrics (ufrpc)\n\n"
           "Global Flags:\n"
           "      --allow-unsafe strings   allowed unsafe features, one or more of: TokenSourceExec\n"
           "  -c, --config string          config file of frpc (default \"./frpc.toml\", else \"./frpc.ini\")\n"
           "      --config-dir string      config directory, run one frpc service for each file in config directory\n"
           "      --log-json               write log lines as JSON (ufrpc)\n"
           "      --strict-config          strict config parsing mode, unknown fields will cause an errors (default true)\n"
           "  -v, --version                version of frpc\n");
    free(h);
    c = UFRPC_CMD_ROOT;
    h = capture(help_of, &c);
    assert_non_null(strstr(h, "\nAvailable Commands:\n  completion  Generate the autocompletion script for the specified shell\n  diagnose    Check each step between this client and frps (ufrpc)\n  help        Help about any command\n  http        Run ufrpc with a single http proxy\n"));
    assert_non_null(strstr(h, "  verify      Verify that the configures is valid\n  xtcp "));
    assert_non_null(strstr(h, "  -h, --help                   help for ufrpc\n"));
    assert_non_null(strstr(h, "Use \"ufrpc [command] --help\" for more information about a command.\n"));
    free(h);
    const char *nosuch[] = {"nosuch"};
    h = capture(topic_of, nosuch);
    assert_true(strncmp(h, "Unknown help topic [`nosuch`]\nUsage:\n  ufrpc [flags]\n", 50) == 0);
    assert_null(strstr(h, "-h, --help")); /* cobra's quirk: no help flag in that usage */
    free(h);
    const char *tcp[] = {"tcp"};
    h = capture(topic_of, tcp);
    assert_non_null(strstr(h, "  -l, --local-port int                local port\n"));
    assert_non_null(strstr(h, "  -h, --help                          help for tcp\n"));
    assert_non_null(strstr(h, "\nGlobal Flags:\n"));
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_flag_forms),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_bool_flags_and_word_separators),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_default_config_path),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_help_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
