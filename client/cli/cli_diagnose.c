/* client/cli/cli_diagnose.c — `ufrpc diagnose` on the command line (client/cli/cli_diagnose.h). */
#include "client/cli/cli_diagnose.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "client/cli/cli.h"
#include "client/cli/cli_util.h"
#include "client/cli/diagnose.h"
#include "client/core/log.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/text.h"

void ufrpc_cli_diagnose_usage(FILE *out)
{
    fputs("Check every step between this client and frps: DNS, TCP, TLS, login, each\n"
          "proxy's registration, latency and throughput through a temporary tcp proxy.\n"
          "A running ufrpc with the same configuration is not disturbed.\n\n"
          "Usage:\n"
          "  ufrpc diagnose [-c FILE] [--json] [--size SIZE] [--verbose]\n\n"
          "Flags:\n"
          "  -c, --config string      config file of frpc (default \"./frpc.toml\")\n"
          "      --json               print the report as JSON\n"
          "      --size string        bytes for the throughput step (default \"16MB\")\n"
          "      --strict_config      strict config parsing mode (default true)\n"
          "      --verbose            print the client's log (info level) on stderr\n"
          "  -h, --help               help for diagnose\n\n"
          "Exit code: 0 when every step passed, 1 otherwise.\n",
          out);
}

struct run {
    const struct ufrpc_diag_result *r;
    bool finished;
};

static void on_done(ufrpc_diag_t *d, const struct ufrpc_diag_result *r, void *data)
{
    struct run *run = data;
    (void)d;
    run->r = r;
    run->finished = true;
}

static bool all_passed(const struct ufrpc_diag_result *r)
{
    for (int i = 0; i < UFRPC_DIAG_NSTEPS; i++)
        if (r->steps[i].status != UFRPC_DIAG_OK && r->steps[i].status != UFRPC_DIAG_SKIPPED)
            return false;
    return true;
}

static void print_text(FILE *out, const struct ufrpc_config *cfg, const char *file,
                       const struct ufrpc_diag_result *r)
{
    fprintf(out, "ufrpc diagnose: %s:%lld (%s)\n", ufrpc_cfg_str(cfg->server_addr),
            (long long)cfg->server_port, file);
    for (int i = 0; i < UFRPC_DIAG_NSTEPS; i++) {
        const struct ufrpc_diag_step *s = &r->steps[i];
        char tag[16];
        snprintf(tag, sizeof tag, "[%s]", ufrpc_diag_status_name(s->status));
        fprintf(out, "  %-10s %-11s %s", tag, ufrpc_diag_step_name(i), s->detail);
        if (s->status == UFRPC_DIAG_OK || s->status == UFRPC_DIAG_FAIL)
            fprintf(out, " (%.1f ms)", s->ms);
        fputc('\n', out);
        if (i == UFRPC_DIAG_PROXIES)
            for (size_t k = 0; k < r->n_proxies; k++) {
                const struct ufrpc_diag_proxy *p = &r->proxies[k];
                if (p->ok)
                    fprintf(out, "               %s (%s): ok, remote %s\n", p->name, p->type,
                            p->remote[0] ? p->remote : "-");
                else
                    fprintf(out, "               %s (%s): %s\n", p->name, p->type, p->error);
            }
        if (s->advice[0])
            fprintf(out, "               advice: %s\n", s->advice);
    }
    fprintf(out, "health score: %d/100 (%s)\n", r->score, r->verdict);
}

static void jadd(json_object *o, const char *k, json_object *v)
{
    json_object_object_add(o, k, v);
}

/* A number printed with at most 3 decimals (not 0.57921400000000001). */
static json_object *jnum(double v)
{
    char b[40];
    snprintf(b, sizeof b, "%.3f", v);
    return json_object_new_double_s(v, b);
}

static void print_json(FILE *out, const struct ufrpc_config *cfg, const struct ufrpc_diag_result *r)
{
    json_object *o = json_object_new_object();
    char server[300];
    snprintf(server, sizeof server, "%s:%lld", ufrpc_cfg_str(cfg->server_addr),
             (long long)cfg->server_port);
    jadd(o, "server", json_object_new_string(server));
    json_object *steps = json_object_new_array();
    for (int i = 0; i < UFRPC_DIAG_NSTEPS; i++) {
        const struct ufrpc_diag_step *s = &r->steps[i];
        json_object *js = json_object_new_object();
        jadd(js, "name", json_object_new_string(ufrpc_diag_step_name(i)));
        const char *st = s->status == UFRPC_DIAG_OK        ? "ok"
                         : s->status == UFRPC_DIAG_FAIL    ? "fail"
                         : s->status == UFRPC_DIAG_SKIPPED ? "skipped"
                                                           : "not_run";
        jadd(js, "status", json_object_new_string(st));
        jadd(js, "ms", jnum(s->ms));
        jadd(js, "detail", json_object_new_string(s->detail));
        if (s->advice[0])
            jadd(js, "advice", json_object_new_string(s->advice));
        json_object_array_add(steps, js);
    }
    jadd(o, "steps", steps);
    json_object *addrs = json_object_new_array();
    for (size_t i = 0; i < r->n_addrs; i++)
        json_object_array_add(addrs, json_object_new_string(r->addrs[i]));
    jadd(o, "addresses", addrs);
    if (r->tls_version[0]) {
        json_object *t = json_object_new_object();
        jadd(t, "version", json_object_new_string(r->tls_version));
        jadd(t, "cipherSuite", json_object_new_string(r->tls_suite));
        jadd(t, "subject", json_object_new_string(r->cert_subject));
        jadd(t, "issuer", json_object_new_string(r->cert_issuer));
        jadd(t, "notBefore", json_object_new_string(r->cert_not_before));
        jadd(t, "notAfter", json_object_new_string(r->cert_not_after));
        jadd(t, "verified", json_object_new_boolean(r->cert_verified));
        jadd(o, "tls", t);
    }
    jadd(o, "runId", json_object_new_string(r->run_id));
    json_object *px = json_object_new_array();
    for (size_t k = 0; k < r->n_proxies; k++) {
        const struct ufrpc_diag_proxy *p = &r->proxies[k];
        json_object *jp = json_object_new_object();
        jadd(jp, "name", json_object_new_string(p->name));
        jadd(jp, "type", json_object_new_string(p->type));
        jadd(jp, "ok", json_object_new_boolean(p->ok));
        jadd(jp, "remoteAddr", json_object_new_string(p->remote));
        if (!p->ok)
            jadd(jp, "error", json_object_new_string(p->error));
        json_object_array_add(px, jp);
    }
    jadd(o, "proxies", px);
    if (r->n_rtt == UFRPC_DIAG_PINGS) {
        json_object *l = json_object_new_object();
        json_object *samples = json_object_new_array();
        for (size_t i = 0; i < r->n_rtt; i++)
            json_object_array_add(samples, jnum(r->rtt_ms[i]));
        jadd(l, "samplesMs", samples);
        jadd(l, "minMs", jnum(r->rtt_min));
        jadd(l, "medianMs", jnum(r->rtt_median));
        jadd(l, "maxMs", jnum(r->rtt_max));
        jadd(o, "latency", l);
    }
    if (r->tp_bytes > 0) {
        json_object *t = json_object_new_object();
        jadd(t, "bytes", json_object_new_int64((int64_t)r->tp_bytes));
        jadd(t, "mbPerSecond", jnum(r->tp_mbps));
        jadd(o, "throughput", t);
    }
    jadd(o, "score", json_object_new_int(r->score));
    jadd(o, "verdict", json_object_new_string(r->verdict));
    jadd(o, "passed", json_object_new_boolean(all_passed(r)));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    fprintf(out, "%s\n", s ? s : "{}");
    json_object_put(o);
}


int ufrpc_cli_diagnose(int argc, char **argv, FILE *out)
{
    const char *file = NULL;
    bool json = false, strict = true, verbose = false, seen = false;
    int64_t size = 16 << 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char name[64];
        const char *ln = ufrpc_cli_long_name(a, name, sizeof name);
        const char *eq = strchr(a, '=');
        if (a[0] != '-') {
            if (!seen && strcmp(a, "diagnose") == 0) {
                seen = true;
                continue;
            }
            fprintf(out, "Error: unknown command or argument \"%s\"\n", a);
            return 1;
        }
        if (strcmp(a, "-h") == 0 || (ln && strcmp(ln, "help") == 0)) {
            ufrpc_cli_diagnose_usage(out);
            return 0;
        }
        const char *val = NULL;
        bool takes = strcmp(a, "-c") == 0 || (ln && (strcmp(ln, "config") == 0 ||
                                                     strcmp(ln, "size") == 0));
        if (takes) {
            if (eq != NULL && ln != NULL)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(out, "Error: flag needs an argument: %s\n", a);
                return 1;
            }
            if (strcmp(a, "-c") == 0 || strcmp(ln, "config") == 0) {
                file = val;
            } else if (ufrpc_config_parse_bandwidth(val, &size) < 0 || size <= 0) {
                fprintf(out, "Error: invalid argument \"%s\" for \"--size\": want a size "
                             "such as 16MB or 512KB\n", val);
                return 1;
            }
            continue;
        }
        bool bv = true;
        if (ln && eq != NULL && !ufrpc_parse_go_bool(eq + 1, strlen(eq + 1), &bv)) {
            fprintf(out, "Error: invalid argument \"%s\" for \"%s\"\n", eq + 1, a);
            return 1;
        }
        if (ln && strcmp(ln, "json") == 0)
            json = bv;
        else if (ln && strcmp(ln, "verbose") == 0)
            verbose = bv;
        else if (ln && strcmp(ln, "strict-config") == 0)
            strict = bv;
        else {
            fprintf(out, "Error: unknown flag: %s\n", a);
            return 1;
        }
    }
    file = ufrpc_cli_config_path(file, NULL);

    struct ufrpc_config_load_opts lo = {.non_strict = !strict};
    struct ufrpc_config *cfg = ufrpc_cli_load_config(file, &lo, out);
    if (cfg == NULL)
        return 1;

    struct ufrpc_log *log = NULL;
    if (verbose) {
        struct ufrpc_log_opts o = {.to = "console", .level = UFRPC_LOG_INFO, .console = stderr};
        if (ufrpc_log_new(&o, &log) < 0)
            log = NULL;
    }
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        fprintf(out, "cannot start an event loop\n");
        ufrpc_log_free(log);
        ufrpc_config_free(cfg);
        return 1;
    }
    struct run run = {0};
    struct ufrpc_diag_opts dopts = {.throughput_bytes = (uint64_t)size};
    ufrpc_diag_t *d = NULL;
    int rc = ufrpc_diag_start(&loop, cfg, log, &dopts, on_done, &run, &d);
    int code = 1;
    if (rc < 0) {
        fprintf(out, "diagnose: %s\n", ufrpc_strerror(rc));
    } else {
        uv_run(&loop, UV_RUN_DEFAULT);
        if (run.finished) {
            if (json)
                print_json(out, cfg, run.r);
            else
                print_text(out, cfg, file, run.r);
            code = all_passed(run.r) ? 0 : 1;
        } else {
            fprintf(out, "diagnose: stopped before it finished\n");
        }
    }
    ufrpc_diag_free(d);
    uv_loop_close(&loop);
    ufrpc_log_free(log);
    ufrpc_config_free(cfg);
    return code;
}
