/* ufrpc-bench work directory: see workdir.h. */
#include "bench/workdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/util.h"
#include "proto/error.h"

int ufrpc_bench_workdir_create(const char *dir, char *out, size_t len)
{
    if (dir != NULL) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return UFRPC_ERR_IO;
        return ufrpc_bench_fmt(out, len, "%s", dir) == 0 ? 0 : UFRPC_ERR_IO;
    }
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    if (ufrpc_bench_fmt(out, len, "%s/ufrpc-bench.XXXXXX", tmp) != 0)
        return UFRPC_ERR_IO;
    return mkdtemp(out) != NULL ? 0 : UFRPC_ERR_IO;
}

void ufrpc_bench_workdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    char path[4096];
    struct dirent *e;
    for (int i = 0; i < 10000 && (e = readdir(d)) != NULL; i++) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (ufrpc_bench_fmt(path, sizeof(path), "%s/%s", dir, e->d_name) == 0)
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
