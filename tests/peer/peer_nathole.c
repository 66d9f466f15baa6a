/* ufrpc-test-frps — a minimal xtcp nathole controller, as frps v0.70's
 * pkg/nathole/controller.go and server/proxy/xtcp.go (test code, not product):
 *
 *   NatHoleVisitor pre_check: NatHoleResp{transaction_id, error?} at once ("xtcp server
 *     for [name] doesn't exist", "xtcp visitor user [u] not allowed for [name]");
 *   NatHoleVisitor: sign_key checked against the proxy's sk ("xtcp connection of [name]
 *     auth failed"); a sid; a work connection of the proxy gets StartWorkConn and
 *     NatHoleSid{sid} and is closed; the session waits 10 s for NatHoleClient{sid}.
 *   NatHoleClient: both address sets classified (proto/nathole.h); always frp's first
 *     recommendation of mode 0 (proxy: sender; visitor: receiver, TTL 7), read_timeout
 *     5000 ms; the receiver's NatHoleResp at once, the sender's 1 s later.
 *   NatHoleReport: printed ("EVENT nathole-report sid=... success=0|1").
 *
 * Events: nathole-visitor, nathole-sid, nathole-resp, nathole-report. Sessions are
 * bounded (64) and expire after 10 s; controls are looked up by run id, never kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_internal.h"
#include "net/xform_crypt.h"
#include "proto/auth.h"
#include "proto/error.h"
#include "proto/nathole.h"

#define MAX_SESSIONS 64
#define SESSION_MS 10000

struct nh_session {
    struct peer *p;
    struct nh_session *next;
    char sid[64];
    char vrun[40], crun[40];
    struct ufrpc_msg vmsg, cmsg; /* NatHoleVisitor, NatHoleClient */
    struct ufrpc_msg cresp;      /* the sender's answer, sent by the timer */
    uv_timer_t timer;
    int got_client;
    struct ufrpc_stream *work; /* kept until the session ends: its frames must go out */
};


static void on_session_closed(uv_handle_t *h)
{
    struct nh_session *s = h->data;
    ufrpc_msg_free(&s->vmsg);
    ufrpc_msg_free(&s->cmsg);
    ufrpc_msg_free(&s->cresp);
    free(s);
}

static void session_end(struct nh_session *s)
{
    struct nh_session **pp = &s->p->nh_sessions;
    while (*pp && *pp != s)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = s->next;
        s->p->nh_count--;
    }
    if (s->work != NULL)
        ufrpc_stream_close(s->work, NULL);
    s->work = NULL;
    uv_close((uv_handle_t *)&s->timer, on_session_closed);
}

static void send_resp(struct peer *p, const char *run_id, struct ufrpc_msg *m)
{
    struct ctl *c = peer_find_ctl(p, run_id);
    const struct ufrpc_msg_nat_hole_resp *r = &m->u.nat_hole_resp;
    peer_event("nathole-resp", "run_id=%s sid=%s role=%s error=%s", run_id, r->sid ? r->sid : "",
               r->detect_behavior.role ? r->detect_behavior.role : "", r->error ? r->error : "");
    if (c != NULL)
        ctl_send(c, m);
}

static void resp_error(struct peer *p, const char *run_id, const char *tid, const char *err)
{
    struct ufrpc_msg m;
    ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_RESP);
    ufrpc_msg_set_str(&m.u.nat_hole_resp.transaction_id, tid);
    if (err)
        ufrpc_msg_set_str(&m.u.nat_hole_resp.error, err);
    send_resp(p, run_id, &m);
    ufrpc_msg_free(&m);
}

static int allowed(const struct proxy *px, const char *user)
{
    const struct ufrpc_strv *au = &px->msg.u.new_proxy.allow_users;
    if (au->n == 0)
        return strcmp(peer_ctl_user(px->c), user) == 0;
    for (size_t i = 0; i < au->n; i++)
        if (strcmp(au->items[i], user) == 0 || strcmp(au->items[i], "*") == 0)
            return 1;
    return 0;
}

static void on_expire(uv_timer_t *t)
{
    struct nh_session *s = t->data;
    if (s->got_client) /* the sender's answer is due */
        send_resp(s->p, s->crun, &s->cresp);
    else
        peer_event("nathole-timeout", "sid=%s", s->sid);
    session_end(s);
}

/* The sid's work connection: what the client sends is dropped; its end closes it. */
static void on_sid_work_read(struct ufrpc_stream *st, int status, ufrpc_rbuf_t *buf,
                             const uint8_t *data, size_t len)
{
    (void)buf;
    (void)data;
    (void)len;
    if (status >= 0)
        return;
    struct peer *p = st->data;
    for (struct nh_session *s = p->nh_sessions; s; s = s->next)
        if (s->work == st)
            s->work = NULL;
    ufrpc_stream_read_stop(st);
    ufrpc_stream_close(st, NULL);
}

static void on_work(struct proxy *px, struct ufrpc_stream *work, void *arg)
{
    struct peer *p = px->c->p;
    char *sid = arg;
    struct nh_session *s = p->nh_sessions;
    while (s && strcmp(s->sid, sid) != 0)
        s = s->next;
    if (work != NULL) {
        struct ufrpc_msg m;
        ufrpc_msg_init(&m, UFRPC_MSG_NAT_HOLE_SID);
        ufrpc_msg_set_str(&m.u.nat_hole_sid.sid, sid);
        int rc = peer_write_frame(work, &m);
        ufrpc_msg_free(&m);
        peer_event("nathole-sid", "sid=%s rc=%d", sid, rc);
        work->data = p;
        if (s != NULL && s->work == NULL && ufrpc_stream_read_start(work, on_sid_work_read) == 0)
            s->work = work;
        else
            ufrpc_stream_close(work, NULL);
    }
    free(sid);
}

void peer_nathole_visitor(struct ctl *c, struct ufrpc_msg *m)
{
    struct peer *p = c->p;
    const struct ufrpc_msg_nat_hole_visitor *v = &m->u.nat_hole_visitor;
    const char *name = v->proxy_name ? v->proxy_name : "";
    const char *tid = v->transaction_id ? v->transaction_id : "";
    const char *user = peer_ctl_user(c);
    peer_event("nathole-visitor", "run_id=%s name=%s pre_check=%d", c->run_id, name, v->pre_check);
    struct proxy *px = peer_find_proxy(p, name);
    char err[320] = "";
    if (px == NULL || strcmp(px->kind->type, "xtcp") != 0)
        snprintf(err, sizeof err, "xtcp server for [%s] doesn't exist", name);
    else if (v->pre_check && !allowed(px, user))
        snprintf(err, sizeof err, "xtcp visitor user [%s] not allowed for [%s]", user, name);
    else if (!v->pre_check && !ufrpc_auth_verify(px->msg.u.new_proxy.sk, v->timestamp, v->sign_key))
        snprintf(err, sizeof err, "xtcp connection of [%s] auth failed", name);
    else if (!v->pre_check && p->nh_count >= MAX_SESSIONS)
        snprintf(err, sizeof err, "too many nathole sessions");
    if (err[0] || v->pre_check) {
        resp_error(p, c->run_id, tid, err[0] ? err : NULL);
        return;
    }
    struct nh_session *s = calloc(1, sizeof *s);
    uint8_t r[8];
    char *sid_arg = NULL;
    if (s == NULL || ufrpc_xform_getrandom(NULL, r, sizeof r) != 0) {
        free(s);
        resp_error(p, c->run_id, tid, "no memory");
        return;
    }
    snprintf(s->sid, sizeof s->sid, "%lld%02x%02x%02x%02x%02x%02x%02x%02x", (long long)time(NULL),
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    s->p = p;
    snprintf(s->vrun, sizeof s->vrun, "%s", c->run_id);
    s->vmsg = *m; /* takes the contents */
    ufrpc_msg_init(m, UFRPC_MSG_NAT_HOLE_VISITOR);
    ufrpc_msg_init(&s->cmsg, UFRPC_MSG_NAT_HOLE_CLIENT);
    ufrpc_msg_init(&s->cresp, UFRPC_MSG_NAT_HOLE_RESP);
    uv_timer_init(p->loop, &s->timer);
    s->timer.data = s;
    s->next = p->nh_sessions;
    p->nh_sessions = s;
    p->nh_count++;
    uv_timer_start(&s->timer, on_expire, SESSION_MS, 0);
    sid_arg = strdup(s->sid);
    if (sid_arg == NULL || peer_get_work(px, NULL, 0, NULL, 0, on_work, sid_arg) < 0)
        free(sid_arg);
}

static int resp_for(struct ufrpc_msg *out, const char *tid, const char *sid, const char *protocol,
                    const struct ufrpc_strv *cand, const struct ufrpc_strv *assisted, bool sender)
{
    ufrpc_msg_init(out, UFRPC_MSG_NAT_HOLE_RESP);
    struct ufrpc_msg_nat_hole_resp *r = &out->u.nat_hole_resp;
    int rc = ufrpc_msg_set_str(&r->transaction_id, tid);
    rc = rc ? rc : ufrpc_msg_set_str(&r->sid, sid);
    rc = rc ? rc : ufrpc_msg_set_str(&r->protocol, protocol);
    rc = rc ? rc : ufrpc_msg_set_str(&r->detect_behavior.role, sender ? "sender" : "receiver");
    for (size_t i = 0; !rc && i < cand->n; i++)
        if (i == 0 || strcmp(cand->items[i], cand->items[i - 1]) != 0) /* slices.Compact */
            rc = ufrpc_strv_push(&r->candidate_addrs, cand->items[i]);
    for (size_t i = 0; !rc && i < assisted->n; i++)
        rc = ufrpc_strv_push(&r->assisted_addrs, assisted->items[i]);
    r->detect_behavior.ttl = sender ? 0 : 7;
    r->detect_behavior.read_timeout_ms = 5000;
    return rc;
}

void peer_nathole_client(struct ctl *c, struct ufrpc_msg *m)
{
    const struct ufrpc_msg_nat_hole_client *cm = &m->u.nat_hole_client;
    struct nh_session *s = c->p->nh_sessions;
    while (s && (cm->sid == NULL || strcmp(s->sid, cm->sid) != 0))
        s = s->next;
    if (s == NULL || s->got_client)
        return; /* frps ignores an unknown sid */
    s->got_client = 1;
    snprintf(s->crun, sizeof s->crun, "%s", c->run_id);
    s->cmsg = *m;
    ufrpc_msg_init(m, UFRPC_MSG_NAT_HOLE_CLIENT);
    const struct ufrpc_msg_nat_hole_visitor *vm = &s->vmsg.u.nat_hole_visitor;
    const struct ufrpc_msg_nat_hole_client *cc = &s->cmsg.u.nat_hole_client;
    struct ufrpc_nat_feature cf, vf;
    int rc = ufrpc_nathole_classify((const char *const *)cc->mapped_addrs.items, cc->mapped_addrs.n,
                                    NULL, 0, &cf);
    const char *err = rc ? "classify client nat feature error: not enough addresses" : NULL;
    if (!rc && ufrpc_nathole_classify((const char *const *)vm->mapped_addrs.items,
                                      vm->mapped_addrs.n, NULL, 0, &vf) != 0)
        err = "classify visitor nat feature error: not enough addresses";
    const char *proto = vm->protocol ? vm->protocol : "";
    struct ufrpc_msg vresp;
    if (err) {
        resp_error(s->p, s->vrun, vm->transaction_id, err);
        resp_error(s->p, s->crun, cc->transaction_id, err);
        session_end(s);
        return;
    }
    if (resp_for(&vresp, vm->transaction_id, s->sid, proto, &cc->mapped_addrs,
                 &cc->assisted_addrs, false) != 0 ||
        resp_for(&s->cresp, cc->transaction_id, s->sid, proto, &vm->mapped_addrs,
                 &vm->assisted_addrs, true) != 0) {
        ufrpc_msg_free(&vresp);
        session_end(s);
        return;
    }
    send_resp(s->p, s->vrun, &vresp); /* the receiver at once */
    ufrpc_msg_free(&vresp);
    uv_timer_start(&s->timer, on_expire, 1000, 0); /* the sender a second later */
}

void peer_nathole_report(struct ctl *c, const struct ufrpc_msg *m)
{
    const struct ufrpc_msg_nat_hole_report *r = &m->u.nat_hole_report;
    peer_event("nathole-report", "run_id=%s sid=%s success=%d", c->run_id, r->sid ? r->sid : "",
               r->success ? 1 : 0);
}
