/* The frpc-like command line and the run loop (signals, reload, exit codes), on top
 * of libufrpc (client/ufrpc.h; the few extra hooks in client/ufrpc_internal.h). */
#include "client/cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "client/admin.h"
#include "client/cli_util.h"
#include "client/log.h"
#include "client/ufrpc_internal.h"
#include "client/version.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/text.h"

static int fail(struct ufrpc_cli_args *a, const char *fmt, const char *what)
{
    snprintf(a->error, sizeof a->error, fmt, what);
    return -1;
}

int ufrpc_cli_parse(int argc, char **argv, struct ufrpc_cli_args *a)
{
    memset(a, 0, sizeof *a);
    a->strict = true;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-c") == 0) {
            if (i + 1 >= argc)
                return fail(a, "flag needs an argument: 'c' in %s", arg);
            a->config = argv[++i];
        } else if (strncmp(arg, "-c", 2) == 0 && arg[2]) {
            a->config = arg[2] == '=' ? arg + 3 : arg + 2;
        } else if (strcmp(arg, "-v") == 0) {
            a->version = true;
        } else if (strcmp(arg, "-h") == 0) {
            a->help = true;
        } else if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            char name[64];
            if (ufrpc_cli_long_name(arg, name, sizeof name) == NULL)
                return fail(a, "unknown flag: %s", arg);
            const char *eq = strchr(arg, '=');
            if (strcmp(name, "config") == 0) {
                if (eq)
                    a->config = eq + 1;
                else if (i + 1 < argc)
                    a->config = argv[++i];
                else
                    return fail(a, "flag needs an argument: %s", arg);
            } else if (strcmp(name, "version") == 0 || strcmp(name, "help") == 0 ||
                       strcmp(name, "strict-config") == 0 || strcmp(name, "log-json") == 0) {
                bool v = true;
                if (eq && !ufrpc_parse_go_bool(eq + 1, strlen(eq + 1), &v))
                    return fail(a, "invalid argument for flag %s", arg);
                if (name[0] == 'v')
                    a->version = v;
                else if (name[0] == 'h')
                    a->help = v;
                else if (name[0] == 's')
                    a->strict = v;
                else
                    a->log_json = v;
            } else {
                return fail(a, "unknown flag: %s", arg);
            }
        } else if (arg[0] == '-' && arg[1]) {
            return fail(a, "unknown shorthand flag in %s", arg);
        } else {
            return fail(a, "unknown command \"%s\" for \"ufrpc\"", arg);
        }
        if (a->config && !a->config[0])
            return fail(a, "%s", "empty config file name");
    }
    return 0;
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

const char *ufrpc_cli_config_path(const struct ufrpc_cli_args *a, int (*exists)(const char *))
{
    if (a->config)
        return a->config;
    if (!exists)
        exists = file_exists;
    return exists("./frpc.toml") ? "./frpc.toml" : "./frpc.ini";
}

void ufrpc_cli_usage(FILE *out)
{
    fprintf(out,
            "ufrpc is a client of frp (https://github.com/fatedier/frp), in C\n\n"
            "Usage:\n"
            "  ufrpc [flags]\n"
            "  ufrpc verify [-c FILE]\n"
            "  ufrpc reload|status|stop [-c FILE]\n"
            "  ufrpc tcp|udp|http|https|tcpmux|stcp|sudp|xtcp [flags]   run a single proxy\n"
            "  ufrpc stcp|sudp|xtcp visitor [flags]                     run a single visitor\n"
            "      (ufrpc TYPE --help lists the flags: -s ADDR -P PORT -t TOKEN -n NAME\n"
            "       -l LOCAL_PORT -r REMOTE_PORT ...)\n\n"
            "Flags:\n"
            "  -c, --config string     config file of frpc (default ./frpc.toml, then ./frpc.ini)\n"
            "      --strict_config     strict config parsing mode, unknown fields will cause "
            "errors (default true)\n"
            "      --log_json          write log lines as JSON\n"
            "  -h, --help              help for ufrpc\n"
            "  -v, --version           version of frpc\n");
}

/* ---- the run loop ------------------------------------------------------------ */
/* How long info lines may wait in a log file's buffer (see ufrpc_log_opts). */
#define LOG_FLUSH_MS 1000
struct app {
    uv_loop_t loop;
    uv_signal_t sig_int, sig_term, sig_hup;
    uv_timer_t log_timer; /* ufrpc_log_tick for a buffered log file */
    ufrpc_client *client;
    struct ufrpc_admin *admin;
    struct ufrpc_log *log;
    const char *path;
    const char *text; /* quick-run: the configuration text (path is its label) */
    size_t text_len;
    bool strict;
    int exit_code;
    char exit_msg[1400];
};

/* Loads app's configuration: the file app->path, or app->text when set. */
static int load_source(const struct app *app, const struct ufrpc_config_load_opts *o,
                       struct ufrpc_config **out, struct ufrpc_cfg_diag *diag)
{
    if (app->text)
        return ufrpc_config_load_buffer(app->text, app->text_len, app->path, o, out, diag);
    return ufrpc_config_load(app->path, o, out, diag);
}

/* Loads; prints diagnostics like frpc (errors to stdout, warnings prefixed). */
static int load_config(const struct app *app, bool strict, struct ufrpc_config **out, FILE *msgs)
{
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config_load_opts o = {.non_strict = !strict};
    int rc = load_source(app, &o, out, &diag);
    /* (the INI deprecation warning is one of the diag's items: printed once) */
    if (diag.len > 0)
        ufrpc_cfg_diag_print(&diag, msgs);
    ufrpc_cfg_diag_free(&diag);
    return rc;
}

static void close_signals(struct app *app)
{
    uv_close((uv_handle_t *)&app->sig_int, NULL);
    uv_close((uv_handle_t *)&app->sig_term, NULL);
    uv_close((uv_handle_t *)&app->sig_hup, NULL);
    uv_close((uv_handle_t *)&app->log_timer, NULL);
}

static void on_log_timer(uv_timer_t *t)
{
    struct app *app = t->data;
    ufrpc_log_tick(app->log);
}

static void on_client_exit(ufrpc_client *cl, int status, const char *msg, void *data)
{
    (void)cl;
    struct app *app = data;
    if (app->exit_code == 0) { /* a failure recorded before the stop wins */
        app->exit_code = status == 0 ? 0 : 1; /* 1: the first login failed (loginFailExit) */
        snprintf(app->exit_msg, sizeof app->exit_msg, "%s", msg ? msg : "");
    }
    close_signals(app);
    if (app->admin) {
        ufrpc_admin_close(app->admin, NULL, NULL);
        app->admin = NULL;
    }
}

/* ---- admin API hooks ---------------------------------------------------------- */
static struct ufrpc_registry *hook_registry(void *ctx)
{
    return ufrpc_sup_registry(ufrpc__client_sup(((struct app *)ctx)->client));
}

static const struct ufrpc_config *hook_config(void *ctx)
{
    return ufrpc_sup_config(ufrpc__client_sup(((struct app *)ctx)->client));
}

static const char *hook_config_path(void *ctx)
{
    return ((struct app *)ctx)->path;
}

static enum ufrpc_admin_reload_result hook_reload(void *ctx, bool strict, char *msg, size_t cap)
{
    struct app *app = ctx;
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config_load_opts o = {.non_strict = !strict};
    struct ufrpc_config *cfg = NULL;
    int rc = load_source(app, &o, &cfg, &diag);
    if (rc) {
        const struct ufrpc_cfg_diag_item *it = NULL;
        for (size_t i = 0; i < diag.len && !it; i++)
            if (diag.items[i].severity == UFRPC_CFG_ERROR)
                it = &diag.items[i];
        snprintf(msg, cap, "%s", it ? it->err.msg : ufrpc_strerror(rc));
        ufrpc_cfg_diag_free(&diag);
        return UFRPC_ADMIN_RELOAD_INVALID;
    }
    ufrpc_cfg_diag_free(&diag);
    UFRPC_LOGI(app->log, "reload the configuration from [%s] (admin API)", app->path);
    rc = ufrpc__client_use_config(app->client, cfg);
    if (rc) {
        snprintf(msg, cap, "%s", ufrpc_strerror(rc));
        return UFRPC_ADMIN_RELOAD_APPLY_FAILED;
    }
    return UFRPC_ADMIN_RELOAD_OK;
}

static void hook_stop(void *ctx)
{
    (void)ufrpc_client_stop(((struct app *)ctx)->client, NULL, NULL);
}

/* Starts the admin API when webServer.port is set. 0 or <0 (frpc exits then). */
static int start_admin(struct app *app, const struct ufrpc_config *cfg)
{
    if (cfg->web_server.port <= 0)
        return 0;
    struct ufrpc_admin_opts o;
    int rc = ufrpc_admin_opts_from_config(cfg, &o);
    if (rc)
        return rc;
    o.log = app->log;
    struct ufrpc_admin_hooks h = {
        .ctx = app,
        .registry = hook_registry,
        .config = hook_config,
        .config_path = hook_config_path,
        .reload = hook_reload,
        .stop = hook_stop,
    };
    return ufrpc_admin_start(&app->loop, &o, &h, &app->admin); /* it logs "listen on" */
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *app = h->data;
    if (signum == SIGHUP) {
        UFRPC_LOGI(app->log, "reload the configuration from [%s]", app->path);
        struct ufrpc_config *cfg = NULL;
        int rc = load_config(app, app->strict, &cfg, stdout);
        if (rc) {
            UFRPC_LOGE(app->log, "reload config error, keep the current one: %s",
                       ufrpc_strerror(rc));
            return;
        }
        enum ufrpc_log_level lvl;
        if (ufrpc_log_parse_level(ufrpc_cfg_str(cfg->log.level), &lvl) == 0)
            ufrpc_log_set_level(app->log, lvl);
        rc = ufrpc__client_use_config(app->client, cfg);
        if (rc)
            UFRPC_LOGE(app->log, "reload error: %s", ufrpc_strerror(rc));
        return;
    }
    UFRPC_LOGI(app->log, "receive signal %s, exiting", signum == SIGINT ? "interrupt" : "terminated");
    (void)ufrpc_client_stop(app->client, NULL, NULL);
}

static int run(const char *path, const char *text, size_t text_len, bool strict, bool log_json);

int ufrpc_cli_main(int argc, char **argv)
{
    struct ufrpc_cli_args args;
    if (ufrpc_cli_parse(argc, argv, &args) != 0) {
        printf("Error: %s\n", args.error);
        ufrpc_cli_usage(stdout);
        return 1;
    }
    if (args.help) {
        ufrpc_cli_usage(stdout);
        return 0;
    }
    if (args.version) {
        printf("%s\n", UFRPC_FRP_VERSION);
        return 0;
    }
    return run(ufrpc_cli_config_path(&args, NULL), NULL, 0, args.strict, args.log_json);
}

int ufrpc_cli_run_text(const char *text, size_t len, const char *label)
{
    return run(label, text, len, true, false);
}

/* Loads (the file path, or text labelled path when text != NULL) and runs. */
static int run(const char *path, const char *text, size_t text_len, bool strict, bool log_json)
{
    struct app *app = calloc(1, sizeof *app);
    if (!app) {
        printf("out of memory\n");
        return 1;
    }
    app->path = path;
    app->text = text;
    app->text_len = text_len;
    app->strict = strict;
    struct ufrpc_config *cfg = NULL;
    int rc = load_config(app, strict, &cfg, stdout);
    if (rc) {
        free(app);
        return 1;
    }

    const char *log_to = ufrpc_cfg_str(cfg->log.to);
    bool log_to_file = log_to[0] != '\0' && strcmp(log_to, "console") != 0;
    enum ufrpc_log_level lvl = UFRPC_LOG_INFO;
    (void)ufrpc_log_parse_level(ufrpc_cfg_str(cfg->log.level), &lvl); /* bad: info, as frpc */
    struct ufrpc_log_opts lo = {
        .to = cfg->log.to,
        .level = lvl,
        .max_days = (int)cfg->log.max_days,
        .json = log_json,
        .color = !cfg->log.disable_print_color && !log_json && isatty(STDOUT_FILENO),
        /* a log file is written in bursts (warn and error at once), the console
         * line by line */
        .flush_interval_ms = log_to_file ? LOG_FLUSH_MS : 0,
    };
    rc = ufrpc_log_new(&lo, &app->log);
    if (rc) {
        printf("open log file [%s] error: %s\n", ufrpc_cfg_str(cfg->log.to), ufrpc_strerror(rc));
        ufrpc_config_free(cfg);
        free(app);
        return 1;
    }
    if (uv_loop_init(&app->loop) != 0) {
        printf("cannot create the event loop\n");
        ufrpc_config_free(cfg);
        ufrpc_log_free(app->log);
        free(app);
        return 1;
    }
    UFRPC_LOGI(app->log, "start frpc service for config file [%s]", app->path);
    rc = ufrpc_client_new(&app->client);
    if (rc) {
        ufrpc_config_free(cfg);
    } else {
        ufrpc__client_set_log(app->client, app->log);
        (void)ufrpc_client_on_close(app->client, on_client_exit, app);
        rc = ufrpc__client_use_config(app->client, cfg); /* takes cfg */
    }
    if (!rc)
        rc = ufrpc__client_prepare(app->client, &app->loop); /* the login starts below */
    if (rc) {
        printf("%s\n", ufrpc_strerror(rc));
        ufrpc_client_free(app->client);
        uv_loop_close(&app->loop);
        ufrpc_log_free(app->log);
        free(app);
        return 1;
    }
    uv_timer_init(&app->loop, &app->log_timer);
    app->log_timer.data = app;
    if (log_to_file) {
        uv_timer_start(&app->log_timer, on_log_timer, LOG_FLUSH_MS, LOG_FLUSH_MS);
        uv_unref((uv_handle_t *)&app->log_timer); /* never keeps the loop alive */
    }
    uv_signal_t *sigs[] = {&app->sig_int, &app->sig_term, &app->sig_hup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&app->loop, sigs[i]);
        sigs[i]->data = app;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    rc = start_admin(app, ufrpc_sup_config(ufrpc__client_sup(app->client)));
    if (rc) {
        app->exit_code = 1;
        snprintf(app->exit_msg, sizeof app->exit_msg, "admin server listen error: %s",
                 ufrpc_strerror(rc));
        (void)ufrpc_client_stop(app->client, NULL, NULL);
    } else {
        rc = ufrpc_client_start(app->client, &app->loop);
    }
    if (rc && !app->exit_msg[0]) {
        app->exit_code = 1;
        snprintf(app->exit_msg, sizeof app->exit_msg, "%s", ufrpc_strerror(rc));
        (void)ufrpc_client_stop(app->client, NULL, NULL);
    }
    uv_run(&app->loop, UV_RUN_DEFAULT);

    if (app->exit_msg[0])
        printf("%s\n", app->exit_msg); /* frpc prints the error itself, then exits 1 */
    UFRPC_LOGI(app->log, "frpc service for config file [%s] stopped", app->path);
    int code = app->exit_code;
    ufrpc_client_free(app->client);
    if (uv_loop_close(&app->loop) != 0) {
        uv_run(&app->loop, UV_RUN_DEFAULT);
        uv_loop_close(&app->loop);
    }
    ufrpc_log_free(app->log);
    free(app);
    fflush(stdout);
    return code;
}
