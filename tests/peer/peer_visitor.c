/* ufrpc-test-frps — stcp, sudp and xtcp proxies and their visitors' NewVisitorConn
 * (docs/PROTOCOL.md §9). Test code, not product.
 *
 * As frps v0.70 does (server/proxy/stcp.go, sudp.go, xtcp.go; server/visitor/
 * visitor.go Manager.NewConn; server/service.go RegisterVisitorConn):
 * - stcp and sudp proxies register a "visitor listener" under their wire name with
 *   their sk and allow_users (empty allow_users = the proxy owner's login user only);
 *   no port is opened and NewProxyResp's remote_addr is empty. xtcp proxies register
 *   too (remote_addr empty) but, like frps's NAT-hole controller, take no
 *   NewVisitorConn: a visitor naming an xtcp proxy finds no listener.
 * - A first frame NewVisitorConn is checked in frps's order: a live control with that
 *   run_id (the visitor's user is that control's login user), a stcp/sudp proxy of
 *   that name, sign_key == hex(md5(sk + decimal timestamp)), the user allowed. On an
 *   error: NewVisitorConnResp{proxy_name, error} with frps's text, then the stream is
 *   shut down and closed. On success: NewVisitorConnResp{proxy_name, ""} in plaintext,
 *   then the visitor stream is wrapped with AES-128-CFB keyed by sk and/or snappy per
 *   the visitor's use_encryption/use_compression, a work connection of the proxy's
 *   owner is fetched (peer_get_work: StartWorkConn, wrapped per the proxy's own flags
 *   with the token key) and the two are spliced byte for byte. For sudp that joins
 *   the two UDPPacket message streams (frps's joinUserConnection; both sides speak v1
 *   framing, which is all the test frps speaks).
 *
 * EVENT lines: "visitor-conn proxy=NAME type=stcp|sudp user=U encryption=0|1
 * compression=0|1 rest=N" when admitted (N: bytes that came with the frame; then
 * user-conn / user-conn-done from the splice),
 * "visitor-refused proxy=NAME user=U error=\"...\"" when refused,
 * "visitor-work-failed proxy=NAME" when no work connection came,
 * "visitor-silent proxy=NAME" / "visitor-silent-done proxy=NAME" (fault below).
 *
 * Fault switch (environment): UFRPC_PEER_VISITOR_SILENT=NAME[,NAME...] — a
 * NewVisitorConn that passed every check for one of these wire proxy names gets no
 * answer at all: the stream is only read (and dropped) until the visitor closes it,
 * to exercise the visitor's NewVisitorConnResp deadline. Such a stream stays open as
 * long as the visitor keeps it.
 * UFRPC_PEER_VISITOR_HOLD=NAME[,...] — admitted (NewVisitorConnResp sent), then no
 * splice: the stream is read (and dropped) and never closed by the peer, not even
 * after the visitor's EOF ("visitor-hold proxy=NAME", then "visitor-hold-eof
 * proxy=NAME" at its EOF, "visitor-hold-done proxy=NAME status=E" on an error).
 * UFRPC_PEER_VISITOR_FIN=NAME[,...] — the same, but the peer first writes "bye" and
 * half-closes its side. Both model a server end that stays open, so that a test sees
 * what the visitor itself does at an EOF (frpc's io.Join closes both connections).
 *
 * Ownership: peer_visitor_conn takes the stream. Refused: peer_refuse closes it.
 * Admitted: a struct vjoin holds it until the next loop iteration (on_join; the
 * vjoin is freed by its timer's close callback), then, wrapped, it is the arg of
 * peer_get_work's callback (on_visitor_work), which hands it to the splice or closes
 * it. Silent: its read callback owns it (and the name in st->data).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/prefix.h"
#include "net/xform.h"
#include "peer.h"
#include "proto/auth.h"
#include "proto/cfb.h"
#include "proto/error.h"

/* ---- the kinds ----------------------------------------------------------------------- */
static int secret_open(struct proxy *px, char *ra, size_t ra_cap, char *err, size_t err_cap)
{
    (void)px;
    (void)err;
    (void)err_cap;
    /* frps: no listener, remote_addr "" (the visitor manager keys on the name only) */
    if (ra_cap > 0)
        ra[0] = 0;
    return 0;
}

static void secret_close(struct proxy *px)
{
    peer_proxy_free(px);
}

const struct proxy_kind peer_kind_stcp = {"stcp", secret_open, secret_close};
const struct proxy_kind peer_kind_sudp = {"sudp", secret_open, secret_close};
const struct proxy_kind peer_kind_xtcp = {"xtcp", secret_open, secret_close};

/* ---- NewVisitorConn ----------------------------------------------------------------- */
/* Reads (and drops) whatever a refused visitor still sends until peer_refuse's
 * shutdown closes the stream: the first-frame reader's callback must not run again
 * (ctl.c has already released its state). */
static void on_refused_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                            const uint8_t *data, size_t len)
{
    (void)buf;
    (void)data;
    (void)len;
    if (status < 0)
        ufrpc_stream_read_stop(st);
}

static void refuse(struct ufrpc_stream *st, const char *name, const char *user, const char *err)
{
    peer_event("visitor-refused", "proxy=%s user=%s error=\"%s\"", name, user, err);
    struct ufrpc_msg r;
    ufrpc_msg_init(&r, UFRPC_MSG_NEW_VISITOR_CONN_RESP);
    if (ufrpc_msg_set_str(&r.u.new_visitor_conn_resp.proxy_name, name) < 0 ||
        ufrpc_msg_set_str(&r.u.new_visitor_conn_resp.error, err) < 0) {
        ufrpc_msg_free(&r);
        ufrpc_stream_close(st, NULL);
        return;
    }
    if (ufrpc_stream_read_start(st, on_refused_read) < 0) {
        ufrpc_msg_free(&r);
        ufrpc_stream_close(st, NULL);
        return;
    }
    peer_refuse(st, &r);
    ufrpc_msg_free(&r);
}

/* ---- the silent fault ---------------------------------------------------------------- */
static int in_list(const char *env, const char *name)
{
    const char *list = getenv(env);
    size_t n = strlen(name);
    if (list == NULL || n == 0)
        return 0;
    for (const char *t = list; *t != 0;) {
        const char *e = strchr(t, ',');
        size_t len = e != NULL ? (size_t)(e - t) : strlen(t);
        if (len == n && strncmp(t, name, n) == 0)
            return 1;
        if (e == NULL)
            break;
        t = e + 1;
    }
    return 0;
}

static int is_silent(const char *name)
{
    return in_list("UFRPC_PEER_VISITOR_SILENT", name);
}

/* Owns the silent stream: st->data is the proxy name (malloc'd) from now on. */
static void on_silent_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                           const uint8_t *data, size_t len)
{
    (void)buf;
    (void)data;
    (void)len;
    if (status >= 0)
        return;
    char *name = st->data;
    peer_event("visitor-silent-done", "proxy=%s status=%s", name ? name : "", ufrpc_errname(status));
    free(name);
    st->data = NULL;
    ufrpc_stream_close(st, NULL);
}

static void go_silent(struct ufrpc_stream *st, const char *name)
{
    char *copy = strdup(name);
    st->data = copy;
    if (copy == NULL || ufrpc_stream_read_start(st, on_silent_read) < 0) {
        free(copy);
        st->data = NULL;
        ufrpc_stream_close(st, NULL);
        return;
    }
    peer_event("visitor-silent", "proxy=%s", name);
}

/* ---- the hold faults ------------------------------------------------------------------ */
/* An admitted stream the peer keeps open (st->data); freed by the stream's close
 * callback, or never (the peer ends with _exit). */
struct vhold {
    struct ufrpc_stream_write req;
    uv_buf_t buf;
    char name[]; /* the wire proxy name */
};

static void on_hold_closed(struct ufrpc_stream *st)
{
    free(st->data);
}

static void on_hold_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                         const uint8_t *data, size_t len)
{
    (void)buf;
    (void)data;
    (void)len;
    struct vhold *h = st->data;
    if (status >= 0)
        return;
    if (status == UFRPC_ERR_EOF) { /* no more reads; the stream stays open */
        peer_event("visitor-hold-eof", "proxy=%s", h->name);
        return;
    }
    peer_event("visitor-hold-done", "proxy=%s status=%s", h->name, ufrpc_errname(status));
    ufrpc_stream_close(st, on_hold_closed);
}

static void go_hold(struct ufrpc_stream *st, const char *name, bool fin)
{
    size_t n = strlen(name);
    struct vhold *h = calloc(1, sizeof *h + n + 1);
    if (h == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    memcpy(h->name, name, n + 1);
    st->data = h;
    static const char bye[] = "bye";
    h->buf = uv_buf_init((char *)bye, 3);
    int rc = fin ? ufrpc_stream_write(st, &h->req, &h->buf, 1, NULL) : 0;
    if (rc == 0 && fin)
        rc = ufrpc_stream_shutdown(st, NULL);
    if (rc == 0)
        rc = ufrpc_stream_read_start(st, on_hold_read);
    if (rc < 0) {
        ufrpc_stream_close(st, on_hold_closed);
        return;
    }
    peer_event("visitor-hold", "proxy=%s fin=%d", name, fin ? 1 : 0);
}

/* An admitted visitor stream between NewVisitorConnResp and the splice. The join
 * runs on the next loop iteration, out of the first-frame read callback (a TCP
 * stream whose reading is stopped and restarted inside a callback delivering
 * pushed-back bytes fails, see ctl.c first_done). Owns st (reading stopped) and the
 * copy of the bytes that followed the frame; freed by the timer's close callback. */
struct vjoin {
    struct peer *p;
    struct ufrpc_stream *st;
    uv_timer_t timer;
    char *name; /* the proxy's wire name, in the same block, after rest */
    bool enc, comp;
    size_t rest_len;
    uint8_t rest[]; /* rest_len bytes, then the name and its NUL */
};

static void on_join_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_visitor_work(struct proxy *px, struct ufrpc_stream *work, void *arg)
{
    struct ufrpc_stream *vst = arg;
    if (work == NULL) {
        peer_event("visitor-work-failed", "proxy=%s", px->name);
        ufrpc_stream_close(vst, NULL);
        return;
    }
    peer_splice(px, vst, work, true);
}

static void join_fail(struct vjoin *j, struct ufrpc_stream *st, int rc)
{
    peer_event("visitor-work-failed", "proxy=%s error=%s", j->name, ufrpc_errname(rc));
    if (st != NULL)
        ufrpc_stream_close(st, NULL);
}

static void on_join(uv_timer_t *t)
{
    struct vjoin *j = t->data;
    struct ufrpc_stream *st = j->st;
    uv_close((uv_handle_t *)&j->timer, on_join_timer_closed); /* j freed later */
    /* the proxy may have gone since the check */
    struct proxy *px = peer_find_proxy(j->p, j->name);
    if (px == NULL) {
        join_fail(j, st, UFRPC_ERR_CLOSED);
        return;
    }
    char src[64], dst[64];
    uint16_t sport, dport;
    peer_addr_of(st, 1, src, sizeof src, &sport);
    peer_addr_of(st, 0, dst, sizeof dst, &dport);
    int rc = 0;
    struct ufrpc_stream *vst = st;
    if (j->rest_len > 0 && (vst = ufrpc_prefix_stream_new(st, j->rest, j->rest_len, &rc)) == NULL) {
        join_fail(j, NULL, rc); /* st closed */
        return;
    }
    const char *sk = px->msg.u.new_proxy.sk ? px->msg.u.new_proxy.sk : "";
    uint8_t key[UFRPC_CFB_KEY_LEN];
    if (j->enc && (rc = ufrpc_cfb_derive_key((const uint8_t *)sk, strlen(sk), key)) < 0) {
        join_fail(j, vst, rc);
        return;
    }
    struct ufrpc_stream *wrapped = NULL;
    rc = ufrpc_xform_wrap(vst, j->enc, key, j->comp, NULL, &wrapped);
    if (rc < 0) {
        join_fail(j, NULL, rc); /* vst closed */
        return;
    }
    if ((rc = peer_get_work(px, src, sport, dst, dport, on_visitor_work, wrapped)) < 0)
        join_fail(j, wrapped, rc);
}

static int sign_ok(const char *sk, int64_t ts, const char *sign_key)
{
    return ufrpc_auth_verify(sk, ts, sign_key);
}

static int user_allowed(const struct proxy *px, const char *user)
{
    const struct ufrpc_strv *au = &px->msg.u.new_proxy.allow_users;
    if (au->n == 0) /* frps: only the proxy owner's user */
        return strcmp(peer_ctl_user(px->c), user) == 0;
    for (size_t i = 0; i < au->n; i++)
        if (au->items[i] != NULL && (strcmp(au->items[i], user) == 0 || strcmp(au->items[i], "*") == 0))
            return 1;
    return 0;
}

void peer_visitor_conn(struct peer *p, struct ufrpc_stream *st, struct ufrpc_msg *m,
                       const uint8_t *rest, size_t rest_len)
{
    const struct ufrpc_msg_new_visitor_conn *nv = &m->u.new_visitor_conn;
    const char *name = nv->proxy_name ? nv->proxy_name : "";
    const char *run_id = nv->run_id ? nv->run_id : "";
    const char *user = "";
    char err[384];
    err[0] = 0;
    struct proxy *px = NULL;
    /* frps: an empty run_id is admitted with user "" (pre-0.50 clients) */
    if (run_id[0] != 0) {
        struct ctl *vc = peer_find_ctl(p, run_id);
        if (vc == NULL)
            snprintf(err, sizeof err, "no client control found for run id [%s]", run_id);
        else
            user = peer_ctl_user(vc);
    }
    if (!err[0]) {
        px = peer_find_proxy(p, name);
        if (px != NULL && strcmp(px->kind->type, "stcp") != 0 && strcmp(px->kind->type, "sudp") != 0)
            px = NULL; /* tcp/udp/http/xtcp...: no visitor listener of that name */
        if (px == NULL)
            snprintf(err, sizeof err, "custom listener for [%s] doesn't exist", name);
    }
    if (!err[0] && !sign_ok(px->msg.u.new_proxy.sk, nv->timestamp, nv->sign_key))
        snprintf(err, sizeof err, "visitor connection of [%s] auth failed", name);
    if (!err[0] && !user_allowed(px, user))
        snprintf(err, sizeof err, "visitor connection of [%s] user [%s] not allowed", name, user);
    if (err[0]) {
        refuse(st, name, user, err);
        return;
    }
    if (is_silent(name)) {
        go_silent(st, name);
        return;
    }

    /* admitted: the answer goes out in plaintext before anything the layers write */
    struct ufrpc_msg r;
    ufrpc_msg_init(&r, UFRPC_MSG_NEW_VISITOR_CONN_RESP);
    int rc = ufrpc_msg_set_str(&r.u.new_visitor_conn_resp.proxy_name, name);
    if (rc == 0)
        rc = peer_write_frame(st, &r);
    ufrpc_msg_free(&r);
    if (rc < 0) {
        peer_event("visitor-work-failed", "proxy=%s error=%s", name, ufrpc_errname(rc));
        ufrpc_stream_close(st, NULL);
        return;
    }
    bool fin = in_list("UFRPC_PEER_VISITOR_FIN", name);
    if (fin || in_list("UFRPC_PEER_VISITOR_HOLD", name)) {
        go_hold(st, name, fin);
        return;
    }
    size_t name_len = strlen(name);
    struct vjoin *j = calloc(1, sizeof *j + rest_len + name_len + 1);
    if (j == NULL) {
        ufrpc_stream_close(st, NULL);
        return;
    }
    j->p = p;
    j->st = st;
    j->name = (char *)j->rest + rest_len;
    memcpy(j->name, name, name_len + 1);
    j->enc = nv->use_encryption;
    j->comp = nv->use_compression;
    j->rest_len = rest_len;
    if (rest_len > 0)
        memcpy(j->rest, rest, rest_len);
    ufrpc_stream_read_stop(st);
    uv_timer_init(p->loop, &j->timer);
    j->timer.data = j;
    uv_timer_start(&j->timer, on_join, 0, 0);
    peer_event("visitor-conn", "proxy=%s type=%s user=%s encryption=%d compression=%d rest=%zu",
               name, px->kind->type, user, nv->use_encryption, nv->use_compression, rest_len);
}
