/* config/range_numbers.c — frp's util.ParseRangeNumbers ("1000-1002,2000"), shared by
 * the template functions (config/template.c) and legacy INI range sections
 * (config/ini.c). Contract: config/cfg_internal.h. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

int ufrpc_cfg_parse_range_numbers(const char *s, size_t len, size_t limit, int64_t **out, size_t *n,
                                  char *err, size_t errcap)
{
    *out = NULL;
    *n = 0;
    size_t cap = 16, cnt = 0;
    int64_t *arr = malloc(cap * sizeof *arr);
    if (arr == NULL)
        return UFRPC_ERR_NOMEM;
    size_t i = 0;
    /* Go: strings.TrimSpace then split on ','; each part "a" or "a-b" */
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    while (len > i && isspace((unsigned char)s[len - 1]))
        len--;
    for (;;) {
        size_t b = i;
        while (i < len && s[i] != ',')
            i++;
        /* one part [b, i) */
        int64_t v[2];
        int nv = 0;
        size_t p = b;
        bool bad = false;
        while (p <= i) {
            size_t q = p;
            while (q < i && s[q] != '-')
                q++;
            if (nv == 2) {
                bad = true;
                break;
            }
            size_t x = p, y = q;
            while (x < y && isspace((unsigned char)s[x]))
                x++;
            while (y > x && isspace((unsigned char)s[y - 1]))
                y--;
            char buf[32];
            if (y == x || y - x >= sizeof buf) {
                bad = true;
                break;
            }
            memcpy(buf, s + x, y - x);
            buf[y - x] = '\0';
            char *e;
            errno = 0;
            long long val = strtoll(buf, &e, 10);
            if (*e != '\0' || errno != 0 || buf[0] == ' ') {
                bad = true;
                break;
            }
            v[nv++] = val;
            p = q + 1;
            if (q == i)
                break;
        }
        if (bad || nv == 0 || (nv == 2 && v[1] < v[0])) {
            snprintf(err, errcap, "range number is invalid: \"%.*s\"", (int)(i - b > 40 ? 40 : i - b),
                     s + b);
            free(arr);
            return UFRPC_ERR_CONFIG_VALUE;
        }
        int64_t lo = v[0], hi = nv == 2 ? v[1] : v[0];
        if ((uint64_t)hi - (uint64_t)lo >= limit || cnt + (size_t)((uint64_t)hi - (uint64_t)lo) + 1 > limit) {
            snprintf(err, errcap, "range expands to more than %zu numbers", limit);
            free(arr);
            return UFRPC_ERR_LIMIT;
        }
        for (int64_t x = lo;; x++) {
            if (cnt == cap) {
                cap *= 2;
                int64_t *na = realloc(arr, cap * sizeof *na);
                if (na == NULL) {
                    free(arr);
                    return UFRPC_ERR_NOMEM;
                }
                arr = na;
            }
            arr[cnt++] = x;
            if (x == hi)
                break;
        }
        if (i >= len)
            break;
        i++; /* skip ',' */
    }
    *out = arr;
    *n = cnt;
    return 0;
}
