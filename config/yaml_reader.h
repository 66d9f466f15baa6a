/* config/yaml_reader.h — YAML config reader (libyaml events) -> ufrpc_cv tree.
 *
 * Matches what frp gets from sigs.k8s.io/yaml (go-yaml v2 resolution, then JSON):
 * - plain scalars resolve like YAML 1.1 / go-yaml v2: null (~, null, empty),
 *   bools (true/false/yes/no/on/off/y/n in their three casings), integers
 *   (Go strconv base-0 syntax after removing '_': 0x.., 0o.., 0b.., leading-0
 *   octal), floats (decimal forms, .inf/.nan), anything else a string;
 *   timestamps stay strings. Quoted scalars and !!str are strings.
 * - mapping keys are scalars converted to their string form ("true", "10", "null").
 * - anchors/aliases are expanded (at most UFRPC_YAML_MAX_ALIAS_NODES nodes in all
 *   may come from aliases: an alias bomb fails with UFRPC_ERR_CONFIG_VALUE);
 *   merge keys "<<" (a mapping or a list of mappings) are applied: explicit keys
 *   win, then earlier merge sources.
 * - duplicate keys in one mapping are an error (frpc loads YAML strictly).
 * - a member whose value is null is dropped (Go leaves the field unset); null in a
 *   sequence is rejected; top-level keys starting with '.' are dropped (frp's
 *   convention for anchor-holding blocks).
 * - only the first document is read; the root must be a mapping (an empty
 *   document gives an empty table).
 * Depth is limited to UFRPC_YAML_MAX_DEPTH (UFRPC_ERR_CONFIG_DEPTH).
 * Ownership as in config/toml.h.
 */
#ifndef UFRPC_CONFIG_YAML_READER_H
#define UFRPC_CONFIG_YAML_READER_H

#include <stddef.h>

#include "config/cfg_error.h"
#include "config/value.h"

#define UFRPC_YAML_MAX_DEPTH 128
#define UFRPC_YAML_MAX_ALIAS_NODES 100000
#define UFRPC_YAML_MAX_ANCHORS 10000

int ufrpc_yaml_read(const char *text, size_t len, const char *file_name, ufrpc_cv **out,
                    struct ufrpc_cfg_error *err);

#endif
