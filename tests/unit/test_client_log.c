/* client/log: frpc's line format, levels, prefixes, JSON lines, daily file rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "client/core/log.h"
#include "proto/error.h"

struct fake_clock {
    int64_t ms;
};

static int64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->ms;
}

/* 2025-01-02 15:04:05.007 UTC */
#define T0 ((int64_t)1735830245007)

static char *slurp(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *buf = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    return buf;
}

static struct ufrpc_log *console_log(FILE *f, struct fake_clock *clk, enum ufrpc_log_level lvl,
                                     int json)
{
    struct ufrpc_log_opts o = {.to = "console", .level = lvl, .json = json, .console = f,
                               .clock_ms = fake_now, .clock_ctx = clk, .utc = 1};
    struct ufrpc_log *log = NULL;
    assert_int_equal(ufrpc_log_new(&o, &log), 0);
    return log;
}

static void test_text_format_matches_frpc(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct fake_clock clk = {T0};
    struct ufrpc_log *log = console_log(f, &clk, UFRPC_LOG_INFO, 0);
    ufrpc_log_set_prefix(log, 0, "f27db3c888145bdf");
    ufrpc_log_printf(log, UFRPC_LOG_INFO, "/x/y/client/core/supervisor.c", 331,
                     "login to server success, get run id [%s]", "f27db3c888145bdf");
    ufrpc_log_set_prefix(log, 0, NULL);
    ufrpc_log_printf(log, UFRPC_LOG_WARN, "client/core/control.c", 9, "[%s] start error: %s", "echo",
                     "port unavailable");
    ufrpc_log_printf(log, UFRPC_LOG_ERROR, "main.c", 1, "plain");
    char *out = slurp(f);
    assert_string_equal(out,
                        "2025-01-02 15:04:05.007 [I] [core/supervisor.c:331] [f27db3c888145bdf] "
                        "login to server success, get run id [f27db3c888145bdf]\n"
                        "2025-01-02 15:04:05.007 [W] [core/control.c:9] [echo] start error: "
                        "port unavailable\n"
                        "2025-01-02 15:04:05.007 [E] [main.c:1] plain\n");
    free(out);
    ufrpc_log_free(log);
    fclose(f);
}

static void test_levels_filter(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct fake_clock clk = {T0};
    struct ufrpc_log *log = console_log(f, &clk, UFRPC_LOG_WARN, 0);
    assert_false(ufrpc_log_enabled(log, UFRPC_LOG_INFO));
    assert_true(ufrpc_log_enabled(log, UFRPC_LOG_WARN));
    UFRPC_LOGT(log, "t");
    UFRPC_LOGD(log, "d");
    UFRPC_LOGI(log, "i");
    UFRPC_LOGW(log, "w");
    UFRPC_LOGE(log, "e");
    ufrpc_log_set_level(log, UFRPC_LOG_TRACE);
    UFRPC_LOGT(log, "t2");
    char *out = slurp(f);
    assert_null(strstr(out, "] i\n"));
    assert_null(strstr(out, "] d\n"));
    assert_non_null(strstr(out, "[W] [unit/test_client_log.c:"));
    assert_non_null(strstr(out, "] w\n"));
    assert_non_null(strstr(out, "[E] "));
    assert_non_null(strstr(out, "[T] "));
    assert_non_null(strstr(out, "] t2\n"));
    free(out);
    ufrpc_log_free(log);
    fclose(f);
    /* a NULL logger is a silent no-op */
    UFRPC_LOGE(NULL, "nothing %d", 1);
    assert_false(ufrpc_log_enabled(NULL, UFRPC_LOG_ERROR));
}

static void test_parse_level(void **state)
{
    (void)state;
    enum ufrpc_log_level l;
    assert_int_equal(ufrpc_log_parse_level("trace", &l), 0);
    assert_int_equal(l, UFRPC_LOG_TRACE);
    assert_int_equal(ufrpc_log_parse_level("WARN", &l), 0);
    assert_int_equal(l, UFRPC_LOG_WARN);
    assert_int_equal(ufrpc_log_parse_level("Error", &l), 0);
    assert_int_equal(l, UFRPC_LOG_ERROR);
    assert_int_equal(ufrpc_log_parse_level("verbose", &l), UFRPC_ERR_INVAL);
    assert_int_equal(ufrpc_log_parse_level(NULL, &l), UFRPC_ERR_INVAL);
}

static void test_json_lines_escape(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct fake_clock clk = {T0};
    struct ufrpc_log *log = console_log(f, &clk, UFRPC_LOG_DEBUG, 1);
    ufrpc_log_set_prefix(log, 0, "run\"1");
    ufrpc_log_set_prefix(log, 1, "web");
    ufrpc_log_printf(log, UFRPC_LOG_DEBUG, "a/b/c.c", 7, "quote \" back \\ nl \n ctl \x01 end");
    char *out = slurp(f);
    size_t n = strlen(out);
    assert_true(n > 0 && out[n - 1] == '\n');
    assert_null(memchr(out, '\n', n - 1)); /* one line */
    struct json_object *o = json_tokener_parse(out);
    assert_non_null(o);
    struct json_object *v;
    assert_true(json_object_object_get_ex(o, "msg", &v));
    assert_string_equal(json_object_get_string(v), "quote \" back \\ nl \n ctl \x01 end");
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "debug");
    assert_true(json_object_object_get_ex(o, "time", &v));
    assert_string_equal(json_object_get_string(v), "2025-01-02 15:04:05.007");
    assert_true(json_object_object_get_ex(o, "src", &v));
    assert_string_equal(json_object_get_string(v), "b/c.c:7");
    assert_true(json_object_object_get_ex(o, "prefix", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "run\"1");
    json_object_put(o);
    free(out);
    ufrpc_log_free(log);
    fclose(f);
}

static void test_long_message_cut_to_one_line(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct fake_clock clk = {T0};
    struct ufrpc_log *log = console_log(f, &clk, UFRPC_LOG_INFO, 0);
    char *big = malloc(20000);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    UFRPC_LOGI(log, "%s", big);
    char *out = slurp(f);
    size_t n = strlen(out);
    assert_true(n < UFRPC_LOG_MAX_LINE + 200);
    assert_int_equal(out[n - 1], '\n');
    assert_non_null(strstr(out, "x...\n"));
    free(out);
    free(big);
    ufrpc_log_free(log);
    fclose(f);
}

static int count_backups(const char *dir, const char *stem)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, stem, strlen(stem)) == 0 && strcmp(de->d_name, "frpc.log") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_file_daily_rotation_and_max_days(void **state)
{
    (void)state;
    char dir[] = "/tmp/ufrpc_logtest_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sub/frpc.log", dir); /* parent created on demand */
    char subdir[256];
    snprintf(subdir, sizeof subdir, "%s/sub", dir);

    struct fake_clock clk = {T0};
    struct ufrpc_log_opts o = {.to = path, .level = UFRPC_LOG_INFO, .max_days = 2,
                               .clock_ms = fake_now, .clock_ctx = &clk, .utc = 1};
    struct ufrpc_log *log = NULL;
    assert_int_equal(ufrpc_log_new(&o, &log), 0);
    UFRPC_LOGI(log, "day one");
    clk.ms += 3600 * 1000; /* same day */
    UFRPC_LOGI(log, "day one later");
    assert_int_equal(count_backups(subdir, "frpc."), 0);
    for (int day = 1; day <= 4; day++) {
        clk.ms = T0 + (int64_t)day * 24 * 3600 * 1000;
        UFRPC_LOGI(log, "day %d", day + 1);
    }
    /* 4 rotations happened; backups older than 2 days were deleted: the newest two stay */
    int backups = count_backups(subdir, "frpc.");
    assert_true(backups >= 2 && backups <= 3);
    char name[512];
    snprintf(name, sizeof name, "%s/frpc.20250106-150405.log", subdir);
    struct stat st;
    assert_int_equal(stat(name, &st), 0);
    snprintf(name, sizeof name, "%s/frpc.20250103-150405.log", subdir);
    assert_int_not_equal(stat(name, &st), 0);
    ufrpc_log_free(log);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    char *out = slurp(f);
    fclose(f);
    assert_non_null(strstr(out, "day 5"));
    assert_null(strstr(out, "day 4"));
    free(out);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_console_colors_like_golib(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct fake_clock clk = {T0};
    struct ufrpc_log_opts o = {.to = "console", .level = UFRPC_LOG_TRACE, .console = f,
                               .clock_ms = fake_now, .clock_ctx = &clk, .utc = 1, .color = 1};
    struct ufrpc_log *log = NULL;
    assert_int_equal(ufrpc_log_new(&o, &log), 0);
    ufrpc_log_printf(log, UFRPC_LOG_INFO, "a/b.c", 1, "i");
    ufrpc_log_printf(log, UFRPC_LOG_TRACE, "a/b.c", 2, "t");
    ufrpc_log_printf(log, UFRPC_LOG_ERROR, "a/b.c", 3, "e");
    char *out = slurp(f);
    assert_string_equal(out, "\033[1;34m2025-01-02 15:04:05.007 [I] [a/b.c:1] i\n\033[0m"
                             "2025-01-02 15:04:05.007 [T] [a/b.c:2] t\n"
                             "\033[1;31m2025-01-02 15:04:05.007 [E] [a/b.c:3] e\n\033[0m");
    free(out);
    ufrpc_log_free(log);
    fclose(f);
}

static void test_bad_file_path_fails_early(void **state)
{
    (void)state;
    struct ufrpc_log_opts o = {.to = "/proc/definitely/not/here.log", .level = UFRPC_LOG_INFO};
    struct ufrpc_log *log = (struct ufrpc_log *)1;
    assert_int_equal(ufrpc_log_new(&o, &log), UFRPC_ERR_IO);
    assert_null(log);
    o.to = "console";
    o.level = (enum ufrpc_log_level)9;
    assert_int_equal(ufrpc_log_new(&o, &log), UFRPC_ERR_INVAL);
}

/* The file's bytes now, as a reader of the log sees them (not through our FILE). */
static char *file_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    char *out = slurp(f);
    fclose(f);
    return out;
}

/* Every line the file holds is whole (ends in '\n'). */
static void assert_whole_lines(const char *text)
{
    size_t n = strlen(text);
    assert_true(n == 0 || text[n - 1] == '\n');
}

/* flush_interval_ms > 0: info lines wait (whole) in memory; a warn or error line,
 * the interval passing (at the next line or a tick), a full buffer, rotation and
 * the end write them out, in order. */
static void test_buffered_file_timed_flush(void **state)
{
    (void)state;
    char dir[] = "/tmp/ufrpc_logbuf_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/frpc.log", dir);
    struct fake_clock clk = {T0};
    struct ufrpc_log_opts o = {.to = path, .level = UFRPC_LOG_INFO, .clock_ms = fake_now,
                               .clock_ctx = &clk, .utc = 1, .flush_interval_ms = 1000};
    struct ufrpc_log *log = NULL;
    assert_int_equal(ufrpc_log_new(&o, &log), 0);

    UFRPC_LOGI(log, "first");
    UFRPC_LOGI(log, "second");
    char *t = file_text(path);
    assert_string_equal(t, ""); /* nothing written yet */
    free(t);
    UFRPC_LOGW(log, "a warning");
    t = file_text(path);
    char *a = strstr(t, "first"), *b = strstr(t, "second"), *c = strstr(t, "a warning");
    assert_true(a != NULL && b != NULL && c != NULL && a < b && b < c);
    assert_whole_lines(t);
    free(t);

    /* the interval: a tick before it keeps the line, one after writes it */
    UFRPC_LOGI(log, "third");
    clk.ms += 999;
    ufrpc_log_tick(log);
    t = file_text(path);
    assert_null(strstr(t, "third"));
    free(t);
    clk.ms += 1;
    ufrpc_log_tick(log);
    t = file_text(path);
    assert_non_null(strstr(t, "third"));
    free(t);
    /* ... or the next line once the oldest waiting one is that old */
    UFRPC_LOGI(log, "fourth");
    clk.ms += 1500;
    UFRPC_LOGI(log, "fifth");
    t = file_text(path);
    assert_non_null(strstr(t, "fifth"));
    free(t);

    /* a full buffer goes out whole: only complete lines ever reach the file */
    for (int i = 0; i < 2000; i++) {
        UFRPC_LOGI(log, "bulk line %04d with some text to fill the buffer quickly", i);
        if (i % 500 == 499) {
            t = file_text(path);
            assert_whole_lines(t);
            free(t);
        }
    }
    t = file_text(path);
    assert_non_null(strstr(t, "bulk line 0000"));
    free(t);
    UFRPC_LOGI(log, "last");
    ufrpc_log_free(log); /* writes what waits */
    t = file_text(path);
    assert_non_null(strstr(t, "bulk line 1999"));
    assert_non_null(strstr(t, "last"));
    assert_whole_lines(t);
    free(t);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffered_file_timed_flush),
        cmocka_unit_test(test_text_format_matches_frpc),
        cmocka_unit_test(test_levels_filter),
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_json_lines_escape),
        cmocka_unit_test(test_long_message_cut_to_one_line),
        cmocka_unit_test(test_file_daily_rotation_and_max_days),
        cmocka_unit_test(test_console_colors_like_golib),
        cmocka_unit_test(test_bad_file_path_fails_early),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
