/* ufrpc — dial failures in Go's words (see dial_error.h). */
#include "net/dial_error.h"

#include <stdio.h>
#include <string.h>

#include "proto/error.h"

void ufrpc_dial_error_text(const char *host, uint16_t port, int status, char *out, size_t cap)
{
    if (cap == 0)
        return;
    if (host == NULL)
        host = "";
    if (status == UFRPC_ERR_DNS) {
        snprintf(out, cap, "dial tcp: lookup %s: no such host", host);
        return;
    }
    char hp[300];
    if (strchr(host, ':') != NULL)
        snprintf(hp, sizeof hp, "[%s]:%u", host, (unsigned)port);
    else
        snprintf(hp, sizeof hp, "%s:%u", host, (unsigned)port);
    switch (status) {
    case UFRPC_ERR_CONNECT_REFUSED:
        snprintf(out, cap, "dial tcp %s: connect: connection refused", hp);
        break;
    case UFRPC_ERR_TIMEOUT:
        snprintf(out, cap, "dial tcp %s: i/o timeout", hp);
        break;
    default:
        snprintf(out, cap, "dial tcp %s: %s", hp, ufrpc_strerror(status));
        break;
    }
}
