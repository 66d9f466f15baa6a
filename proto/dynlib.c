/* ufrpc — shared library functions resolved at first use (proto/dynlib.h). */
#include "proto/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

#include "proto/error.h"

#define MAX_LIBS 8

int ufrpc_dynlib_open(const struct ufrpc_dynlib_spec *spec, void **slots, char *err,
                      size_t errlen)
{
    void *h[MAX_LIBS];
    size_t nh = 0;
    int rc = 0;
    if (errlen > 0)
        err[0] = '\0';
    for (size_t i = 0; i < spec->n; i++)
        slots[i] = NULL;
    for (; spec->libs[nh] != NULL; nh++) {
        if (nh == MAX_LIBS) {
            snprintf(err, errlen, "more than %d libraries to load", MAX_LIBS);
            rc = UFRPC_ERR_UNSUPPORTED;
            goto out;
        }
        h[nh] = dlopen(spec->libs[nh], RTLD_NOW | RTLD_LOCAL);
        if (h[nh] == NULL) {
            const char *why = dlerror();
            snprintf(err, errlen, "cannot load %s: %s", spec->libs[nh], why ? why : "?");
            rc = UFRPC_ERR_UNSUPPORTED;
            goto out;
        }
    }
    for (size_t i = 0; i < spec->n; i++) {
        for (size_t j = 0; j < nh && slots[i] == NULL; j++)
            slots[i] = dlsym(h[j], spec->names[i]);
        if (slots[i] == NULL) {
            snprintf(err, errlen, "no symbol %s in %s or the libraries loaded with it",
                     spec->names[i], spec->libs[0]);
            rc = UFRPC_ERR_UNSUPPORTED;
            goto out;
        }
    }
out:
    if (rc != 0) {
        for (size_t i = 0; i < spec->n; i++)
            slots[i] = NULL;
        while (nh > 0)
            dlclose(h[--nh]);
    }
    return rc;
}
