/* Helpers shared by the test programs (never linked into ufrpc itself).
 * Every returned buffer is malloc'd and owned by the caller (free()). On a missing
 * file or vector these return NULL / a negative ufrpc error, so a test can fail
 * with a clear message instead of crashing. */
#ifndef UFRPC_TESTS_TESTUTIL_H
#define UFRPC_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* $UFRPC_TEST_DATA/<rel>, by default tests/data/<rel> of the source tree (see
 * tests/data/README.md). Caller frees. */
char *ufrpc_test_data_path(const char *rel);

/* Reads a whole file; *out is NUL-terminated (not counted in *len). 0 or <0. */
int ufrpc_test_read_file(const char *path, uint8_t **out, size_t *len);

/* From tests/data/protocol/vectors.txt: the bytes of the hexdump that follows the
 * line "### <title>..." (title matched as a prefix). 0 or <0. */
int ufrpc_test_vector_bytes(const char *title, uint8_t **out, size_t *len);

/* From vectors.txt: the text after "<prefix>" on the first line that starts with it,
 * e.g. prefix "Login JSON: " or "authKey(12345678,1700000000) = ". NULL if absent. */
char *ufrpc_test_vector_text(const char *prefix);

/* Hex helpers: decode ignores spaces; returns bytes decoded or <0. Encode writes
 * lowercase hex plus NUL into out (2*len+1 bytes). */
int ufrpc_test_unhex(const char *hex, uint8_t *out, size_t cap);
void ufrpc_test_hex(const uint8_t *in, size_t len, char *out);

/* Deterministic PRNG for tests (xorshift64*), so failures reproduce. */
uint64_t ufrpc_test_rand(uint64_t *state);

/* 1 when this process runs under an emulator whose getsockopt(SO_ERROR) hands back
 * the host's errno untranslated: qemu-user 7.2 (Debian bookworm) for mips and mipsel
 * reports a refused connect as 111 (x86's ECONNREFUSED; mips's is 146), while
 * connect()'s own errno is translated, so libuv reports "unknown error 111". Probed
 * each call: a non-blocking connect to a bound socket that does not listen. 0 on
 * real hardware and every other target. Test cases whose assertions need "connection
 * refused" skip() when it is 1 (tests/cross/run.sh; README "Static and cross builds"). */
int ufrpc_test_so_error_untranslated(void);

#endif
