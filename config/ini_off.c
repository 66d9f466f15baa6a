/* config/ini_off.c — replaces config/ini.c and config/ini_parse.c in a build with
 * UFRPC_WITH_INI=OFF (CMakeLists.txt): a legacy INI file (a line "[common]") is
 * recognised and refused with an error that says why, instead of being misread as
 * TOML. Contracts: config/cfg_internal.h. */
#include <ctype.h>
#include <string.h>

#include "config/cfg_internal.h"
#include "proto/error.h"

bool ufrpc_ini_is_legacy(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        size_t a = i, b = e;
        while (a < b && isspace((unsigned char)text[a]))
            a++;
        while (b > a && isspace((unsigned char)text[b - 1]))
            b--;
        if (b - a == 8 && memcmp(text + a, "[common]", 8) == 0)
            return true;
        i = e + 1;
    }
    return false;
}

bool ufrpc_ini_not_legacy_reason(const char *text, size_t len, uint32_t *line, char *msg, size_t cap)
{
    return false;
}

int ufrpc_ini_to_tree(const char *text, size_t len, const char *file, bool included,
                      struct ufrpc_cfg_diag *diag, ufrpc_cv **tree)
{
    *tree = NULL;
    ufrpc_cfg_diag_add(diag, UFRPC_CFG_ERROR, UFRPC_ERR_UNSUPPORTED, file, 0,
                       "legacy INI configuration is not supported by this build "
                       "(built with UFRPC_WITH_INI=OFF); convert it to TOML");
    return UFRPC_ERR_UNSUPPORTED;
}
