/* config/tools/toml_tagged.h — toml-test's "tagged JSON" view of a ufrpc_cv tree.
 * Shared by toml-test-decoder and the in-process suite runner (tests/toml_suite);
 * not part of the ufrpc library. */
#ifndef UFRPC_CONFIG_TOOLS_TOML_TAGGED_H
#define UFRPC_CONFIG_TOOLS_TOML_TAGGED_H

#include <json-c/json.h>

#include "config/value.h"

/* Tables -> objects, arrays -> arrays, scalars -> {"type": T, "value": "V"}.
 * Returns a new json-c object (caller json_object_put()s it) or NULL on
 * allocation failure. Keys containing NUL bytes are cut at the NUL (json-c keys
 * are C strings). */
json_object *ufrpc_toml_tagged(const ufrpc_cv *v);

#endif
