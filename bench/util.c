/* ufrpc-bench helpers: see util.h. */
#include "bench/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "proto/error.h"

uint64_t ufrpc_bench_now_ns(void)
{
    return uv_hrtime();
}

int ufrpc_bench_free_port(const char *ip, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, ip, &a6->sin6_addr) != 1)
            return UFRPC_ERR_INVAL;
        len = sizeof(*a6);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        if (inet_pton(AF_INET, ip, &a4->sin_addr) != 1)
            return UFRPC_ERR_INVAL;
        len = sizeof(*a4);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return UFRPC_ERR_IO;
    int rc = UFRPC_ERR_IO;
    if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
        rc = 0;
    }
    close(fd);
    return rc;
}

int ufrpc_bench_split_hostport(const char *s, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *hs = s;
    size_t hl;
    if (s[0] == '[') {
        const char *close_br = strchr(s, ']');
        if (close_br == NULL || close_br[1] != ':')
            return UFRPC_ERR_INVAL;
        hs = s + 1;
        hl = (size_t)(close_br - hs);
        colon = close_br + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return UFRPC_ERR_INVAL;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= hostlen)
        return UFRPC_ERR_INVAL;
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 1 || p > 65535)
        return UFRPC_ERR_INVAL;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int ufrpc_bench_resolve(const char *host, int port, struct sockaddr_storage *out)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char ps[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || res == NULL)
        return UFRPC_ERR_DNS;
    memset(out, 0, sizeof(*out));
    if (res->ai_addrlen > sizeof(*out)) {
        freeaddrinfo(res);
        return UFRPC_ERR_DNS;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

int ufrpc_bench_is_loopback(const struct sockaddr *addr)
{
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)addr;
        return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
    }
    return 0;
}

int ufrpc_bench_write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return UFRPC_ERR_IO;
    size_t len = strlen(text);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return UFRPC_ERR_IO;
        }
        off += (size_t)n;
    }
    return close(fd) == 0 ? 0 : UFRPC_ERR_IO;
}

void ufrpc_bench_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    struct timespec rem;
    /* Each EINTR restarts with the remainder, so the total stays bounded by ms. */
    for (int i = 0; i < 1000 && nanosleep(&ts, &rem) != 0 && errno == EINTR; i++)
        ts = rem;
}

int ufrpc_bench_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    return (n < 0 || (size_t)n >= len) ? UFRPC_ERR_LIMIT : 0;
}
