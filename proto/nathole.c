/* proto/nathole.c — punching packets and NAT classification. See nathole.h. */
#include "proto/nathole.h"

#include <stdlib.h>
#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/frame.h"

int ufrpc_nathole_seal(const uint8_t key[UFRPC_CFB_KEY_LEN], const uint8_t iv[UFRPC_CFB_IV_LEN],
                       const struct ufrpc_msg *m, uint8_t *out, size_t cap, size_t *out_len)
{
    uint8_t *frame = NULL;
    size_t flen = 0;
    int rc = ufrpc_msg_encode_frame(m, &frame, &flen);
    if (rc)
        return rc;
    size_t total = UFRPC_CFB_IV_LEN + flen;
    if (total > cap || total > UFRPC_NATHOLE_MAX_PACKET) {
        free(frame);
        return UFRPC_ERR_LIMIT;
    }
    ufrpc_cfb_writer_t w;
    rc = ufrpc_cfb_writer_init(&w, key, iv);
    if (rc == 0) {
        rc = ufrpc_cfb_writer_write(&w, frame, flen, out, cap, out_len);
        ufrpc_cfb_writer_free(&w);
    }
    free(frame);
    return rc;
}

int ufrpc_nathole_open(const uint8_t key[UFRPC_CFB_KEY_LEN], const uint8_t *pkt, size_t len,
                       struct ufrpc_msg *out)
{
    if (len > UFRPC_NATHOLE_MAX_PACKET)
        return UFRPC_ERR_LIMIT;
    if (len < UFRPC_CFB_IV_LEN + UFRPC_FRAME_HEADER_LEN)
        return UFRPC_ERR_MSG_LENGTH;
    uint8_t plain[UFRPC_NATHOLE_MAX_PACKET + 1];
    ufrpc_cfb_reader_t r;
    int rc = ufrpc_cfb_reader_init(&r, key);
    if (rc)
        return rc;
    size_t n = 0;
    ufrpc_cfb_reader_decrypt(&r, pkt, len, plain, &n);
    ufrpc_cfb_reader_free(&r);
    /* Go's ReadMsgInto on a bytes.Reader: type, int64 length, that many bytes; what
     * follows is never read */
    uint64_t body = ((uint64_t)ufrpc_get_be32(plain + 1) << 32) | ufrpc_get_be32(plain + 5);
    if (body > n - UFRPC_FRAME_HEADER_LEN || body > UFRPC_FRAME_MAX_BODY)
        return UFRPC_ERR_MSG_LENGTH;
    return ufrpc_msg_decode(UFRPC_MSG_NAT_HOLE_SID, (const char *)plain + UFRPC_FRAME_HEADER_LEN,
                            (size_t)body, out);
}

/* "ip:port" / "[ip6]:port" -> ip (bounded copy) and port. */
static int split_host_port(const char *a, char *ip, size_t cap, long *port)
{
    const char *colon = strrchr(a, ':');
    if (!colon || colon == a)
        return UFRPC_ERR_INVAL;
    const char *h = a;
    size_t hl = (size_t)(colon - a);
    if (h[0] == '[') {
        if (hl < 2 || h[hl - 1] != ']')
            return UFRPC_ERR_INVAL;
        h++;
        hl -= 2;
    }
    if (hl >= cap)
        return UFRPC_ERR_INVAL;
    memcpy(ip, h, hl);
    ip[hl] = '\0';
    char *end = NULL;
    if (colon[1] < '0' || colon[1] > '9')
        return UFRPC_ERR_INVAL;
    *port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || *port < 0 || *port > 65535)
        return UFRPC_ERR_INVAL;
    return 0;
}

int ufrpc_nathole_classify(const char *const *addrs, size_t n, const char *const *local_ips,
                           size_t n_local, struct ufrpc_nat_feature *out)
{
    memset(out, 0, sizeof *out);
    if (n <= 1)
        return UFRPC_ERR_INVAL;
    char base_ip[64] = "";
    long base_port = -1, pmax = 0, pmin = 0;
    bool ip_changed = false, port_changed = false;
    for (size_t i = 0; i < n; i++) {
        char ip[64];
        long port;
        if (!addrs[i] || split_host_port(addrs[i], ip, sizeof ip, &port) != 0)
            return UFRPC_ERR_INVAL;
        for (size_t j = 0; j < n_local; j++)
            if (local_ips[j] && strcmp(local_ips[j], ip) == 0)
                out->public_network = true;
        if (i == 0) {
            memcpy(base_ip, ip, sizeof base_ip);
            base_port = pmax = pmin = port;
            continue;
        }
        pmax = port > pmax ? port : pmax;
        pmin = port < pmin ? port : pmin;
        ip_changed |= strcmp(base_ip, ip) != 0;
        port_changed |= base_port != port;
    }
    out->nat_type = ip_changed || port_changed ? "HardNAT" : "EasyNAT";
    out->behavior = ip_changed && port_changed ? "BehaviorBothChanged"
                    : ip_changed               ? "BehaviorIPChanged"
                    : port_changed             ? "BehaviorPortChanged"
                                               : "BehaviorNoChange";
    if (port_changed && !ip_changed) {
        out->ports_difference = (int)(pmax - pmin);
        out->regular_ports_change = out->ports_difference >= 1 && out->ports_difference <= 5;
    }
    return 0;
}
