/* ufrpc — when to hand the malloc heap's free pages back to the system.
 *
 * The one home of the heap's tuning and trimming. The program's main() raises glibc's
 * top pad (ufrpc_heap_trim_tune) so that a transfer does not give pages back and
 * fault them in again at every read; what a transfer or a burst of connections
 * leaves behind is returned once the client is quiet again (ufrpc_heap_trim_now).
 *
 * The policy (struct ufrpc_heap_trim) is sans-I/O: it is told when work connections
 * start serving a user (StartWorkConn; idle ones waiting in frps's pool hold no
 * buffers and are not counted) and when they end, and when a session is lost, with
 * the loop's clock; it answers when to look again and whether to trim. It trims
 *   - once no work connection has served a user for UFRPC_HEAP_TRIM_QUIET_MS (a
 *     connection that starts in that second starts the wait over), after any
 *     activity since the last trim;
 *   - after a burst (at least UFRPC_HEAP_TRIM_BURST connections at once) a second
 *     after at most an eighth of its peak is left, even while the rest trickle
 *     out (thousands of streams can take many seconds to close), then again for
 *     what is left;
 *   - UFRPC_HEAP_TRIM_QUIET_MS after a session is lost (its stream windows go
 *     with it), whatever is still open;
 * and only when the allocator holds at least UFRPC_HEAP_TRIM_MIN_FREE free bytes
 * (glibc counts its untouched top pad as free, so after the heap grew this holds).
 * So a trim (a walk of the free lists, then madvise of free pages) happens at most
 * once per quiet period, never while a connection serves a user except after a
 * burst or a lost session, and never per connection. One policy per supervisor: several clients on one process each
 * trim the (shared) heap, each at most once per quiet period.
 *
 * Lifetime: a caller-owned struct, no allocation, no close. */
#ifndef UFRPC_CLIENT_HEAP_TRIM_H
#define UFRPC_CLIENT_HEAP_TRIM_H

#include <stddef.h>
#include <stdint.h>

#define UFRPC_HEAP_TRIM_QUIET_MS 1000u
#define UFRPC_HEAP_TRIM_BURST 64u
#define UFRPC_HEAP_TRIM_MIN_FREE (256u * 1024u)
/* "no deadline": nothing to look at until a connection opens, closes or a session
 * is lost */
#define UFRPC_HEAP_TRIM_NEVER UINT64_MAX

struct ufrpc_heap_trim {
    unsigned live;        /* work connections serving a user now */
    unsigned peak;        /* most at once since the last trim */
    int active;           /* something started, ended or was lost since the last trim */
    int forced;           /* a session was lost: trim whatever is still open */
    uint64_t lost_ms;     /* when (with forced) */
    uint64_t quiet_ms;    /* since when it is quiet (UFRPC_HEAP_TRIM_NEVER: busy) */
};

void ufrpc_heap_trim_init(struct ufrpc_heap_trim *t);
/* A work connection started serving a user. */
void ufrpc_heap_trim_opened(struct ufrpc_heap_trim *t, uint64_t now_ms);
/* It ended. Returns when to call ufrpc_heap_trim_check (loop clock, ms), or
 * UFRPC_HEAP_TRIM_NEVER (a timer armed earlier may stay armed: check says again). */
uint64_t ufrpc_heap_trim_closed(struct ufrpc_heap_trim *t, uint64_t now_ms);
/* The session's connection is gone; returns when to call ufrpc_heap_trim_check. */
uint64_t ufrpc_heap_trim_session_lost(struct ufrpc_heap_trim *t, uint64_t now_ms);
/* At or after the deadline: 1 when the caller should trim now (the policy then
 * starts over from the connections open now), 0 when not, with *next_ms the next
 * deadline (or UFRPC_HEAP_TRIM_NEVER). heap_free: the allocator's free bytes
 * (ufrpc_heap_trim_free_bytes); below UFRPC_HEAP_TRIM_MIN_FREE there is nothing
 * worth a trim, and the activity counts as done. */
int ufrpc_heap_trim_check(struct ufrpc_heap_trim *t, uint64_t now_ms, size_t heap_free,
                          uint64_t *next_ms);

/* ---- the allocator (glibc; elsewhere no-ops and 0) ------------------------- */
/* main() only, before anything allocates much: glibc's trim threshold and top pad
 * for throughput (process-wide; a library never calls it). */
void ufrpc_heap_trim_tune(void);
/* Free bytes the allocator holds (glibc's mallinfo2 fordblks: holes and top). */
size_t ufrpc_heap_trim_free_bytes(void);
/* Gives the heap's free pages back to the system (malloc_trim(0)). */
void ufrpc_heap_trim_now(void);

#endif
