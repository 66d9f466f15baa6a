/* `ufrpc verify`: exit codes, the frpc-style success line, every error printed with
 * file:line, flag spelling (-c, --config=, --strict_config=false, _ vs -), --print
 * masking secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "client/cli/cli_verify.h"
#include "testutil.h"

static int run(char **argv, char **out)
{
    int argc = 0;
    while (argv[argc] != NULL)
        argc++;
    size_t len;
    FILE *f = open_memstream(out, &len);
    assert_non_null(f);
    int rc = ufrpc_cli_verify(argc, argv, f);
    fclose(f);
    return rc;
}

static char *tmp_config(const char *text, const char *suffix)
{
    char *path = malloc(64);
    snprintf(path, 64, "/tmp/ufrpc_verify_XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_verify(void **state)
{
    (void)state;
    char *ok = tmp_config("serverPort = 7000\nauth.token = \"s3cr3t\"\n[[proxies]]\nname = \"a\"\ntype = \"tcp\"\n"
                          "localPort = 22\n",
                          ".toml");
    char *out;
    char *a1[] = {"ufrpc", "verify", "-c", ok, NULL};
    assert_int_equal(run(a1, &out), 0);
    char expect[256];
    snprintf(expect, sizeof expect, "ufrpc: the configuration file %s syntax is ok\n", ok);
    assert_string_equal(out, expect);
    free(out);

    char cfgflag[128];
    snprintf(cfgflag, sizeof cfgflag, "--config=%s", ok);
    char *a2[] = {"ufrpc", cfgflag, "verify", "--print", NULL};
    assert_int_equal(run(a2, &out), 0);
    assert_non_null(strstr(out, "serverPort = 7000"));
    assert_null(strstr(out, "s3cr3t"));
    free(out);

    char *bad = tmp_config("serverPort = 0x1FFFF\nlog.level = \"x\"\nfoo = 1\n", ".toml");
    char *a3[] = {"ufrpc", "verify", "-c", bad, NULL};
    assert_int_equal(run(a3, &out), 1);
    char l1[128], l2[128];
    snprintf(l1, sizeof l1, "%s:1:", bad);
    snprintf(l2, sizeof l2, "%s:3:", bad);
    assert_non_null(strstr(out, l1));
    assert_non_null(strstr(out, "invalid log level"));
    assert_non_null(strstr(out, l2));
    assert_null(strstr(out, "syntax is ok"));
    free(out);

    /* non-strict: the unknown key becomes a warning, the rest still fails */
    char *nonstrict = tmp_config("foo = 1\n", ".toml");
    char *a4[] = {"ufrpc", "verify", "-c", nonstrict, "--strict_config=false", NULL};
    assert_int_equal(run(a4, &out), 0);
    assert_non_null(strstr(out, "warning: unknown key \"foo\""));
    free(out);
    char *a5[] = {"ufrpc", "verify", "-c", nonstrict, "--strict-config", NULL};
    assert_int_equal(run(a5, &out), 1);
    free(out);
    char *a6[] = {"ufrpc", "verify", "--bogus", NULL};
    assert_int_equal(run(a6, &out), 1);
    free(out);
    char *a7[] = {"ufrpc", "verify", "-c", "/nonexistent/x.toml", NULL};
    assert_int_equal(run(a7, &out), 1);
    assert_non_null(strstr(out, "cannot open"));
    free(out);
    /* a setting `ufrpc -c` refuses ("not supported yet") is not "ok": exit 1 */
    char *unsup = tmp_config("serverPort = 7000\n\n\nfeatureGates = { Foo = true }\n",
                             ".toml");
    char *a8[] = {"ufrpc", "verify", "-c", unsup, NULL};
    assert_int_equal(run(a8, &out), 1);
    assert_non_null(strstr(out, ":4: not supported yet: featureGates (feature gates)"));
    assert_non_null(strstr(out, "uses 1 setting ufrpc does not support yet"));
    assert_null(strstr(out, "syntax is ok"));
    free(out);
    unlink(unsup);
    free(unsup);


    unlink(ok);
    unlink(bad);
    unlink(nonstrict);
    free(ok);
    free(bad);
    free(nonstrict);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_verify)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
