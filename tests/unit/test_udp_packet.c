/* proto/udp_packet: the UDPPacket codec with text addresses. Exact bytes for v1
 * and v2, round trips through the wire reader fed one prefix at a time (no packet
 * before the last byte), the JSON limits of both versions, and its errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/error.h"
#include "proto/frame_v2.h"
#include "proto/udp_packet.h"
#include "proto/wire.h"

static uint8_t out[80000];

static void test_exact_bytes(void **state)
{
    (void)state;
    size_t n = 0;
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V1, (const uint8_t *)"hi", 2,
                                                  "192.0.2.7", 5555, NULL, out, sizeof out, &n),
                     0);
    const char *json = "{\"c\":\"aGk=\",\"r\":{\"IP\":\"192.0.2.7\",\"Port\":5555,\"Zone\":\"\"}}";
    assert_int_equal(n, UFRPC_FRAME_HEADER_LEN + strlen(json));
    assert_int_equal(out[0], UFRPC_MSG_UDP_PACKET);
    assert_memory_equal(out + 1, "\0\0\0\0\0\0\0", 7);
    assert_int_equal(out[8], strlen(json));
    assert_memory_equal(out + UFRPC_FRAME_HEADER_LEN, json, strlen(json));
    assert_true(n <= ufrpc_udp_packet_frame_bound(2));

    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V2, (const uint8_t *)"hi", 2,
                                                  "fe80::1", 53, "eth0", out, sizeof out, &n),
                     0);
    json = "{\"c\":\"aGk=\",\"r\":{\"IP\":\"fe80::1\",\"Port\":53,\"Zone\":\"eth0\"}}";
    assert_int_equal(n, UFRPC_FRAME_V2_HEADER_LEN + 2 + strlen(json));
    assert_int_equal(out[0] << 8 | out[1], UFRPC_FRAME_V2_MESSAGE);
    assert_int_equal(out[6] << 8 | out[7], strlen(json) + 2);
    assert_int_equal(out[8] << 8 | out[9], ufrpc_frame_v2_msg_id(UFRPC_MSG_UDP_PACKET));
    assert_memory_equal(out + 10, json, strlen(json));
    assert_true(n <= ufrpc_udp_packet_frame_bound(2) + 1);
}

/* Feeds out[0..n) one more byte each time; only the last byte yields the packet. */
static void every_prefix(enum ufrpc_wire_version ver, size_t n, const uint8_t *payload,
                         size_t plen, const char *ip, int64_t port, const char *zone)
{
    struct ufrpc_wire_reader r;
    ufrpc_wire_reader_init(&r, ver, false);
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        struct ufrpc_frame f;
        int rc = ufrpc_wire_reader_feed(&r, out + i, 1, &used, &f);
        assert_int_equal(used, 1);
        if (i + 1 < n) {
            assert_int_equal(rc, 0); /* need more */
            continue;
        }
        assert_int_equal(rc, 1);
        struct ufrpc_udp_packet p;
        assert_int_equal(ufrpc_udp_packet_decode_frame(&f, &p), 1);
        assert_int_equal(p.len, plen);
        if (plen > 0)
            assert_memory_equal(p.data, payload, plen);
        assert_true(p.has_raddr);
        assert_string_equal(p.ip, ip);
        assert_int_equal(p.port, port);
        assert_string_equal(p.zone, zone);
        free(p.data);
    }
}

static void test_round_trip_every_prefix(void **state)
{
    (void)state;
    uint8_t payload[300];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 31 + 7);
    const enum ufrpc_wire_version vers[] = {UFRPC_WIRE_V1, UFRPC_WIRE_V2};
    for (size_t v = 0; v < 2; v++) {
        for (size_t plen = 0; plen <= sizeof payload; plen += 299) {
            size_t n = 0;
            assert_int_equal(ufrpc_udp_packet_encode_text(vers[v], payload, plen, "2001:db8::5",
                                                          65535, "7", out, sizeof out, &n),
                             0);
            every_prefix(vers[v], n, payload, plen, "2001:db8::5", 65535, "7");
        }
    }
}

static void test_other_frames_and_errors(void **state)
{
    (void)state;
    struct ufrpc_udp_packet p;
    struct ufrpc_frame ping = {UFRPC_MSG_PING, "{}", 2};
    assert_int_equal(ufrpc_udp_packet_decode_frame(&ping, &p), 0);
    assert_null(p.data);
    struct ufrpc_frame bad = {UFRPC_MSG_UDP_PACKET, "{\"c\":\"a\"}", 9};
    assert_int_equal(ufrpc_udp_packet_decode_frame(&bad, &p), UFRPC_ERR_BASE64);
    struct ufrpc_frame noaddr = {UFRPC_MSG_UDP_PACKET, "{\"c\":\"aGk=\"}", 12};
    assert_int_equal(ufrpc_udp_packet_decode_frame(&noaddr, &p), 1);
    assert_false(p.has_raddr);
    assert_int_equal(p.len, 2);
    free(p.data);
    struct ufrpc_frame badping = {UFRPC_MSG_PING, "{", 1};
    assert_int_equal(ufrpc_udp_packet_decode_frame(&badping, &p), UFRPC_ERR_JSON);

    size_t n;
    uint8_t *big = calloc(1, 60000);
    assert_non_null(big);
    /* v1: 10240 bytes of JSON at most; v2: 65534 */
    assert_true(ufrpc_udp_packet_never_fits(UFRPC_WIRE_V1, 7681));
    assert_false(ufrpc_udp_packet_never_fits(UFRPC_WIRE_V1, 7680));
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V1, big, 8000, "1.2.3.4", 1, NULL,
                                                  out, sizeof out, &n),
                     UFRPC_ERR_MSG_TOO_LONG);
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V2, big, 8000, "1.2.3.4", 1, NULL,
                                                  out, sizeof out, &n),
                     0);
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V2, big, 50000, "1.2.3.4", 1, NULL,
                                                  out, sizeof out, &n),
                     UFRPC_ERR_MSG_TOO_LONG);
    free(big);
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V1, (const uint8_t *)"x", 1,
                                                  "1.2.3.4", 1, NULL, out, 20, &n),
                     UFRPC_ERR_LIMIT);
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V1, (const uint8_t *)"x", 1, NULL, 1,
                                                  NULL, out, sizeof out, &n),
                     UFRPC_ERR_INVAL);
    char longip[60];
    memset(longip, '1', sizeof longip - 1);
    longip[sizeof longip - 1] = '\0';
    assert_int_equal(ufrpc_udp_packet_encode_text(UFRPC_WIRE_V1, (const uint8_t *)"x", 1, longip,
                                                  1, NULL, out, sizeof out, &n),
                     UFRPC_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_round_trip_every_prefix),
        cmocka_unit_test(test_other_frames_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
