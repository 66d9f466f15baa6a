/* libFuzzer: the full load-from-memory path (template, format detection, TOML/JSON/
 * YAML/INI readers, schema, validation, dump and equality of what loads). The first
 * byte picks strictness and the name's extension hint. */
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const char *const names[] = {"f", "f.toml", "f.yaml", "f.json"};
    static const char *const env[] = {"A=1", "http_proxy=http://u:p@h:1", NULL};
    struct ufrpc_config_load_opts o = {.envp = env, .non_strict = data[0] & 1};
    struct ufrpc_cfg_diag d;
    ufrpc_cfg_diag_init(&d);
    struct ufrpc_config *cfg = NULL;
    if (ufrpc_config_load_buffer((const char *)data + 1, size - 1, names[(data[0] >> 1) & 3], &o, &cfg, &d) == 0) {
        FILE *f = fopen("/dev/null", "w");
        if (f != NULL) {
            ufrpc_config_dump(cfg, f, data[0] & 8);
            ufrpc_cfg_diag_print(&d, f);
            fclose(f);
        }
        if (!ufrpc_config_equal(cfg, cfg))
            abort();
        ufrpc_config_free(cfg);
    }
    ufrpc_cfg_diag_free(&d);
    return 0;
}
