/* ufrpc-bench run: deployment mode. The bench serves its service on
 * 127.0.0.1:--local-port (the user's tunnel forwards there) and measures through
 * the public endpoint --target. See bench.h. */
#include "bench/bench.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/load.h"
#include "bench/service.h"
#include "bench/util.h"
#include "bench/workdir.h"
#include "proto/error.h"

static const char *pid_alive(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    return kill(pid, 0) == 0 ? NULL : "client process ended";
}

static int resolve_hostport(const char *s, struct sockaddr_storage *out)
{
    char host[256];
    int port;
    if (ufrpc_bench_split_hostport(s, host, sizeof(host), &port) != 0)
        return UFRPC_ERR_INVAL;
    return ufrpc_bench_resolve(host, port, out);
}

static json_object *make_meta(const ufrpc_bench_opts_t *o)
{
    json_object *m = json_object_new_object();
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_object_add(m, "tool", json_object_new_string("ufrpc-bench " UFRPC_BENCH_VERSION));
    json_object_object_add(m, "command", json_object_new_string("run"));
    json_object_object_add(m, "started_at", json_object_new_string(when));
    json_object *set = json_object_new_object();
    json_object_object_add(set, "target", json_object_new_string(o->target));
    json_object_object_add(set, "local_port", json_object_new_int(o->local_port));
    if (o->http_target)
        json_object_object_add(set, "http_target", json_object_new_string(o->http_target));
    json_object_object_add(set, "client_pid", json_object_new_int(o->client_pid));
    json_object_object_add(set, "duration_s", ufrpc_bench_json_number(o->duration));
    json_object_object_add(set, "runs", json_object_new_int(o->runs));
    json_object_object_add(set, "quick", json_object_new_boolean(o->quick));
    json_object_object_add(set, "latency_conns", json_object_new_int(o->latency_conns));
    json_object_object_add(set, "idle_conns", json_object_new_int(o->idle_conns));
    json_object_object_add(set, "http_conns", json_object_new_int(o->http_conns));
    json_object_object_add(m, "settings", set);
    return m;
}

int ufrpc_bench_run(const ufrpc_bench_opts_t *o)
{
    ufrpc_bench_progress_t prog;
    ufrpc_bench_results_t res;
    ufrpc_bench_endpoint_t ep;
    uv_loop_t loop;
    ufrpc_bench_service_t *svc = NULL;
    char workdir[PATH_MAX] = "";
    int port = 0;
    int exit_code = 1;
    pid_t pid = (pid_t)o->client_pid;

    ufrpc_bench_progress_init(&prog, stderr, o->quiet);
    ufrpc_bench_results_init(&res);
    memset(&ep, 0, sizeof(ep));
    ep.client = o->label ? o->label : "target";
    ep.mode = "-";
    ep.pid = pid;
    if (o->target == NULL || o->local_port <= 0 || o->local_port > 65535) {
        fprintf(stderr, "ufrpc-bench run: --target HOST:PORT and --local-port N are required\n");
        return 2;
    }
    if (resolve_hostport(o->target, &ep.tcp) != 0) {
        fprintf(stderr, "ufrpc-bench run: cannot resolve --target %s\n", o->target);
        return 2;
    }
    if (o->http_target != NULL) {
        if (resolve_hostport(o->http_target, &ep.http) != 0) {
            fprintf(stderr, "ufrpc-bench run: cannot resolve --http-target %s\n", o->http_target);
            return 2;
        }
        ep.have_http = 1;
        ep.http_host = o->http_host ? o->http_host : o->http_target;
    } else {
        ep.http_na = "n/a: no --http-target given";
    }
    if (pid > 0 && kill(pid, 0) != 0) {
        fprintf(stderr, "ufrpc-bench run: no process %d (--client-pid)\n", (int)pid);
        return 2;
    }
    if (uv_loop_init(&loop) != 0)
        return 1;
    if (ufrpc_bench_workdir_create(o->workdir, workdir, sizeof(workdir)) != 0 ||
        ufrpc_bench_service_start("127.0.0.1", o->local_port, &svc, &port) != 0) {
        fprintf(stderr, "ufrpc-bench run: cannot serve on 127.0.0.1:%d\n", o->local_port);
        goto out;
    }
    ufrpc_bench_progress_note(&prog, "ufrpc-bench run: service on 127.0.0.1:%d, measuring through %s",
                              port, o->target);
    if (ufrpc_bench_probe_echo(&loop, (struct sockaddr *)&ep.tcp, 15.0) != 0) {
        fprintf(stderr, "ufrpc-bench run: %s does not reach the service on 127.0.0.1:%d "
                        "(is the tunnel's localPort %d?)\n", o->target, port, port);
        goto out;
    }
    ufrpc_bench_results_client(&res, ep.client);
    for (int run = 0; run < o->runs; run++) {
        ufrpc_bench_progress_label(&prog, "[%d/%d] %s", run + 1, o->runs, ep.client);
        ufrpc_bench_measure(&loop, o, &ep, &res, &prog, pid > 0 ? pid_alive : NULL, &pid);
    }
    json_object *meta = make_meta(o);
    exit_code = ufrpc_bench_report(o, &res, meta, NULL, NULL, workdir, &prog) == 0 ? 0 : 1;
    json_object_put(meta);
out:
    ufrpc_bench_service_stop(svc);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    if (workdir[0] && !o->keep)
        ufrpc_bench_workdir_remove(workdir);
    ufrpc_bench_results_free(&res);
    return exit_code;
}
