/* Private to proto/yamux_*.c: the session and stream structs and the helpers the
 * yamux source files share. Nothing outside proto/yamux_*.c includes this.
 * The shared helpers are named ufrpc__yamux_* (private, external linkage only so
 * that the yamux files can call each other). */
#ifndef UFRPC_PROTO_YAMUX_INTERNAL_H
#define UFRPC_PROTO_YAMUX_INTERNAL_H

#include "proto/yamux.h"

/* Space in the output ring usable only by control frames (341 headers). */
#define YAMUX_CTL_RESERVE 4096u
/* Ping ACKs remembered while even the reserve is full; more is a flood. */
#define YAMUX_MAX_OWED_PING_ACKS 16

/* Stream flags. */
enum {
    SF_INBOUND = 1u << 0,     /* opened by the peer */
    SF_SYN_OWED = 1u << 1,    /* our SYN not yet in the ring (writes wait) */
    SF_ACK_OWED = 1u << 2,    /* our ACK not yet in the ring */
    SF_FIN_OWED = 1u << 3,    /* close() called, FIN not yet in the ring */
    SF_RST_OWED = 1u << 4,    /* RST not yet in the ring */
    SF_WU_OWED = 1u << 5,     /* a WindowUpdate is due */
    SF_LOCAL_FIN = 1u << 6,   /* close() called */
    SF_REMOTE_FIN = 1u << 7,  /* peer's FIN received */
    SF_RESET = 1u << 8,       /* RST sent or received */
    SF_RELEASED = 1u << 9,    /* application gave up its reference */
    SF_ESTABLISHED = 1u << 10, /* ACK received (outbound) */
    SF_WANT_WINDOW = 1u << 11, /* a write was cut short by the send window */
    SF_WANT_SPACE = 1u << 12, /* a write was cut short by output space */
    SF_IN_CTL = 1u << 13,     /* on the session's owed-control list */
    SF_DEAD = 1u << 14,       /* out of the hash, waiting to be freed */
    SF_ORPHAN = 1u << 15,     /* released after close(), waiting for peer's FIN */
};

#define SF_OWED (SF_SYN_OWED | SF_ACK_OWED | SF_FIN_OWED | SF_RST_OWED | SF_WU_OWED)

struct ufrpc_yamux_stream {
    ufrpc_yamux_session_t *s;
    void *user_data;
    struct ufrpc_yamux_stream *hnext;            /* hash chain */
    struct ufrpc_yamux_stream *prev, *next;      /* all streams */
    struct ufrpc_yamux_stream *ctl_next;         /* owed-control FIFO */
    uint64_t orphan_deadline;
    uint32_t id;
    uint32_t flags;
    uint32_t send_window; /* payload bytes we may still send */
    uint32_t recv_window; /* payload bytes the peer may still send */
    uint32_t unconsumed;  /* delivered to the application, not yet consumed */
    uint32_t max_unconsumed; /* the most unconsumed ever was (tests, metrics) */
};

struct ufrpc_yamux_session {
    struct ufrpc_yamux_config cfg;
    const struct ufrpc_mem *mem; /* cfg.mem or libc's: all allocations */
    struct ufrpc_yamux_callbacks cb;
    void *user_data;
    enum ufrpc_yamux_role role;
    int err;
    int depth;    /* nesting of calls that may run callbacks */
    uint64_t now; /* last time passed in */
    uint64_t window_stalls; /* writes that found a stream's send window empty */

    /* output ring; absolute byte counters, position = counter % cap */
    uint8_t *ring;
    size_t cap;      /* data_cap + YAMUX_CTL_RESERVE */
    size_t data_cap; /* cfg.max_output_bytes */
    uint64_t head, tail;
    uint64_t exposed; /* bytes up to here were shown by pending_output: immutable */
    /* the last frame in the ring, when it is a Data frame, may be extended */
    ufrpc_yamux_stream_t *last_data_st;
    uint64_t last_data_hdr; /* absolute position of its header */
    uint32_t last_data_len;

    /* streams */
    ufrpc_yamux_stream_t **buckets;
    uint32_t nbuckets; /* power of two */
    size_t nhashed;
    size_t nstreams; /* objects alive, including dead-not-yet-freed */
    ufrpc_yamux_stream_t *all;
    ufrpc_yamux_stream_t *ctl_head, *ctl_tail;
    uint32_t n_inbound;
    uint32_t n_dead;
    uint32_t n_want_space;
    uint32_t space_rr_id; /* stream woken last for output space (round robin), 0 none */
    uint32_t n_orphans;
    uint64_t orphan_next;
    uint64_t next_id;

    /* input parser */
    uint8_t hdrbuf[UFRPC_YAMUX_HEADER_SIZE];
    uint8_t hdr_have;
    uint8_t cur_fin;       /* the Data frame being read carried FIN */
    uint32_t payload_left; /* payload bytes of the current Data frame still to come */
    ufrpc_yamux_stream_t *cur; /* its stream, NULL = drain */

    /* session-level control */
    int local_goaway, remote_goaway;
    int goaway_owed;
    uint32_t goaway_code;
    uint32_t owed_ping_acks[YAMUX_MAX_OWED_PING_ACKS];
    int n_owed_ping_acks;
    int ping_owed;
    uint32_t ping_owed_id;
    int ping_outstanding;
    uint32_t ping_outstanding_id;
    uint32_t ping_next_id;
    uint64_t ping_deadline;
    uint64_t next_ping_at;
};

/* yamux_output.c */
size_t ufrpc__yamux_free_data(const ufrpc_yamux_session_t *s);
int ufrpc__yamux_ctl_fits(const ufrpc_yamux_session_t *s);
void ufrpc__yamux_put_header(ufrpc_yamux_session_t *s, uint8_t type, uint16_t flags, uint32_t id,
                      uint32_t length);
void ufrpc__yamux_put_bytes(ufrpc_yamux_session_t *s, const uint8_t *p, size_t n);
void ufrpc__yamux_patch_u32(ufrpc_yamux_session_t *s, uint64_t pos, uint32_t v);
void ufrpc__yamux_stream_want_ctl(ufrpc_yamux_stream_t *st);
int ufrpc__yamux_queue_ping_ack(ufrpc_yamux_session_t *s, uint32_t id);
void ufrpc__yamux_queue_goaway(ufrpc_yamux_session_t *s, uint32_t code);
void ufrpc__yamux_queue_ping(ufrpc_yamux_session_t *s, uint32_t id);
uint32_t ufrpc__yamux_window_delta(const ufrpc_yamux_stream_t *st);

/* yamux_session.c */
ufrpc_yamux_stream_t *ufrpc__yamux_lookup(const ufrpc_yamux_session_t *s, uint32_t id);
int ufrpc__yamux_stream_create(ufrpc_yamux_session_t *s, uint32_t id, ufrpc_yamux_stream_t **out);
void ufrpc__yamux_finish_check(ufrpc_yamux_stream_t *st);
void ufrpc__yamux_sweep(ufrpc_yamux_session_t *s);
void ufrpc__yamux_fail(ufrpc_yamux_session_t *s, int err, int send_goaway);

/* yamux_stream.c */
void ufrpc__yamux_auto_consume(ufrpc_yamux_stream_t *st, uint32_t n);

#endif
