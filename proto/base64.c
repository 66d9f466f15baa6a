/* Standard base64: see base64.h. */
#include "proto/base64.h"

#include "proto/error.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ufrpc_base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

size_t ufrpc_base64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8);
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t ufrpc_base64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long ufrpc_base64_decode(const char *in, size_t len, uint8_t *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int nq = 0;   /* sextets in the current quantum */
    int npad = 0; /* '=' seen in the current quantum */
    int done = 0; /* a padded quantum ended the data */

    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '\r' || c == '\n')
            continue;
        if (done)
            return UFRPC_ERR_BASE64;
        if (c == '=') {
            /* Padding only at positions 3 or 4 of a quantum, after >= 2 sextets. */
            if (nq + npad < 2)
                return UFRPC_ERR_BASE64;
            npad++;
            if (nq + npad == 4) {
                if (nq == 2) {
                    if (acc & 0xf)
                        return UFRPC_ERR_BASE64;
                    out[o++] = (uint8_t)(acc >> 4);
                } else {
                    if (acc & 0x3)
                        return UFRPC_ERR_BASE64;
                    out[o++] = (uint8_t)(acc >> 10);
                    out[o++] = (uint8_t)(acc >> 2);
                }
                done = 1;
            }
            continue;
        }
        if (npad > 0)
            return UFRPC_ERR_BASE64;
        int v = value_of(c);
        if (v < 0)
            return UFRPC_ERR_BASE64;
        acc = (acc << 6) | (uint32_t)v;
        if (++nq == 4) {
            out[o++] = (uint8_t)(acc >> 16);
            out[o++] = (uint8_t)(acc >> 8);
            out[o++] = (uint8_t)acc;
            acc = 0;
            nq = 0;
        }
    }
    if (!done && (nq != 0 || npad != 0))
        return UFRPC_ERR_BASE64;
    return (long)o;
}
