/* ufrpc-bench child processes and /proc readings: see proc.h. */
#include "bench/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/util.h"
#include "proto/error.h"

int ufrpc_bench_child_spawn(ufrpc_bench_child_t *c, char *const argv[], const char *log_path)
{
    memset(c, 0, sizeof(*c));
    int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return UFRPC_ERR_IO;
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0) {
        close(logfd);
        return UFRPC_ERR_IO;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        close(nullfd);
        return UFRPC_ERR_IO;
    }
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    c->pid = pid;
    return 0;
}

int ufrpc_bench_child_alive(ufrpc_bench_child_t *c)
{
    if (c->pid <= 0 || c->exited)
        return 0;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid) {
        c->exited = 1;
        c->status = st;
        return 0;
    }
    return 1;
}

void ufrpc_bench_child_stop(ufrpc_bench_child_t *c, int timeout_ms)
{
    if (!ufrpc_bench_child_alive(c))
        return;
    kill(c->pid, SIGTERM);
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (!ufrpc_bench_child_alive(c))
            return;
        ufrpc_bench_sleep_ms(10);
    }
    kill(c->pid, SIGKILL);
    int st;
    /* after SIGKILL the wait is short; retry only on EINTR, a bounded number of times */
    for (int i = 0; i < 100; i++) {
        pid_t r = waitpid(c->pid, &st, 0);
        if (r == c->pid) {
            c->exited = 1;
            c->status = st;
            return;
        }
        if (r < 0 && errno != EINTR)
            return;
    }
}

void ufrpc_bench_child_describe(const ufrpc_bench_child_t *c, char *buf, size_t len)
{
    if (!c->exited)
        snprintf(buf, len, "running");
    else if (WIFEXITED(c->status))
        snprintf(buf, len, "exit %d", WEXITSTATUS(c->status));
    else if (WIFSIGNALED(c->status))
        snprintf(buf, len, "signal %d", WTERMSIG(c->status));
    else
        snprintf(buf, len, "status %d", c->status);
}

int ufrpc_bench_proc_cpu(pid_t pid, double *seconds)
{
    char path[64];
    char buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return UFRPC_ERR_IO;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name (field 2) may hold spaces and parentheses: skip past the
     * last ')' and count fields from there (state is field 3) */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return UFRPC_ERR_IO;
    p++;
    unsigned long long utime = 0, stime = 0;
    int field = 2;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok != NULL && field < 15;
         tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == 14)
            utime = strtoull(tok, NULL, 10);
        else if (field == 15)
            stime = strtoull(tok, NULL, 10);
    }
    if (field < 15)
        return UFRPC_ERR_IO;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        hz = 100;
    *seconds = (double)(utime + stime) / (double)hz;
    return 0;
}

int ufrpc_bench_proc_mem(pid_t pid, long *rss_kib, long *hwm_kib)
{
    char path[64];
    char line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return UFRPC_ERR_IO;
    int found = 0;
    *rss_kib = *hwm_kib = 0;
    for (int i = 0; i < 200 && fgets(line, sizeof(line), f) != NULL; i++) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            *rss_kib = strtol(line + 6, NULL, 10);
            found |= 1;
        } else if (strncmp(line, "VmHWM:", 6) == 0) {
            *hwm_kib = strtol(line + 6, NULL, 10);
            found |= 2;
        }
    }
    fclose(f);
    return found == 3 ? 0 : UFRPC_ERR_IO;
}

int ufrpc_bench_run_command(char *const argv[], const char *log_path, int timeout_ms)
{
    ufrpc_bench_child_t c;
    int rc = ufrpc_bench_child_spawn(&c, argv, log_path);
    if (rc != 0)
        return rc;
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (!ufrpc_bench_child_alive(&c))
            break;
        ufrpc_bench_sleep_ms(10);
    }
    if (ufrpc_bench_child_alive(&c)) {
        ufrpc_bench_child_stop(&c, 100);
        return UFRPC_ERR_TIMEOUT;
    }
    if (!WIFEXITED(c.status))
        return UFRPC_ERR_IO;
    return WEXITSTATUS(c.status);
}

static int copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return UFRPC_ERR_IO;
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
    if (out < 0) {
        close(in);
        return UFRPC_ERR_IO;
    }
    char buf[65536];
    int rc = 0;
    /* bounded by the file size: every pass consumes input or stops */
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = UFRPC_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = UFRPC_ERR_IO;
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    close(in);
    if (close(out) != 0)
        rc = UFRPC_ERR_IO;
    return rc;
}

int ufrpc_bench_stripped_size(const char *path, const char *dir, long long *size)
{
    char copy[4096], log[4096];
    if (ufrpc_bench_fmt(copy, sizeof(copy), "%s/stripped.bin", dir) != 0 ||
        ufrpc_bench_fmt(log, sizeof(log), "%s/strip.log", dir) != 0)
        return UFRPC_ERR_LIMIT;
    /* a wrapper script (e.g. --ufrpc pointing at one that runs valgrind or sets
     * the environment) has no size of its own worth comparing */
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return UFRPC_ERR_IO;
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (got != sizeof magic || memcmp(magic, "\x7f" "ELF", 4) != 0)
        return UFRPC_ERR_UNSUPPORTED;
    int rc = copy_file(path, copy);
    if (rc == 0) {
        char strip_path[] = "/usr/bin/strip";
        char *argv[] = {strip_path, copy, NULL};
        rc = ufrpc_bench_run_command(argv, log, 30000) == 0 ? 0 : UFRPC_ERR_IO;
    }
    struct stat st;
    if (rc == 0 && stat(copy, &st) != 0)
        rc = UFRPC_ERR_IO;
    if (rc == 0)
        *size = (long long)st.st_size;
    unlink(copy);
    return rc;
}
