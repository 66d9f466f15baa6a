/* client/cli/cli_util.c — see cli_util.h. */
#include "client/cli/cli_util.h"

#include <string.h>

const char *ufrpc_cli_long_name(const char *arg, char *buf, size_t cap)
{
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || cap == 0)
        return NULL;
    size_t i = 0;
    for (const char *p = arg + 2; *p != '\0' && *p != '='; p++) {
        if (i + 1 >= cap)
            return NULL;
        buf[i++] = *p == '_' ? '-' : *p;
    }
    buf[i] = '\0';
    return buf;
}
