#include "config/cfg_error.h"

#include <stdarg.h>
#include <stdio.h>

int ufrpc_cfg_fail(struct ufrpc_cfg_error *err, int code, const char *file, uint32_t line,
                   uint32_t col, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->file = file;
        err->line = line;
        err->col = col;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

char *ufrpc_cfg_error_format(const struct ufrpc_cfg_error *err, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    if (err->file != NULL && err->line > 0 && err->col > 0)
        snprintf(buf, cap, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
    else if (err->file != NULL && err->line > 0)
        snprintf(buf, cap, "%s:%u: %s", err->file, err->line, err->msg);
    else if (err->file != NULL)
        snprintf(buf, cap, "%s: %s", err->file, err->msg);
    else
        snprintf(buf, cap, "%s", err->msg);
    return buf;
}
