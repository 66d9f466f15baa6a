/* libFuzzer: the legacy INI loader (detection, go-ini compatible reader, mapping,
 * range expansion) and then the full schema on the result. */
#include <stddef.h>
#include <stdint.h>

#include "config/cfg_internal.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    ufrpc_cv *tree = NULL;
    (void)ufrpc_ini_is_legacy((const char *)data, size);
    ufrpc_ini_to_tree((const char *)data, size, "fuzz.ini", false, &d, &tree);
    ufrpc_cv_free(tree);
    /* the whole path, with the [common] header forced so INI is chosen */
    static const char *const env[] = {"A=1", NULL};
    struct ufrpc_config_load_opts o = {.envp = env};
    struct ufrpc_config *cfg = NULL;
    if (ufrpc_config_load_buffer((const char *)data, size, "fuzz.ini", &o, &cfg, &d) == 0)
        ufrpc_config_free(cfg);
    ufrpc_cfg_diag_free(&d);
    return 0;
}
