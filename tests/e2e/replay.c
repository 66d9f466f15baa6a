/* e2e-replay — replays the frps side of a real frpc⇄frps capture
 * (the "-raw.txt" captures in tests/data/protocol/transcripts) against ufrpc, and checks that ufrpc's
 * answers decode to the same messages as frpc's did. Test code, not product.
 *
 * Usage:
 *   e2e-replay --raw FILE --mux true|false --token T --echo-port N
 *              --conf-in FILE --conf-out FILE --child-log FILE [--timeout S]
 *              [--lenient] -- UFRPC ARGS...
 * It listens on 127.0.0.1:0, writes --conf-out from --conf-in with serverPort (or
 * server_port) set to that port and localPort (local_port) set to --echo-port (an
 * echo service the caller runs, standing in for the capture's local echo service),
 * then spawns UFRPC ARGS (stdout+stderr to --child-log).
 *
 * How the capture is replayed:
 * - Every TCP connection of the capture (tcpMux false) or every yamux stream inside
 *   connection 1 (tcpMux true) is a "logical stream". Each direction of each one is
 *   parsed like frp does: a first plaintext v1 frame; after Login/LoginResp the rest
 *   is a 16-byte IV and an AES-128-CFB stream of v1 frames (decrypted with the token);
 *   after NewWorkConn/StartWorkConn the rest is raw user data.
 * - The result is a script in capture order (frps's side no earlier than its capture
 *   time, since messages on different streams are not ordered): frps's messages and
 *   bytes to send, and
 *   frpc's messages, bytes, stream opens and closes to expect. frps's control
 *   messages are re-encrypted with our own IV (ufrpc's IV differs, so the capture's
 *   ciphertext cannot be replayed as is); frps's JSON bodies are sent byte for byte.
 * - ufrpc's messages are compared per logical stream, in order, with frpc's: same
 *   type, same keys in the same order, same values, except Login.version,
 *   Login.hostname, timestamps and privilege keys (those are checked to be
 *   md5(token + timestamp) instead). Raw bytes must be identical. Ping/Pong are
 *   answered whenever ufrpc sends a Ping (timing differs) and compared to frpc's.
 * - With tcpMux, ufrpc's yamux stream-control frames (SYN/FIN/RST, with window deltas)
 *   before shutdown are compared with frpc's, stream by stream.
 * - The capture ends with frpc being stopped: when the script reaches that point and
 *   the capture's time has elapsed (so heartbeats can happen), ufrpc gets SIGTERM
 *   and must exit with status 0 (a CloseProxy on its way out is accepted).
 * --lenient (for captures of other frpc versions) compares only message types.
 * Exit 0 when everything matched, 1 otherwise (with the first difference printed).
 */
#include <ctype.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <uv.h>

#include "../peer/pmux.h"
#include "net/tcp.h"
#include "proto/auth.h"
#include "proto/cfb.h"
#include "proto/error.h"
#include "proto/frame.h"
#include "proto/yamux.h"

#define MAX_LS 32

enum { C2S = 0, S2C = 1 };
enum { IT_OPEN, IT_MSG, IT_RAW, IT_EOF, IT_SHUTDOWN };
static const char *const kind_name[] = {"open", "msg", "raw", "eof", "shutdown"};

struct item {
    int kind, dir, ls;
    double t;
    uint8_t type;
    char *json;
    uint8_t *raw;
    size_t len;
};

struct items {
    struct item *v;
    size_t n, cap;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void items_push(struct items *it, const struct item *x)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 64;
        it->v = realloc(it->v, it->cap * sizeof *it->v);
        if (it->v == NULL)
            die("out of memory");
    }
    it->v[it->n++] = *x;
}

static uint8_t g_key[UFRPC_CFB_KEY_LEN];
static const char *g_token = "";

/* ---- one direction of one logical stream, parsed as frp does ---------------------------- */
struct sparse {
    int state; /* 0 first frame, 1 control ciphertext, 2 raw */
    struct ufrpc_frame_decoder dec;
    ufrpc_cfb_reader_t cfb;
};

typedef void (*emit_fn)(void *ctx, int kind, uint8_t type, const char *json, size_t jlen,
                        const uint8_t *raw, size_t rlen);

static void sparse_init(struct sparse *sp)
{
    memset(sp, 0, sizeof *sp);
    ufrpc_frame_decoder_init(&sp->dec);
    ufrpc_cfb_reader_init(&sp->cfb, g_key);
}

/* 0 or a frame error */
static int frames(struct sparse *sp, const uint8_t *d, size_t n, emit_fn emit, void *ctx)
{
    while (n > 0) {
        size_t used;
        struct ufrpc_frame f;
        int rc = ufrpc_frame_decoder_feed(&sp->dec, d, n, &used, &f);
        if (rc < 0)
            return rc;
        d += used;
        n -= used;
        if (rc == 0)
            break;
        emit(ctx, IT_MSG, f.type, f.body, f.body_len, NULL, 0);
        if (sp->state == 0) {
            sp->state = (f.type == UFRPC_MSG_LOGIN || f.type == UFRPC_MSG_LOGIN_RESP) ? 1 : 2;
            if (sp->state == 1) {
                /* the rest is ciphertext */
                uint8_t *p = malloc(n ? n : 1);
                size_t pn;
                if (p == NULL)
                    die("out of memory");
                ufrpc_cfb_reader_decrypt(&sp->cfb, d, n, p, &pn);
                int r = frames(sp, p, pn, emit, ctx);
                free(p);
                return r;
            }
            if (n > 0)
                emit(ctx, IT_RAW, 0, NULL, 0, d, n);
            return 0;
        }
    }
    return 0;
}

static int sparse_feed(struct sparse *sp, const uint8_t *d, size_t n, emit_fn emit, void *ctx)
{
    if (sp->state == 2) {
        if (n > 0)
            emit(ctx, IT_RAW, 0, NULL, 0, d, n);
        return 0;
    }
    if (sp->state == 1) {
        uint8_t *p = malloc(n ? n : 1);
        size_t pn;
        if (p == NULL)
            die("out of memory");
        ufrpc_cfb_reader_decrypt(&sp->cfb, d, n, p, &pn);
        int r = frames(sp, p, pn, emit, ctx);
        free(p);
        return r;
    }
    return frames(sp, d, n, emit, ctx);
}

/* ---- a minimal independent yamux frame splitter ------------------------------------------ */
struct ysplit {
    uint8_t hdr[12];
    size_t have;
    uint32_t left; /* payload bytes still to come for sid */
    uint32_t sid;
};

/* Calls frame(ctx, type, flags, sid, length) for each header and data(ctx, sid, d, n)
 * for payload pieces. */
static void ysplit_feed(struct ysplit *y, const uint8_t *d, size_t n,
                        void (*frame)(void *, int, int, uint32_t, uint32_t),
                        void (*data)(void *, uint32_t, const uint8_t *, size_t), void *ctx)
{
    while (n > 0) {
        if (y->left > 0) {
            size_t k = n < y->left ? n : y->left;
            data(ctx, y->sid, d, k);
            d += k;
            n -= k;
            y->left -= (uint32_t)k;
            continue;
        }
        size_t k = 12 - y->have < n ? 12 - y->have : n;
        memcpy(y->hdr + y->have, d, k);
        y->have += k;
        d += k;
        n -= k;
        if (y->have < 12)
            break;
        y->have = 0;
        int type = y->hdr[1];
        int flags = (y->hdr[2] << 8) | y->hdr[3];
        uint32_t sid = ((uint32_t)y->hdr[4] << 24) | ((uint32_t)y->hdr[5] << 16) |
                       ((uint32_t)y->hdr[6] << 8) | y->hdr[7];
        uint32_t len = ((uint32_t)y->hdr[8] << 24) | ((uint32_t)y->hdr[9] << 16) |
                       ((uint32_t)y->hdr[10] << 8) | y->hdr[11];
        frame(ctx, type, flags, sid, len);
        if (type == 0) {
            y->left = len;
            y->sid = sid;
        }
    }
}

/* ---- loading the capture ------------------------------------------------------------------ */
static struct items g_script;
static int g_mux;
static int g_lenient;
static char *g_ping_json, *g_pong_json;
static int g_capture_pings;
static char g_cap_yframes[MAX_LS][512]; /* per logical stream: flag frames, C->S */
static double g_t_open = -1;

struct cap {
    int nls;
    int conn_ls[64];    /* tcpMux false: conn number -> ls */
    uint32_t sid_of[MAX_LS];
    struct sparse sp[MAX_LS][2];
    struct ysplit ys[2];
    int s2c_eof[MAX_LS];
    int cur_dir, cur_ls;
    double cur_t;
    int shut; /* SHUTDOWN emitted: ignore the rest */
};

static struct cap g_cap;

static int cap_new_ls(void)
{
    if (g_cap.nls >= MAX_LS)
        die("too many streams in the capture");
    int ls = g_cap.nls++;
    sparse_init(&g_cap.sp[ls][0]);
    sparse_init(&g_cap.sp[ls][1]);
    return ls;
}

static void cap_emit(void *ctx, int kind, uint8_t type, const char *json, size_t jlen,
                     const uint8_t *raw, size_t rlen)
{
    (void)ctx;
    if (g_cap.shut)
        return;
    struct item x = {.kind = kind, .dir = g_cap.cur_dir, .ls = g_cap.cur_ls, .t = g_cap.cur_t,
                     .type = type};
    if (kind == IT_MSG) {
        if (type == UFRPC_MSG_PING && x.dir == C2S) {
            g_capture_pings++;
            if (g_ping_json == NULL)
                g_ping_json = strndup(json, jlen);
            return;
        }
        if (type == UFRPC_MSG_PONG && x.dir == S2C) {
            if (g_pong_json == NULL)
                g_pong_json = strndup(json, jlen);
            return;
        }
        x.json = strndup(json, jlen);
        x.len = jlen;
    } else if (kind == IT_RAW) {
        x.raw = malloc(rlen);
        if (x.raw == NULL)
            die("out of memory");
        memcpy(x.raw, raw, rlen);
        x.len = rlen;
    }
    items_push(&g_script, &x);
}

static void cap_eof(int dir, int ls)
{
    if (g_cap.shut)
        return;
    if (dir == S2C) {
        g_cap.s2c_eof[ls] = 1;
        struct item x = {.kind = IT_EOF, .dir = S2C, .ls = ls, .t = g_cap.cur_t};
        items_push(&g_script, &x);
        return;
    }
    struct item x = {.kind = g_cap.s2c_eof[ls] ? IT_EOF : IT_SHUTDOWN, .dir = C2S, .ls = ls,
                     .t = g_cap.cur_t};
    items_push(&g_script, &x);
    if (x.kind == IT_SHUTDOWN)
        g_cap.shut = 1;
}

static int cap_ls_of_sid(uint32_t sid)
{
    for (int i = 0; i < g_cap.nls; i++)
        if (g_cap.sid_of[i] == sid)
            return i;
    return -1;
}

static void cap_yframe(void *ctx, int type, int flags, uint32_t sid, uint32_t len)
{
    (void)ctx;
    if (g_cap.shut || (type != 0 && type != 1))
        return;
    int dir = g_cap.cur_dir;
    int ls = cap_ls_of_sid(sid);
    if ((flags & UFRPC_YAMUX_SYN) && dir == C2S && ls < 0) {
        ls = cap_new_ls();
        g_cap.sid_of[ls] = sid;
        struct item x = {.kind = IT_OPEN, .dir = C2S, .ls = ls, .t = g_cap.cur_t};
        items_push(&g_script, &x);
    }
    if (ls < 0)
        return;
    if (dir == C2S && (flags & (UFRPC_YAMUX_SYN | UFRPC_YAMUX_FIN | UFRPC_YAMUX_RST))) {
        char *s = g_cap_yframes[ls];
        size_t l = strlen(s);
        snprintf(s + l, sizeof g_cap_yframes[ls] - l, "%s%s:%x:%u", l ? "," : "",
                 type == 0 ? "D" : "WU", flags, type == 1 ? len : 0);
    }
    if (flags & (UFRPC_YAMUX_FIN | UFRPC_YAMUX_RST)) {
        /* Go's yamux closes with WindowUpdate|FIN (no payload), so the eof is in
         * order with the stream's data. */
        g_cap.cur_ls = ls;
        cap_eof(dir, ls);
    }
}

static void cap_ydata(void *ctx, uint32_t sid, const uint8_t *d, size_t n)
{
    (void)ctx;
    int ls = cap_ls_of_sid(sid);
    if (ls < 0 || g_cap.shut)
        return;
    g_cap.cur_ls = ls;
    if (sparse_feed(&g_cap.sp[ls][g_cap.cur_dir], d, n, cap_emit, NULL) < 0)
        die("capture: bad frame on stream %u", sid);
}

static void load_capture(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open %s", path);
    char *line = NULL;
    size_t cap = 0;
    memset(g_cap.conn_ls, -1, sizeof g_cap.conn_ls);
    while (getline(&line, &cap, f) > 0) {
        double t;
        int conn;
        char what[16];
        if (line[0] == '#' || sscanf(line, " %lf c%d %15s", &t, &conn, what) != 3)
            continue;
        if (conn < 0 || conn >= 64)
            die("capture: connection number %d", conn);
        g_cap.cur_t = t;
        if (strcmp(what, "open") == 0) {
            if (g_t_open < 0)
                g_t_open = t;
            if (!g_mux && !g_cap.shut) {
                int ls = cap_new_ls();
                g_cap.conn_ls[conn] = ls;
                struct item x = {.kind = IT_OPEN, .dir = C2S, .ls = ls, .t = t};
                items_push(&g_script, &x);
            }
            continue;
        }
        int dir = strcmp(what, "C->S") == 0 ? C2S : strcmp(what, "S->C") == 0 ? S2C : -1;
        if (dir < 0)
            continue;
        g_cap.cur_dir = dir;
        char *p = strstr(line, what) + strlen(what);
        while (*p == ' ')
            p++;
        if (strncmp(p, "eof", 3) == 0) {
            if (g_mux) {
                if (conn == 1 && dir == C2S && !g_cap.shut) {
                    struct item x = {.kind = IT_SHUTDOWN, .dir = C2S, .ls = 0, .t = t};
                    items_push(&g_script, &x);
                    g_cap.shut = 1;
                }
            } else if (g_cap.conn_ls[conn] >= 0) {
                g_cap.cur_ls = g_cap.conn_ls[conn];
                cap_eof(dir, g_cap.conn_ls[conn]);
            }
            continue;
        }
        size_t len;
        if (sscanf(p, "len=%zu", &len) != 1)
            continue;
        char *hex = strchr(p, ' ');
        if (hex == NULL)
            continue;
        hex++;
        uint8_t *buf = malloc(len ? len : 1);
        if (buf == NULL)
            die("out of memory");
        for (size_t i = 0; i < len; i++) {
            unsigned v;
            if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                die("capture: bad hex at %.1f", t);
            buf[i] = (uint8_t)v;
        }
        if (g_mux) {
            if (conn != 1)
                die("capture: tcpMux capture with a second connection");
            ysplit_feed(&g_cap.ys[dir], buf, len, cap_yframe, cap_ydata, NULL);
        } else if (g_cap.conn_ls[conn] >= 0) {
            g_cap.cur_ls = g_cap.conn_ls[conn];
            if (sparse_feed(&g_cap.sp[g_cap.cur_ls][dir], buf, len, cap_emit, NULL) < 0)
                die("capture: bad frame on c%d", conn);
        }
        free(buf);
    }
    free(line);
    fclose(f);
}

/* ---- runtime ----------------------------------------------------------------------------------- */
struct rls {
    struct ufrpc_stream *st;
    int mapped, eof, err;
    struct sparse sp; /* ufrpc's bytes */
    struct items q;
    size_t qpos;
    uint8_t *raw;
    size_t rawlen, rawcap, rawpos;
    ufrpc_cfb_writer_t w;
    int s2c_state; /* 0 plain first frame, 1 encrypted control, 2 raw */
    int is_control;
};

static uv_loop_t *g_loop;
static struct rls g_ls[MAX_LS];
static struct ufrpc_stream *g_accepted[MAX_LS * 2];
static int g_naccepted, g_nmapped;
static size_t g_pos;
static uint64_t g_start_ms;
static int g_started;
static uv_process_t g_child;
static int g_child_alive, g_child_status = -1, g_term_sent, g_term_timer_armed;
static uv_timer_t g_term_timer, g_timeout_timer, g_send_timer;
static int g_compared, g_raw_bytes, g_pings, g_close_proxies, g_finished;
static char g_our_yframes[MAX_LS][512];
static uint32_t g_our_sid_of[MAX_LS];
static int g_our_nsid;
static struct ysplit g_our_ys;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("REPLAY FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (g_child_alive)
        uv_process_kill(&g_child, SIGKILL);
    _exit(1);
}

static void advance(void);

static int rls_index(struct ufrpc_stream *st)
{
    for (int i = 0; i < MAX_LS; i++)
        if (g_ls[i].mapped && g_ls[i].st == st)
            return i;
    return -1;
}

static int wants_ignore(uint8_t type, const char *key)
{
    if (strcmp(key, "timestamp") == 0 || strcmp(key, "privilege_key") == 0)
        return 1;
    return type == UFRPC_MSG_LOGIN && (strcmp(key, "version") == 0 || strcmp(key, "hostname") == 0);
}

/* Compares frpc's JSON (exp) with ufrpc's (got); 0 if equal after normalisation. */
static int compare_json(uint8_t type, const char *exp, const char *got, char *why, size_t cap)
{
    json_object *e = json_tokener_parse(exp), *g = json_tokener_parse(got);
    int rc = -1;
    if (e == NULL || g == NULL || !json_object_is_type(e, json_type_object) ||
        !json_object_is_type(g, json_type_object)) {
        snprintf(why, cap, "not a JSON object");
        goto out;
    }
    if (g_lenient) {
        rc = 0;
        goto out;
    }
    struct json_object_iterator ei = json_object_iter_begin(e), ee = json_object_iter_end(e);
    struct json_object_iterator gi = json_object_iter_begin(g), ge = json_object_iter_end(g);
    while (!json_object_iter_equal(&ei, &ee) && !json_object_iter_equal(&gi, &ge)) {
        const char *ek = json_object_iter_peek_name(&ei), *gk = json_object_iter_peek_name(&gi);
        if (strcmp(ek, gk) != 0) {
            snprintf(why, cap, "key \"%s\" expected where ufrpc has \"%s\"", ek, gk);
            goto out;
        }
        if (!wants_ignore(type, ek)) {
            const char *ev = json_object_to_json_string_ext(json_object_iter_peek_value(&ei),
                                                            JSON_C_TO_STRING_PLAIN);
            char *evc = strdup(ev);
            const char *gv = json_object_to_json_string_ext(json_object_iter_peek_value(&gi),
                                                            JSON_C_TO_STRING_PLAIN);
            int same = evc != NULL && strcmp(evc, gv) == 0;
            if (!same)
                snprintf(why, cap, "\"%s\": expected %s, ufrpc sent %s", ek, evc ? evc : "?", gv);
            free(evc);
            if (!same)
                goto out;
        }
        json_object_iter_next(&ei);
        json_object_iter_next(&gi);
    }
    if (!json_object_iter_equal(&ei, &ee)) {
        snprintf(why, cap, "ufrpc omits \"%s\"", json_object_iter_peek_name(&ei));
        goto out;
    }
    if (!json_object_iter_equal(&gi, &ge)) {
        snprintf(why, cap, "ufrpc adds \"%s\"", json_object_iter_peek_name(&gi));
        goto out;
    }
    /* privilege keys must be right for their timestamps */
    json_object *pk, *ts;
    if (json_object_object_get_ex(g, "privilege_key", &pk) &&
        json_object_object_get_ex(g, "timestamp", &ts) &&
        !ufrpc_auth_verify(g_token, json_object_get_int64(ts), json_object_get_string(pk))) {
        snprintf(why, cap, "privilege_key is not md5(token + timestamp)");
        goto out;
    }
    rc = 0;
out:
    json_object_put(e);
    json_object_put(g);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------------- */
struct wr {
    struct ufrpc_stream_write w;
    uv_buf_t b;
    uint8_t data[];
};

static void on_wr(struct ufrpc_stream_write *w, int status)
{
    (void)status;
    free(w->data);
}

static void send_bytes(struct rls *r, const uint8_t *d, size_t n, int encrypt)
{
    size_t cap = encrypt ? ufrpc_cfb_writer_bound(&r->w, n) : n;
    struct wr *x = malloc(sizeof *x + (cap ? cap : 1));
    if (x == NULL)
        die("out of memory");
    size_t out = n;
    if (encrypt)
        ufrpc_cfb_writer_write(&r->w, d, n, x->data, cap, &out);
    else
        memcpy(x->data, d, n);
    x->b = uv_buf_init((char *)x->data, (unsigned)out);
    x->w.data = x;
    if (ufrpc_stream_write(r->st, &x->w, &x->b, 1, on_wr) < 0) {
        free(x);
        die("write to ufrpc failed");
    }
}

static void on_shut(struct ufrpc_stream *st, int status)
{
    (void)st;
    (void)status;
}

static int rng(void *ctx, unsigned char *b, size_t n)
{
    (void)ctx;
    return getrandom(b, n, 0) == (ssize_t)n ? 0 : -1;
}

static void send_msg(struct rls *r, uint8_t type, const char *json, size_t len)
{
    uint8_t *f;
    size_t n;
    if (ufrpc_frame_encode_alloc(type, json, len, &f, &n) < 0)
        die("cannot frame a capture message");
    send_bytes(r, f, n, r->s2c_state == 1);
    free(f);
    if (r->s2c_state == 0) {
        if (type == UFRPC_MSG_LOGIN_RESP) {
            r->s2c_state = 1;
            r->is_control = 1;
            ufrpc_cfb_writer_init_rng(&r->w, g_key, rng, NULL);
        } else {
            r->s2c_state = 2;
        }
    }
}

/* ---- receiving --------------------------------------------------------------------------------- */
static struct rls *g_cur_rls;

static void rt_emit(void *ctx, int kind, uint8_t type, const char *json, size_t jlen,
                    const uint8_t *raw, size_t rlen)
{
    struct rls *r = g_cur_rls;
    (void)ctx;
    if (kind == IT_RAW) {
        if (r->rawlen + rlen > r->rawcap) {
            r->rawcap = (r->rawlen + rlen) * 2;
            r->raw = realloc(r->raw, r->rawcap);
            if (r->raw == NULL)
                die("out of memory");
        }
        memcpy(r->raw + r->rawlen, raw, rlen);
        r->rawlen += rlen;
        return;
    }
    char why[512];
    if (type == UFRPC_MSG_PING && r->is_control) {
        g_pings++;
        char *j = strndup(json, jlen);
        if (g_ping_json != NULL && compare_json(type, g_ping_json, j, why, sizeof why) != 0)
            die("Ping differs from frpc's (%s): frpc %s, ufrpc %s", why, g_ping_json, j);
        printf("MATCH ls%d C->S Ping %s (answered with Pong)\n", (int)(r - g_ls), j);
        free(j);
        const char *pong = g_pong_json ? g_pong_json : "{}";
        send_msg(r, UFRPC_MSG_PONG, pong, strlen(pong));
        return;
    }
    if (type == UFRPC_MSG_CLOSE_PROXY && g_term_sent) {
        g_close_proxies++;
        printf("NOTE ls%d C->S CloseProxy %.*s on the way out (frpc sent none)\n",
               (int)(r - g_ls), (int)jlen, json);
        return;
    }
    struct item x = {.kind = IT_MSG, .type = type, .json = strndup(json, jlen), .len = jlen};
    items_push(&r->q, &x);
}

static void on_rls_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                        const uint8_t *data, size_t len)
{
    (void)buf;
    int i = rls_index(st);
    if (i < 0)
        return;
    struct rls *r = &g_ls[i];
    if (status < 0) {
        r->eof = 1;
        r->err = status;
        ufrpc_stream_read_stop(st);
        advance();
        return;
    }
    g_cur_rls = r;
    int rc = sparse_feed(&r->sp, data, len, rt_emit, NULL);
    if (rc < 0)
        die("ufrpc sent a bad frame on ls%d: %s", i, ufrpc_strerror(rc));
    advance();
}

static void accepted(struct ufrpc_stream *st)
{
    if (g_naccepted >= (int)(sizeof g_accepted / sizeof g_accepted[0]))
        die("too many connections from ufrpc");
    if (!g_started) {
        g_started = 1;
        g_start_ms = uv_now(g_loop);
    }
    g_accepted[g_naccepted++] = st;
    advance();
}

static void our_yframe(void *ctx, int type, int flags, uint32_t sid, uint32_t len)
{
    (void)ctx;
    if (g_term_sent || (type != 0 && type != 1))
        return;
    if (!(flags & (UFRPC_YAMUX_SYN | UFRPC_YAMUX_FIN | UFRPC_YAMUX_RST)))
        return;
    int ls = -1;
    for (int i = 0; i < g_our_nsid; i++)
        if (g_our_sid_of[i] == sid)
            ls = i;
    if (ls < 0 && (flags & UFRPC_YAMUX_SYN) && g_our_nsid < MAX_LS) {
        ls = g_our_nsid++;
        g_our_sid_of[ls] = sid;
    }
    if (ls < 0)
        return;
    char *s = g_our_yframes[ls];
    size_t l = strlen(s);
    snprintf(s + l, sizeof g_our_yframes[ls] - l, "%s%s:%x:%u", l ? "," : "",
             type == 0 ? "D" : "WU", flags, type == 1 ? len : 0);
}

static void our_ydata(void *ctx, uint32_t sid, const uint8_t *d, size_t n)
{
    (void)ctx;
    (void)sid;
    (void)d;
    (void)n;
}

static void tap(void *ctx, const uint8_t *d, size_t n)
{
    (void)ctx;
    ysplit_feed(&g_our_ys, d, n, our_yframe, our_ydata, NULL);
}

static void on_mux_accept(pmux_t *m, struct ufrpc_stream *st, void *data)
{
    (void)m;
    (void)data;
    accepted(st);
}

static void on_conn(ufrpc_tcp_listener_t *l, int status, struct ufrpc_stream *st)
{
    (void)l;
    if (status < 0)
        return;
    if (g_mux) {
        static int sessions;
        if (sessions++ > 0)
            die("ufrpc opened a second TCP connection with tcpMux on");
        struct pmux_opts mo = {.keepalive_ms = 3600000, .tap = tap};
        pmux_new(g_loop, st, &mo, on_mux_accept, NULL, NULL);
    } else {
        accepted(st);
    }
}

/* ---- the script engine ------------------------------------------------------------------------- */
static void finish(void);

static void on_term_timer(uv_timer_t *t)
{
    (void)t;
    if (g_child_alive) {
        printf("STEP sending SIGTERM to ufrpc (capture time %.1f s reached)\n",
               g_script.v[g_pos].t - g_t_open);
        g_term_sent = 1;
        uv_process_kill(&g_child, SIGTERM);
    }
}

static void on_send_timer(uv_timer_t *t)
{
    (void)t;
    advance();
}

static void advance(void)
{
    char why[512];
    while (g_pos < g_script.n && g_started) {
        struct item *it = &g_script.v[g_pos];
        struct rls *r = &g_ls[it->ls];
        if (it->kind != IT_OPEN && !r->mapped)
            die("script uses ls%d before it was opened", it->ls);
        if (it->dir == S2C) {
            /* frps's bytes go out no earlier than their capture time: messages on
             * different streams are not ordered by yamux or TCP, and a StartWorkConn
             * sent together with the NewProxyResp would race it (frpc's goroutines
             * per stream have the same race; frps never causes it). */
            double due = (it->t - g_t_open) * 1000.0;
            uint64_t el = uv_now(g_loop) - g_start_ms;
            if ((double)el < due) {
                uv_timer_start(&g_send_timer, on_send_timer, (uint64_t)(due - (double)el) + 1, 0);
                return;
            }
            if (it->kind == IT_MSG) {
                printf("SEND ls%d S->C %s %s\n", it->ls, ufrpc_frame_type_name(it->type), it->json);
                send_msg(r, it->type, it->json, it->len);
            } else if (it->kind == IT_RAW) {
                printf("SEND ls%d S->C %zu raw bytes\n", it->ls, it->len);
                send_bytes(r, it->raw, it->len, 0);
            } else if (it->kind == IT_EOF) {
                printf("SEND ls%d S->C eof\n", it->ls);
                ufrpc_stream_shutdown(r->st, on_shut);
            }
            g_pos++;
            continue;
        }
        switch (it->kind) {
        case IT_OPEN:
            if (g_nmapped >= g_naccepted)
                return;
            r->st = g_accepted[g_nmapped++];
            r->mapped = 1;
            sparse_init(&r->sp);
            printf("MATCH ls%d opened by ufrpc\n", it->ls);
            if (ufrpc_stream_read_start(r->st, on_rls_read) < 0)
                die("read_start failed");
            break;
        case IT_MSG: {
            if (r->qpos >= r->q.n) {
                if (r->eof)
                    die("ls%d closed by ufrpc (%s) while frpc sent %s %s", it->ls,
                        ufrpc_strerror(r->err), ufrpc_frame_type_name(it->type), it->json);
                return;
            }
            struct item *got = &r->q.v[r->qpos++];
            if (got->type != it->type)
                die("ls%d: frpc sent %s %s, ufrpc sent %s %s", it->ls,
                    ufrpc_frame_type_name(it->type), it->json, ufrpc_frame_type_name(got->type),
                    got->json);
            if (compare_json(it->type, it->json, got->json, why, sizeof why) != 0)
                die("ls%d %s differs: %s\n  frpc:  %s\n  ufrpc: %s", it->ls,
                    ufrpc_frame_type_name(it->type), why, it->json, got->json);
            printf("MATCH ls%d C->S %s %s\n", it->ls, ufrpc_frame_type_name(it->type), got->json);
            g_compared++;
            break;
        }
        case IT_RAW:
            if (r->rawlen - r->rawpos < it->len) {
                if (r->eof)
                    die("ls%d closed by ufrpc before %zu raw bytes", it->ls, it->len);
                return;
            }
            if (memcmp(r->raw + r->rawpos, it->raw, it->len) != 0)
                die("ls%d: raw bytes differ", it->ls);
            r->rawpos += it->len;
            g_raw_bytes += (int)it->len;
            printf("MATCH ls%d C->S %zu raw bytes\n", it->ls, it->len);
            break;
        case IT_EOF:
            if (!r->eof)
                return;
            printf("MATCH ls%d closed by ufrpc\n", it->ls);
            break;
        case IT_SHUTDOWN:
            if (!g_term_timer_armed) {
                g_term_timer_armed = 1;
                double due = (it->t - g_t_open) * 1000.0;
                uint64_t el = uv_now(g_loop) - g_start_ms;
                uint64_t wait = due > (double)el ? (uint64_t)(due - (double)el) : 0;
                uv_timer_start(&g_term_timer, on_term_timer, wait, 0);
            }
            if (g_child_alive || !g_ls[0].eof)
                return;
            break;
        default:
            break;
        }
        g_pos++;
    }
    if (g_pos == g_script.n && !g_finished)
        finish();
}

static void finish(void)
{
    g_finished = 1;
    for (int i = 0; i < MAX_LS; i++) {
        struct rls *r = &g_ls[i];
        if (!r->mapped)
            continue;
        if (r->qpos < r->q.n)
            die("ufrpc sent an extra %s %s on ls%d", ufrpc_frame_type_name(r->q.v[r->qpos].type),
                r->q.v[r->qpos].json, i);
        if (r->rawpos < r->rawlen)
            die("ufrpc sent %zu extra raw bytes on ls%d", r->rawlen - r->rawpos, i);
    }
    if (g_capture_pings > 0 && g_pings == 0)
        die("frpc sent %d Pings, ufrpc none", g_capture_pings);
    if (g_mux && !g_lenient) {
        for (int i = 0; i < MAX_LS; i++) {
            if (g_cap_yframes[i][0] == 0 && g_our_yframes[i][0] == 0)
                continue;
            if (strcmp(g_cap_yframes[i], g_our_yframes[i]) != 0)
                die("yamux stream %d control frames differ: frpc [%s], ufrpc [%s]", i,
                    g_cap_yframes[i], g_our_yframes[i]);
            printf("MATCH yamux stream ls%d (id %u) control frames [%s]\n", i, g_our_sid_of[i],
                   g_our_yframes[i]);
        }
    }
    if (g_child_status != 0)
        die("ufrpc exited with status %d after SIGTERM", g_child_status);
    printf("REPLAY OK: %d messages and %d raw bytes matched, %d Pings answered (capture had %d), "
           "%d CloseProxy on exit, ufrpc exit status 0\n",
           g_compared, g_raw_bytes, g_pings, g_capture_pings, g_close_proxies);
    fflush(stdout);
    _exit(0);
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
    (void)p;
    g_child_alive = 0;
    g_child_status = sig ? 128 + sig : (int)status;
    printf("STEP ufrpc exited (status %d)\n", g_child_status);
    if (!g_term_sent)
        die("ufrpc exited before it was told to (status %d)", g_child_status);
    advance();
}

static void on_timeout(uv_timer_t *t)
{
    (void)t;
    struct item *it = g_pos < g_script.n ? &g_script.v[g_pos] : NULL;
    if (it == NULL)
        die("timed out after the script");
    die("timed out waiting for ls%d %s %s %s", it->ls, it->dir == C2S ? "C->S" : "S->C",
        kind_name[it->kind], it->kind == IT_MSG ? it->json : "");
}

/* ---- config --------------------------------------------------------------------------------------- */
static int key_is(const char *line, const char *a, const char *b)
{
    while (isspace((unsigned char)*line))
        line++;
    size_t la = strlen(a), lb = strlen(b);
    const char *rest = NULL;
    if (strncmp(line, a, la) == 0)
        rest = line + la;
    else if (strncmp(line, b, lb) == 0)
        rest = line + lb;
    if (rest == NULL)
        return 0;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '=';
}

static void write_config(const char *in, const char *out, int port, int echo_port)
{
    FILE *fi = fopen(in, "r"), *fo = fopen(out, "w");
    if (fi == NULL || fo == NULL)
        die("cannot read %s or write %s", in, out);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, fi) > 0) {
        if (key_is(line, "serverPort", "server_port"))
            fprintf(fo, "%s = %d\n", strstr(line, "server_port") ? "server_port" : "serverPort",
                    port);
        else if (key_is(line, "localPort", "local_port"))
            fprintf(fo, "%s = %d\n", strstr(line, "local_port") ? "local_port" : "localPort",
                    echo_port);
        else
            fputs(line, fo);
    }
    free(line);
    fclose(fi);
    fclose(fo);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *raw = NULL, *conf_in = NULL, *conf_out = NULL, *child_log = NULL;
    int echo_port = 0, timeout_s = 40;
    int i;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (i + 1 >= argc && strcmp(argv[i], "--lenient") != 0)
            die("option %s needs a value", argv[i]);
        if (strcmp(argv[i], "--raw") == 0)
            raw = argv[++i];
        else if (strcmp(argv[i], "--mux") == 0)
            g_mux = strcmp(argv[++i], "true") == 0;
        else if (strcmp(argv[i], "--token") == 0)
            g_token = argv[++i];
        else if (strcmp(argv[i], "--echo-port") == 0)
            echo_port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--conf-in") == 0)
            conf_in = argv[++i];
        else if (strcmp(argv[i], "--conf-out") == 0)
            conf_out = argv[++i];
        else if (strcmp(argv[i], "--child-log") == 0)
            child_log = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0)
            timeout_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--lenient") == 0)
            g_lenient = 1;
        else
            die("unknown option %s", argv[i]);
    }
    if (raw == NULL || conf_in == NULL || conf_out == NULL || child_log == NULL || i >= argc)
        die("usage: see tests/e2e/replay.c");
    if (ufrpc_cfb_derive_key((const uint8_t *)g_token, strlen(g_token), g_key) < 0)
        die("key derivation failed");
    load_capture(raw);
    printf("SCRIPT %zu steps from %s (tcpMux %s), capture Pings %d\n", g_script.n, raw,
           g_mux ? "on" : "off", g_capture_pings);
    for (size_t k = 0; k < g_script.n; k++) {
        struct item *it = &g_script.v[k];
        printf("  %6.3f ls%d %s %s %s%s\n", it->t, it->ls, it->dir == C2S ? "C->S" : "S->C",
               kind_name[it->kind], it->kind == IT_MSG ? ufrpc_frame_type_name(it->type) : "",
               it->kind == IT_RAW ? "(bytes)" : "");
    }

    g_loop = uv_default_loop();
    int err;
    ufrpc_tcp_listener_t *l = ufrpc_tcp_listen(g_loop, "127.0.0.1", 0, on_conn, NULL, &err);
    if (l == NULL)
        die("listen: %s", ufrpc_strerror(err));
    int port = ufrpc_tcp_listener_port(l);
    write_config(conf_in, conf_out, port, echo_port);
    printf("READY port=%d\n", port);

    uv_timer_init(g_loop, &g_term_timer);
    uv_timer_init(g_loop, &g_send_timer);
    uv_timer_init(g_loop, &g_timeout_timer);
    uv_timer_start(&g_timeout_timer, on_timeout, (uint64_t)timeout_s * 1000, 0);

    FILE *lf = fopen(child_log, "w");
    if (lf == NULL)
        die("cannot write %s", child_log);
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_INHERIT_FD, .data.fd = fileno(lf)},
        {.flags = UV_INHERIT_FD, .data.fd = fileno(lf)},
    };
    uv_process_options_t po = {.exit_cb = on_child_exit,
                               .file = argv[i],
                               .args = &argv[i],
                               .stdio_count = 3,
                               .stdio = stdio};
    int rc = uv_spawn(g_loop, &g_child, &po);
    if (rc < 0)
        die("cannot start %s: %s", argv[i], uv_strerror(rc));
    g_child_alive = 1;
    printf("STEP started %s (pid %d)\n", argv[i], g_child.pid);
    uv_run(g_loop, UV_RUN_DEFAULT);
    die("event loop ended early");
}
