/* config/cfg_error.h — where and why a configuration was rejected.
 *
 * Every config reader and the schema fill one of these on failure, so that the CLI
 * can print "file:line:col: message". The struct is caller-owned (usually on the
 * stack); `file` is borrowed from the loader and valid as long as the loader's file
 * list (see config/value.h: ufrpc_cv_pos.file). */
#ifndef UFRPC_CONFIG_CFG_ERROR_H
#define UFRPC_CONFIG_CFG_ERROR_H

#include <stddef.h>
#include <stdint.h>

struct ufrpc_cfg_error {
    const char *file; /* NULL when not tied to a file */
    uint32_t line;    /* 1-based, 0 = unknown */
    uint32_t col;     /* 1-based, 0 = unknown */
    int code;         /* negative enum ufrpc_err value */
    char msg[256];    /* human text, without the position */
};

/* Records an error (printf-style message), unless err is NULL. Returns code, so
 * callers can write `return ufrpc_cfg_fail(err, code, file, line, col, "...")`. */
int ufrpc_cfg_fail(struct ufrpc_cfg_error *err, int code, const char *file, uint32_t line,
                   uint32_t col, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Formats "file:line:col: msg" (parts omitted when unknown) into buf; returns buf. */
char *ufrpc_cfg_error_format(const struct ufrpc_cfg_error *err, char *buf, size_t cap);

#endif
