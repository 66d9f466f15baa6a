/* config/yaml_off.c — replaces config/yaml_reader.c in a build with
 * UFRPC_WITH_YAML=OFF (CMakeLists.txt; no libyaml then). Contract:
 * config/yaml_reader.h. */
#include "config/yaml_reader.h"

#include "proto/error.h"

int ufrpc_yaml_read(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                    struct ufrpc_cfg_error *err)
{
    *out = NULL;
    return ufrpc_cfg_fail(err, UFRPC_ERR_UNSUPPORTED, file_name, 0, 0,
                          "YAML configuration is not supported by this build "
                          "(built with UFRPC_WITH_YAML=OFF); use TOML or JSON");
}
