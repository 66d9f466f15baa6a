/* The client's logger: frpc's line format or JSON lines, console or a daily-rotated file. */
#include "client/core/log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "proto/error.h"

#define PREFIX_MAX 64
#define PART_MAX 1024 /* each of directory, file stem, extension */
#define BUF_CAP (64u * 1024u) /* buffered output (flush_interval_ms > 0) */

struct ufrpc_log {
    enum ufrpc_log_level level;
    int json;
    int utc;
    int color;
    int max_days;
    FILE *console; /* not owned */
    char *path;    /* NULL for console output */
    FILE *file;    /* owned, file output only */
    long file_day; /* local day number the open file belongs to */
    int64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    char prefix[UFRPC_LOG_MAX_PREFIXES][PREFIX_MAX];
    /* flush_interval_ms > 0: whole lines wait in buf (at most BUF_CAP bytes) and go
     * out together; buf_since is the clock when its oldest line was added */
    uint32_t flush_interval_ms;
    char *buf;
    size_t buf_len;
    int64_t buf_since;
};

static FILE *out_stream(const struct ufrpc_log *log)
{
    return log->path ? log->file : log->console;
}

/* Writes the buffered lines (whole lines only) and flushes the stream. */
static void flush_buf(struct ufrpc_log *log)
{
    FILE *f = out_stream(log);
    if (log->buf_len > 0 && f != NULL)
        fwrite(log->buf, 1, log->buf_len, f);
    log->buf_len = 0;
    if (f != NULL)
        fflush(f);
}

static int64_t real_clock_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int to_tm(int64_t ms, int utc, struct tm *tm)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    if (utc)
        return gmtime_r(&secs, tm) ? 0 : -1;
    return localtime_r(&secs, tm) ? 0 : -1;
}

size_t ufrpc_log_format_time(int64_t ms, int utc, char out[24])
{
    struct tm tm;
    if (to_tm(ms, utc, &tm) != 0 || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
        out[0] = '\0';
        return 0;
    }
    int milli = (int)(((ms % 1000) + 1000) % 1000);
    char tmp[96];
    int n = snprintf(tmp, sizeof tmp, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
    if (n != 23) {
        out[0] = '\0';
        return 0;
    }
    memcpy(out, tmp, 24);
    return 23;
}

/* A number that changes exactly when the (local or UTC) calendar day changes. */
static long day_number(int64_t ms, int utc)
{
    struct tm tm;
    if (to_tm(ms, utc, &tm) != 0)
        return 0;
    return (long)(tm.tm_year + 1900) * 400 + tm.tm_yday;
}

int ufrpc_log_parse_level(const char *s, enum ufrpc_log_level *out)
{
    static const char *const names[] = {"trace", "debug", "info", "warn", "error"};
    if (!s || !out)
        return UFRPC_ERR_INVAL;
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum ufrpc_log_level)i;
            return 0;
        }
    }
    return UFRPC_ERR_INVAL;
}

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return UFRPC_ERR_LIMIT;
    memcpy(tmp, path, n + 1);
    char *slash = strrchr(tmp, '/');
    if (!slash || slash == tmp)
        return 0;
    *slash = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return UFRPC_ERR_IO;
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return UFRPC_ERR_IO;
    return 0;
}

static int open_file(struct ufrpc_log *log, int64_t now)
{
    int rc = make_parent_dirs(log->path);
    if (rc != 0)
        return rc;
    log->file = fopen(log->path, "a");
    if (!log->file)
        return UFRPC_ERR_IO;
    log->file_day = day_number(now, log->utc);
    return 0;
}

/* Splits path into directory, base without extension, extension (from the last '.'
 * of the file name). Buffers of PART_MAX bytes. */
static int split_path(const char *path, char *dir, char *stem, char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    if (dlen >= PART_MAX || strlen(name) >= PART_MAX)
        return UFRPC_ERR_LIMIT;
    if (slash) {
        if (dlen == 0) {
            strcpy(dir, "/");
        } else {
            memcpy(dir, path, dlen);
            dir[dlen] = '\0';
        }
    } else {
        strcpy(dir, ".");
    }
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        dot = name + strlen(name);
    memcpy(stem, name, (size_t)(dot - name));
    stem[dot - name] = '\0';
    strcpy(ext, dot);
    return 0;
}

/* Parses "YYYYMMDD-HHMMSS" into ms since the epoch (as local time or UTC). */
static int parse_backup_stamp(const char *s, size_t len, int utc, int64_t *ms)
{
    if (len != 15 || s[8] != '-')
        return -1;
    for (size_t i = 0; i < 15; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9'))
            return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char buf[5];
    memcpy(buf, s, 4), buf[4] = 0, tm.tm_year = atoi(buf) - 1900;
    memcpy(buf, s + 4, 2), buf[2] = 0, tm.tm_mon = atoi(buf) - 1;
    memcpy(buf, s + 6, 2), tm.tm_mday = atoi(buf);
    memcpy(buf, s + 9, 2), tm.tm_hour = atoi(buf);
    memcpy(buf, s + 11, 2), tm.tm_min = atoi(buf);
    memcpy(buf, s + 13, 2), tm.tm_sec = atoi(buf);
    tm.tm_isdst = -1;
    time_t t = utc ? timegm(&tm) : mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *ms = (int64_t)t * 1000;
    return 0;
}

/* Deletes backups "<stem>.<stamp><ext>" older than max_days. */
static void clear_old_files(struct ufrpc_log *log, int64_t now)
{
    if (log->max_days <= 0)
        return;
    char dir[PART_MAX], stem[PART_MAX], ext[PART_MAX];
    if (split_path(log->path, dir, stem, ext) != 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t slen = strlen(stem), elen = strlen(ext);
    int64_t cutoff = now - (int64_t)log->max_days * 24 * 3600 * 1000 + 5;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= slen + 1 + elen || strncmp(de->d_name, stem, slen) != 0 ||
            de->d_name[slen] != '.' || strcmp(de->d_name + n - elen, ext) != 0)
            continue;
        int64_t t;
        if (parse_backup_stamp(de->d_name + slen + 1, n - elen - slen - 1, log->utc, &t) != 0)
            continue;
        if (t < cutoff) {
            char full[2 * PART_MAX + 2];
            snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
            remove(full);
        }
    }
    closedir(d);
}

static void rotate(struct ufrpc_log *log, int64_t now)
{
    char dir[PART_MAX], stem[PART_MAX], ext[PART_MAX];
    flush_buf(log); /* buffered lines belong to the day that ends */
    if (log->file) {
        fclose(log->file);
        log->file = NULL;
    }
    if (split_path(log->path, dir, stem, ext) == 0) {
        struct tm tm;
        if (to_tm(now, log->utc, &tm) == 0) {
            char backup[3 * PART_MAX + 32];
            snprintf(backup, sizeof backup, "%s/%s.%04d%02d%02d-%02d%02d%02d%s", dir, stem,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ext);
            rename(log->path, backup);
        }
    }
    if (open_file(log, now) == 0)
        clear_old_files(log, now);
}

int ufrpc_log_new(const struct ufrpc_log_opts *opts, struct ufrpc_log **out)
{
    if (!opts || !out || opts->level < UFRPC_LOG_TRACE || opts->level > UFRPC_LOG_ERROR)
        return UFRPC_ERR_INVAL;
    *out = NULL;
    struct ufrpc_log *log = calloc(1, sizeof *log);
    if (!log)
        return UFRPC_ERR_NOMEM;
    log->level = opts->level;
    log->json = opts->json;
    log->utc = opts->utc;
    log->color = opts->color && !(opts->to && opts->to[0] && strcmp(opts->to, "console") != 0);
    log->max_days = opts->max_days;
    log->console = opts->console ? opts->console : stdout;
    log->clock_ms = opts->clock_ms ? opts->clock_ms : real_clock_ms;
    log->clock_ctx = opts->clock_ctx;
    log->flush_interval_ms = opts->flush_interval_ms;
    if (log->flush_interval_ms > 0) {
        log->buf = malloc(BUF_CAP);
        if (!log->buf) {
            free(log);
            return UFRPC_ERR_NOMEM;
        }
    }
    if (opts->to && opts->to[0] && strcmp(opts->to, "console") != 0) {
        log->path = strdup(opts->to);
        if (!log->path) {
            free(log->buf);
            free(log);
            return UFRPC_ERR_NOMEM;
        }
        int rc = open_file(log, log->clock_ms(log->clock_ctx));
        if (rc != 0) {
            free(log->path);
            free(log->buf);
            free(log);
            return rc;
        }
    }
    *out = log;
    return 0;
}

void ufrpc_log_free(struct ufrpc_log *log)
{
    if (!log)
        return;
    flush_buf(log);
    if (log->file)
        fclose(log->file);
    free(log->path);
    free(log->buf);
    free(log);
}

void ufrpc_log_set_level(struct ufrpc_log *log, enum ufrpc_log_level level)
{
    if (log && level >= UFRPC_LOG_TRACE && level <= UFRPC_LOG_ERROR)
        log->level = level;
}

int ufrpc_log_set_prefix(struct ufrpc_log *log, int slot, const char *value)
{
    if (!log || slot < 0 || slot >= UFRPC_LOG_MAX_PREFIXES)
        return UFRPC_ERR_INVAL;
    if (!value) {
        log->prefix[slot][0] = '\0';
        return 0;
    }
    snprintf(log->prefix[slot], PREFIX_MAX, "%s", value);
    return 0;
}

int ufrpc_log_enabled(const struct ufrpc_log *log, enum ufrpc_log_level level)
{
    return log && level >= log->level && level <= UFRPC_LOG_ERROR;
}

void ufrpc_log_flush(struct ufrpc_log *log)
{
    if (!log)
        return;
    flush_buf(log);
}

void ufrpc_log_tick(struct ufrpc_log *log)
{
    if (log && log->buf_len > 0 &&
        log->clock_ms(log->clock_ctx) - log->buf_since >= (int64_t)log->flush_interval_ms)
        flush_buf(log);
}

/* Hands one whole line (with its colour codes, if any) to the output: at once
 * without buffering; else into the buffer, which is written out when the line
 * would not fit, at warn and error, and once its oldest line is flush_interval_ms
 * old (checked here and by ufrpc_log_tick). */
static void emit(struct ufrpc_log *log, enum ufrpc_log_level level, int64_t now,
                 const char *pre, const char *line, size_t len, const char *post)
{
    FILE *f = out_stream(log);
    size_t pl = strlen(pre), ql = strlen(post), total = pl + len + ql;
    if (log->flush_interval_ms == 0 || total > BUF_CAP) {
        flush_buf(log);
        fputs(pre, f);
        fwrite(line, 1, len, f);
        fputs(post, f);
        fflush(f);
        return;
    }
    if (log->buf_len + total > BUF_CAP)
        flush_buf(log);
    if (log->buf_len == 0)
        log->buf_since = now;
    memcpy(log->buf + log->buf_len, pre, pl);
    memcpy(log->buf + log->buf_len + pl, line, len);
    memcpy(log->buf + log->buf_len + pl + len, post, ql);
    log->buf_len += total;
    if (level >= UFRPC_LOG_WARN || now - log->buf_since >= (int64_t)log->flush_interval_ms)
        flush_buf(log);
}

/* Last two components of a source path: "/a/b/client/x.c" -> "client/x.c". */
static const char *short_src(const char *file)
{
    if (!file)
        return "?";
    const char *last = strrchr(file, '/');
    if (!last)
        return file;
    const char *p = last;
    while (p > file && p[-1] != '/')
        p--;
    return p > file ? p : file;
}

/* Appends s JSON-escaped to buf at *pos (bounded by cap; stops early when full). */
static void json_escape(char *buf, size_t cap, size_t *pos, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[7];
        size_t n;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\', tmp[1] = (char)c, n = 2;
        } else if (c == '\n') {
            tmp[0] = '\\', tmp[1] = 'n', n = 2;
        } else if (c == '\r') {
            tmp[0] = '\\', tmp[1] = 'r', n = 2;
        } else if (c == '\t') {
            tmp[0] = '\\', tmp[1] = 't', n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            tmp[0] = '\\', tmp[1] = 'u', tmp[2] = '0', tmp[3] = '0', tmp[4] = hex[c >> 4],
            tmp[5] = hex[c & 15], n = 6;
        } else {
            tmp[0] = (char)c, n = 1;
        }
        if (*pos + n + 1 > cap)
            return;
        memcpy(buf + *pos, tmp, n);
        *pos += n;
    }
    buf[*pos] = '\0';
}

static void append(char *buf, size_t cap, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    size_t room = *pos + 1 < cap ? cap - 1 - *pos : 0;
    if (n > room)
        n = room;
    memcpy(buf + *pos, s, n);
    *pos += n;
    buf[*pos] = '\0';
}

void ufrpc_log_vprintf(struct ufrpc_log *log, enum ufrpc_log_level level, const char *file,
                       int line, const char *fmt, va_list ap)
{
    static const char letters[] = "TDIWE";
    static const char *const names[] = {"trace", "debug", "info", "warn", "error"};
    if (!ufrpc_log_enabled(log, level) || !fmt)
        return;
    int64_t now = log->clock_ms(log->clock_ctx);

    char msg[UFRPC_LOG_MAX_LINE];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        msg[0] = '\0';
    else if ((size_t)n >= sizeof msg)
        memcpy(msg + sizeof msg - 4, "...", 4);

    char when[24];
    if (ufrpc_log_format_time(now, log->utc, when) == 0)
        strcpy(when, "0000-00-00 00:00:00.000");
    char src[128];
    snprintf(src, sizeof src, "%s:%d", short_src(file), line);

    char out[UFRPC_LOG_MAX_LINE * 2 + 512];
    size_t pos = 0;
    out[0] = '\0';
    if (log->json) {
        append(out, sizeof out, &pos, "{\"time\":\"");
        append(out, sizeof out, &pos, when);
        append(out, sizeof out, &pos, "\",\"level\":\"");
        append(out, sizeof out, &pos, names[level]);
        append(out, sizeof out, &pos, "\",\"src\":\"");
        json_escape(out, sizeof out, &pos, src);
        append(out, sizeof out, &pos, "\"");
        int first = 1;
        for (int i = 0; i < UFRPC_LOG_MAX_PREFIXES; i++) {
            if (!log->prefix[i][0])
                continue;
            append(out, sizeof out, &pos, first ? ",\"prefix\":[\"" : ",\"");
            json_escape(out, sizeof out, &pos, log->prefix[i]);
            append(out, sizeof out, &pos, "\"");
            first = 0;
        }
        if (!first)
            append(out, sizeof out, &pos, "]");
        append(out, sizeof out, &pos, ",\"msg\":\"");
        json_escape(out, sizeof out, &pos, msg);
        append(out, sizeof out, &pos, "\"}\n");
    } else {
        char head[64];
        snprintf(head, sizeof head, "%s [%c] [", when, letters[level]);
        append(out, sizeof out, &pos, head);
        append(out, sizeof out, &pos, src);
        append(out, sizeof out, &pos, "] ");
        for (int i = 0; i < UFRPC_LOG_MAX_PREFIXES; i++) {
            if (!log->prefix[i][0])
                continue;
            append(out, sizeof out, &pos, "[");
            append(out, sizeof out, &pos, log->prefix[i]);
            append(out, sizeof out, &pos, "] ");
        }
        append(out, sizeof out, &pos, msg);
        append(out, sizeof out, &pos, "\n");
    }
    if (pos > 0 && out[pos - 1] != '\n')
        out[pos - 1] = '\n'; /* cut line: keep it one line */

    if (log->path) {
        if (log->file && day_number(now, log->utc) != log->file_day)
            rotate(log, now);
        if (!log->file && open_file(log, now) != 0)
            return;
        emit(log, level, now, "", out, pos, "");
    } else {
        static const char *const colors[] = {NULL, "1;36", "1;34", "1;33", "1;31"};
        char on[16] = "";
        if (log->color && colors[level])
            snprintf(on, sizeof on, "\033[%sm", colors[level]);
        emit(log, level, now, on, out, pos, on[0] ? "\033[0m" : "");
    }
}

void ufrpc_log_printf(struct ufrpc_log *log, enum ufrpc_log_level level, const char *file,
                      int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ufrpc_log_vprintf(log, level, file, line, fmt, ap);
    va_end(ap);
}
