/* Reed–Solomon over GF(2^8) as klauspost/reedsolomon builds it (see proto/rs.h). */
#include "proto/rs.h"

#include <string.h>

#include "proto/error.h"

#define GF_POLY 0x11du

static uint8_t gf_mul(const struct ufrpc_rs *rs, uint8_t a, uint8_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return rs->exp[rs->log[a] + rs->log[b]];
}

static uint8_t gf_inv(const struct ufrpc_rs *rs, uint8_t a)
{
    return rs->exp[255 - rs->log[a]]; /* a != 0 */
}

/* a^n, with 0^0 = 1 as klauspost's galExp */
static uint8_t gf_pow(const struct ufrpc_rs *rs, uint8_t a, unsigned n)
{
    if (n == 0)
        return 1;
    if (a == 0)
        return 0;
    return rs->exp[(rs->log[a] * n) % 255];
}

/* Inverts the n x n matrix m (row stride UFRPC_RS_MAX_DATA) into out by
 * Gauss-Jordan elimination. UFRPC_ERR_KCP_FEC when singular. */
static int invert(const struct ufrpc_rs *rs, uint8_t m[][UFRPC_RS_MAX_DATA],
                  uint8_t out[][UFRPC_RS_MAX_DATA], unsigned n)
{
    for (unsigned r = 0; r < n; r++)
        for (unsigned c = 0; c < n; c++)
            out[r][c] = r == c;
    for (unsigned col = 0; col < n; col++) {
        unsigned piv = col;
        while (piv < n && m[piv][col] == 0)
            piv++;
        if (piv == n)
            return UFRPC_ERR_KCP_FEC;
        if (piv != col) {
            uint8_t t[UFRPC_RS_MAX_DATA];
            memcpy(t, m[piv], n);
            memcpy(m[piv], m[col], n);
            memcpy(m[col], t, n);
            memcpy(t, out[piv], n);
            memcpy(out[piv], out[col], n);
            memcpy(out[col], t, n);
        }
        uint8_t f = gf_inv(rs, m[col][col]);
        for (unsigned c = 0; c < n; c++) {
            m[col][c] = gf_mul(rs, m[col][c], f);
            out[col][c] = gf_mul(rs, out[col][c], f);
        }
        for (unsigned r = 0; r < n; r++) {
            uint8_t g = m[r][col];
            if (r == col || g == 0)
                continue;
            for (unsigned c = 0; c < n; c++) {
                m[r][c] ^= gf_mul(rs, g, m[col][c]);
                out[r][c] ^= gf_mul(rs, g, out[col][c]);
            }
        }
    }
    return 0;
}

int ufrpc_rs_init(struct ufrpc_rs *rs, unsigned data, unsigned parity)
{
    if (!rs || data == 0 || data > UFRPC_RS_MAX_DATA || parity == 0 ||
        parity > UFRPC_RS_MAX_PARITY)
        return UFRPC_ERR_INVAL;
    memset(rs, 0, sizeof *rs);
    rs->data = data;
    rs->parity = parity;
    unsigned x = 1;
    for (unsigned i = 0; i < 255; i++) {
        rs->exp[i] = (uint8_t)x;
        rs->log[x] = (uint8_t)i;
        x <<= 1;
        if (x & 0x100u)
            x ^= GF_POLY;
    }
    for (unsigned i = 255; i < sizeof rs->exp; i++)
        rs->exp[i] = rs->exp[i - 255];

    /* top square of the Vandermonde matrix, inverted */
    uint8_t top[UFRPC_RS_MAX_DATA][UFRPC_RS_MAX_DATA];
    uint8_t inv[UFRPC_RS_MAX_DATA][UFRPC_RS_MAX_DATA];
    for (unsigned r = 0; r < data; r++)
        for (unsigned c = 0; c < data; c++)
            top[r][c] = gf_pow(rs, (uint8_t)r, c);
    if (invert(rs, top, inv, data) != 0)
        return UFRPC_ERR_INVAL; /* cannot happen: distinct Vandermonde rows */
    /* parity rows: V[data+p] * inv */
    for (unsigned p = 0; p < parity; p++) {
        for (unsigned c = 0; c < data; c++) {
            uint8_t acc = 0;
            for (unsigned k = 0; k < data; k++)
                acc ^= gf_mul(rs, gf_pow(rs, (uint8_t)(data + p), k), inv[k][c]);
            rs->parity_rows[p][c] = acc;
        }
    }
    return 0;
}

uint8_t ufrpc_rs_matrix_at(const struct ufrpc_rs *rs, unsigned row, unsigned col)
{
    if (row < rs->data)
        return row == col;
    return rs->parity_rows[row - rs->data][col];
}

/* out ^= coef * in, through a 256-entry product table built for coef */
static void mul_add(const struct ufrpc_rs *rs, uint8_t coef, const uint8_t *in, uint8_t *out,
                    size_t len)
{
    if (coef == 0)
        return;
    if (coef == 1) {
        for (size_t i = 0; i < len; i++)
            out[i] ^= in[i];
        return;
    }
    uint8_t t[256];
    t[0] = 0;
    unsigned lc = rs->log[coef];
    for (unsigned v = 1; v < 256; v++)
        t[v] = rs->exp[lc + rs->log[v]];
    for (size_t i = 0; i < len; i++)
        out[i] ^= t[in[i]];
}

void ufrpc_rs_encode(const struct ufrpc_rs *rs, uint8_t *const *shards, size_t len)
{
    for (unsigned p = 0; p < rs->parity; p++) {
        uint8_t *out = shards[rs->data + p];
        memset(out, 0, len);
        for (unsigned d = 0; d < rs->data; d++)
            mul_add(rs, rs->parity_rows[p][d], shards[d], out, len);
    }
}

int ufrpc_rs_reconstruct_data(const struct ufrpc_rs *rs, uint8_t *const *shards,
                              const bool *present, size_t len)
{
    unsigned n = rs->data + rs->parity;
    unsigned rows[UFRPC_RS_MAX_DATA];
    unsigned have = 0, missing_data = 0;
    for (unsigned i = 0; i < n && have < rs->data; i++)
        if (present[i])
            rows[have++] = i;
    if (have < rs->data)
        return UFRPC_ERR_KCP_FEC;
    for (unsigned d = 0; d < rs->data; d++)
        missing_data += !present[d];
    if (missing_data == 0)
        return 0;
    /* the rows of the encoding matrix for the shards we have, inverted, map
     * those shards back to the data shards */
    uint8_t sub[UFRPC_RS_MAX_DATA][UFRPC_RS_MAX_DATA];
    uint8_t dec[UFRPC_RS_MAX_DATA][UFRPC_RS_MAX_DATA];
    for (unsigned r = 0; r < rs->data; r++)
        for (unsigned c = 0; c < rs->data; c++)
            sub[r][c] = ufrpc_rs_matrix_at(rs, rows[r], c);
    if (invert(rs, sub, dec, rs->data) != 0)
        return UFRPC_ERR_KCP_FEC;
    for (unsigned d = 0; d < rs->data; d++) {
        if (present[d])
            continue;
        uint8_t *out = shards[d];
        memset(out, 0, len);
        for (unsigned k = 0; k < rs->data; k++)
            mul_add(rs, dec[d][k], shards[rows[k]], out, len);
    }
    return 0;
}
