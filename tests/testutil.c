#include "testutil.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/error.h"
#include "proto/text.h"

char *ufrpc_test_data_path(const char *rel)
{
    const char *base = getenv("UFRPC_TEST_DATA");
    if (base == NULL || *base == '\0')
        base = UFRPC_TEST_DATA_DIR;
    size_t n = strlen(base) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", base, rel);
    return p;
}

int ufrpc_test_read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return UFRPC_ERR_NOT_FOUND;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        if (n + 1 >= cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    if (buf == NULL)
        return UFRPC_ERR_NOMEM;
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static char *read_vectors(void)
{
    char *path = ufrpc_test_data_path("protocol/vectors.txt");
    uint8_t *data = NULL;
    size_t len = 0;
    if (path == NULL)
        return NULL;
    int rc = ufrpc_test_read_file(path, &data, &len);
    free(path);
    return rc == 0 ? (char *)data : NULL;
}

int ufrpc_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t')
            continue;
        int v = ufrpc_hexval((unsigned char)*p);
        if (v < 0)
            return UFRPC_ERR_INVAL;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap)
                return UFRPC_ERR_LIMIT;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? (int)n : UFRPC_ERR_INVAL;
}

void ufrpc_test_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int ufrpc_test_vector_bytes(const char *title, uint8_t **out, size_t *len)
{
    char *text = read_vectors();
    if (text == NULL)
        return UFRPC_ERR_NOT_FOUND;
    int rc = UFRPC_ERR_NOT_FOUND;
    size_t tlen = strlen(title);
    char *line = text;
    while (line && *line) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, "### ", 4) == 0 && strncmp(line + 4, title, tlen) == 0) {
            size_t cap = 4096, n = 0;
            uint8_t *buf = malloc(cap);
            if (buf == NULL) {
                rc = UFRPC_ERR_NOMEM;
                break;
            }
            /* hexdump lines: 8 hex digits offset, two spaces, up to 16 bytes, "|ascii|" */
            while (next && strlen(next) > 10 && ufrpc_hexval((unsigned char)next[0]) >= 0 && next[8] == ' ') {
                char *nl = strchr(next, '\n');
                if (nl)
                    *nl = '\0';
                char hexpart[64] = {0};
                strncpy(hexpart, next + 10, 48);
                uint8_t tmp[32];
                int got = ufrpc_test_unhex(hexpart, tmp, sizeof tmp);
                if (got < 0 || n + (size_t)got > cap) {
                    free(buf);
                    buf = NULL;
                    break;
                }
                memcpy(buf + n, tmp, (size_t)got);
                n += (size_t)got;
                next = nl ? nl + 1 : NULL;
            }
            if (buf == NULL) {
                rc = UFRPC_ERR_INVAL;
                break;
            }
            *out = buf;
            *len = n;
            rc = 0;
            break;
        }
        line = next;
    }
    free(text);
    return rc;
}

char *ufrpc_test_vector_text(const char *prefix)
{
    char *text = read_vectors();
    if (text == NULL)
        return NULL;
    char *result = NULL;
    size_t plen = strlen(prefix);
    char *line = text;
    while (line && *line) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (strncmp(line, prefix, plen) == 0) {
            result = strdup(line + plen);
            break;
        }
        line = next;
    }
    free(text);
    return result;
}

uint64_t ufrpc_test_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int ufrpc_test_so_error_untranslated(void)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int untranslated = 0;
    /* bound, never listening: a connect to it is refused */
    if (l >= 0 && c >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(l, (struct sockaddr *)&sa, &sl) == 0 &&
        connect(c, (struct sockaddr *)&sa, sizeof sa) != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = c, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&p, 1, 10000) == 1 && getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0)
            untranslated = err != 0 && err != ECONNREFUSED;
    }
    if (l >= 0)
        close(l);
    if (c >= 0)
        close(c);
    return untranslated;
}
