/* The frpc-like command line and the run loop (signals, reload, exit codes), on top
 * of libufrpc: each service is a ufrpc_client (client/lib/ufrpc.h) on the program's
 * loop; client/lib/ufrpc_internal.h adds what only the program needs (its logger,
 * frpc's messages for each step of a reload, the supervisor for the admin API,
 * tokenSource exec's token). */
#include "client/cli/cli.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "client/admin/admin.h"
#include "client/cli/cli_admin.h"
#include "client/cli/cli_complete.h"
#include "client/cli/cli_flags.h"
#include "client/cli/cli_nathole.h"
#include "client/cli/cli_quick.h"
#include "client/cli/cli_util.h"
#include "client/cli/cli_verify.h"
#include "client/core/log.h"
#include "client/core/store.h"
#include "client/core/token_exec.h"
#include "client/lib/ufrpc_internal.h"
#include "client/core/version.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/text.h"

bool ufrpc_cli_needs_token_exec(const struct ufrpc_config *cfg)
{
    return (cfg->auth.token_source.present &&
            strcmp(ufrpc_cfg_str(cfg->auth.token_source.type), "exec") == 0) ||
           (cfg->auth.oidc.token_source.present &&
            strcmp(ufrpc_cfg_str(cfg->auth.oidc.token_source.type), "exec") == 0);
}

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

const char *ufrpc_cli_config_path(const char *config, int (*exists)(const char *))
{
    if (config)
        return config;
    if (!exists)
        exists = file_exists;
    return exists("./frpc.toml") ? "./frpc.toml" : "./frpc.ini";
}

/* ---- the run loop ------------------------------------------------------------ */
/* How long info lines may wait in a log file's buffer (see ufrpc_log_opts). */
#define LOG_FLUSH_MS 1000
struct app {
    uv_loop_t *loop; /* shared by the services of --config-dir */
    uv_signal_t sig_int, sig_term, sig_hup;
    uv_timer_t log_timer; /* ufrpc_log_tick for a buffered log file */
    ufrpc_client *client;
    struct ufrpc_admin *admin;
    struct ufrpc_store *store; /* store.path's, NULL without one */
    struct ufrpc_log *log;
    const char *path; /* the file, or the quick-run text's label */
    bool strict;
    int exit_code;
    char exit_msg[1400];
};

/* Prints the client's last load's diagnostics like frpc (errors to stdout,
 * warnings prefixed; the INI deprecation warning is one of them). */
static void print_diag(const struct app *app, FILE *msgs)
{
    const struct ufrpc_cfg_diag *diag = ufrpc__client_diag(app->client);
    if (diag->len > 0)
        ufrpc_cfg_diag_print(diag, msgs);
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
        app->exit_code = status == 0 ? 0 : 1; /* UFRPC_E_LOGIN: loginFailExit */
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
    return ufrpc__client_config(((struct app *)ctx)->client);
}

static const char *hook_config_path(void *ctx)
{
    return ((struct app *)ctx)->path;
}

/* Loads app's configuration again for the admin API (not applied); on failure
 * writes the first error's text (no position) into msg. */
static int load_for_api(struct app *app, bool strict, struct ufrpc_config **cfg, char *msg,
                        size_t cap)
{
    int rc = ufrpc__client_load_source(app->client, strict, cfg);
    if (rc) {
        const struct ufrpc_cfg_diag *diag = ufrpc__client_diag(app->client);
        const struct ufrpc_cfg_diag_item *it = NULL;
        for (size_t i = 0; i < diag->len && !it; i++)
            if (diag->items[i].severity == UFRPC_CFG_ERROR)
                it = &diag->items[i];
        snprintf(msg, cap, "%s", it ? it->err.msg : ufrpc_strerror(rc));
    }
    return rc;
}

static enum ufrpc_admin_reload_result hook_reload(void *ctx, bool strict, char *msg, size_t cap)
{
    struct app *app = ctx;
    struct ufrpc_config *cfg = NULL;
    if (load_for_api(app, strict, &cfg, msg, cap) != 0)
        return UFRPC_ADMIN_RELOAD_INVALID;
    UFRPC_LOGI(app->log, "reload the configuration from [%s] (admin API)", app->path);
    int rc = ufrpc__client_use_config(app->client, cfg);
    if (rc) {
        snprintf(msg, cap, "%s", ufrpc_strerror(rc));
        return UFRPC_ADMIN_RELOAD_APPLY_FAILED;
    }
    return UFRPC_ADMIN_RELOAD_OK;
}

static struct ufrpc_store *hook_store(void *ctx)
{
    return ((struct app *)ctx)->store;
}

/* frpc's reloadConfigFromSources after a store change: no "reload" line of its own. */
static int hook_store_apply(void *ctx, char *msg, size_t cap)
{
    struct app *app = ctx;
    struct ufrpc_config *cfg = NULL;
    int rc = load_for_api(app, false, &cfg, msg, cap);
    if (rc == 0) {
        rc = ufrpc__client_use_config(app->client, cfg);
        if (rc)
            snprintf(msg, cap, "%s", ufrpc_strerror(rc));
    }
    return rc;
}

static void hook_stop(void *ctx)
{
    (void)ufrpc_client_stop(((struct app *)ctx)->client, NULL, NULL); /* (once only) */
}

static void hook_metrics(void *ctx, struct ufrpc_metrics_src *src)
{
    ufrpc_sup_metrics(ufrpc__client_sup(((struct app *)ctx)->client), src);
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
        .metrics = hook_metrics,
        .store = hook_store,
        .store_apply = hook_store_apply,
    };
    return ufrpc_admin_start(app->loop, &o, &h, &app->admin); /* it logs "listen on" */
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct app *app = h->data;
    if (signum == SIGHUP) {
        UFRPC_LOGI(app->log, "reload the configuration from [%s]", app->path);
        struct ufrpc_config *cfg = NULL;
        int rc = ufrpc__client_load_source(app->client, app->strict, &cfg);
        print_diag(app, stdout);
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
    (void)ufrpc_client_stop(app->client, NULL, NULL); /* (refused once stopping) */
}

static int run(const char *path, const char *text, size_t text_len, bool strict, bool log_json,
               bool allow_token_exec);
static int run_dir(const char *dir, bool strict, bool log_json, bool allow_token_exec);

int ufrpc_cli_main(int argc, char **argv)
{
    struct ufrpc_cli_opts o;
    if (ufrpc_cli_parse_opts(argc, argv, &o) != 0)
        return ufrpc_cli_fail(&o);
    if (o.cmd == UFRPC_CMD_QUICK) /* tcp | udp | ... [visitor] [flags] */
        return ufrpc_cli_quick(argc, argv);
    if (o.help) {
        ufrpc_cli_help(stdout, o.cmd);
        return 0;
    }
    switch (o.cmd) {
    case UFRPC_CMD_HELP: return ufrpc_cli_help_topic(stdout, o.nargs, o.args);
    case UFRPC_CMD_VERIFY: return ufrpc_cli_verify_opts(&o, stdout);
    case UFRPC_CMD_RELOAD:
    case UFRPC_CMD_STATUS:
    case UFRPC_CMD_STOP: return ufrpc_cli_admin_opts(&o, stdout);
    case UFRPC_CMD_COMPLETION:
    case UFRPC_CMD_NATHOLE: ufrpc_cli_help(stdout, o.cmd); return 0;
    case UFRPC_CMD_NATHOLE_DISCOVER: return ufrpc_cli_nathole_discover(&o, stdout);
    case UFRPC_CMD_COMPLETION_BASH: return ufrpc_cli_complete_bash(stdout, o.no_descriptions);
    case UFRPC_CMD_COMPLETION_ZSH: return ufrpc_cli_complete_zsh(stdout, o.no_descriptions);
    case UFRPC_CMD_COMPLETION_FISH: return ufrpc_cli_complete_fish(stdout, o.no_descriptions);
    default: break;
    }
    if (o.version) {
        printf("%s\n", UFRPC_FRP_VERSION);
        return 0;
    }
    if (o.config_dir != NULL)
        return run_dir(o.config_dir, o.strict, o.log_json, o.allow_token_exec);
    return run(ufrpc_cli_config_path(o.config, NULL), NULL, 0, o.strict, o.log_json,
               o.allow_token_exec);
}

int ufrpc_cli_run_text(const char *text, size_t len, const char *label)
{
    return run(label, text, len, true, false, false);
}

/* auth.tokenSource exec's outcome, filled by on_token_exec. */
struct exec_result {
    bool done;
    int rc;
    char *token;
    char err[700];
};

static void on_token_exec(int rc, const char *result, void *data)
{
    struct exec_result *x = data;
    x->done = true;
    x->rc = rc;
    if (rc == 0) {
        x->token = strdup(result);
        if (x->token == NULL)
            x->rc = UFRPC_ERR_NOMEM;
    } else {
        snprintf(x->err, sizeof x->err, "%s", result);
    }
}

/* Runs auth.tokenSource exec's command before the service starts (frpc resolves it
 * while building the service). 0 and *token, or 1 after printing frpc's
 * "failed to resolve auth.tokenSource: ..." line. */
static int resolve_exec_token(const struct ufrpc_config *cfg, char **token)
{
    struct exec_result x = {0};
    uv_loop_t loop; /* its own: nothing else runs while the service is being built */
    int rc = uv_loop_init(&loop) != 0 ? UFRPC_ERR_NOMEM : 0;
    if (rc == 0) {
        rc = ufrpc_token_exec_start(&loop, &cfg->auth.token_source, 0, on_token_exec, &x, x.err,
                                    sizeof x.err);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    if (rc == 0 && x.done)
        rc = x.rc;
    if (rc != 0) {
        printf("failed to resolve auth.tokenSource: %s\n", x.err[0] ? x.err : ufrpc_strerror(rc));
        return 1;
    }
    *token = x.token;
    return 0;
}

/* Frees what app_start made of app before the service ran. Returns 1. */
static int app_discard(struct app *app)
{
    ufrpc_client_free(app->client);
    if (app->log)
        ufrpc_log_free(app->log);
    ufrpc_store_free(app->store);
    free(app);
    return 1;
}

/* The program's logger for cfg's log.* (colours on a terminal, JSON, a log file
 * written in bursts); *to_file when it writes a file. 0, or 1 after printing why. */
static int open_log(struct app *app, const struct ufrpc_config *cfg, bool log_json, bool *to_file)
{
    const char *log_to = ufrpc_cfg_str(cfg->log.to);
    *to_file = log_to[0] != '\0' && strcmp(log_to, "console") != 0;
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
        .flush_interval_ms = *to_file ? LOG_FLUSH_MS : 0,
    };
    int rc = ufrpc_log_new(&lo, &app->log);
    if (rc) {
        app->log = NULL;
        printf("open log file [%s] error: %s\n", ufrpc_cfg_str(cfg->log.to), ufrpc_strerror(rc));
        return 1;
    }
    ufrpc__client_set_log(app->client, app->log);
    return 0;
}

/* Builds and starts one service on loop: 0 (it runs once the loop runs; app_finish
 * afterwards), or 1 after printing why (app freed). The client loads the file
 * (or text labelled path when text != NULL) and keeps it for reloads. */
static int app_start(uv_loop_t *loop, const char *path, const char *text, size_t text_len,
                     bool strict, bool log_json, bool allow_token_exec, struct app **out)
{
    *out = NULL;
    struct app *app = calloc(1, sizeof *app);
    if (!app || ufrpc_client_new(&app->client) != 0) {
        free(app);
        printf("out of memory\n");
        return 1;
    }
    app->loop = loop;
    app->path = path;
    app->strict = strict;
    (void)ufrpc_client_set_strict(app->client, strict);
    (void)ufrpc_client_on_close(app->client, on_client_exit, app);
    int rc = text ? ufrpc_client_load_string(app->client, text, text_len, path)
                  : ufrpc_client_load_file(app->client, path);
    print_diag(app, stdout);
    if (rc)
        return app_discard(app);
    const struct ufrpc_config *cfg = ufrpc__client_config(app->client);

    if (ufrpc_cli_needs_token_exec(cfg) && !allow_token_exec) {
        printf("%s\n", UFRPC_CLI_UNSAFE_TOKEN_EXEC);
        return app_discard(app);
    }
    if (cfg->store.path != NULL && cfg->store.path[0] != '\0') {
        char err[700];
        rc = ufrpc_store_open(cfg->store.path, &app->store, err, sizeof err);
        if (rc) {
            printf("failed to create store source: %s\n", err[0] ? err : ufrpc_strerror(rc));
            return app_discard(app);
        }
    }
    bool log_to_file = false;
    if (open_log(app, cfg, log_json, &log_to_file) != 0)
        return app_discard(app);
    UFRPC_LOGI(app->log, "start frpc service for config file [%s]", app->path);
    if (cfg->auth.token_source.present &&
        strcmp(ufrpc_cfg_str(cfg->auth.token_source.type), "exec") == 0) {
        char *exec_token = NULL;
        if (resolve_exec_token(cfg, &exec_token) != 0) {
            UFRPC_LOGI(app->log, "frpc service for config file [%s] stopped", app->path);
            return app_discard(app);
        }
        rc = ufrpc__client_set_exec_token(app->client, exec_token);
        memset(exec_token, 0, strlen(exec_token));
        free(exec_token);
    }
    if (rc == 0)
        rc = ufrpc__client_prepare(app->client, app->loop); /* the login starts below */
    if (rc) {
        printf("%s\n", ufrpc_strerror(rc));
        return app_discard(app);
    }
    uv_timer_init(app->loop, &app->log_timer);
    app->log_timer.data = app;
    if (log_to_file) {
        uv_timer_start(&app->log_timer, on_log_timer, LOG_FLUSH_MS, LOG_FLUSH_MS);
        uv_unref((uv_handle_t *)&app->log_timer); /* never keeps the loop alive */
    }
    uv_signal_t *sigs[] = {&app->sig_int, &app->sig_term, &app->sig_hup};
    int nums[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(app->loop, sigs[i]);
        sigs[i]->data = app;
        uv_signal_start(sigs[i], on_signal, nums[i]);
    }
    rc = start_admin(app, ufrpc__client_config(app->client));
    if (rc) {
        app->exit_code = 1;
        snprintf(app->exit_msg, sizeof app->exit_msg, "admin server listen error: %s",
                 ufrpc_strerror(rc));
        (void)ufrpc_client_stop(app->client, NULL, NULL);
    } else {
        rc = ufrpc_client_start(app->client, app->loop);
    }
    if (rc && !app->exit_msg[0]) {
        app->exit_code = 1;
        snprintf(app->exit_msg, sizeof app->exit_msg, "%s", ufrpc_strerror(rc));
        (void)ufrpc_client_stop(app->client, NULL, NULL);
    }
    *out = app;
    return 0;
}

/* After the loop ended: prints the stop reason, frees app; returns the exit code. */
static int app_finish(struct app *app)
{
    if (app->exit_msg[0])
        printf("%s\n", app->exit_msg); /* frpc prints the error itself, then exits 1 */
    UFRPC_LOGI(app->log, "frpc service for config file [%s] stopped", app->path);
    int code = app->exit_code;
    ufrpc_client_free(app->client);
    uv_run(app->loop, UV_RUN_NOWAIT); /* the client's last close callbacks */
    ufrpc_log_free(app->log);
    ufrpc_store_free(app->store); /* after the loop: no store job is left */
    free(app);
    fflush(stdout);
    return code;
}

static void close_loop(uv_loop_t *loop)
{
    if (uv_loop_close(loop) != 0) {
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
}

/* Loads (the file path, or text labelled path when text != NULL) and runs. */
static int run(const char *path, const char *text, size_t text_len, bool strict, bool log_json,
               bool allow_token_exec)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        printf("cannot create the event loop\n");
        return 1;
    }
    struct app *app = NULL;
    int code = app_start(&loop, path, text, text_len, strict, log_json, allow_token_exec, &app);
    if (code == 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        code = app_finish(app);
    }
    close_loop(&loop);
    return code;
}

/* ---- --config-dir ------------------------------------------------------------ */

#define MAX_DIR_SERVICES 256

static int cmp_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name); /* Go's WalkDir: byte order */
}

/* The regular files under dir, depth first in name order (frpc's filepath.WalkDir;
 * unreadable entries are skipped, as frpc's walk function ignores errors). */
static void walk(const char *dir, char **paths, size_t *n, size_t max)
{
    struct dirent **ents = NULL;
    int k = scandir(dir, &ents, NULL, cmp_name);
    for (int i = 0; i < k; i++) {
        const char *nm = ents[i]->d_name;
        if (strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0 && *n < max) {
            size_t len = strlen(dir) + strlen(nm) + 2;
            char *p = malloc(len);
            struct stat st;
            if (p != NULL) {
                snprintf(p, len, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", nm);
                if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
                    walk(p, paths, n, max);
                    free(p);
                } else if (stat(p, &st) == 0) {
                    paths[(*n)++] = p;
                } else {
                    free(p);
                }
            }
        }
        free(ents[i]);
    }
    free(ents);
}

/* frpc --config-dir: one service for each file of dir, all in this process (on one
 * loop); a service that cannot start or that fails is reported as frpc does ("frpc
 * service error for config file [PATH]") and the others go on. Exit code 0, as frpc's
 * (the flag is meant for tests there). */
static int run_dir(const char *dir, bool strict, bool log_json, bool allow_token_exec)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        printf("config directory [%s] is not a directory\n", dir);
        return 1;
    }
    char **paths = calloc(MAX_DIR_SERVICES, sizeof *paths);
    struct app **apps = calloc(MAX_DIR_SERVICES, sizeof *apps);
    uv_loop_t loop;
    if (paths == NULL || apps == NULL || uv_loop_init(&loop) != 0) {
        free(paths);
        free(apps);
        printf("out of memory\n");
        return 1;
    }
    size_t n = 0;
    walk(dir, paths, &n, MAX_DIR_SERVICES);
    for (size_t i = 0; i < n; i++)
        if (app_start(&loop, paths[i], NULL, 0, strict, log_json, allow_token_exec, &apps[i]) != 0)
            printf("frpc service error for config file [%s]\n", paths[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (size_t i = 0; i < n; i++)
        if (apps[i] != NULL && app_finish(apps[i]) != 0)
            printf("frpc service error for config file [%s]\n", paths[i]);
    close_loop(&loop);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
    free(apps);
    fflush(stdout);
    return 0;
}
