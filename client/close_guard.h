/* ufrpc — close guard: a pass-through stream whose close() closes the stream below
 * on the next loop turn instead of at once.
 *
 * Why: closing a net/mux stream from inside one of its own callbacks (which is what
 * net/pump does when a splice ends) can free it twice in net/mux's idle pass (the
 * stream is queued again while being processed). Until net/mux handles that, the
 * connector hands out mux streams behind this guard, so every close reaches net/mux
 * from a clean stack. Harmless for any other stream type.
 *
 * Contract: as net/stream.h. Reads, writes (the caller's request goes to the lower
 * stream as is), queued() and shutdown pass straight through. After close() no read
 * callback runs; pending write callbacks run (with the lower stream's status) before
 * the close callback. The guard owns the lower stream and its `data` field. */
#ifndef UFRPC_CLIENT_CLOSE_GUARD_H
#define UFRPC_CLIENT_CLOSE_GUARD_H

#include "net/stream.h"

/* Returns the guard, or NULL with *err (then lower has been closed). */
struct ufrpc_stream *ufrpc_close_guard_new(struct ufrpc_stream *lower, int *err);

#endif
