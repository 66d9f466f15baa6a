/* ufrpc — PROXY protocol v1/v2 header builder. */
#include "proto/proxyproto.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"

static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

enum ufrpc_pp_version ufrpc_proxyproto_version(const char *v)
{
    if (v == NULL || v[0] == '\0')
        return UFRPC_PP_NONE;
    return strcmp(v, "v1") == 0 ? UFRPC_PP_V1 : UFRPC_PP_V2;
}

bool ufrpc_proxyproto_wanted(enum ufrpc_pp_version v, const char *src_addr, uint16_t src_port)
{
    return v != UFRPC_PP_NONE && src_addr != NULL && src_addr[0] != '\0' && src_port != 0;
}

/* An address as 16 bytes (IPv4 as ::ffff:a.b.c.d); *v4 = it is IPv4 or mapped. */
static int parse_ip(const char *s, uint8_t a[16], int *v4)
{
    uint8_t b4[4];
    if (inet_pton(AF_INET, s, b4) == 1) {
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, b4, 4);
        *v4 = 1;
        return 0;
    }
    if (inet_pton(AF_INET6, s, a) != 1)
        return UFRPC_ERR_INVAL;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    *v4 = memcmp(a, mapped, 12) == 0;
    return 0;
}

/* RFC 5952 text of a 16-byte address (Go netip style), NUL-terminated; returns
 * the length. buf holds at least 46 bytes. */
static size_t fmt_ip6(const uint8_t a[16], char *buf)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0)
        return (size_t)sprintf(buf, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    if (best_len < 2)
        best = -1;
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            buf[n++] = ':';
            buf[n++] = ':';
            i += best_len - 1;
            continue;
        }
        if (n > 0 && buf[n - 1] != ':')
            buf[n++] = ':';
        n += (size_t)sprintf(buf + n, "%x", g[i]);
    }
    buf[n] = '\0';
    return n;
}

static int build_v2(uint8_t family, int fam4, const uint8_t s[16], const uint8_t d[16],
                    uint16_t src_port, uint16_t dst_port, uint8_t *out, size_t cap,
                    size_t *out_len);

int ufrpc_proxyproto_build(enum ufrpc_pp_version v, const char *src_addr, uint16_t src_port,
                           const char *dst_addr, uint16_t dst_port, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    if ((v != UFRPC_PP_V1 && v != UFRPC_PP_V2) || src_addr == NULL || src_addr[0] == '\0')
        return UFRPC_ERR_INVAL;
    if (dst_addr == NULL || dst_addr[0] == '\0')
        dst_addr = "127.0.0.1";
    uint8_t s[16], d[16];
    int s4, d4;
    if (parse_ip(src_addr, s, &s4) < 0 || parse_ip(dst_addr, d, &d4) < 0)
        return UFRPC_ERR_INVAL;
    int fam4 = s4 && d4;
    if (v == UFRPC_PP_V1) {
        char line[UFRPC_PP_MAX_LEN + 8];
        int n;
        if (fam4) {
            n = snprintf(line, sizeof line, "PROXY TCP4 %u.%u.%u.%u %u.%u.%u.%u %u %u\r\n", s[12],
                         s[13], s[14], s[15], d[12], d[13], d[14], d[15], src_port, dst_port);
        } else {
            char st[48], dt[48];
            fmt_ip6(s, st);
            fmt_ip6(d, dt);
            n = snprintf(line, sizeof line, "PROXY TCP6 %s %s %u %u\r\n", st, dt, src_port,
                         dst_port);
        }
        if (n < 0 || (size_t)n >= sizeof line)
            return UFRPC_ERR_INVAL;
        if ((size_t)n > cap)
            return UFRPC_ERR_LIMIT;
        memcpy(out, line, (size_t)n);
        *out_len = (size_t)n;
        return 0;
    }
    return build_v2(fam4 ? 0x11 : 0x21, fam4, s, d, src_port, dst_port, out, cap, out_len);
}

int ufrpc_proxyproto_build_udp(enum ufrpc_pp_version v, const char *src_addr, uint16_t src_port,
                               const char *dst_addr, uint16_t dst_port, uint8_t *out,
                               size_t cap, size_t *out_len)
{
    static const char unknown[] = "PROXY UNKNOWN\r\n";
    if ((v != UFRPC_PP_V1 && v != UFRPC_PP_V2) || src_addr == NULL || dst_addr == NULL)
        return UFRPC_ERR_INVAL;
    uint8_t s[16], d[16];
    int s4, d4;
    if (parse_ip(src_addr, s, &s4) < 0 || parse_ip(dst_addr, d, &d4) < 0)
        return UFRPC_ERR_INVAL;
    if (v == UFRPC_PP_V1) {
        if (sizeof unknown - 1 > cap)
            return UFRPC_ERR_LIMIT;
        memcpy(out, unknown, sizeof unknown - 1);
        *out_len = sizeof unknown - 1;
        return 0;
    }
    if (s4 && !d4) /* go-proxyproto: no IPv4 form of the destination */
        return UFRPC_ERR_INVAL;
    return build_v2(s4 ? 0x12 : 0x22, s4, s, d, src_port, dst_port, out, cap, out_len);
}

/* The v2 binary header: signature, PROXY command, the family/transport byte,
 * IPv4 (fam4: the last 4 bytes of s and d) or IPv6 addresses, then the ports. */
static int build_v2(uint8_t family, int fam4, const uint8_t s[16], const uint8_t d[16],
                    uint16_t src_port, uint16_t dst_port, uint8_t *out, size_t cap,
                    size_t *out_len)
{
    size_t alen = fam4 ? 12 : 36;
    if (16 + alen > cap)
        return UFRPC_ERR_LIMIT;
    memcpy(out, v2_sig, sizeof v2_sig);
    out[12] = 0x21;
    out[13] = family;
    ufrpc_put_be16(out + 14, (uint16_t)alen);
    uint8_t *p = out + 16;
    if (fam4) {
        memcpy(p, s + 12, 4);
        memcpy(p + 4, d + 12, 4);
        p += 8;
    } else {
        memcpy(p, s, 16);
        memcpy(p + 16, d, 16);
        p += 32;
    }
    ufrpc_put_be16(p, src_port);
    ufrpc_put_be16(p + 2, dst_port);
    *out_len = 16 + alen;
    return 0;
}
