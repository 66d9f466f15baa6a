/* ufrpc — the AEADs of the TLS 1.2 record layer (proto/tlsrec.h), behind one small
 * interface with two build-time backends:
 *
 *   OpenSSL's libcrypto (UFRPC_AEAD_OPENSSL=1): EVP AES-256-GCM and
 *     ChaCha20-Poly1305, the fastest packaged code on x86 and ARM (2-3x
 *     libsodium 1.0.18 on this project's test machine: bench/README.md);
 *   libsodium (UFRPC_AEAD_OPENSSL=0): small, for routers and static builds.
 *
 * CMake picks the backend (option UFRPC_AEAD: auto = libcrypto when found). A
 * shared libcrypto is loaded at first use, not at start-up (UFRPC_AEAD_LINK,
 * proto/dynlib.h): until then an object runs on Mbed TLS's AEADs, and moves to
 * libcrypto at its first record of more than 2 KiB or after 256 KiB (the same
 * bytes either way; proto/aead.c "Slow start").
 * AES-256-GCM counts as available only where the CPU has AES and carry-less
 * multiply instructions (constant time and fast); elsewhere ChaCha20-Poly1305
 * is the one to offer.
 *
 * Ownership: a struct ufrpc_aead is caller-owned storage; ufrpc_aead_init may
 * allocate (libcrypto's context), so every successful init must be paired with
 * ufrpc_aead_wipe, which frees that and zeroes the key material. Not thread-safe
 * per object; distinct objects may be used from different threads. */
#ifndef UFRPC_PROTO_AEAD_H
#define UFRPC_PROTO_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ufrpc_aead_cipher {
    UFRPC_AEAD_NONE = 0,
    UFRPC_AEAD_AES_256_GCM = 1,
    UFRPC_AEAD_CHACHA20_POLY1305 = 2,
};

struct ufrpc_aead {
    int cipher;  /* enum ufrpc_aead_cipher; NONE until init */
    void *evp;   /* libcrypto: EVP_CIPHER_CTX (NULL while slow) */
    /* libcrypto loaded at first use: on Mbed TLS's AEAD (its context in state_raw)
     * until a large record or enough bytes move it to libcrypto (proto/aead.c) */
    bool slow;
    bool stay_slow;      /* libcrypto could not be had: no further tries */
    uint32_t slow_bytes; /* sealed and opened while slow */
    uint8_t key[32];
    /* libsodium's expanded AES-GCM key, or Mbed TLS's AEAD context: 16-byte
     * aligned somewhere inside */
    unsigned char state_raw[512 + 16];
};

/* True when cipher can be used on this CPU with this build. */
bool ufrpc_aead_available(int cipher);

/* "libcrypto" or "libsodium". Static. */
const char *ufrpc_aead_backend(void);

/* 0, UFRPC_ERR_INVAL (unknown cipher), UFRPC_ERR_UNSUPPORTED (libsodium: AES-GCM
 * without AES instructions), UFRPC_ERR_NOMEM, UFRPC_ERR_CRYPTO. (With libcrypto
 * loaded at first use, an object whose move to it fails stays on Mbed TLS's AEAD.) On failure nothing
 * needs wiping. With libcrypto, init does not ask the CPU (cpuid traps to the
 * hypervisor in a VM: microseconds per call, and a connection inits two
 * directions): callers choose the cipher with ufrpc_aead_available, once. */
int ufrpc_aead_init(struct ufrpc_aead *a, int cipher, const uint8_t key[32]);

/* Encrypts len bytes of in into out (which may equal in) and writes the tag.
 * 0 or UFRPC_ERR_CRYPTO. */
int ufrpc_aead_seal(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, uint8_t *out,
                    uint8_t tag[16]);

/* Checks tag and decrypts len bytes of in into out (which may equal in). 0, or
 * UFRPC_ERR_AEAD_AUTH (out's contents are then unspecified), UFRPC_ERR_CRYPTO. */
int ufrpc_aead_open(struct ufrpc_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                    size_t aad_len, const uint8_t *in, size_t len, const uint8_t tag[16],
                    uint8_t *out);

/* Frees what init allocated and zeroes the struct. Safe on a zeroed struct. */
void ufrpc_aead_wipe(struct ufrpc_aead *a);

/* Zeroes n bytes in a way the compiler keeps. */
void ufrpc_secure_zero(void *p, size_t n);

/* Compares n bytes in time independent of their contents; true when equal. */
bool ufrpc_ct_equal(const void *a, const void *b, size_t n);

#endif
