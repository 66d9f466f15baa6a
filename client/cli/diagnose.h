/* ufrpc — `ufrpc diagnose`: checks, step by step, everything between this client
 * and frps, and says which part is at fault.
 *
 * Steps, in order; a failed critical step (*) ends the run, the rest are skipped:
 *   dns*        every address of serverAddr (uv_getaddrinfo), time
 *   tcp*        a TCP connect to serverAddr:serverPort (through transport.proxyURL
 *               when set), time
 *   tls*        with TLS on: a handshake as the client makes it (0x17 first byte
 *               unless disabled; wss: plain TLS): version, suite, the certificate's
 *               subject, issuer and validity, and whether it was verified
 *   login*      a real login with the configuration (token or OIDC), run id
 *   proxies     each proxy's registration (NewProxyResp) within 10 s
 *   latency     10 round trips through a temporary tcp proxy (remotePort 0, to an
 *               echo service of diagnose's own), when frps allows one
 *   throughput  bytes echoed through that proxy in a short burst
 * Visitors and the webServer of the configuration are left out, and every proxy is
 * closed at the end: a ufrpc already running with the same file is not disturbed
 * (its proxies make registration fail here with frps's "already exists" text).
 *
 * Score (0-100): dns 10, tcp 15, tls 15, login 25, proxies 15 (shared among the
 * proxies), latency 10 (full under 100 ms median, half under 500 ms), throughput 10
 * (full from 10 MB/s, half from 1 MB/s). A skipped step that did not apply (TLS
 * off, no proxies) counts as passed; one skipped because an earlier step failed or
 * frps refused the temporary proxy counts as failed. Verdict: >= 90 excellent,
 * >= 75 good, >= 50 fair, >= 25 poor, else critical.
 *
 * Ownership: cfg, log and loop are borrowed and must outlive the run; the result
 * passed to the done callback lives until ufrpc_diag_free. */
#ifndef UFRPC_CLIENT_DIAGNOSE_H
#define UFRPC_CLIENT_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "client/core/log.h"
#include "config/config.h"

enum ufrpc_diag_step_id {
    UFRPC_DIAG_DNS,
    UFRPC_DIAG_TCP,
    UFRPC_DIAG_TLS,
    UFRPC_DIAG_LOGIN,
    UFRPC_DIAG_PROXIES,
    UFRPC_DIAG_LATENCY,
    UFRPC_DIAG_THROUGHPUT,
    UFRPC_DIAG_NSTEPS,
};

enum ufrpc_diag_status {
    UFRPC_DIAG_PENDING = 0,
    UFRPC_DIAG_OK,
    UFRPC_DIAG_FAIL,
    UFRPC_DIAG_SKIPPED,    /* did not apply (TLS off, no proxies): counts as passed */
    UFRPC_DIAG_NOT_RUN,    /* an earlier failure or frps's refusal stopped it */
};

struct ufrpc_diag_step {
    enum ufrpc_diag_status status;
    double ms;          /* time the step took */
    char detail[512];   /* what was found, or why it failed */
    char advice[256];   /* one line for a failed step, "" otherwise */
};

struct ufrpc_diag_proxy {
    char name[128];
    char type[16];
    bool ok;
    char remote[80];  /* remote_addr from NewProxyResp */
    char error[256];  /* frps's error, or why no answer */
};

#define UFRPC_DIAG_MAX_ADDRS 16
#define UFRPC_DIAG_PINGS 10

struct ufrpc_diag_result {
    struct ufrpc_diag_step steps[UFRPC_DIAG_NSTEPS];
    char addrs[UFRPC_DIAG_MAX_ADDRS][64];
    size_t n_addrs;
    char tls_version[16], tls_suite[80];
    char cert_subject[256], cert_issuer[256], cert_not_before[24], cert_not_after[24];
    bool cert_seen, cert_verify_on, cert_verified;
    char run_id[64];
    struct ufrpc_diag_proxy *proxies; /* n_proxies entries */
    size_t n_proxies;
    double rtt_ms[UFRPC_DIAG_PINGS];
    size_t n_rtt;
    double rtt_min, rtt_median, rtt_max;
    uint64_t tp_bytes;
    double tp_mbps; /* MB/s (10^6 bytes) echoed */
    int score;
    const char *verdict;
};

struct ufrpc_diag_opts {
    uint64_t throughput_bytes; /* 0: 16 MiB */
    uint32_t step_timeout_ms;  /* dns/tcp/tls/login each; 0: 15000 */
};

typedef struct ufrpc_diag ufrpc_diag_t;

/* Runs once every handle diagnose opened is closed; r stays valid until free. */
typedef void (*ufrpc_diag_done_cb)(ufrpc_diag_t *d, const struct ufrpc_diag_result *r,
                                   void *data);

/* Starts the run on loop. 0 and *out, or <0 (nothing started). */
int ufrpc_diag_start(uv_loop_t *loop, const struct ufrpc_config *cfg, struct ufrpc_log *log,
                     const struct ufrpc_diag_opts *opts, ufrpc_diag_done_cb done, void *data,
                     ufrpc_diag_t **out);

/* Frees a finished run (after done). */
void ufrpc_diag_free(ufrpc_diag_t *d);

/* Fills r->score and r->verdict from the steps (pure; used by the run). */
void ufrpc_diag_score(struct ufrpc_diag_result *r);

/* "ok", "FAIL", "skipped", "not run". Static. */
const char *ufrpc_diag_status_name(enum ufrpc_diag_status s);
/* "dns", "tcp", ... Static. */
const char *ufrpc_diag_step_name(enum ufrpc_diag_step_id s);

/* One line of advice for a failed login from frps's (or the client's) text. */
void ufrpc_diag_login_advice(const char *err, char *out, size_t cap);

#endif
