/* ufrpc-bench: the live progress line.
 *
 * On a terminal, status updates rewrite one line in place ("\r" + clear); elsewhere
 * (CTest, pipes) only the per-scenario "done" lines and notes are printed, so logs
 * stay short. The object is caller-owned (usually on the stack of main); out must
 * stay open while it is used. Every function accepts p == NULL and then does nothing. */
#ifndef UFRPC_BENCH_PROGRESS_H
#define UFRPC_BENCH_PROGRESS_H

#include <stdio.h>

typedef struct ufrpc_bench_progress {
    FILE *out;
    int tty;
    int quiet;
    int line_open; /* a live line is on screen and must be cleared first */
    char label[192];
} ufrpc_bench_progress_t;

void ufrpc_bench_progress_init(ufrpc_bench_progress_t *p, FILE *out, int quiet);

/* Sets the prefix of later status and done lines (e.g. "[1/3] ufrpc tls+mux"). */
void ufrpc_bench_progress_label(ufrpc_bench_progress_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Rewrites the live line: "<label> <text>" (terminal only). */
void ufrpc_bench_progress_status(ufrpc_bench_progress_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Ends a scenario: prints "<label> <text>" as a permanent line. */
void ufrpc_bench_progress_done(ufrpc_bench_progress_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints a free-standing message line (warnings, phase headers). */
void ufrpc_bench_progress_note(ufrpc_bench_progress_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
