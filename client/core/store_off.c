/* client/core/store_off.c — replaces client/core/store.c in a build with
 * UFRPC_WITH_STORE=OFF (CMakeLists.txt): no store can be opened. config/unsupported.c
 * refuses store.path (key, file:line, the option) before anything opens one.
 * Contract: client/core/store.h. */
#include "client/core/store.h"

#include <stdio.h>

#include "proto/error.h"

int ufrpc_store_open(const char *path, struct ufrpc_store **out, char *err, size_t cap)
{
    *out = NULL;
    snprintf(err, cap, "store.path is not supported by this build (UFRPC_WITH_STORE=OFF)");
    return UFRPC_ERR_UNSUPPORTED;
}

void ufrpc_store_free(struct ufrpc_store *s)
{
}
