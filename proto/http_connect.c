/* HTTP CONNECT reply parser: see http_connect.h. */
#include "proto/http_connect.h"

#include <string.h>

#include "proto/error.h"

static int digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* The status line buf[0..n) (without its line end): 0 and *status, or <0. */
static int status_line(const uint8_t *buf, size_t n, int *status)
{
    if (n < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !digit(buf[7]) || buf[8] != ' ' ||
        !digit(buf[9]) || !digit(buf[10]) || !digit(buf[11]) || (n > 12 && buf[12] != ' '))
        return UFRPC_ERR_PROXY_PROTOCOL;
    *status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    return 0;
}

long ufrpc_http_connect_parse_reply(const uint8_t *buf, size_t len, int *status)
{
    int st = 0;
    const uint8_t *eol = memchr(buf, '\n', len);
    if (eol != NULL) {
        size_t n = (size_t)(eol - buf);
        if (n > 0 && buf[n - 1] == '\r')
            n--;
        if (status_line(buf, n, &st) != 0)
            return UFRPC_ERR_PROXY_PROTOCOL;
    }
    for (size_t i = 3; i < len; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            *status = st;
            return (long)(i + 1);
        }
    }
    return UFRPC_ERR_AGAIN;
}
