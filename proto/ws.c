/* ufrpc — sans-I/O WebSocket codec (see ws.h). Written from RFC 6455 and the
 * behaviour of golang.org/x/net/websocket (hybi.go) that frp uses. */
#include "proto/ws.h"

#include <stdio.h>
#include <string.h>

#include "proto/base64.h"
#include "proto/error.h"
#include "proto/mbedtls_compat.h"

/* ---- handshake ---------------------------------------------------------------- */

void ufrpc_ws_key(const uint8_t nonce[16], char key[UFRPC_WS_KEY_LEN + 1])
{
    ufrpc_base64_encode(nonce, 16, key);
}

int ufrpc_ws_accept(const char *key, size_t key_len, char out[UFRPC_WS_ACCEPT_LEN + 1])
{
    char buf[256 + sizeof UFRPC_WS_GUID];
    if (key_len > 256)
        return UFRPC_ERR_LIMIT;
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, UFRPC_WS_GUID, sizeof UFRPC_WS_GUID - 1);
    uint8_t sha[20];
    if (ufrpc_mbedtls_sha1((const uint8_t *)buf, key_len + sizeof UFRPC_WS_GUID - 1, sha) != 0)
        return UFRPC_ERR_CRYPTO;
    ufrpc_base64_encode(sha, sizeof sha, out);
    return 0;
}

static int lower_ascii(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int ufrpc_ws_build_request(const char *host, const char *key, char *buf, size_t cap, size_t *len)
{
    if (host == NULL || host[0] == '\0' || key == NULL)
        return UFRPC_ERR_INVAL;
    char origin[300];
    size_t hl = strlen(host);
    if (hl >= sizeof origin)
        return UFRPC_ERR_LIMIT;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == 0x7f)
            return UFRPC_ERR_INVAL;
        origin[i] = (char)lower_ascii(c); /* Go lower-cases the whole Origin */
    }
    origin[hl] = '\0';
    int n = snprintf(buf, cap,
                     "GET " UFRPC_WS_PATH " HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Origin: http://%s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "\r\n",
                     host, key, origin);
    if (n < 0 || (size_t)n >= cap)
        return UFRPC_ERR_LIMIT;
    *len = (size_t)n;
    return 0;
}

int ufrpc_ws_build_response(const char *key, char *buf, size_t cap, size_t *len)
{
    char acc[UFRPC_WS_ACCEPT_LEN + 1];
    int rc = ufrpc_ws_accept(key, strlen(key), acc);
    if (rc < 0)
        return rc;
    int n = snprintf(buf, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "\r\n",
                     acc);
    if (n < 0 || (size_t)n >= cap)
        return UFRPC_ERR_LIMIT;
    *len = (size_t)n;
    return 0;
}

/* A parsed head: the first line and the header lines, as slices of the input. */
#define MAX_LINES 100
struct head {
    const char *first;
    size_t first_len;
    struct {
        const char *name, *value;
        size_t name_len, value_len;
    } h[MAX_LINES];
    unsigned n;
};

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits data into lines up to the empty one. 0 with info->head_len, AGAIN, or
 * WS_HANDSHAKE (MALFORMED / TOO_LONG). */
static int split_head(const uint8_t *data, size_t len, struct head *hd, struct ufrpc_ws_hs_info *info)
{
    const char *p = (const char *)data;
    size_t lim = len < UFRPC_WS_MAX_HEAD ? len : UFRPC_WS_MAX_HEAD;
    size_t off = 0;
    bool first = true;
    hd->n = 0;
    hd->first = NULL;
    hd->first_len = 0;
    while (off < lim) {
        const char *nl = memchr(p + off, '\n', lim - off);
        if (nl == NULL)
            break;
        size_t end = (size_t)(nl - p);
        size_t ll = end - off;
        if (ll > 0 && p[off + ll - 1] == '\r')
            ll--;
        const char *line = p + off;
        off = end + 1;
        for (size_t i = 0; i < ll; i++)
            if (line[i] == '\0' || line[i] == '\r') {
                info->fail = UFRPC_WS_HS_MALFORMED;
                return UFRPC_ERR_WS_HANDSHAKE;
            }
        if (first) {
            hd->first = line;
            hd->first_len = ll;
            first = false;
            if (ll == 0) {
                info->fail = UFRPC_WS_HS_MALFORMED;
                return UFRPC_ERR_WS_HANDSHAKE;
            }
            continue;
        }
        if (ll == 0) {
            info->head_len = off;
            return 0;
        }
        if (is_ows(line[0]) || hd->n == MAX_LINES) { /* obsolete folding; too many */
            info->fail = UFRPC_WS_HS_MALFORMED;
            return UFRPC_ERR_WS_HANDSHAKE;
        }
        const char *colon = memchr(line, ':', ll);
        if (colon == NULL || colon == line) {
            info->fail = UFRPC_WS_HS_MALFORMED;
            return UFRPC_ERR_WS_HANDSHAKE;
        }
        size_t nl_len = (size_t)(colon - line);
        for (size_t i = 0; i < nl_len; i++)
            if (is_ows(line[i])) {
                info->fail = UFRPC_WS_HS_MALFORMED;
                return UFRPC_ERR_WS_HANDSHAKE;
            }
        const char *v = colon + 1;
        size_t vl = ll - nl_len - 1;
        while (vl > 0 && is_ows(*v)) {
            v++;
            vl--;
        }
        while (vl > 0 && is_ows(v[vl - 1]))
            vl--;
        hd->h[hd->n].name = line;
        hd->h[hd->n].name_len = nl_len;
        hd->h[hd->n].value = v;
        hd->h[hd->n].value_len = vl;
        hd->n++;
    }
    if (len >= UFRPC_WS_MAX_HEAD) {
        info->fail = UFRPC_WS_HS_TOO_LONG;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    return UFRPC_ERR_AGAIN;
}

static bool ieq(const char *a, size_t al, const char *b)
{
    size_t bl = strlen(b);
    if (al != bl)
        return false;
    for (size_t i = 0; i < al; i++)
        if (lower_ascii((unsigned char)a[i]) != lower_ascii((unsigned char)b[i]))
            return false;
    return true;
}

/* The first header of that name (as Go's Header.Get), or NULL (*vl 0). */
static const char *get(const struct head *hd, const char *name, size_t *vl)
{
    for (unsigned i = 0; i < hd->n; i++)
        if (ieq(hd->h[i].name, hd->h[i].name_len, name)) {
            *vl = hd->h[i].value_len;
            return hd->h[i].value;
        }
    *vl = 0;
    return NULL;
}

/* Whether the comma-separated list v contains token (case-insensitive). */
static bool has_token(const char *v, size_t vl, const char *token)
{
    size_t i = 0;
    while (i < vl) {
        size_t j = i;
        while (j < vl && v[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (ieq(v + a, b - a, token))
            return true;
        i = j + 1;
    }
    return false;
}

static void info_reset(struct ufrpc_ws_hs_info *info)
{
    memset(info, 0, sizeof *info);
}

int ufrpc_ws_check_response(const uint8_t *data, size_t len, const char *key,
                            struct ufrpc_ws_hs_info *info)
{
    struct head hd;
    info_reset(info);
    /* not HTTP at all (a TLS alert, an frp frame): say so without waiting */
    size_t k = len < 5 ? len : 5;
    if (memcmp(data, "HTTP/", k) != 0) {
        info->fail = UFRPC_WS_HS_MALFORMED;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    int rc = split_head(data, len, &hd, info);
    if (rc < 0 && (rc != UFRPC_ERR_WS_HANDSHAKE || info->fail == UFRPC_WS_HS_TOO_LONG ||
                   hd.first == NULL))
        return rc;
    /* the status line, parsed even from a partial or malformed head for the message */
    const char *l = hd.first;
    size_t ll = hd.first_len;
    bool ok_line = ll >= 12 && memcmp(l, "HTTP/1.", 7) == 0 && l[7] >= '0' && l[7] <= '9' &&
                   l[8] == ' ' && l[9] >= '1' && l[9] <= '9' && l[10] >= '0' && l[10] <= '9' &&
                   l[11] >= '0' && l[11] <= '9' && (ll == 12 || l[12] == ' ');
    if (!ok_line) {
        info->fail = UFRPC_WS_HS_MALFORMED;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    info->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (ll > 13) {
        size_t rl = ll - 13;
        if (rl >= sizeof info->reason)
            rl = sizeof info->reason - 1;
        for (size_t i = 0; i < rl; i++) {
            unsigned char c = (unsigned char)l[13 + i];
            info->reason[i] = c < ' ' || c >= 0x7f ? '?' : (char)c;
        }
        info->reason[rl] = '\0';
    }
    if (rc < 0)
        return rc;
    if (info->status != 101) {
        info->fail = UFRPC_WS_HS_STATUS;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    size_t vl;
    const char *v = get(&hd, "Upgrade", &vl);
    size_t cl;
    const char *c = get(&hd, "Connection", &cl);
    if (v == NULL || !ieq(v, vl, "websocket") || c == NULL || !ieq(c, cl, "upgrade")) {
        info->fail = UFRPC_WS_HS_UPGRADE;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    char want[UFRPC_WS_ACCEPT_LEN + 1];
    if ((rc = ufrpc_ws_accept(key, strlen(key), want)) < 0)
        return rc;
    v = get(&hd, "Sec-WebSocket-Accept", &vl);
    if (v == NULL || vl != UFRPC_WS_ACCEPT_LEN || memcmp(v, want, vl) != 0) {
        info->fail = UFRPC_WS_HS_ACCEPT;
        return UFRPC_ERR_WS_ACCEPT;
    }
    if ((get(&hd, "Sec-WebSocket-Extensions", &vl) != NULL && vl > 0) ||
        (get(&hd, "Sec-WebSocket-Protocol", &vl) != NULL && vl > 0)) {
        info->fail = UFRPC_WS_HS_EXTENSIONS;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    return 0;
}

int ufrpc_ws_parse_request(const uint8_t *data, size_t len, struct ufrpc_ws_hs_info *info)
{
    struct head hd;
    info_reset(info);
    int rc = split_head(data, len, &hd, info);
    if (rc < 0)
        return rc;
    /* "GET <target> HTTP/1.x", target = the path, optionally with a query */
    const char *l = hd.first;
    size_t ll = hd.first_len;
    static const char get_path[] = "GET " UFRPC_WS_PATH;
    size_t gl = sizeof get_path - 1;
    if (ll < gl + 9 || memcmp(l, get_path, gl) != 0 || (l[gl] != ' ' && l[gl] != '?')) {
        info->fail = UFRPC_WS_HS_METHOD;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    const char *sp = memchr(l + gl, ' ', ll - gl);
    if (sp == NULL || (size_t)(l + ll - sp) != 9 || memcmp(sp + 1, "HTTP/1.", 7) != 0) {
        info->fail = UFRPC_WS_HS_MALFORMED;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    size_t vl, cl;
    const char *v = get(&hd, "Upgrade", &vl);
    const char *c = get(&hd, "Connection", &cl);
    if (v == NULL || !ieq(v, vl, "websocket") || c == NULL || !has_token(c, cl, "upgrade")) {
        info->fail = UFRPC_WS_HS_UPGRADE;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    v = get(&hd, "Sec-WebSocket-Key", &vl);
    if (v == NULL || vl == 0 || vl >= sizeof info->key) {
        info->fail = UFRPC_WS_HS_KEY;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    memcpy(info->key, v, vl);
    info->key[vl] = '\0';
    c = get(&hd, "Sec-WebSocket-Version", &cl);
    if (c == NULL || cl != 2 || memcmp(c, "13", 2) != 0) {
        info->fail = UFRPC_WS_HS_VERSION;
        return UFRPC_ERR_WS_HANDSHAKE;
    }
    return 0;
}

void ufrpc_ws_hs_text(const struct ufrpc_ws_hs_info *info, char *buf, size_t cap)
{
    if (cap == 0)
        return;
    switch (info->fail) {
    case UFRPC_WS_HS_OK:
        snprintf(buf, cap, "upgrade accepted");
        break;
    case UFRPC_WS_HS_MALFORMED:
        snprintf(buf, cap, "the answer is not an HTTP/1.1 response head");
        break;
    case UFRPC_WS_HS_TOO_LONG:
        snprintf(buf, cap, "no end of the HTTP head within %u bytes", UFRPC_WS_MAX_HEAD);
        break;
    case UFRPC_WS_HS_STATUS:
        snprintf(buf, cap, "server answered %d%s%s instead of 101 Switching Protocols",
                 info->status, info->reason[0] ? " " : "", info->reason);
        break;
    case UFRPC_WS_HS_UPGRADE:
        snprintf(buf, cap, "101 answer without \"Upgrade: websocket\" and \"Connection: Upgrade\"");
        break;
    case UFRPC_WS_HS_ACCEPT:
        snprintf(buf, cap, "Sec-WebSocket-Accept does not match the key sent");
        break;
    case UFRPC_WS_HS_EXTENSIONS:
        snprintf(buf, cap, "the server chose an extension or subprotocol that was not offered");
        break;
    case UFRPC_WS_HS_METHOD:
        snprintf(buf, cap, "not a GET of " UFRPC_WS_PATH);
        break;
    case UFRPC_WS_HS_KEY:
        snprintf(buf, cap, "no usable Sec-WebSocket-Key");
        break;
    case UFRPC_WS_HS_VERSION:
        snprintf(buf, cap, "Sec-WebSocket-Version is not 13");
        break;
    }
}

/* ---- frames ------------------------------------------------------------------------ */

size_t ufrpc_ws_frame_header(uint8_t out[UFRPC_WS_MAX_FRAME_HEADER], unsigned opcode, bool fin,
                             uint64_t len, const uint8_t mask[4])
{
    size_t n = 0;
    out[n++] = (uint8_t)((fin ? 0x80u : 0u) | (opcode & 0x0fu));
    uint8_t m = mask != NULL ? 0x80u : 0u;
    if (len <= 125) {
        out[n++] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[n++] = (uint8_t)(m | 126u);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(m | 127u);
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)(len >> (8 * i));
    }
    if (mask != NULL) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ufrpc_ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t phase)
{
    uint8_t k[4];
    for (unsigned i = 0; i < 4; i++)
        k[i] = key[(phase + i) & 3];
    size_t i = 0;
    /* eight bytes at a time (the key repeated twice), then the tail */
    uint64_t k8;
    uint8_t kb[8] = {k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]};
    memcpy(&k8, kb, 8);
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= k8;
        memcpy(dst + i, &w, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ k[i & 3];
}

void ufrpc_ws_decoder_init(struct ufrpc_ws_decoder *d, bool server, uint64_t max_payload)
{
    memset(d, 0, sizeof *d);
    d->server = server;
    d->max_payload = max_payload ? max_payload : UFRPC_WS_DEFAULT_MAX_PAYLOAD;
    d->hdr_need = 2;
}

static int fail(struct ufrpc_ws_decoder *d, int err)
{
    d->error = err;
    return err;
}

static bool is_control(unsigned op)
{
    return op >= 0x8;
}

/* The header is complete: check it and set up the payload. */
static int header_done(struct ufrpc_ws_decoder *d)
{
    unsigned b0 = d->hdr[0], b1 = d->hdr[1];
    if (b0 & 0x70u) /* RSV1-3: no extension was negotiated */
        return fail(d, UFRPC_ERR_WS_PROTOCOL);
    d->fin = (b0 & 0x80u) != 0;
    d->opcode = b0 & 0x0fu;
    d->masked = (b1 & 0x80u) != 0;
    uint64_t len = b1 & 0x7fu;
    unsigned off = 2;
    if (len == 126) {
        len = ((uint64_t)d->hdr[2] << 8) | d->hdr[3];
        off = 4;
    } else if (len == 127) {
        if (d->hdr[2] & 0x80u)
            return fail(d, UFRPC_ERR_WS_PROTOCOL);
        len = 0;
        for (unsigned i = 0; i < 8; i++)
            len = (len << 8) | d->hdr[2 + i];
        off = 10;
    }
    if (d->masked)
        memcpy(d->mask, d->hdr + off, 4);
    if (d->masked != d->server)
        return fail(d, UFRPC_ERR_WS_PROTOCOL);
    switch (d->opcode) {
    case UFRPC_WS_OP_TEXT:
        return fail(d, UFRPC_ERR_WS_TEXT);
    case UFRPC_WS_OP_BINARY:
        if (d->in_message)
            return fail(d, UFRPC_ERR_WS_PROTOCOL);
        break;
    case UFRPC_WS_OP_CONT:
        if (!d->in_message)
            return fail(d, UFRPC_ERR_WS_PROTOCOL);
        break;
    case UFRPC_WS_OP_CLOSE:
    case UFRPC_WS_OP_PING:
    case UFRPC_WS_OP_PONG:
        if (!d->fin || len > UFRPC_WS_MAX_CONTROL)
            return fail(d, UFRPC_ERR_WS_PROTOCOL);
        if (d->opcode == UFRPC_WS_OP_CLOSE && len == 1)
            return fail(d, UFRPC_ERR_WS_PROTOCOL);
        break;
    default:
        return fail(d, UFRPC_ERR_WS_PROTOCOL);
    }
    if (!is_control(d->opcode)) {
        if (len > d->max_payload)
            return fail(d, UFRPC_ERR_WS_TOO_BIG);
        d->in_message = !d->fin;
    }
    d->remaining = len;
    d->pos = 0;
    d->ctl_len = 0;
    d->in_payload = true;
    return 0;
}

/* A control frame's payload is complete: produce its event. */
static int control_done(struct ufrpc_ws_decoder *d, struct ufrpc_ws_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->data = d->ctl;
    ev->len = d->ctl_len;
    if (d->opcode == UFRPC_WS_OP_PING) {
        ev->type = UFRPC_WS_EV_PING;
    } else if (d->opcode == UFRPC_WS_OP_PONG) {
        ev->type = UFRPC_WS_EV_PONG;
    } else {
        ev->type = UFRPC_WS_EV_CLOSE;
        ev->close_code = UFRPC_WS_CLOSE_NO_STATUS;
        if (d->ctl_len >= 2) {
            unsigned code = ((unsigned)d->ctl[0] << 8) | d->ctl[1];
            /* RFC 6455 §7.4: 1000-1003, 1007-1011 and 3000-4999 may be sent */
            bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                      (code >= 3000 && code <= 4999);
            if (!ok)
                return fail(d, UFRPC_ERR_WS_PROTOCOL);
            ev->close_code = (uint16_t)code;
            ev->data = d->ctl + 2;
            ev->len = d->ctl_len - 2;
        }
        d->closed = true;
    }
    d->in_payload = false;
    d->hdr_have = 0;
    d->hdr_need = 2;
    return 0;
}

int ufrpc_ws_decode(struct ufrpc_ws_decoder *d, const uint8_t *in, size_t len, size_t *used,
                    struct ufrpc_ws_event *ev)
{
    size_t off = 0;
    *used = 0;
    if (d->error)
        return d->error;
    if (d->closed)
        return UFRPC_ERR_EOF;
    for (;;) {
        if (!d->in_payload) {
            while (d->hdr_have < d->hdr_need && off < len)
                d->hdr[d->hdr_have++] = in[off++];
            if (d->hdr_have < d->hdr_need) {
                *used = off;
                return UFRPC_ERR_AGAIN;
            }
            if (d->hdr_need == 2) { /* now the full header length is known */
                unsigned l7 = d->hdr[1] & 0x7fu;
                d->hdr_need += (l7 == 126 ? 2u : l7 == 127 ? 8u : 0u) +
                               ((d->hdr[1] & 0x80u) ? 4u : 0u);
                if (d->hdr_have < d->hdr_need)
                    continue;
            }
            int rc = header_done(d);
            if (rc < 0) {
                *used = off;
                return rc;
            }
        }
        /* payload */
        if (is_control(d->opcode)) {
            size_t n = len - off;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            if (d->masked)
                ufrpc_ws_mask(d->ctl + d->ctl_len, in + off, n, d->mask, d->pos);
            else
                memcpy(d->ctl + d->ctl_len, in + off, n);
            d->ctl_len += (unsigned)n;
            d->pos += n;
            d->remaining -= n;
            off += n;
            if (d->remaining > 0) {
                *used = off;
                return UFRPC_ERR_AGAIN;
            }
            int rc = control_done(d, ev);
            *used = off;
            return rc;
        }
        if (d->remaining == 0) { /* an empty data frame (or its end): next header */
            d->in_payload = false;
            d->hdr_have = 0;
            d->hdr_need = 2;
            continue;
        }
        if (off == len) {
            *used = off;
            return UFRPC_ERR_AGAIN;
        }
        size_t n = len - off;
        if (n > d->remaining)
            n = (size_t)d->remaining;
        memset(ev, 0, sizeof *ev);
        ev->type = UFRPC_WS_EV_DATA;
        ev->data = in + off;
        ev->len = n;
        ev->masked = d->masked;
        memcpy(ev->mask, d->mask, 4);
        ev->phase = d->pos;
        d->pos += n;
        d->remaining -= n;
        off += n;
        ev->frame_end = d->remaining == 0;
        if (d->remaining == 0) {
            d->in_payload = false;
            d->hdr_have = 0;
            d->hdr_need = 2;
        }
        *used = off;
        return 0;
    }
}
