/* libFuzzer: proto/stun's Binding response parser (the answer of a STUN server
 * that `nathole discover` asks: network input). The input is the datagram; its own
 * transaction id (bytes 8..19) is the one expected, so that inputs get past the
 * header. Properties: the result is 0 or UFRPC_ERR_INVAL; on 0 each address is ""
 * or "a.b.c.d:port" with every part in range; the bytes after the length the
 * header states change nothing; a datagram cut short of that length is refused;
 * another transaction id is refused. Then a response built from the input's first
 * bytes (XOR-MAPPED-ADDRESS and OTHER-ADDRESS) parses back to those addresses. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/byteorder.h"
#include "proto/error.h"
#include "proto/stun.h"

static void check_addr(const char *a)
{
    CHECK(memchr(a, '\0', 24) != NULL);
    if (a[0] == '\0')
        return;
    unsigned p[5];
    char tail;
    CHECK(sscanf(a, "%u.%u.%u.%u:%u%c", &p[0], &p[1], &p[2], &p[3], &p[4], &tail) == 5);
    for (int i = 0; i < 4; i++)
        CHECK(p[i] <= 255);
    CHECK(p[4] <= 65535);
}

static void round_trip(const uint8_t *data, size_t size)
{
    uint8_t in[12] = {0};
    memcpy(in, data, size < sizeof in ? size : sizeof in);
    uint8_t tid[12];
    memcpy(tid, in, 12);
    uint8_t msg[UFRPC_STUN_HEADER_LEN + 24];
    ufrpc_stun_binding_request(msg, tid);
    ufrpc_put_be16(msg, 0x0101); /* Binding success response */
    ufrpc_put_be16(msg + 2, 24);
    uint8_t *a = msg + UFRPC_STUN_HEADER_LEN;
    uint16_t port = ufrpc_get_be16(in), oport = ufrpc_get_be16(in + 6);
    uint32_t ip = ufrpc_get_be32(in + 2), oip = ufrpc_get_be32(in + 8);
    ufrpc_put_be16(a, 0x0020); /* XOR-MAPPED-ADDRESS */
    ufrpc_put_be16(a + 2, 8);
    a[4] = 0;
    a[5] = 1;
    ufrpc_put_be16(a + 6, port ^ (uint16_t)(UFRPC_STUN_MAGIC >> 16));
    ufrpc_put_be32(a + 8, ip ^ UFRPC_STUN_MAGIC);
    ufrpc_put_be16(a + 12, 0x802C); /* OTHER-ADDRESS */
    ufrpc_put_be16(a + 14, 8);
    a[16] = 0;
    a[17] = 1;
    ufrpc_put_be16(a + 18, oport);
    ufrpc_put_be32(a + 20, oip);
    struct ufrpc_stun_resp r;
    CHECK(ufrpc_stun_parse(msg, sizeof msg, tid, &r) == 0);
    char want[24];
    snprintf(want, sizeof want, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
             ip & 255, port);
    CHECK(strcmp(r.mapped, want) == 0);
    snprintf(want, sizeof want, "%u.%u.%u.%u:%u", oip >> 24, (oip >> 16) & 255,
             (oip >> 8) & 255, oip & 255, oport);
    CHECK(strcmp(r.other, want) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    round_trip(data, size);
    uint8_t tid[12] = {0};
    if (size >= UFRPC_STUN_HEADER_LEN)
        memcpy(tid, data + 8, 12);
    struct ufrpc_stun_resp r;
    int rc = ufrpc_stun_parse(data, size, tid, &r);
    CHECK(rc == 0 || rc == UFRPC_ERR_INVAL);
    check_addr(r.mapped);
    check_addr(r.other);
    if (rc != 0) {
        CHECK(r.mapped[0] == '\0' && r.other[0] == '\0');
        return 0;
    }
    CHECK(size >= UFRPC_STUN_HEADER_LEN && ufrpc_get_be32(data + 4) == UFRPC_STUN_MAGIC);
    size_t end = UFRPC_STUN_HEADER_LEN + ufrpc_get_be16(data + 2);
    CHECK(end <= size);
    struct ufrpc_stun_resp r2;
    CHECK(ufrpc_stun_parse(data, end, tid, &r2) == 0);
    CHECK(memcmp(&r, &r2, sizeof r) == 0);
    if (end > UFRPC_STUN_HEADER_LEN)
        CHECK(ufrpc_stun_parse(data, end - 1, tid, &r2) == UFRPC_ERR_INVAL);
    tid[0] ^= 1;
    CHECK(ufrpc_stun_parse(data, size, tid, &r2) == UFRPC_ERR_INVAL);
    return 0;
}
