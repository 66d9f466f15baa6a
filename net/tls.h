/* ufrpc — TLS (mbedTLS 2.28 or 3.x; TLS 1.2, and 1.3 on request with 3.x) over any
 * struct ufrpc_stream, client and server role, plus frps's first-byte sniffer
 * (docs/PROTOCOL.md §1.2).
 *
 * A context (ufrpc_tls_ctx_t) holds the configuration, certificates and the RNG;
 * one context serves any number of connections. Each TLS stream holds a reference
 * until it is freed (after its close callback), so the owner may call
 * ufrpc_tls_ctx_free right after closing its streams; the context goes when the
 * last of them is gone.
 *
 * A TLS stream is a struct ufrpc_stream (net/stream.h) that owns its lower stream:
 * closing it closes the lower one. It is usable after its handshake callback
 * reported 0; reads and writes before that fail with UFRPC_ERR_STATE. On a
 * handshake error (UFRPC_ERR_TLS_HANDSHAKE, UFRPC_ERR_TLS_VERIFY, UFRPC_ERR_TIMEOUT,
 * lower-stream errors) the owner must close it; until then ufrpc_tls_get_failure
 * tells why.
 *
 * frps's generated certificate (empty issuer, which Mbed TLS cannot parse) is
 * accepted through net/x509_fill.h, for TLS 1.2 and 1.3 alike.
 *
 * Record layer: Mbed TLS does the handshake (certificates, key exchange,
 * resumption); for TLS 1.2 with an AES-256-GCM or ChaCha20-Poly1305 suite our
 * own record layer (proto/tlsrec.h on proto/aead.h: libcrypto's or libsodium's
 * AEADs, several times faster)
 * takes the records over right after it, with the keys from Mbed TLS's key
 * export and the sequence numbers where the handshake left them. Any other
 * suite or version stays on Mbed TLS's record layer. Suite order by CPU:
 * AES-256-GCM first (and no AES-128-GCM) where the CPU has AES instructions,
 * ChaCha20-Poly1305 first elsewhere. With Mbed TLS 3.x the version is capped at
 * TLS 1.2 so that the fast path always applies (TLS 1.3 records, KeyUpdate and
 * post-handshake tickets are not implemented). On our records: close_notify ->
 * UFRPC_ERR_EOF; warning alerts are dropped and fatal ones end the stream with
 * UFRPC_ERR_TLS (as Go); a renegotiation request is refused with a
 * no_renegotiation alert and ends the stream (as Go); a record that fails
 * authentication, is malformed or oversized sends the matching fatal alert and
 * ends it with UFRPC_ERR_TLS.
 *
 * Data path: plaintext is delivered in 64 KiB refcounted buffers (one delivery per
 * batch of decrypted records); writes are gathered into records of up to 16 KiB
 * (small iovecs are coalesced, one copy, in a stack buffer), encrypted at once
 * into 64 KiB output chunks that are written to the lower stream; a write request
 * completes when the chunk carrying its last record has been written. Plaintext
 * buffers and chunks come from two per-stream pools (net/stream.h) that keep up
 * to UFRPC_READ_POOL_FREE returned ones each (ufrpc_stream_set_read_pool changes
 * it for the plaintext buffers), so steady traffic does not malloc per record
 * batch. queued() counts encrypted bytes not
 * yet written by the lower stream. shutdown() sends close_notify after all
 * earlier writes, then shuts the lower stream down. A received close_notify (or
 * a lower EOF) is delivered as UFRPC_ERR_EOF.
 *
 * Session resumption: a client context keeps the session of its last full
 * handshake (the server's session ticket, or its session id) together with the
 * server name it was made for, and every new stream with the same server name
 * offers it: a server that accepts (frps: Go crypto/tls issues TLS 1.2 tickets by
 * default) skips the certificate and the key exchange, so a work connection
 * without tcpMux costs an abbreviated handshake instead of a full one. The
 * resumed session keeps the verification result of the full handshake it comes
 * from. A refused offer is a full handshake, whose session is then kept instead.
 * One session per context (~2 KiB with the peer certificate), freed with it.
 * Server contexts issue session tickets (AES-256-GCM keys from the context's RNG,
 * 24 h lifetime).
 *
 * Verification (client): without a CA file none at all (frpc's default,
 * InsecureSkipVerify). With one: the chain must verify and, when the server name
 * is a host name, match it (CN/dNSName). For an IP-literal name mbedTLS 2.28
 * cannot match iPAddress SANs, so only the chain is checked. SNI is sent only for
 * host names, like Go.
 */
#ifndef UFRPC_NET_TLS_H
#define UFRPC_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/stream.h"

typedef struct ufrpc_tls_ctx ufrpc_tls_ctx_t;

struct ufrpc_tls_client_opts {
    const char *ca_file;   /* NULL: no verification */
    bool ca_bundle;        /* ca_file is a system bundle: certificates Mbed TLS cannot */
                           /* parse are skipped (at least one must parse) */
    const char *cert_file; /* client certificate (mTLS), with key_file */
    const char *key_file;
    bool tls13; /* also offer TLS 1.3 where Mbed TLS has it (3.x); default: 1.2 only */
};

/* What a server context without cert_file generates, in memory. */
enum ufrpc_tls_gen {
    UFRPC_TLS_GEN_NAMED = 0, /* EC P-256, CN=ufrpc-test, SAN DNS:localhost, CA:true */
    UFRPC_TLS_GEN_FRPS,      /* as frps: RSA-2048, empty issuer and subject, valid */
                             /* from an hour ago for 3650 days, no extensions */
};

struct ufrpc_tls_server_opts {
    const char *cert_file; /* NULL (and key_file NULL): generate one, see generate */
    const char *key_file;
    enum ufrpc_tls_gen generate;
    const char *client_ca_file; /* non-NULL: require and verify a client cert */
    bool tls13; /* also accept TLS 1.3 where Mbed TLS has it (3.x) */
};

/* 0 and *out, or UFRPC_ERR_NOMEM / UFRPC_ERR_TLS (unreadable or bad file). The
 * owner drops its reference with ufrpc_tls_ctx_free (at any time; streams still
 * using the context keep it alive). No new stream may be created from it after. */
int ufrpc_tls_client_ctx_new(const struct ufrpc_tls_client_opts *o, ufrpc_tls_ctx_t **out);
int ufrpc_tls_server_ctx_new(const struct ufrpc_tls_server_opts *o, ufrpc_tls_ctx_t **out);
void ufrpc_tls_ctx_free(ufrpc_tls_ctx_t *ctx);
/* PEM of the server context's own certificate (e.g. the generated one, for tests
 * to trust). Writes a NUL-terminated string; 0, UFRPC_ERR_LIMIT or _STATE. */
int ufrpc_tls_ctx_cert_pem(const ufrpc_tls_ctx_t *ctx, char *buf, size_t cap);

typedef void (*ufrpc_tls_handshake_cb)(struct ufrpc_stream *s, int status);

struct ufrpc_tls_conn_opts {
    const char *server_name;       /* tls.serverName, or the server address */
    bool first_byte_0x17;          /* write 0x17 before the ClientHello */
    uint32_t handshake_timeout_ms; /* 0 = 10000 */
    /* keep what ufrpc_tls_peer_info reports (~600 bytes, for the stream's life);
     * without it that is gone once our record layer takes over from Mbed TLS */
    bool keep_peer_info;
};

/* Starts a client handshake over lower (ownership of lower passes to the new
 * stream, even on failure: then lower is closed). `data` becomes the stream's
 * data field. NULL with *err on failure. cb runs once, never from inside. */
struct ufrpc_stream *ufrpc_tls_client_new(ufrpc_tls_ctx_t *ctx, struct ufrpc_stream *lower,
                                          const struct ufrpc_tls_conn_opts *o,
                                          ufrpc_tls_handshake_cb cb, void *data, int *err);
/* True once s (a TLS client stream) completed its handshake by resuming the
 * session saved from an earlier connection of the same context (abbreviated
 * handshake: no certificate, no key exchange). False for anything else. */
bool ufrpc_tls_resumed(const struct ufrpc_stream *s);
/* The protocol version of an established TLS stream ("TLSv1.2", "TLSv1.3"); ""
 * for anything else. The string is static. */
const char *ufrpc_tls_version(const struct ufrpc_stream *s);

/* The negotiated cipher suite in Mbed TLS's spelling (e.g.
 * "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384"; a static string) once s (a TLS
 * stream) completed its handshake, NULL otherwise. *own_records (may be NULL)
 * tells whether our record layer (proto/tlsrec.h) protects its records rather
 * than Mbed TLS's. */
const char *ufrpc_tls_suite(const struct ufrpc_stream *s, bool *own_records);

/* What an established client stream learned of its server (ufrpc diagnose). */
struct ufrpc_tls_peer {
    char subject[256], issuer[256]; /* RFC 4514-ish ("CN=frps"); "" when empty */
    char not_before[24], not_after[24]; /* "YYYY-MM-DD hh:mm:ss" (UTC) */
    bool verify_on; /* the context checks the chain (a CA was configured) */
    bool verified;  /* verify_on and the chain and name checked out */
};
/* Fills *out for s, an open TLS client stream: 0, UFRPC_ERR_STATE when s is not
 * one, UFRPC_ERR_NOT_FOUND when no certificate was seen (a resumed session) or it
 * was not kept (opened without keep_peer_info, now on our record layer),
 * UFRPC_ERR_NOMEM when keeping it failed. */
int ufrpc_tls_peer_info(const struct ufrpc_stream *s, struct ufrpc_tls_peer *out);

/* ---- why a handshake failed ------------------------------------------------------
 * After a handshake callback reported an error, the stream (still open, until its
 * owner closes it) tells where and why, for messages that name the step and Mbed
 * TLS's own text instead of just "handshake failed". */
enum ufrpc_tls_step {
    UFRPC_TLS_STEP_NONE = 0,   /* no failed handshake */
    UFRPC_TLS_STEP_HELLO,      /* nothing came back: the peer closed, reset or was silent */
    UFRPC_TLS_STEP_HANDSHAKE,  /* negotiation, key exchange, alerts, Finished */
    UFRPC_TLS_STEP_CERT_PARSE, /* the peer's certificate could not be parsed */
    UFRPC_TLS_STEP_VERIFY,     /* it parsed but did not verify (CA, name, dates) */
};

struct ufrpc_tls_failure {
    enum ufrpc_tls_step step;
    int code;              /* what the handshake callback got */
    int mbed_err;          /* Mbed TLS's error code; 0 when the failure was not its */
    int lower_status;      /* the lower stream's error, 0 if it had none */
    uint32_t verify_flags; /* STEP_VERIFY: MBEDTLS_X509_BADCERT_* bits */
    bool bytes_received;   /* the peer sent something */
    bool first_byte_sent;  /* the 0x17 first byte was sent */
    bool fill_active;      /* frps's empty-issuer certificate is parsed (x509_fill.h) */
};

/* Copies the failure of s's handshake into *f: 0, or UFRPC_ERR_STATE when s is not
 * a TLS stream whose handshake failed. */
int ufrpc_tls_get_failure(const struct ufrpc_stream *s, struct ufrpc_tls_failure *f);
/* "certificate parse", "certificate verification", ... */
const char *ufrpc_tls_step_name(enum ufrpc_tls_step step);
/* One line, NUL-terminated, truncated to cap: the step and the cause, in Mbed
 * TLS's words where it has them, e.g. "certificate verification failed: X509 -
 * Certificate verification failed, ... (The certificate is not correctly signed
 * by the trusted CA)". No hint about configuration: that is the caller's. */
void ufrpc_tls_failure_text(const struct ufrpc_tls_failure *f, char *buf, size_t cap);

/* Same for the server role. */
struct ufrpc_stream *ufrpc_tls_server_new(ufrpc_tls_ctx_t *ctx, struct ufrpc_stream *lower,
                                          uint32_t handshake_timeout_ms,
                                          ufrpc_tls_handshake_cb cb, void *data, int *err);

/* ---- first-byte sniffer (server side, as frps) --------------------------------
 * Reads the first byte of a fresh TCP stream (it must support unread, i.e. come
 * from net/tcp.h): 0x17 -> consumed, UFRPC_SNIFF_TLS_0x17; 0x16 -> kept,
 * UFRPC_SNIFF_TLS; anything else -> kept, UFRPC_SNIFF_PLAIN. The bytes kept are
 * delivered by the stream's next reads. Errors/timeout: cb gets a negative code.
 * The caller keeps owning s in every case; s->data is borrowed during the sniff
 * and restored before cb. cb runs once, never from inside ufrpc_tls_sniff. */
enum { UFRPC_SNIFF_PLAIN = 0, UFRPC_SNIFF_TLS = 1, UFRPC_SNIFF_TLS_0x17 = 2 };
typedef void (*ufrpc_sniff_cb)(struct ufrpc_stream *s, int kind_or_err, void *data);
int ufrpc_tls_sniff(struct ufrpc_stream *s, uint32_t timeout_ms, ufrpc_sniff_cb cb, void *data);

#endif
