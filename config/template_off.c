/* config/template_off.c — replaces config/template.c in a build with
 * UFRPC_WITH_TEMPLATE=OFF (CMakeLists.txt). A file without "{{" is passed through
 * unchanged, as template.c does; one with "{{" is refused at the line of the first,
 * naming the option, rather than read with the action left in. Contract:
 * config/cfg_internal.h. */
#include <stdlib.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

int ufrpc_cfg_template_render(const char *in, size_t len, const char *file, const char *const *envp,
                              struct ufrpc_cfg_diag *diag, char **out, size_t *out_len)
{
    (void)envp;
    *out = NULL;
    *out_len = 0;
    const char *at = len >= 2 ? memmem(in, len, "{{", 2) : NULL;
    if (at != NULL) {
        uint32_t line = 1;
        for (const char *p = in; p < at; p++)
            line += *p == '\n';
        ufrpc_cfg_diag_add(diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_TEMPLATE, file, line,
                           "templates ({{ ... }}) are not supported by this build "
                           "(built with UFRPC_WITH_TEMPLATE=OFF)");
        return UFRPC_ERR_CONFIG_TEMPLATE;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return UFRPC_ERR_NOMEM;
    memcpy(copy, in, len);
    copy[len] = '\0';
    *out = copy;
    *out_len = len;
    return 0;
}
