/* promcheck FILE|- : exits 0 when FILE is valid Prometheus text exposition 0.0.4
 * (tests/promcheck.h), else prints "promcheck: line N: why" and exits 1.
 * promcheck FILE SERIES : prints the value of SERIES (exit 1 when absent). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promcheck.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: promcheck FILE|- [SERIES]\n");
        return 2;
    }
    FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap + 1);
    while (buf != NULL && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (f != stdin)
        fclose(f);
    if (buf == NULL)
        return 2;
    buf[len] = '\0';
    int rc = 0;
    if (argc >= 3) {
        double v;
        if (promcheck_value(buf, argv[2], &v) != 0) {
            fprintf(stderr, "promcheck: no series %s\n", argv[2]);
            rc = 1;
        } else {
            printf("%.17g\n", v);
        }
    } else {
        char err[400];
        if (promcheck_validate(buf, len, err, sizeof err) != 0) {
            printf("promcheck: %s\n", err);
            rc = 1;
        }
    }
    free(buf);
    return rc;
}
