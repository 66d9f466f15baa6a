/* libFuzzer target: xtcp punching packets and NAT classification (proto/nathole.h).
 * The input is opened as a punching packet (as from any UDP sender); one that opens
 * is sealed and opened again three times with a fixed IV (see below). The input is
 * also split at newlines into addresses and classified: no crash, and a result only
 * for two or more addresses. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "proto/error.h"
#include "proto/nathole.h"

/* PBKDF2("abc", "frp") — fixed so the target does not spend its time in PBKDF2. */
static const uint8_t key[16] = {0x62, 0xe5, 0xed, 0x67, 0xfd, 0xd0, 0x4e, 0x5f,
                                0x1f, 0x71, 0xd7, 0x79, 0xce, 0xb9, 0x66, 0x7f};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Sealing normalises: invalid UTF-8 is written as the escape \ufffd, which opens
     * to a raw U+FFFD, which is written raw. From the second seal on, open+seal must
     * reproduce the packet exactly. */
    struct ufrpc_msg m;
    if (ufrpc_nathole_open(key, data, size, &m) == 0) {
        uint8_t iv[16] = {0}, pkt[3][UFRPC_NATHOLE_MAX_PACKET];
        size_t n[3] = {0, 0, 0};
        const bool response = m.u.nat_hole_sid.response;
        int k = 0;
        for (; k < 3; k++) {
            int rc = ufrpc_nathole_seal(key, iv, &m, pkt[k], sizeof pkt[k], &n[k]);
            ufrpc_msg_free(&m);
            /* escapes may make the re-encoding longer than the input: then LIMIT */
            CHECK(rc == 0 || rc == UFRPC_ERR_LIMIT || rc == UFRPC_ERR_NOMEM);
            if (rc != 0)
                break;
            CHECK(ufrpc_nathole_open(key, pkt[k], n[k], &m) == 0);
            CHECK(m.u.nat_hole_sid.response == response);
        }
        if (k == 3) {
            ufrpc_msg_free(&m);
            CHECK(n[1] == n[2] && memcmp(pkt[1], pkt[2], n[1]) == 0);
        }
    }

    /* classification of newline-separated addresses (at most 8) */
    char *copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *addrs[8];
    size_t na = 0;
    for (char *p = copy, *nl; na < 8 && p != NULL; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        addrs[na++] = p;
    }
    struct ufrpc_nat_feature f;
    const char *local[1] = {"10.0.0.1"};
    if (ufrpc_nathole_classify(addrs, na, local, 1, &f) == 0) {
        CHECK(na >= 2);
        CHECK(f.nat_type != NULL && f.behavior != NULL);
        CHECK(f.ports_difference >= 0 && f.ports_difference <= 65535);
    }
    free(copy);
    return 0;
}
