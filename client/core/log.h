/* ufrpc — the client's one logger.
 *
 * Lines look like frpc's (golib log + frp xlog):
 *   2025-01-02 15:04:05.000 [I] [client/core/supervisor.c:123] [runid] login to server success, ...
 * i.e. local time with milliseconds, a level letter ([T] [D] [I] [W] [E]), the source
 * file (last two path components) and line, the logger's prefixes, then the message.
 * Optionally JSON lines instead:
 *   {"time":"2025-01-02 15:04:05.000","level":"info","src":"client/x.c:12","prefix":["runid"],"msg":"..."}
 *
 * Output goes to a console stream (stdout by default) or to a file (log.to = path),
 * which is rotated daily like frpc's: at the first write of a new local day the file is
 * renamed to <base>.<YYYYMMDD-HHMMSS><ext> and a fresh one opened; backups older than
 * max_days days are deleted (max_days <= 0 keeps them all).
 *
 * No globals: the client owns one logger and passes it down. Every function accepts a
 * NULL logger and then does nothing, so lower pieces can be tested without one.
 * Not thread-safe: a logger is used on one loop's thread (libufrpc gives each client its own).
 *
 * Secrets (tokens, keys, passwords) must never be passed to this logger; callers log
 * names and lengths, not values.
 *
 * Ownership: ufrpc_log_new copies every string of the options; ufrpc_log_free closes the
 * file (never the console stream, which stays the caller's). */
#ifndef UFRPC_CLIENT_LOG_H
#define UFRPC_CLIENT_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

enum ufrpc_log_level {
    UFRPC_LOG_TRACE = 0,
    UFRPC_LOG_DEBUG = 1,
    UFRPC_LOG_INFO = 2,
    UFRPC_LOG_WARN = 3,
    UFRPC_LOG_ERROR = 4,
};

/* Longest formatted message (prefixes + text); longer ones are cut and end in "...". */
#define UFRPC_LOG_MAX_LINE 4096
/* At most this many prefixes ("[runid] [proxy] "). */
#define UFRPC_LOG_MAX_PREFIXES 4

struct ufrpc_log_opts {
    /* "console" (or NULL/"") for the console stream, else a file path. */
    const char *to;
    enum ufrpc_log_level level;
    /* Daily rotation keeps backups this many days; <= 0 keeps all (file output only). */
    int max_days;
    /* 1: JSON lines; 0: frpc's text format. */
    int json;
    /* Console stream; NULL means stdout. Not closed by the logger. */
    FILE *console;
    /* Wall clock in milliseconds since the epoch; NULL means the real clock. For tests. */
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    /* 1: format times in UTC instead of local time (tests). */
    int utc;
    /* 1: colour console lines by level with frpc's ANSI codes (debug 1;36, info 1;34,
     * warn 1;33, error 1;31, trace plain), the whole line wrapped as golib does. The
     * CLI enables it when log.disablePrintColor is false and stdout is a terminal
     * (frpc colours even pipes; ufrpc keeps pipes and files plain). */
    int color;
    /* 0: every line is written and flushed at once. > 0: lines are kept (whole, at
     * most 64 KiB) and written together when a warn or error line comes, when the
     * buffer is full, when the oldest kept line is this many ms old (checked at
     * each line and by ufrpc_log_tick, which the owner calls from a timer), and by
     * ufrpc_log_flush / ufrpc_log_free. So a slow disk costs one write per burst
     * instead of one per line, and a line is never written in part. */
    uint32_t flush_interval_ms;
};

struct ufrpc_log;

/* Creates a logger. For file output the directory is created if missing and the file
 * opened for appending now, so a bad path fails here (UFRPC_ERR_IO) rather than
 * silently later. Returns 0, UFRPC_ERR_NOMEM, UFRPC_ERR_INVAL, UFRPC_ERR_IO. */
int ufrpc_log_new(const struct ufrpc_log_opts *opts, struct ufrpc_log **out);

/* Closes the file (if any) and frees the logger. NULL is fine. */
void ufrpc_log_free(struct ufrpc_log *log);

/* Parses "trace|debug|info|warn|error" (either case). Returns 0 or UFRPC_ERR_INVAL
 * (frpc falls back to info on a bad level; callers decide). */
int ufrpc_log_parse_level(const char *s, enum ufrpc_log_level *out);

/* Changes the level at run time (e.g. after a reload). */
void ufrpc_log_set_level(struct ufrpc_log *log, enum ufrpc_log_level level);

/* Sets prefix number `slot` (0..UFRPC_LOG_MAX_PREFIXES-1), printed as "[value] " in slot
 * order before every message. NULL or "" clears it. The value is copied (at most 63
 * bytes kept). Slot 0 is the run id, as frpc's "[runid]". Returns 0 or UFRPC_ERR_INVAL. */
int ufrpc_log_set_prefix(struct ufrpc_log *log, int slot, const char *value);

/* 1 if a message of this level would be written. */
int ufrpc_log_enabled(const struct ufrpc_log *log, enum ufrpc_log_level level);

/* Writes one line. `file` is a source path (only its last two components are shown).
 * Write errors are ignored, as in frpc. */
void ufrpc_log_printf(struct ufrpc_log *log, enum ufrpc_log_level level, const char *file,
                      int line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ufrpc_log_vprintf(struct ufrpc_log *log, enum ufrpc_log_level level, const char *file,
                       int line, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* Writes out buffered lines and flushes the stream (console or file). */
void ufrpc_log_flush(struct ufrpc_log *log);

/* With flush_interval_ms > 0: writes out buffered lines once the oldest is that
 * old. Cheap; meant for a repeating timer of about that interval. */
void ufrpc_log_tick(struct ufrpc_log *log);

/* Formats wall time `ms` as "2006-01-02 15:04:05.000" (23 chars + NUL) in local time
 * or UTC. Returns 23, or 0 if the time cannot be represented. Exposed for tests. */
size_t ufrpc_log_format_time(int64_t ms, int utc, char out[24]);

#define UFRPC_LOGT(log, ...) ufrpc_log_printf((log), UFRPC_LOG_TRACE, __FILE__, __LINE__, __VA_ARGS__)
#define UFRPC_LOGD(log, ...) ufrpc_log_printf((log), UFRPC_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define UFRPC_LOGI(log, ...) ufrpc_log_printf((log), UFRPC_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define UFRPC_LOGW(log, ...) ufrpc_log_printf((log), UFRPC_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define UFRPC_LOGE(log, ...) ufrpc_log_printf((log), UFRPC_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)

#endif
