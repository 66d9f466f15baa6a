/* Wire v2 hellos and the client login handshake, see v2hello.h. */
#include "proto/v2hello.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <mbedtls/platform_util.h>


#include "proto/base64.h"
#include "proto/cpu.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/frame_v2.h"
#include "proto/gojson.h"
#include "proto/msg_schema.h"

/* ---- small output buffer ------------------------------------------------------ */

/* struct ufrpc_jbuf and its appenders are shared with the message encoder. */

static void ob_str(struct ufrpc_jbuf *b, const char *s)
{
    ufrpc_jbuf_put(b, s, strlen(s));
}

static void ob_base64(struct ufrpc_jbuf *b, const uint8_t *data, size_t n)
{
    char enc[((UFRPC_V2_RANDOM_LEN + 2) / 3) * 4 + 1];
    if (n > UFRPC_V2_RANDOM_LEN) {
        b->err = UFRPC_ERR_INVAL;
        return;
    }
    size_t m = ufrpc_base64_encode(data, n, enc);
    ufrpc_jbuf_put(b, "\"", 1);
    ufrpc_jbuf_put(b, enc, m);
    ufrpc_jbuf_put(b, "\"", 1);
}

static int ob_finish(struct ufrpc_jbuf *b, char **json, size_t *len)
{
    if (b->err == 0 && b->p == NULL)
        b->err = UFRPC_ERR_INVAL;
    if (b->err != 0) {
        free(b->p);
        return b->err;
    }
    *json = b->p;
    *len = b->len;
    return 0;
}

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
}

/* ---- algorithm preference ----------------------------------------------------- */

static int fast_aes_gcm(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return ufrpc_cpu_has(UFRPC_CPU_AES) && ufrpc_cpu_has(UFRPC_CPU_CLMUL) &&
           ufrpc_cpu_has(UFRPC_CPU_SSE41) && ufrpc_cpu_has(UFRPC_CPU_SSSE3);
#elif defined(__aarch64__)
    return ufrpc_cpu_has(UFRPC_CPU_AES) && ufrpc_cpu_has(UFRPC_CPU_CLMUL);
#elif defined(__powerpc64__)
    return 1;
#else
    return 0;
#endif
}

void ufrpc_v2hello_default_algs(ufrpc_aead_alg_t out[2])
{
    if (fast_aes_gcm()) {
        out[0] = UFRPC_AEAD_AES_256_GCM;
        out[1] = UFRPC_AEAD_XCHACHA20_POLY1305;
    } else {
        out[0] = UFRPC_AEAD_XCHACHA20_POLY1305;
        out[1] = UFRPC_AEAD_AES_256_GCM;
    }
}

/* ---- building ----------------------------------------------------------------- */

int ufrpc_v2hello_build_client(const struct ufrpc_v2_bootstrap *bs, const ufrpc_aead_alg_t *algs,
                               size_t n_algs, const uint8_t client_random[UFRPC_V2_RANDOM_LEN],
                               char **json, size_t *len)
{
    if (bs == NULL || algs == NULL || n_algs == 0 || n_algs > UFRPC_V2_MAX_ALGS ||
        client_random == NULL || json == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    for (size_t i = 0; i < n_algs; i++)
        if (ufrpc_aead_alg_name(algs[i]) == NULL)
            return UFRPC_ERR_INVAL;
    struct ufrpc_jbuf b = {0};
    const char *sep = "";
    ob_str(&b, "{\"bootstrap\":{");
    if (bs->transport != NULL && bs->transport[0] != '\0') {
        ob_str(&b, "\"transport\":");
        ufrpc_jbuf_str(&b, bs->transport);
        sep = ",";
    }
    if (bs->tls) {
        ob_str(&b, sep);
        ob_str(&b, "\"tls\":true");
        sep = ",";
    }
    if (bs->tcp_mux) {
        ob_str(&b, sep);
        ob_str(&b, "\"tcpMux\":true");
    }
    ob_str(&b, "},\"capabilities\":{\"message\":{\"codecs\":[\"json\"]},"
               "\"crypto\":{\"algorithms\":[");
    for (size_t i = 0; i < n_algs; i++) {
        if (i > 0)
            ob_str(&b, ",");
        ufrpc_jbuf_str(&b, ufrpc_aead_alg_name(algs[i]));
    }
    ob_str(&b, "],\"clientRandom\":");
    ob_base64(&b, client_random, UFRPC_V2_RANDOM_LEN);
    ob_str(&b, "}}}");
    return ob_finish(&b, json, len);
}

int ufrpc_v2hello_build_server(ufrpc_aead_alg_t alg,
                               const uint8_t server_random[UFRPC_V2_RANDOM_LEN], char **json,
                               size_t *len)
{
    const char *name = ufrpc_aead_alg_name(alg);
    if (name == NULL || server_random == NULL || json == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    struct ufrpc_jbuf b = {0};
    ob_str(&b, "{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{\"algorithm\":");
    ufrpc_jbuf_str(&b, name);
    ob_str(&b, ",\"serverRandom\":");
    ob_base64(&b, server_random, UFRPC_V2_RANDOM_LEN);
    ob_str(&b, "}}}");
    return ob_finish(&b, json, len);
}

int ufrpc_v2hello_build_server_error(const char *text, char **json, size_t *len)
{
    if (text == NULL || json == NULL || len == NULL)
        return UFRPC_ERR_INVAL;
    struct ufrpc_jbuf b = {0};
    ob_str(&b, "{\"selected\":{\"message\":{\"codec\":\"json\"},\"crypto\":{}}");
    if (text[0] != '\0') {
        ob_str(&b, ",\"error\":");
        ufrpc_jbuf_str(&b, text);
    }
    ob_str(&b, "}");
    return ob_finish(&b, json, len);
}

/* ---- parsing ------------------------------------------------------------------ */

/* Parses exactly len bytes as one JSON value, read as Go's json.Unmarshal reads it
 * (proto/gojson.h: strict syntax, white space only after it, json-c's default
 * nesting limit of 32); *out may be NULL for the literal null. */
static int parse_root(const char *json, size_t len, struct json_object **out)
{
    *out = NULL;
    if (json == NULL && len > 0)
        return UFRPC_ERR_INVAL;
    if (len > INT32_MAX - 1)
        return UFRPC_ERR_LIMIT;
    if (len == 0 || memchr(json, '\0', len) != NULL)
        return UFRPC_ERR_JSON;
    enum json_tokener_error jerr;
    return ufrpc_gojson_parse(json, len, out, &jerr);
}

static int is_null(struct json_object *v)
{
    return v == NULL || json_object_is_type(v, json_type_null);
}

static int get_string(struct json_object *v, char **field)
{
    if (!json_object_is_type(v, json_type_string))
        return UFRPC_ERR_JSON_TYPE;
    const char *s = json_object_get_string(v);
    int n = json_object_get_string_len(v);
    if (s == NULL || n < 0)
        return UFRPC_ERR_JSON;
    if (memchr(s, '\0', (size_t)n) != NULL)
        return UFRPC_ERR_JSON_TYPE; /* "\u0000": refused like proto/msg.h does */
    char *copy = malloc((size_t)n + 1);
    if (copy == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(copy, s, (size_t)n);
    copy[n] = '\0';
    free(*field);
    *field = copy;
    return 0;
}

static int get_bool(struct json_object *v, bool *field)
{
    if (!json_object_is_type(v, json_type_boolean))
        return UFRPC_ERR_JSON_TYPE;
    *field = json_object_get_boolean(v) != 0;
    return 0;
}

/* []byte: base64 string; the decoded length always, the bytes when exactly 32. */
static int get_random(struct json_object *v, uint8_t out[UFRPC_V2_RANDOM_LEN], size_t *out_len)
{
    if (!json_object_is_type(v, json_type_string))
        return UFRPC_ERR_JSON_TYPE;
    const char *s = json_object_get_string(v);
    int n = json_object_get_string_len(v);
    if (s == NULL || n < 0)
        return UFRPC_ERR_JSON;
    uint8_t *tmp = malloc(ufrpc_base64_decoded_max((size_t)n) + 1);
    if (tmp == NULL)
        return UFRPC_ERR_NOMEM;
    long m = ufrpc_base64_decode(s, (size_t)n, tmp);
    if (m < 0) {
        free(tmp);
        return UFRPC_ERR_BASE64;
    }
    *out_len = (size_t)m;
    if (m == UFRPC_V2_RANDOM_LEN)
        memcpy(out, tmp, UFRPC_V2_RANDOM_LEN);
    else
        memset(out, 0, UFRPC_V2_RANDOM_LEN);
    mbedtls_platform_zeroize(tmp, (size_t)m);
    free(tmp);
    return 0;
}

/* Checks that v is an object (null was filtered by the caller). */
static int need_object(struct json_object *v)
{
    return json_object_is_type(v, json_type_object) ? 0 : UFRPC_ERR_JSON_TYPE;
}

/* One member of a hello object: its key (matched ignoring case, as Go's
 * encoding/json does) and how its value is read into the hello at `out`: a string,
 * a bool, a base64 random (bytes at off, decoded length at len_off), a nested
 * object (its own members), or a function. Tables end with a NULL key. */
struct hkey {
    const char *key;
    enum { HK_STRING, HK_BOOL, HK_RANDOM, HK_OBJECT, HK_FN } kind;
    size_t off, len_off;
    const struct hkey *members;
    int (*fn)(void *out, struct json_object *v);
};

static int apply_object(void *out, struct json_object *o, const struct hkey *members);

static int apply_member(void *out, const struct hkey *k, struct json_object *v)
{
    char *base = out;
    switch (k->kind) {
    case HK_STRING: return get_string(v, (char **)(void *)(base + k->off));
    case HK_BOOL: return get_bool(v, (bool *)(void *)(base + k->off));
    case HK_RANDOM:
        return get_random(v, (uint8_t *)(base + k->off), (size_t *)(void *)(base + k->len_off));
    case HK_OBJECT: return apply_object(out, v, k->members);
    default: return k->fn(out, v);
    }
}

/* Reads the known non-null members of object o (anything else: JSON_TYPE); unknown
 * keys are skipped, a repeated key is read again (the last one wins). */
static int apply_object(void *out, struct json_object *o, const struct hkey *members)
{
    int rc = need_object(o);
    if (rc != 0)
        return rc;
    json_object_object_foreach(o, key, val)
    {
        if (rc != 0 || is_null(val))
            continue;
        const struct hkey *k = members;
        while (k->key != NULL && strcasecmp(key, k->key) != 0)
            k++;
        if (k->key != NULL)
            rc = apply_member(out, k, val);
    }
    return rc;
}

/* capabilities.message.codecs ([]string; a null element is ""). */
static int apply_codecs(void *out, struct json_object *a)
{
    struct ufrpc_v2_client_hello *h = out;
    if (!json_object_is_type(a, json_type_array))
        return UFRPC_ERR_JSON_TYPE;
    h->codec_json = false;
    size_t n = json_object_array_length(a);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        if (is_null(e))
            continue;
        if (!json_object_is_type(e, json_type_string))
            return UFRPC_ERR_JSON_TYPE;
        if (strcmp(json_object_get_string(e), "json") == 0 &&
            json_object_get_string_len(e) == 4)
            h->codec_json = true;
    }
    return 0;
}

static int apply_algorithms(void *out, struct json_object *a)
{
    struct ufrpc_v2_client_hello *h = out;
    if (!json_object_is_type(a, json_type_array))
        return UFRPC_ERR_JSON_TYPE;
    size_t n = json_object_array_length(a);
    h->n_algs = 0;
    h->n_algs_total = n;
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(a, i);
        if (is_null(e))
            continue;
        if (!json_object_is_type(e, json_type_string))
            return UFRPC_ERR_JSON_TYPE;
        ufrpc_aead_alg_t alg;
        int len = json_object_get_string_len(e);
        if (len < 0 ||
            ufrpc_aead_alg_from_name(json_object_get_string(e), (size_t)len, &alg) != 0)
            continue;
        if (h->n_algs < UFRPC_V2_MAX_ALGS)
            h->algs[h->n_algs++] = alg;
    }
    return 0;
}

#define CH struct ufrpc_v2_client_hello
static const struct hkey bootstrap_members[] = {
    {.key = "transport", .kind = HK_STRING, .off = offsetof(CH, transport)},
    {.key = "tls", .kind = HK_BOOL, .off = offsetof(CH, tls)},
    {.key = "tcpMux", .kind = HK_BOOL, .off = offsetof(CH, tcp_mux)},
    {.key = NULL},
};
static const struct hkey message_caps_members[] = {
    {.key = "codecs", .kind = HK_FN, .fn = apply_codecs},
    {.key = NULL},
};
static const struct hkey crypto_caps_members[] = {
    {.key = "algorithms", .kind = HK_FN, .fn = apply_algorithms},
    {.key = "clientRandom", .kind = HK_RANDOM, .off = offsetof(CH, client_random),
     .len_off = offsetof(CH, client_random_len)},
    {.key = NULL},
};
static const struct hkey caps_members[] = {
    {.key = "message", .kind = HK_OBJECT, .members = message_caps_members},
    {.key = "crypto", .kind = HK_OBJECT, .members = crypto_caps_members},
    {.key = NULL},
};
static const struct hkey client_hello_members[] = {
    {.key = "bootstrap", .kind = HK_OBJECT, .members = bootstrap_members},
    {.key = "capabilities", .kind = HK_OBJECT, .members = caps_members},
    {.key = NULL},
};
#undef CH

/* Parses a hello document and reads its root object's members into out. A JSON
 * null document leaves *out untouched (all zero), as Go does. */
static int parse_with(const char *json, size_t len, const struct hkey *members, void *out)
{
    struct json_object *root;
    int rc = parse_root(json, len, &root);
    if (rc != 0 || root == NULL)
        return rc;
    rc = apply_object(out, root, members);
    json_object_put(root);
    return rc;
}

int ufrpc_v2hello_parse_client(const char *json, size_t len, struct ufrpc_v2_client_hello *out)
{
    if (out == NULL)
        return UFRPC_ERR_INVAL;
    memset(out, 0, sizeof *out);
    int rc = parse_with(json, len, client_hello_members, out);
    if (rc != 0)
        ufrpc_v2hello_client_free(out);
    return rc;
}

void ufrpc_v2hello_client_free(struct ufrpc_v2_client_hello *h)
{
    if (h == NULL)
        return;
    free(h->transport);
    mbedtls_platform_zeroize(h, sizeof *h);
}

int ufrpc_v2hello_server_select(const struct ufrpc_v2_client_hello *h, ufrpc_aead_alg_t *alg,
                                char *err, size_t cap)
{
    if (h == NULL || alg == NULL)
        return UFRPC_ERR_INVAL;
    if (!h->codec_json) {
        set_err(err, cap, "unsupported message codec");
        return UFRPC_ERR_V2_HELLO;
    }
    if (h->client_random_len != UFRPC_V2_RANDOM_LEN) {
        set_err(err, cap, "invalid crypto client random length %zu, want %d",
                h->client_random_len, UFRPC_V2_RANDOM_LEN);
        return UFRPC_ERR_V2_HELLO;
    }
    if (h->n_algs == 0) {
        set_err(err, cap, "no supported crypto algorithm");
        return UFRPC_ERR_V2_HELLO;
    }
    *alg = h->algs[0];
    return 0;
}

#define SH struct ufrpc_v2_server_hello
static const struct hkey sel_message_members[] = {
    {.key = "codec", .kind = HK_STRING, .off = offsetof(SH, codec)},
    {.key = NULL},
};
static const struct hkey sel_crypto_members[] = {
    {.key = "algorithm", .kind = HK_STRING, .off = offsetof(SH, algorithm)},
    {.key = "serverRandom", .kind = HK_RANDOM, .off = offsetof(SH, server_random),
     .len_off = offsetof(SH, server_random_len)},
    {.key = NULL},
};
static const struct hkey selected_members[] = {
    {.key = "message", .kind = HK_OBJECT, .members = sel_message_members},
    {.key = "crypto", .kind = HK_OBJECT, .members = sel_crypto_members},
    {.key = NULL},
};
static const struct hkey server_hello_members[] = {
    {.key = "selected", .kind = HK_OBJECT, .members = selected_members},
    {.key = "error", .kind = HK_STRING, .off = offsetof(SH, error)},
    {.key = NULL},
};
#undef SH

int ufrpc_v2hello_parse_server(const char *json, size_t len, struct ufrpc_v2_server_hello *out)
{
    if (out == NULL)
        return UFRPC_ERR_INVAL;
    memset(out, 0, sizeof *out);
    int rc = parse_with(json, len, server_hello_members, out);
    if (rc != 0)
        ufrpc_v2hello_server_free(out);
    return rc;
}

void ufrpc_v2hello_server_free(struct ufrpc_v2_server_hello *h)
{
    if (h == NULL)
        return;
    free(h->codec);
    free(h->algorithm);
    free(h->error);
    mbedtls_platform_zeroize(h, sizeof *h);
}

int ufrpc_v2hello_check_server(const struct ufrpc_v2_server_hello *h, const ufrpc_aead_alg_t *offered,
                               size_t n_offered, ufrpc_aead_alg_t *alg, char *err, size_t cap)
{
    if (h == NULL || alg == NULL || (offered == NULL && n_offered > 0))
        return UFRPC_ERR_INVAL;
    const char *codec = h->codec != NULL ? h->codec : "";
    const char *name = h->algorithm != NULL ? h->algorithm : "";
    if (h->error != NULL && h->error[0] != '\0') {
        set_err(err, cap, "%s", h->error);
        return UFRPC_ERR_V2_HELLO;
    }
    if (strcmp(codec, "json") != 0) {
        set_err(err, cap, "unsupported selected message codec: %s", codec);
        return UFRPC_ERR_V2_HELLO;
    }
    ufrpc_aead_alg_t sel;
    if (ufrpc_aead_alg_from_name(name, strlen(name), &sel) != 0) {
        set_err(err, cap, "unknown selected crypto algorithm: %s", name);
        return UFRPC_ERR_V2_HELLO;
    }
    bool found = false;
    for (size_t i = 0; i < n_offered && !found; i++)
        found = offered[i] == sel;
    if (!found) {
        set_err(err, cap, "selected crypto algorithm was not advertised by client: %s", name);
        return UFRPC_ERR_V2_HELLO;
    }
    if (h->server_random_len != UFRPC_V2_RANDOM_LEN) {
        set_err(err, cap, "invalid crypto server random length %zu, want %d",
                h->server_random_len, UFRPC_V2_RANDOM_LEN);
        return UFRPC_ERR_V2_HELLO;
    }
    *alg = sel;
    return 0;
}

/* ---- the client handshake ----------------------------------------------------- */

struct ufrpc_v2hs {
    enum ufrpc_v2hs_state state;
    int err;
    char errtext[UFRPC_V2_ERR_LEN];
    ufrpc_aead_alg_t offered[UFRPC_V2_MAX_ALGS];
    size_t n_offered;
    uint8_t *out; /* magic | CH frame | Login frame */
    size_t out_len;
    size_t ch_off, ch_len; /* ClientHello payload inside out */
    uint8_t *token;
    size_t token_len;
    ufrpc_aead_alg_t alg;
    uint8_t th[UFRPC_V2_TH_LEN];
    uint8_t k_c2s[UFRPC_AEAD_KEY_LEN];
    uint8_t k_s2c[UFRPC_AEAD_KEY_LEN];
    struct ufrpc_msg login_resp;
    int have_login_resp;
    char *login_resp_json; /* NUL-terminated copy of its body */
    size_t login_resp_len;
    struct ufrpc_frame_v2_decoder dec;
};

static int hs_fail(struct ufrpc_v2hs *hs, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int hs_fail(struct ufrpc_v2hs *hs, int rc, const char *fmt, ...)
{
    if (hs->state == UFRPC_V2HS_FAILED)
        return hs->err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(hs->errtext, sizeof hs->errtext, fmt, ap);
    va_end(ap);
    if (n < 0)
        hs->errtext[0] = '\0';
    hs->state = UFRPC_V2HS_FAILED;
    hs->err = rc;
    return rc;
}

int ufrpc_v2hs_new(const struct ufrpc_v2hs_opts *opts, struct ufrpc_v2hs **out)
{
    if (opts == NULL || out == NULL || opts->login == NULL ||
        opts->login->type != UFRPC_MSG_LOGIN || (opts->token == NULL && opts->token_len > 0) ||
        (opts->client_random == NULL && opts->rng == NULL) ||
        (opts->algs != NULL && (opts->n_algs == 0 || opts->n_algs > UFRPC_V2_MAX_ALGS)))
        return UFRPC_ERR_INVAL;
    *out = NULL;
    struct ufrpc_v2hs *hs = calloc(1, sizeof *hs);
    if (hs == NULL)
        return UFRPC_ERR_NOMEM;
    hs->state = UFRPC_V2HS_WAIT_SERVER_HELLO;
    ufrpc_frame_v2_decoder_init(&hs->dec);
    if (opts->algs != NULL) {
        memcpy(hs->offered, opts->algs, opts->n_algs * sizeof *opts->algs);
        hs->n_offered = opts->n_algs;
    } else {
        ufrpc_v2hello_default_algs(hs->offered);
        hs->n_offered = 2;
    }
    int rc = 0;
    if (opts->token_len > 0) {
        hs->token = malloc(opts->token_len);
        if (hs->token == NULL)
            rc = UFRPC_ERR_NOMEM;
        else
            memcpy(hs->token, opts->token, opts->token_len);
        hs->token_len = opts->token_len;
    }
    uint8_t random[UFRPC_V2_RANDOM_LEN];
    if (rc == 0) {
        if (opts->client_random != NULL)
            memcpy(random, opts->client_random, sizeof random);
        else if (opts->rng(opts->rng_ctx, random, sizeof random) != 0)
            rc = UFRPC_ERR_CRYPTO;
    }
    char *ch = NULL;
    size_t ch_len = 0;
    uint8_t *login = NULL;
    size_t login_len = 0;
    if (rc == 0)
        rc = ufrpc_v2hello_build_client(&opts->bootstrap, hs->offered, hs->n_offered, random,
                                        &ch, &ch_len);
    if (rc == 0 && ch_len > UFRPC_FRAME_V2_MAX_PAYLOAD)
        rc = UFRPC_ERR_V2_FRAME;
    if (rc == 0)
        rc = ufrpc_msg_encode_frame_v2(opts->login, &login, &login_len);
    if (rc == 0) {
        hs->out_len = UFRPC_FRAME_V2_MAGIC_LEN + UFRPC_FRAME_V2_HEADER_LEN + ch_len + login_len;
        hs->out = malloc(hs->out_len);
        if (hs->out == NULL)
            rc = UFRPC_ERR_NOMEM;
    }
    if (rc == 0) {
        uint8_t *p = hs->out;
        memcpy(p, UFRPC_FRAME_V2_MAGIC, UFRPC_FRAME_V2_MAGIC_LEN);
        p += UFRPC_FRAME_V2_MAGIC_LEN;
        rc = ufrpc_frame_v2_encode_header(UFRPC_FRAME_V2_CLIENT_HELLO, ch_len, p);
        p += UFRPC_FRAME_V2_HEADER_LEN;
        hs->ch_off = (size_t)(p - hs->out);
        hs->ch_len = ch_len;
        memcpy(p, ch, ch_len);
        p += ch_len;
        memcpy(p, login, login_len);
    }
    mbedtls_platform_zeroize(random, sizeof random);
    free(ch);
    if (login != NULL)
        mbedtls_platform_zeroize(login, login_len); /* carries the privilege key */
    free(login);
    if (rc != 0) {
        ufrpc_v2hs_free(hs);
        return rc;
    }
    *out = hs;
    return 0;
}

void ufrpc_v2hs_free(struct ufrpc_v2hs *hs)
{
    if (hs == NULL)
        return;
    if (hs->out != NULL)
        mbedtls_platform_zeroize(hs->out, hs->out_len);
    free(hs->out);
    if (hs->token != NULL)
        mbedtls_platform_zeroize(hs->token, hs->token_len);
    free(hs->token);
    if (hs->have_login_resp)
        ufrpc_msg_free(&hs->login_resp);
    free(hs->login_resp_json);
    mbedtls_platform_zeroize(hs->k_c2s, sizeof hs->k_c2s);
    mbedtls_platform_zeroize(hs->k_s2c, sizeof hs->k_s2c);
    free(hs);
}

void ufrpc_v2hs_output(const struct ufrpc_v2hs *hs, const uint8_t **data, size_t *len)
{
    *data = hs->out;
    *len = hs->out_len;
}

void ufrpc_v2hs_client_hello(const struct ufrpc_v2hs *hs, const uint8_t **data, size_t *len)
{
    *data = hs->out + hs->ch_off;
    *len = hs->ch_len;
}

static int on_server_hello(struct ufrpc_v2hs *hs, const struct ufrpc_frame_v2 *f)
{
    if (f->type != UFRPC_FRAME_V2_SERVER_HELLO)
        return hs_fail(hs, UFRPC_ERR_V2_FRAME, "unexpected frame type %u, want %u",
                       (unsigned)f->type, (unsigned)UFRPC_FRAME_V2_SERVER_HELLO);
    struct ufrpc_v2_server_hello sh;
    int rc = ufrpc_v2hello_parse_server((const char *)f->payload, f->payload_len, &sh);
    if (rc != 0)
        return hs_fail(hs, rc, "decode ServerHello: %s", ufrpc_strerror(rc));
    char text[UFRPC_V2_ERR_LEN];
    rc = ufrpc_v2hello_check_server(&sh, hs->offered, hs->n_offered, &hs->alg, text, sizeof text);
    ufrpc_v2hello_server_free(&sh);
    if (rc != 0)
        return hs_fail(hs, rc, "%s", text);
    rc = ufrpc_v2crypto_transcript_hash(hs->out + hs->ch_off, hs->ch_len, f->payload,
                                        f->payload_len, hs->th);
    if (rc == 0)
        rc = ufrpc_v2crypto_derive_keys(hs->token, hs->token_len, hs->th, hs->alg, hs->k_c2s,
                                        hs->k_s2c);
    if (rc != 0)
        return hs_fail(hs, rc, "derive v2 control keys: %s", ufrpc_strerror(rc));
    hs->state = UFRPC_V2HS_WAIT_LOGIN_RESP;
    return 0;
}

static int on_login_resp(struct ufrpc_v2hs *hs, const struct ufrpc_frame_v2 *f)
{
    if (f->type != UFRPC_FRAME_V2_MESSAGE)
        return hs_fail(hs, UFRPC_ERR_V2_FRAME, "unexpected frame type %u, want %u",
                       (unsigned)f->type, (unsigned)UFRPC_FRAME_V2_MESSAGE);
    uint8_t type;
    const char *json;
    size_t json_len;
    int rc = ufrpc_frame_v2_split_message(f, &type, &json, &json_len);
    if (rc != 0)
        return hs_fail(hs, rc, "decode LoginResp: %s", ufrpc_strerror(rc));
    if (type != UFRPC_MSG_LOGIN_RESP)
        return hs_fail(hs, UFRPC_ERR_MSG_TYPE, "unexpected message type %s, want LoginResp",
                       ufrpc_frame_type_name(type));
    rc = ufrpc_msg_decode(type, json, json_len, &hs->login_resp);
    if (rc != 0)
        return hs_fail(hs, rc, "decode LoginResp: %s", ufrpc_strerror(rc));
    hs->have_login_resp = 1;
    hs->login_resp_json = malloc(json_len + 1);
    if (hs->login_resp_json == NULL)
        return hs_fail(hs, UFRPC_ERR_NOMEM, "%s", ufrpc_strerror(UFRPC_ERR_NOMEM));
    memcpy(hs->login_resp_json, json, json_len);
    hs->login_resp_json[json_len] = '\0';
    hs->login_resp_len = json_len;
    hs->state = UFRPC_V2HS_DONE;
    return 1;
}

int ufrpc_v2hs_feed(struct ufrpc_v2hs *hs, const uint8_t *in, size_t len, size_t *consumed)
{
    if (consumed != NULL)
        *consumed = 0;
    if (hs == NULL || consumed == NULL || (in == NULL && len > 0))
        return UFRPC_ERR_INVAL;
    if (hs->state == UFRPC_V2HS_FAILED)
        return hs->err;
    if (hs->state == UFRPC_V2HS_DONE)
        return UFRPC_ERR_STATE;
    size_t off = 0;
    while (off < len) {
        size_t used = 0;
        struct ufrpc_frame_v2 f;
        int rc = ufrpc_frame_v2_decoder_feed(&hs->dec, in + off, len - off, &used, &f);
        off += used;
        *consumed = off;
        if (rc < 0)
            return hs_fail(hs, rc, "read v2 frame: %s", ufrpc_strerror(rc));
        if (rc == 0)
            break;
        if (hs->state == UFRPC_V2HS_WAIT_SERVER_HELLO)
            rc = on_server_hello(hs, &f);
        else
            rc = on_login_resp(hs, &f);
        if (rc != 0)
            return rc; /* 1 = done, or the failure */
    }
    return 0;
}

int ufrpc_v2hs_on_eof(struct ufrpc_v2hs *hs, int err)
{
    if (hs->state == UFRPC_V2HS_FAILED)
        return hs->err;
    if (hs->state == UFRPC_V2HS_DONE)
        return 0;
    if (err == 0)
        err = UFRPC_ERR_EOF;
    return hs_fail(hs, err, "%s", ufrpc_strerror(err));
}

enum ufrpc_v2hs_state ufrpc_v2hs_state(const struct ufrpc_v2hs *hs)
{
    return hs->state;
}

const char *ufrpc_v2hs_error(const struct ufrpc_v2hs *hs)
{
    return hs->state == UFRPC_V2HS_FAILED ? hs->errtext : "";
}

const struct ufrpc_msg *ufrpc_v2hs_login_resp(const struct ufrpc_v2hs *hs)
{
    return hs->state == UFRPC_V2HS_DONE && hs->have_login_resp ? &hs->login_resp : NULL;
}

int ufrpc_v2hs_login_resp_frame(const struct ufrpc_v2hs *hs, struct ufrpc_frame *out)
{
    if (hs->state != UFRPC_V2HS_DONE || hs->login_resp_json == NULL)
        return UFRPC_ERR_STATE;
    out->type = UFRPC_MSG_LOGIN_RESP;
    out->body = hs->login_resp_json;
    out->body_len = hs->login_resp_len;
    return 0;
}

int ufrpc_v2hs_keys(const struct ufrpc_v2hs *hs, ufrpc_aead_alg_t *alg,
                    uint8_t th[UFRPC_V2_TH_LEN], uint8_t k_c2s[UFRPC_AEAD_KEY_LEN],
                    uint8_t k_s2c[UFRPC_AEAD_KEY_LEN])
{
    if (hs->state != UFRPC_V2HS_WAIT_LOGIN_RESP && hs->state != UFRPC_V2HS_DONE)
        return UFRPC_ERR_STATE;
    if (alg != NULL)
        *alg = hs->alg;
    if (th != NULL)
        memcpy(th, hs->th, UFRPC_V2_TH_LEN);
    if (k_c2s != NULL)
        memcpy(k_c2s, hs->k_c2s, UFRPC_AEAD_KEY_LEN);
    if (k_s2c != NULL)
        memcpy(k_s2c, hs->k_s2c, UFRPC_AEAD_KEY_LEN);
    return 0;
}
