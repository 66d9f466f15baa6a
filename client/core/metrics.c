/* client/core/metrics.c — see metrics.h. */
#include "client/core/metrics.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proto/error.h"

const char *ufrpc_session_cause_name(enum ufrpc_session_cause c)
{
    static const char *const n[UFRPC_CAUSES] = {"dial",      "tls",    "login",
                                                "heartbeat", "closed", "other"};
    return (unsigned)c < UFRPC_CAUSES ? n[c] : "other";
}

enum ufrpc_session_cause ufrpc_session_cause_of(int err)
{
    switch (err) {
    case UFRPC_ERR_DNS:
    case UFRPC_ERR_CONNECT_REFUSED:
    case UFRPC_ERR_CONNECT:
    case UFRPC_ERR_NET:
    case UFRPC_ERR_TIMEOUT:
    case UFRPC_ERR_PROXY_PROTOCOL:
    case UFRPC_ERR_WS_HANDSHAKE:
    case UFRPC_ERR_WS_ACCEPT: return UFRPC_CAUSE_DIAL;
    case UFRPC_ERR_TLS_HANDSHAKE:
    case UFRPC_ERR_TLS_VERIFY:
    case UFRPC_ERR_TLS: return UFRPC_CAUSE_TLS;
    case UFRPC_ERR_LOGIN:
    case UFRPC_ERR_OIDC_TOKEN: return UFRPC_CAUSE_LOGIN;
    case UFRPC_ERR_HEARTBEAT:
    case UFRPC_ERR_YAMUX_KEEPALIVE: return UFRPC_CAUSE_HEARTBEAT;
    case UFRPC_ERR_EOF:
    case UFRPC_ERR_CLOSED:
    case UFRPC_ERR_CONN_RESET:
    case UFRPC_ERR_YAMUX_GOAWAY:
    case UFRPC_ERR_YAMUX_SESSION_CLOSED: return UFRPC_CAUSE_CLOSED;
    default: return UFRPC_CAUSE_OTHER;
    }
}

void ufrpc_proc_stats_read(struct ufrpc_proc_stats *out)
{
    memset(out, 0, sizeof *out);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        out->cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long long size = 0, resident = 0;
    if (f == NULL)
        return;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2)
        return;
    long page = sysconf(_SC_PAGESIZE);
    out->rss_bytes = resident * (unsigned long long)(page > 0 ? page : 4096);
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return;
    uint64_t fds = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            fds++;
    closedir(d);
    out->open_fds = fds > 0 ? fds - 1 : 0; /* not the directory's own descriptor */
    out->ok = true;
}
