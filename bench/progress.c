/* ufrpc-bench progress line: see progress.h. */
#include "bench/progress.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

void ufrpc_bench_progress_init(ufrpc_bench_progress_t *p, FILE *out, int quiet)
{
    memset(p, 0, sizeof(*p));
    p->out = out;
    p->quiet = quiet;
    p->tty = isatty(fileno(out));
}

void ufrpc_bench_progress_label(ufrpc_bench_progress_t *p, const char *fmt, ...)
{
    if (p == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->label, sizeof(p->label), fmt, ap);
    va_end(ap);
}

static void clear_line(ufrpc_bench_progress_t *p)
{
    if (p->line_open) {
        fputs("\r\033[K", p->out);
        p->line_open = 0;
    }
}

void ufrpc_bench_progress_status(ufrpc_bench_progress_t *p, const char *fmt, ...)
{
    if (p == NULL || p->quiet || !p->tty)
        return;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(p->out, "\r\033[K%s %s", p->label, text);
    fflush(p->out);
    p->line_open = 1;
}

void ufrpc_bench_progress_done(ufrpc_bench_progress_t *p, const char *fmt, ...)
{
    if (p == NULL || p->quiet)
        return;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    clear_line(p);
    fprintf(p->out, "%s %s\n", p->label, text);
    fflush(p->out);
}

void ufrpc_bench_progress_note(ufrpc_bench_progress_t *p, const char *fmt, ...)
{
    if (p == NULL)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    clear_line(p);
    fprintf(p->out, "%s\n", text);
    fflush(p->out);
}
