/* ufrpc-test-frps — what ctl.c (controls) and work.c (proxies, work-connection pool)
 * share. Test code, not product (see peer.h). */
#ifndef UFRPC_TESTS_PEER_CTL_INTERNAL_H
#define UFRPC_TESTS_PEER_CTL_INTERNAL_H

#include "peer.h"
#include "pmux.h"
#include "proto/cfb.h"

/* A pooled work connection: silent until StartWorkConn. Owned by its control. */
struct work {
    struct ctl *c;
    struct work *next;
    struct ufrpc_stream *st;
};

/* A request for a work connection waiting for the client's NewWorkConn. */
struct waiter {
    struct ctl *c;
    struct waiter *next;
    struct proxy *px;
    peer_work_cb cb;
    void *arg;
    char src[64], dst[64];
    uint16_t sport, dport;
    uv_timer_t timer;
};

struct ctl {
    struct peer *p;
    struct ctl *next;
    struct ufrpc_stream *st;
    pmux_t *mux;
    char run_id[40];
    char user[64];
    int pool_count;
    ufrpc_cfb_writer_t w;
    ufrpc_cfb_reader_t r;
    struct ufrpc_frame_decoder dec;
    struct proxy *proxies;
    struct work *pool;
    int npool;
    struct waiter *waiters;
    uv_timer_t fault_timer, hb_timer;
    int fault_kind; /* 1 drop, 2 corrupt, 3 stall */
    uint64_t last_ping_ms;
    int closing, stalled, st_closed, handles;
    unsigned writes_pending; /* control writes whose callback has not run */
    uint64_t pings;
};

/* ctl.c */
int ctl_send(struct ctl *c, const struct ufrpc_msg *m);
void ctl_req_work_conn(struct ctl *c);

/* work.c */
/* A NewWorkConn arrived on st (taken): into the pool, to a waiter, or refused. */
void work_register(struct peer *p, struct ufrpc_stream *st, struct ufrpc_msg *m);
/* NewProxy: takes m's contents (m is left empty), answers with NewProxyResp. */
void work_new_proxy(struct ctl *c, struct ufrpc_msg *m);
void work_close_proxy(struct ctl *c, const char *name);
/* The control closes: every proxy, pooled connection and waiter goes. */
void work_ctl_closed(struct ctl *c);

/* peer_nathole.c: the xtcp messages of a control (m's contents may be taken) */
void peer_nathole_visitor(struct ctl *c, struct ufrpc_msg *m);
void peer_nathole_client(struct ctl *c, struct ufrpc_msg *m);
void peer_nathole_report(struct ctl *c, const struct ufrpc_msg *m);

#endif
