/* ufrpc-bench entry point: command line. Only main() may end the process. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/bench.h"

const struct ufrpc_bench_mode UFRPC_BENCH_MODES[UFRPC_BENCH_NMODES] = {
    {"plain", "tcp", 0, 0},          {"mux", "tcp", 0, 1},
    {"tls", "tcp", 1, 0},            {"tls+mux", "tcp", 1, 1},
    {"ws", "websocket", 0, 0},       {"ws+mux", "websocket", 0, 1},
    {"ws+tls+mux", "websocket", 1, 1},
    {"quic", "quic", 0, 0},
    {"kcp", "kcp", 1, 1}, /* frpc's defaults (TLS, tcpMux) over KCP */
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ufrpc-bench compare [options]   loopback comparison of tunnel clients\n"
        "       ufrpc-bench run --target HOST:PORT --local-port N [options]\n"
        "                                       measure through a deployed tunnel\n"
        "\n"
        "compare options:\n"
        "  --ufrpc PATH       ufrpc to test (default: next to ufrpc-bench or in the build tree)\n"
        "  --frpc PATH        also test frpc (ratios become ufrpc/frpc)\n"
        "  --frps PATH        use a real frps (configured through a generated frps.toml)\n"
        "                     instead of the test frps\n"
        "  --test-frps PATH   the ufrpc-test-frps to use (default: found like --ufrpc)\n"
        "  --no-ufrpc         leave ufrpc out (direct and frpc only)\n"
        "  --modes LIST       tunnel modes, comma-separated: plain,mux,tls,tls+mux (the\n"
        "                     default), the websocket transport: ws,ws+mux,ws+tls+mux,\n"
        "                     quic (frps's quicBindPort; needs --frps) and kcp (TLS and\n"
        "                     tcpMux over KCP)\n"
        "run options:\n"
        "  --target HOST:PORT public endpoint of the tunnel (its local side: --local-port)\n"
        "  --local-port N     port on 127.0.0.1 where ufrpc-bench serves the tunnel's local side\n"
        "  --http-target HOST:PORT  an http vhost endpoint whose proxy points to --local-port\n"
        "  --http-host NAME   Host header for --http-target (default: the target itself)\n"
        "  --client-pid PID   the tunnel client's process, for its CPU and memory figures\n"
        "  --label NAME       column name in the results (default: target)\n"
        "common options:\n"
        "  --duration S       seconds per throughput and http scenario (default 10)\n"
        "  --runs N           runs per figure; the median is reported (default 3)\n"
        "  --latency-conns N  connections for the setup latency (default 2000)\n"
        "  --idle-conns N     idle connections held for the memory figure (default 1000)\n"
        "  --http-conns N     concurrent http clients (default 16)\n"
        "  --json FILE        write the results as JSON (schema: bench/README.md)\n"
        "  --chart-dir DIR    write one PNG chart per figure group (needs gnuplot)\n"
        "  --quick            a few seconds in all: short scenarios, 1 run, few connections\n"
        "  --workdir DIR      where configs and logs go (default: a fresh dir in $TMPDIR)\n"
        "  --keep             keep the work dir\n"
        "  --quiet            no progress output\n");
}

static int parse_modes(const char *s, unsigned *mask)
{
    char buf[128];
    if (strlen(s) >= sizeof(buf))
        return -1;
    strcpy(buf, s);
    *mask = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int i = 0; i < UFRPC_BENCH_NMODES; i++)
            if (strcmp(t, UFRPC_BENCH_MODES[i].name) == 0) {
                *mask |= 1u << i;
                found = 1;
            }
        if (!found)
            return -1;
    }
    return *mask ? 0 : -1;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

enum {
    O_FRPS = 256, O_FRPC, O_UFRPC, O_TEST_FRPS, O_NO_UFRPC, O_DURATION, O_RUNS, O_JSON,
    O_CHARTS, O_QUICK, O_LAT, O_IDLE, O_HTTPC, O_MODES, O_WORKDIR, O_KEEP, O_QUIET,
    O_TARGET, O_LOCAL, O_HTTP_TARGET, O_HTTP_HOST, O_PID, O_LABEL, O_HELP, O_VERSION
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"frps", required_argument, NULL, O_FRPS},
        {"frpc", required_argument, NULL, O_FRPC},
        {"ufrpc", required_argument, NULL, O_UFRPC},
        {"test-frps", required_argument, NULL, O_TEST_FRPS},
        {"no-ufrpc", no_argument, NULL, O_NO_UFRPC},
        {"duration", required_argument, NULL, O_DURATION},
        {"runs", required_argument, NULL, O_RUNS},
        {"json", required_argument, NULL, O_JSON},
        {"chart-dir", required_argument, NULL, O_CHARTS},
        {"quick", no_argument, NULL, O_QUICK},
        {"latency-conns", required_argument, NULL, O_LAT},
        {"idle-conns", required_argument, NULL, O_IDLE},
        {"http-conns", required_argument, NULL, O_HTTPC},
        {"modes", required_argument, NULL, O_MODES},
        {"workdir", required_argument, NULL, O_WORKDIR},
        {"keep", no_argument, NULL, O_KEEP},
        {"quiet", no_argument, NULL, O_QUIET},
        {"target", required_argument, NULL, O_TARGET},
        {"local-port", required_argument, NULL, O_LOCAL},
        {"http-target", required_argument, NULL, O_HTTP_TARGET},
        {"http-host", required_argument, NULL, O_HTTP_HOST},
        {"client-pid", required_argument, NULL, O_PID},
        {"label", required_argument, NULL, O_LABEL},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    ufrpc_bench_opts_t o;
    memset(&o, 0, sizeof(o));
    o.duration = -1;
    o.runs = -1;
    o.latency_conns = -1;
    o.idle_conns = -1;
    o.http_conns = 16;
    o.parallel[0] = 16;
    o.parallel[1] = 128;
    o.modes_mask = UFRPC_BENCH_DEFAULT_MODES;

    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ufrpc-bench %s\n", UFRPC_BENCH_VERSION);
        return 0;
    }
    o.command = argv[1];
    if (strcmp(o.command, "compare") != 0 && strcmp(o.command, "run") != 0) {
        fprintf(stderr, "ufrpc-bench: unknown command '%s'\n", o.command);
        usage(stderr);
        return 2;
    }
    int c;
    int bad = 0;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_FRPS: o.frps = optarg; break;
        case O_FRPC: o.frpc = optarg; break;
        case O_UFRPC: o.ufrpc = optarg; break;
        case O_TEST_FRPS: o.test_frps = optarg; break;
        case O_NO_UFRPC: o.no_ufrpc = 1; break;
        case O_DURATION: {
            char *end;
            o.duration = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(o.duration >= 0.05) || o.duration > 3600)
                bad = 1;
            break;
        }
        case O_RUNS: bad |= parse_int(optarg, 1, UFRPC_BENCH_MAX_RUNS, &o.runs) != 0; break;
        case O_JSON: o.json_path = optarg; break;
        case O_CHARTS: o.chart_dir = optarg; break;
        case O_QUICK: o.quick = 1; break;
        case O_LAT: bad |= parse_int(optarg, 1, 100000, &o.latency_conns) != 0; break;
        case O_IDLE: bad |= parse_int(optarg, 1, 20000, &o.idle_conns) != 0; break;
        case O_HTTPC: bad |= parse_int(optarg, 1, 1024, &o.http_conns) != 0; break;
        case O_MODES: bad |= parse_modes(optarg, &o.modes_mask) != 0; break;
        case O_WORKDIR: o.workdir = optarg; break;
        case O_KEEP: o.keep = 1; break;
        case O_QUIET: o.quiet = 1; break;
        case O_TARGET: o.target = optarg; break;
        case O_LOCAL: bad |= parse_int(optarg, 1, 65535, &o.local_port) != 0; break;
        case O_HTTP_TARGET: o.http_target = optarg; break;
        case O_HTTP_HOST: o.http_host = optarg; break;
        case O_PID: bad |= parse_int(optarg, 1, 1 << 30, &o.client_pid) != 0; break;
        case O_LABEL: o.label = optarg; break;
        case O_HELP: usage(stdout); return 0;
        case O_VERSION: printf("ufrpc-bench %s\n", UFRPC_BENCH_VERSION); return 0;
        default: bad = 1; break;
        }
    }
    if (bad || optind != argc) {
        fprintf(stderr, "ufrpc-bench: bad arguments (see ufrpc-bench --help)\n");
        return 2;
    }
    if (o.duration < 0)
        o.duration = o.quick ? 0.3 : 10.0;
    if (o.runs < 0)
        o.runs = o.quick ? 1 : 3;
    if (o.latency_conns < 0)
        o.latency_conns = o.quick ? 100 : 2000;
    if (o.idle_conns < 0)
        o.idle_conns = o.quick ? 100 : 1000;

    /* peers may vanish mid-write; many sockets are open at once */
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (strcmp(o.command, "compare") == 0)
        return ufrpc_bench_compare(&o);
    return ufrpc_bench_run(&o);
}
