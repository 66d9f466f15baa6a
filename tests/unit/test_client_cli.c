/* client/cli: frpc-like flag parsing and the default configuration path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/cli.h"
#include "client/cli_util.h"

static int parse(struct ufrpc_cli_args *a, int argc, const char **argv)
{
    return ufrpc_cli_parse(argc, (char **)argv, a);
}

static void test_config_flag_forms(void **state)
{
    (void)state;
    struct ufrpc_cli_args a;
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
    struct ufrpc_cli_args a;
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
    struct ufrpc_cli_args a;
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
    const char *v5[] = {"ufrpc", "tcp"};
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
    struct ufrpc_cli_args a;
    const char *v[] = {"ufrpc"};
    assert_int_equal(parse(&a, 1, v), 0);
    assert_string_equal(ufrpc_cli_config_path(&a, has_toml), "./frpc.toml");
    assert_string_equal(ufrpc_cli_config_path(&a, has_nothing), "./frpc.ini");
    a.config = "given.toml";
    assert_string_equal(ufrpc_cli_config_path(&a, has_nothing), "given.toml");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_flag_forms),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_bool_flags_and_word_separators),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_default_config_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
