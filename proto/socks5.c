/* SOCKS5 message parsers: see socks5.h. */
#include "proto/socks5.h"

#include <arpa/inet.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"

long ufrpc_socks5_parse_pair(const uint8_t *buf, size_t len, uint8_t want_ver, uint8_t *second)
{
    if (len >= 1 && want_ver != 0 && buf[0] != want_ver)
        return UFRPC_ERR_PROXY_PROTOCOL;
    if (len < 2)
        return UFRPC_ERR_AGAIN;
    *second = buf[1];
    return 2;
}

long ufrpc_socks5_parse_greeting(const uint8_t *buf, size_t len, const uint8_t **methods,
                                 size_t *nmethods)
{
    if (len >= 1 && buf[0] != UFRPC_SOCKS5_VERSION)
        return UFRPC_ERR_PROXY_PROTOCOL;
    if (len < 2 || len < 2u + buf[1])
        return UFRPC_ERR_AGAIN;
    *methods = buf + 2;
    *nmethods = buf[1];
    return 2L + buf[1];
}

long ufrpc_socks5_parse_userpass(const uint8_t *buf, size_t len, const uint8_t **user,
                                 size_t *ulen, const uint8_t **pass, size_t *plen)
{
    if (len >= 1 && buf[0] != UFRPC_SOCKS5_AUTH_VERSION)
        return UFRPC_ERR_PROXY_PROTOCOL;
    if (len < 2)
        return UFRPC_ERR_AGAIN;
    size_t ul = buf[1];
    if (len < 2 + ul + 1)
        return UFRPC_ERR_AGAIN;
    size_t pl = buf[2 + ul];
    if (len < 3 + ul + pl)
        return UFRPC_ERR_AGAIN;
    *user = buf + 2;
    *ulen = ul;
    *pass = buf + 3 + ul;
    *plen = pl;
    return (long)(3 + ul + pl);
}

long ufrpc_socks5_parse_addr_msg(const uint8_t *buf, size_t len,
                                 struct ufrpc_socks5_addr_msg *out)
{
    if (len >= 1 && buf[0] != UFRPC_SOCKS5_VERSION)
        return UFRPC_ERR_PROXY_PROTOCOL;
    if (len < 4)
        return UFRPC_ERR_AGAIN;
    size_t alen;
    switch (buf[3]) {
    case UFRPC_SOCKS5_ATYP_IPV4: alen = 4; break;
    case UFRPC_SOCKS5_ATYP_IPV6: alen = 16; break;
    case UFRPC_SOCKS5_ATYP_DOMAIN:
        if (len < 5)
            return UFRPC_ERR_AGAIN;
        alen = 1u + buf[4];
        break;
    default: return UFRPC_ERR_UNSUPPORTED;
    }
    if (len < 4 + alen + 2)
        return UFRPC_ERR_AGAIN;
    out->code = buf[1];
    out->atyp = buf[3];
    out->name_len = 0;
    if (buf[3] == UFRPC_SOCKS5_ATYP_IPV4) {
        inet_ntop(AF_INET, buf + 4, out->host, sizeof out->host);
    } else if (buf[3] == UFRPC_SOCKS5_ATYP_IPV6) {
        inet_ntop(AF_INET6, buf + 4, out->host, sizeof out->host);
    } else {
        out->name_len = buf[4];
        memcpy(out->host, buf + 5, buf[4]);
        out->host[buf[4]] = '\0';
    }
    out->port = ufrpc_get_be16(buf + 4 + alen);
    return (long)(4 + alen + 2);
}
