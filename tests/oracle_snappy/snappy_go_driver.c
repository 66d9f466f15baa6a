/* Framing oracle driver: our framed encoder/decoder (proto/snappy.h) against Go's
 * github.com/golang/snappy Writer/Reader (frame_oracle, run as a child process via
 * files in WORKDIR).
 *   - Go's Reader decodes what our encoder wrote (random, text, many sizes and
 *     write sizes);
 *   - our decoder, fed in random pieces, decodes what Go's Writer wrote;
 *   - for incompressible data both writers must emit identical bytes (same
 *     uncompressed chunks and checksums), as for "hello".
 * Usage: snappy_go_driver FRAME_ORACLE WORKDIR. Exit 0 on success. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/snappy.h"

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int failures;
#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                          \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            failures++;                                                                   \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = malloc(cap);
    while (b != NULL) {
        if (len == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (nb == NULL) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *n = len;
    return b;
}

static uint8_t *our_encode(const uint8_t *in, size_t n, size_t write_size, size_t *out_len)
{
    ufrpc_snappy_encoder_t e;
    ufrpc_snappy_encoder_init(&e);
    /* chunks <= writes x blocks per write; every write size used here is >= 1000 */
    size_t cap = 10 + n + 8 * (n / 1000 + n / 65536 + 2);
    uint8_t *out = malloc(cap + 1);
    size_t o = 0;
    for (size_t pos = 0; out != NULL && pos < n;) {
        size_t k = n - pos < write_size ? n - pos : write_size, got = 0;
        if (ufrpc_snappy_encoder_write(&e, in + pos, k, out + o, cap - o, &got) != 0) {
            free(out);
            return NULL;
        }
        o += got;
        pos += k;
    }
    *out_len = o;
    return out;
}

static int our_decode(const uint8_t *in, size_t n, uint64_t *seed, uint8_t **out, size_t *out_len)
{
    ufrpc_snappy_decoder_t *d;
    if (ufrpc_snappy_decoder_new(&d) != 0)
        return -1;
    size_t cap = 1 << 16, len = 0, pos = 0;
    uint8_t *b = malloc(cap);
    int rc = b == NULL ? -1 : 0;
    while (rc == 0 && pos < n) {
        size_t piece = 1 + (size_t)(rnd(seed) % 20000);
        if (piece > n - pos)
            piece = n - pos;
        const uint8_t *p = in + pos;
        size_t left = piece;
        for (;;) {
            size_t used, dl;
            const uint8_t *data;
            rc = ufrpc_snappy_decoder_feed(d, p, left, &used, &data, &dl);
            if (rc != 0)
                break;
            while (len + dl > cap) {
                uint8_t *nb = realloc(b, cap *= 2);
                if (nb == NULL) {
                    rc = -1;
                    break;
                }
                b = nb;
            }
            if (rc != 0)
                break;
            if (dl)
                memcpy(b + len, data, dl);
            len += dl;
            p += used;
            left -= used;
            if (left == 0 && dl == 0)
                break;
        }
        pos += piece;
    }
    if (rc == 0)
        rc = ufrpc_snappy_decoder_finish(d);
    ufrpc_snappy_decoder_free(d);
    *out = b;
    *out_len = len;
    return rc;
}

static void fill(uint8_t *p, size_t n, int kind, uint64_t *seed)
{
    static const char *words[] = {"frp ", "proxy ", "tunnel ", "{\"run_id\":", "\r\n"};
    size_t i = 0;
    if (kind == 0) {
        for (; i < n; i++)
            p[i] = (uint8_t)(rnd(seed) >> 32);
        return;
    }
    while (i < n) {
        uint64_t r = rnd(seed);
        if (r % 7 == 0) {
            p[i++] = (uint8_t)(r >> 32);
            continue;
        }
        const char *w = words[(r >> 8) % 5];
        for (size_t k = 0; w[k] && i < n; k++)
            p[i++] = (uint8_t)w[k];
    }
}

static void one_case(const char *oracle, const char *dir, size_t n, int kind, size_t wsize,
                     uint64_t *seed)
{
    char raw_path[512], ours_path[512], back_path[512], go_path[512], cmd[2048];
    snprintf(raw_path, sizeof raw_path, "%s/raw", dir);
    snprintf(ours_path, sizeof ours_path, "%s/ours.sz", dir);
    snprintf(back_path, sizeof back_path, "%s/back", dir);
    snprintf(go_path, sizeof go_path, "%s/go.sz", dir);
    uint8_t *in = malloc(n + 1);
    CHECK(in != NULL, "oom");
    fill(in, n, kind, seed);

    /* ours -> Go */
    size_t elen = 0, blen = 0, glen = 0, dlen = 0;
    uint8_t *enc = our_encode(in, n, wsize, &elen);
    CHECK(enc != NULL, "encode n=%zu", n);
    CHECK(write_file(ours_path, enc, elen) == 0, "write");
    snprintf(cmd, sizeof cmd, "'%s' decode < '%s' > '%s'", oracle, ours_path, back_path);
    CHECK(system(cmd) == 0, "Go reader rejected our stream n=%zu kind=%d w=%zu", n, kind, wsize);
    uint8_t *back = read_file(back_path, &blen);
    CHECK(back != NULL && blen == n && (n == 0 || memcmp(back, in, n) == 0),
          "Go decoded different bytes n=%zu kind=%d w=%zu", n, kind, wsize);

    /* Go -> ours */
    CHECK(write_file(raw_path, in, n) == 0, "write");
    snprintf(cmd, sizeof cmd, "'%s' encode %zu < '%s' > '%s'", oracle, wsize, raw_path, go_path);
    CHECK(system(cmd) == 0, "Go writer failed");
    uint8_t *gz = read_file(go_path, &glen);
    CHECK(gz != NULL, "read");
    uint8_t *dec = NULL;
    int rc = our_decode(gz, glen, seed, &dec, &dlen);
    CHECK(rc == 0, "our decoder rejected Go's stream (rc %d) n=%zu kind=%d w=%zu", rc, n, kind,
          wsize);
    CHECK(dlen == n && (n == 0 || memcmp(dec, in, n) == 0), "we decoded different bytes");
    /* Incompressible data: byte-identical framing. */
    if (kind == 0)
        CHECK(glen == elen && memcmp(gz, enc, elen) == 0,
              "framing differs from Go for random data n=%zu w=%zu", n, wsize);
    printf("ok n=%zu kind=%d write=%zu: ours %zu bytes, go %zu bytes\n", n, kind, wsize, elen,
           glen);
    free(in);
    free(enc);
    free(back);
    free(gz);
    free(dec);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s FRAME_ORACLE WORKDIR\n", argv[0]);
        return 2;
    }
    static const size_t sizes[] = {0, 1, 5, 17, 100, 4096, 65535, 65536, 65537, 200000,
                                   1 << 20};
    static const size_t writes[] = {1 << 20, 1000, 65536, 70001};
    uint64_t seed = 4242;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int kind = 0; kind < 2; kind++)
            for (size_t w = 0; w < sizeof writes / sizeof writes[0]; w++) {
                if (writes[w] == 1000 && sizes[s] > 70000)
                    continue;
                one_case(argv[1], argv[2], sizes[s], kind, writes[w], &seed);
            }
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("snappy Go framing oracle: all cases agree\n");
    return 0;
}
