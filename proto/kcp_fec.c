/* kcp-go's FEC packets: header stamping, parity, recovery (see proto/kcp_fec.h). */
#include "proto/kcp_fec.h"

#include <string.h>

#include "proto/byteorder.h"
#include "proto/error.h"

#define SHARD_MAX (UFRPC_KCP_FEC_PACKET_MAX - UFRPC_KCP_FEC_HEADER)

struct ufrpc_kcp_fec_enc {
    const struct ufrpc_mem *mem;
    struct ufrpc_rs rs;
    unsigned n;            /* data + parity */
    uint32_t next, paws;   /* next seqid; seqids wrap below paws */
    unsigned count;        /* data shards of the current group so far */
    size_t max;            /* longest packet of the group */
    uint64_t last_ms;
    size_t lens[UFRPC_RS_MAX_SHARDS];
    uint8_t *cache;        /* n packets of UFRPC_KCP_FEC_PACKET_MAX bytes */
};

struct group {
    uint32_t base; /* seqid of slot 0 */
    bool used, done;
    unsigned nshard, ndata;
    bool present[UFRPC_RS_MAX_SHARDS];
    uint16_t lens[UFRPC_RS_MAX_SHARDS];
    uint8_t *buf; /* n shards of SHARD_MAX bytes */
};

struct ufrpc_kcp_fec_dec {
    const struct ufrpc_mem *mem;
    struct ufrpc_rs rs;
    unsigned n;
    struct group g[UFRPC_KCP_FEC_GROUPS];
    uint64_t recovered, bad;
};

/* ---- encoder -------------------------------------------------------------------- */

int ufrpc_kcp_fec_enc_new(const struct ufrpc_mem *mem, unsigned data, unsigned parity,
                          ufrpc_kcp_fec_enc_t **out)
{
    if (!out)
        return UFRPC_ERR_INVAL;
    mem = ufrpc_mem_or_default(mem);
    ufrpc_kcp_fec_enc_t *e = ufrpc_mem_calloc(mem, 1, sizeof *e);
    if (!e)
        return UFRPC_ERR_NOMEM;
    e->mem = mem;
    int rc = ufrpc_rs_init(&e->rs, data, parity);
    if (rc) {
        ufrpc_mem_free(mem, e);
        return rc;
    }
    e->n = data + parity;
    e->paws = 0xffffffffu / e->n * e->n;
    e->cache = ufrpc_mem_calloc(mem, e->n, UFRPC_KCP_FEC_PACKET_MAX);
    if (!e->cache) {
        ufrpc_mem_free(mem, e);
        return UFRPC_ERR_NOMEM;
    }
    *out = e;
    return 0;
}

void ufrpc_kcp_fec_enc_free(ufrpc_kcp_fec_enc_t *e)
{
    if (!e)
        return;
    ufrpc_mem_free(e->mem, e->cache);
    ufrpc_mem_free(e->mem, e);
}

static void stamp(uint8_t *p, uint32_t seqid, uint16_t type)
{
    ufrpc_put_le32(p, seqid);
    ufrpc_put_le16(p + 4, type);
}

int ufrpc_kcp_fec_encode(ufrpc_kcp_fec_enc_t *e, uint8_t *pkt, size_t len, uint64_t now_ms,
                         const uint8_t **parity, size_t *parity_len)
{
    if (len <= UFRPC_KCP_FEC_DATA_HEADER || len > UFRPC_KCP_FEC_PACKET_MAX)
        return UFRPC_ERR_INVAL;
    stamp(pkt, e->next++, UFRPC_KCP_FEC_TYPE_DATA);
    ufrpc_put_le16(pkt + UFRPC_KCP_FEC_HEADER, (uint16_t)(len - UFRPC_KCP_FEC_HEADER));
    uint8_t *slot = e->cache + (size_t)e->count * UFRPC_KCP_FEC_PACKET_MAX;
    memcpy(slot, pkt, len);
    e->lens[e->count++] = len;
    if (len > e->max)
        e->max = len;

    int np = 0;
    if (e->count == e->rs.data) {
        unsigned data = e->rs.data;
        if (now_ms - e->last_ms < UFRPC_KCP_FEC_MAX_GAP_MS) {
            uint8_t *shards[UFRPC_RS_MAX_SHARDS];
            for (unsigned i = 0; i < e->n; i++) {
                uint8_t *p = e->cache + (size_t)i * UFRPC_KCP_FEC_PACKET_MAX;
                if (i < data && e->lens[i] < e->max)
                    memset(p + e->lens[i], 0, e->max - e->lens[i]);
                shards[i] = p + UFRPC_KCP_FEC_HEADER;
            }
            ufrpc_rs_encode(&e->rs, shards, e->max - UFRPC_KCP_FEC_HEADER);
            for (unsigned i = 0; i < e->rs.parity; i++) {
                uint8_t *p = e->cache + (size_t)(data + i) * UFRPC_KCP_FEC_PACKET_MAX;
                stamp(p, e->next, UFRPC_KCP_FEC_TYPE_PARITY);
                e->next = (e->next + 1) % e->paws;
                parity[i] = p;
                parity_len[i] = e->max;
            }
            np = (int)e->rs.parity;
        } else {
            /* no parity, but keep the next group on its boundary */
            e->next = (e->next + e->rs.parity) % e->paws;
        }
        e->count = 0;
        e->max = 0;
    }
    e->last_ms = now_ms;
    return np;
}

/* ---- decoder -------------------------------------------------------------------- */

int ufrpc_kcp_fec_dec_new(const struct ufrpc_mem *mem, unsigned data, unsigned parity,
                          ufrpc_kcp_fec_dec_t **out)
{
    if (!out)
        return UFRPC_ERR_INVAL;
    mem = ufrpc_mem_or_default(mem);
    ufrpc_kcp_fec_dec_t *d = ufrpc_mem_calloc(mem, 1, sizeof *d);
    if (!d)
        return UFRPC_ERR_NOMEM;
    d->mem = mem;
    int rc = ufrpc_rs_init(&d->rs, data, parity);
    if (rc) {
        ufrpc_mem_free(mem, d);
        return rc;
    }
    d->n = data + parity;
    for (unsigned i = 0; i < UFRPC_KCP_FEC_GROUPS; i++) {
        d->g[i].buf = ufrpc_mem_calloc(mem, d->n, SHARD_MAX);
        if (!d->g[i].buf) {
            ufrpc_kcp_fec_dec_free(d);
            return UFRPC_ERR_NOMEM;
        }
    }
    *out = d;
    return 0;
}

void ufrpc_kcp_fec_dec_free(ufrpc_kcp_fec_dec_t *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < UFRPC_KCP_FEC_GROUPS; i++)
        ufrpc_mem_free(d->mem, d->g[i].buf);
    ufrpc_mem_free(d->mem, d);
}

void ufrpc_kcp_fec_dec_stats(const ufrpc_kcp_fec_dec_t *d, uint64_t *recovered,
                             uint64_t *bad_shards)
{
    *recovered = d->recovered;
    *bad_shards = d->bad;
}

/* The group for base, claimed if needed by evicting the oldest one; NULL when
 * the packet is older than every group kept. */
static struct group *group_for(ufrpc_kcp_fec_dec_t *d, uint32_t base)
{
    struct group *free_g = NULL, *oldest = NULL;
    for (unsigned i = 0; i < UFRPC_KCP_FEC_GROUPS; i++) {
        struct group *g = &d->g[i];
        if (!g->used) {
            free_g = g;
            continue;
        }
        if (g->base == base)
            return g;
        if (!oldest || (int32_t)(g->base - oldest->base) < 0)
            oldest = g;
    }
    struct group *g = free_g;
    if (!g) {
        if ((int32_t)(base - oldest->base) < 0)
            return NULL;
        g = oldest;
    }
    uint8_t *buf = g->buf;
    memset(g, 0, sizeof *g);
    g->buf = buf;
    g->used = true;
    g->base = base;
    return g;
}

static int recover(ufrpc_kcp_fec_dec_t *d, struct group *g, struct ufrpc_kcp_fec_out *out)
{
    size_t maxlen = 0;
    for (unsigned i = 0; i < d->n; i++)
        if (g->present[i] && g->lens[i] > maxlen)
            maxlen = g->lens[i];
    uint8_t *shards[UFRPC_RS_MAX_SHARDS];
    for (unsigned i = 0; i < d->n; i++) {
        shards[i] = g->buf + (size_t)i * SHARD_MAX;
        if (g->present[i] && g->lens[i] < maxlen)
            memset(shards[i] + g->lens[i], 0, maxlen - g->lens[i]);
    }
    g->done = true;
    if (ufrpc_rs_reconstruct_data(&d->rs, shards, g->present, maxlen) != 0)
        return UFRPC_ERR_KCP_FEC;
    int rc = 0;
    for (unsigned i = 0; i < d->rs.data; i++) {
        if (g->present[i])
            continue;
        uint16_t sz = ufrpc_get_le16(shards[i]);
        if (sz < 2 || sz > maxlen) {
            out->bad_shards++;
            d->bad++;
            rc = UFRPC_ERR_KCP_FEC;
            continue;
        }
        out->recovered[out->nrecovered] = shards[i] + 2;
        out->recovered_len[out->nrecovered] = (size_t)sz - 2;
        out->nrecovered++;
        d->recovered++;
    }
    return rc;
}

int ufrpc_kcp_fec_input(ufrpc_kcp_fec_dec_t *d, const uint8_t *pkt, size_t len,
                        struct ufrpc_kcp_fec_out *out)
{
    memset(out, 0, sizeof *out);
    if (len < UFRPC_KCP_FEC_DATA_HEADER || len > UFRPC_KCP_FEC_PACKET_MAX)
        return UFRPC_ERR_KCP_PACKET;
    uint32_t seqid = ufrpc_get_le32(pkt);
    uint16_t type = ufrpc_get_le16(pkt + 4);
    if (type != UFRPC_KCP_FEC_TYPE_DATA && type != UFRPC_KCP_FEC_TYPE_PARITY) {
        out->kcp = pkt; /* plain KCP, no FEC header */
        out->kcp_len = len;
        return 0;
    }
    if (type == UFRPC_KCP_FEC_TYPE_DATA) {
        out->kcp = pkt + UFRPC_KCP_FEC_DATA_HEADER;
        out->kcp_len = len - UFRPC_KCP_FEC_DATA_HEADER;
    }
    unsigned slot = seqid % d->n;
    bool is_data = type == UFRPC_KCP_FEC_TYPE_DATA;
    if (is_data != (slot < d->rs.data))
        return 0; /* out of step with the groups: pass on, do not use */
    struct group *g = group_for(d, seqid - slot);
    if (!g || g->done || g->present[slot])
        return 0;
    size_t slen = len - UFRPC_KCP_FEC_HEADER;
    memcpy(g->buf + (size_t)slot * SHARD_MAX, pkt + UFRPC_KCP_FEC_HEADER, slen);
    g->lens[slot] = (uint16_t)slen;
    g->present[slot] = true;
    g->nshard++;
    if (is_data)
        g->ndata++;
    if (g->ndata == d->rs.data) {
        g->done = true; /* nothing lost */
        return 0;
    }
    if (g->nshard >= d->rs.data)
        return recover(d, g, out);
    return 0;
}
