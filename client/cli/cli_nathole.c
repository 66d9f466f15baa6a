/* client/cli/cli_nathole.c — `ufrpc nathole discover`. See cli_nathole.h. */
#include "client/cli/cli_nathole.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/entropy.h>

#include "client/cli/cli.h"
#include "client/cli/cli_flags.h"
#include "config/config.h"
#include "proto/error.h"
#include "proto/stun.h"

#define RESPONSE_TIMEOUT_MS 3000

/* "host:port" (IPv4) into sa; Go's ResolveUDPAddr("udp4") error text on failure. */
static int resolve4(const char *hostport, struct sockaddr_in *sa, char *err, size_t cap)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (colon == NULL || (size_t)(colon - hostport) >= sizeof host) {
        snprintf(err, cap, "address %s: missing port in address", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, cap, "lookup %s: %s", host, rc == EAI_NONAME ? "no such host" : gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, sizeof *sa);
    freeaddrinfo(res);
    return 0;
}

static void addr_str(const struct sockaddr_in *sa, char *out, size_t cap)
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
    snprintf(out, cap, "%s:%u", ip, ntohs(sa->sin_port));
}

/* One Binding exchange with server (frp's doSTUNRequest). */
static int ask(int fd, const char *server, struct ufrpc_stun_resp *r, char *err, size_t cap)
{
    struct sockaddr_in sa;
    if (resolve4(server, &sa, err, cap) != 0)
        return -1;
    uint8_t tid[12], req[UFRPC_STUN_HEADER_LEN];
    mbedtls_entropy_context ent;
    mbedtls_entropy_init(&ent);
    int e = mbedtls_entropy_func(&ent, tid, sizeof tid);
    mbedtls_entropy_free(&ent);
    if (e != 0) {
        snprintf(err, cap, "no random transaction id");
        return -1;
    }
    ufrpc_stun_binding_request(req, tid);
    if (sendto(fd, req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int se = errno;
        char a[32], l[32], es[128];
        struct sockaddr_in local = {0};
        socklen_t sl = sizeof local;
        getsockname(fd, (struct sockaddr *)&local, &sl);
        addr_str(&sa, a, sizeof a);
        addr_str(&local, l, sizeof l);
        snprintf(es, sizeof es, "%s", strerror(se));
        es[0] = (char)(es[0] >= 'A' && es[0] <= 'Z' ? es[0] - 'A' + 'a' : es[0]);
        snprintf(err, cap, "write udp4 %s->%s: sendto: %s", l, a, es);
        return -1;
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = RESPONSE_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
                                           (now.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            snprintf(err, cap, "wait response from stun server timeout");
            return -1;
        }
        uint8_t buf[1024];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0 && ufrpc_stun_parse(buf, (size_t)n, tid, r) == 0)
            return 0; /* anything else (an ICMP error, a stray datagram) is skipped */
    }
}

/* frp's ListLocalIPsForNatHole: IPv4, not loopback or link-local, at most 10. */
static bool is_local_ip(const char *ip)
{
    struct ifaddrs *ifs = NULL, *i;
    bool found = false;
    int n = 0;
    if (getifaddrs(&ifs) != 0)
        return false;
    for (i = ifs; i != NULL && !found && n < 10; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((a >> 24) == 127 || (a >> 16) == 0xa9fe || (a >> 24) >= 224)
            continue;
        n++;
        char s[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, s, sizeof s);
        found = strcmp(s, ip) == 0;
    }
    freeifaddrs(ifs);
    return found;
}

int ufrpc_cli_nathole_discover(const struct ufrpc_cli_opts *o, FILE *out)
{
    char server[300] = "stun.easyvoip.com:3478";
    struct ufrpc_cfg_diag diag;
    ufrpc_cfg_diag_init(&diag);
    struct ufrpc_config *cfg = NULL;
    struct ufrpc_config_load_opts lo = {.non_strict = !o->strict, .no_store = true};
    if (ufrpc_config_load(ufrpc_cli_config_path(o->config, NULL), &lo, &cfg, &diag) == 0)
        snprintf(server, sizeof server, "%s", ufrpc_cfg_str(cfg->nat_hole_stun_server));
    ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&diag);
    if (o->stun_server != NULL && o->stun_server[0] != '\0')
        snprintf(server, sizeof server, "%s", o->stun_server);
    if (server[0] == '\0') {
        fprintf(out, "nat_hole_stun_server can not be empty\n");
        return 1;
    }
    char err[600];
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in local = {.sin_family = AF_INET};
    if (fd < 0) {
        fprintf(out, "discover error: socket: %s\n", strerror(errno));
        return 1;
    }
    if ((o->nat_local_addr && o->nat_local_addr[0] &&
         resolve4(o->nat_local_addr, &local, err, sizeof err) != 0)) {
        fprintf(out, "discover error: %s\n", err);
        close(fd);
        return 1;
    }
    socklen_t sl = sizeof local;
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        getsockname(fd, (struct sockaddr *)&local, &sl) != 0) {
        char a[32];
        addr_str(&local, a, sizeof a);
        fprintf(out, "discover error: listen udp4 %s: bind: %s\n", a, strerror(errno));
        close(fd);
        return 1;
    }
    char addrs[2][24] = {"", ""};
    int n = 0;
    struct ufrpc_stun_resp r;
    int rc = ask(fd, server, &r, err, sizeof err);
    if (rc == 0 && r.mapped[0] == '\0') {
        snprintf(err, sizeof err, "no external address found");
        rc = -1;
    }
    if (rc == 0) {
        memcpy(addrs[n++], r.mapped, sizeof addrs[0]);
        if (r.other[0] != '\0') {
            char other[24];
            memcpy(other, r.other, sizeof other);
            rc = ask(fd, other, &r, err, sizeof err);
            if (rc == 0 && r.mapped[0] != '\0')
                memcpy(addrs[n++], r.mapped, sizeof addrs[0]);
        }
    }
    close(fd);
    if (rc != 0) {
        fprintf(out, "discover error: %s\n", err);
        return 1;
    }
    if (n < 2) {
        fprintf(out, "discover error: can not get enough addresses, need 2, got: [%s]\n", addrs[0]);
        return 1;
    }
    /* frp's ClassifyNATFeature for two addresses */
    const char *c0 = strrchr(addrs[0], ':'), *c1 = strrchr(addrs[1], ':');
    bool ip_changed = (c0 - addrs[0]) != (c1 - addrs[1]) ||
                      strncmp(addrs[0], addrs[1], (size_t)(c0 - addrs[0])) != 0;
    bool port_changed = strcmp(c0, c1) != 0;
    char ip0[24], ip1[24];
    snprintf(ip0, sizeof ip0, "%.*s", (int)(c0 - addrs[0]), addrs[0]);
    snprintf(ip1, sizeof ip1, "%.*s", (int)(c1 - addrs[1]), addrs[1]);
    bool public_net = is_local_ip(ip0) || is_local_ip(ip1);
    const char *type = ip_changed || port_changed ? "HardNAT" : "EasyNAT";
    const char *behavior = ip_changed && port_changed ? "BehaviorBothChanged"
                           : ip_changed              ? "BehaviorIPChanged"
                           : port_changed            ? "BehaviorPortChanged"
                                                     : "BehaviorNoChange";
    char la[32];
    addr_str(&local, la, sizeof la);
    fprintf(out, "STUN server: %s\nYour NAT type is: %s\nBehavior is: %s\n"
                 "External address is: [%s %s]\nLocal address is: %s\nPublic Network: %s\n",
            server, type, behavior, addrs[0], addrs[1], la, public_net ? "true" : "false");
    return 0;
}
