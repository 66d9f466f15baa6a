/* config/cfg_internal.h — private to config/: the arena, the field descriptors that
 * drive parsing, dumping and comparison, and the load context shared by schema.c,
 * validate.c, ini.c, load.c and dump.c. Nothing outside config/ includes this. */
#ifndef UFRPC_CONFIG_CFG_INTERNAL_H
#define UFRPC_CONFIG_CFG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/value.h"

/* ---- arena: every string/array of a config; freed at once ---------------- */
struct ufrpc_cfg_arena;
/* mem: the allocator of the arena and its blocks (NULL = libc); it must outlive it. */
struct ufrpc_cfg_arena *ufrpc_cfg_arena_new(const struct ufrpc_mem *mem);
void ufrpc_cfg_arena_free(struct ufrpc_cfg_arena *a);
void *ufrpc_cfg_arena_alloc(struct ufrpc_cfg_arena *a, size_t n); /* zeroed; NULL on OOM */
char *ufrpc_cfg_arena_strndup(struct ufrpc_cfg_arena *a, const char *s, size_t n);

/* ---- field descriptors ------------------------------------------------------ */
enum ufrpc_cfg_fkind {
    UFRPC_F_END = 0,
    UFRPC_F_STR,
    UFRPC_F_INT,
    UFRPC_F_BOOL,
    UFRPC_F_STRLIST,
    UFRPC_F_MAP,       /* table of string values */
    UFRPC_F_BOOLMAP,   /* table of bool values (featureGates) */
    UFRPC_F_NVLIST,    /* array of {name, value} tables, kept as a map */
    UFRPC_F_BANDWIDTH, /* string; `aux` = offset of the int64 byte count */
    UFRPC_F_TABLE,     /* nested table, fields relative to the same base */
    UFRPC_F_STRUCT,    /* nested table, fields relative to base + off */
    UFRPC_F_TYPE,      /* the "type" discriminator: read before the others */
    UFRPC_F_PROXIES,
    UFRPC_F_VISITORS,
    UFRPC_F_ROUTES, /* array of tables → struct ufrpc_cfg_routes, `sub` per item */
};

#define UFRPC_FL_SECRET 0x1u     /* masked in dumps */
#define UFRPC_FL_URL_SECRET 0x2u /* URL: password in userinfo masked */
#define UFRPC_FL_PRESENCE 0x4u   /* TABLE/STRUCT: bool at `aux` set when present */
#define UFRPC_FL_PLUGIN 0x8u     /* STRUCT: plugin table (type decides the mask) */
#define UFRPC_FL_VPLUGIN 0x10u   /* STRUCT: visitor plugin table */

struct ufrpc_cfg_field {
    const char *key;
    uint8_t kind;
    uint8_t flags;
    uint32_t mask; /* type bits where the key exists; 0 = always */
    size_t off;
    size_t aux;
    const struct ufrpc_cfg_field *sub;
};

extern const struct ufrpc_cfg_field ufrpc_cfg_common_fields[];
extern const struct ufrpc_cfg_field ufrpc_cfg_proxy_fields[];
extern const struct ufrpc_cfg_field ufrpc_cfg_visitor_fields[];
extern const struct ufrpc_cfg_field ufrpc_cfg_plugin_fields[];
extern const struct ufrpc_cfg_field ufrpc_cfg_vplugin_fields[];

/* ---- load context ----------------------------------------------------------- */
struct ufrpc_cfg_pos_entry {
    const void *addr;
    ufrpc_cv_pos pos;
};

struct ufrpc_cfg_ctx {
    const struct ufrpc_mem *mem; /* the load's allocator (opts->mem or libc's) */
    struct ufrpc_cfg_diag *diag;
    const char *file; /* the main file's name, owned by the diag */
    bool strict;
    const char *const *envp;
    struct ufrpc_cfg_arena *arena;
    struct ufrpc_config *cfg;
    /* proxies/visitors before filtering: each one arena-allocated (stable address, so
     * the position table can refer to its fields), pointer arrays grown by doubling */
    struct ufrpc_proxy_config **proxies;
    size_t nproxies, proxies_cap;
    struct ufrpc_visitor_config **visitors;
    size_t nvisitors, visitors_cap;
    /* where each scalar came from (malloc'd; freed by the loader) */
    struct ufrpc_cfg_pos_entry *pos;
    size_t npos, pos_cap;
    int nomem; /* set on allocation failure; the load then fails with NOMEM */
};

/* Error/warning helpers bound to a position. */
void ufrpc_cfg_report(struct ufrpc_cfg_ctx *c, ufrpc_cfg_severity sev, int code, ufrpc_cv_pos pos,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The position recorded for a struct field's address, or a zero position. */
ufrpc_cv_pos ufrpc_cfg_pos_of(const struct ufrpc_cfg_ctx *c, const void *addr);
void ufrpc_cfg_pos_record(struct ufrpc_cfg_ctx *c, const void *addr, ufrpc_cv_pos pos);

/* schema.c: reads a document tree. `included` = file from `includes`: only
 * proxies and visitors allowed. Errors go to the diag; returns 0 or NOMEM. */
int ufrpc_schema_read(struct ufrpc_cfg_ctx *c, const ufrpc_cv *root, bool included);
/* Applies frpc's defaults (Complete()) to the common part and every proxy/visitor. */
void ufrpc_schema_complete(struct ufrpc_cfg_ctx *c);
void ufrpc_schema_complete_proxy(struct ufrpc_proxy_config *p);
void ufrpc_schema_complete_visitor(struct ufrpc_visitor_config *v);
/* Appends a zeroed proxy / visitor with enabled = true (NULL on OOM). */
struct ufrpc_proxy_config *ufrpc_schema_add_proxy(struct ufrpc_cfg_ctx *c);
struct ufrpc_visitor_config *ufrpc_schema_add_visitor(struct ufrpc_cfg_ctx *c);
/* Name ↔ enum; -1 when unknown. */
int ufrpc_schema_proxy_type(const char *s);
int ufrpc_schema_visitor_type(const char *s);
int ufrpc_schema_plugin_type(const char *s);
/* Initialises the common struct with the defaults that frp sets before decoding
 * (the *bool fields that default to true). */
void ufrpc_schema_init_common(struct ufrpc_config *cfg);

/* validate.c: every check; errors and warnings to the diag. */
void ufrpc_config_validate(struct ufrpc_cfg_ctx *c);
/* "not supported yet" table, run after validation. */
void ufrpc_config_report_unsupported(struct ufrpc_cfg_ctx *c);

/* template.c: renders frp's Go-template subset. *out is malloc'd (caller frees),
 * NUL-terminated. Returns 0, UFRPC_ERR_CONFIG_TEMPLATE (diag filled) or NOMEM. */
int ufrpc_cfg_template_render(const char *in, size_t len, const char *file, const char *const *envp,
                              struct ufrpc_cfg_diag *diag, char **out, size_t *out_len);
/* frp util.ParseRangeNumbers: "1000-1002,2000" → malloc'd array. 0 or <0 with a
 * message in err (>= 128 bytes). At most `limit` numbers. */
int ufrpc_cfg_parse_range_numbers(const char *s, size_t len, size_t limit, int64_t **out,
                                  size_t *n, char *err, size_t errcap);

/* ini.c: true if the text parses as INI and has a [common] section. */
bool ufrpc_ini_is_legacy(const char *text, size_t len);
/* For text that is not legacy INI although a line reads "[common]": true, with the
 * line and message of go-ini's error (why frpc does not read it as INI). */
bool ufrpc_ini_not_legacy_reason(const char *text, size_t len, uint32_t *line, char *msg, size_t cap);
/* Maps a legacy INI file to the v1 tree, as frp's legacy conversion does. For an
 * included file (`included`), [common] is ignored and only proxy/visitor sections are
 * read. Unknown keys become warnings (frpc ignores them). Returns 0,
 * UFRPC_ERR_CONFIG_* (diag filled) or NOMEM; *tree is freed by the caller. file
 * must outlive the tree (use a diag-owned name). */
int ufrpc_ini_to_tree(const char *text, size_t len, const char *file, bool included,
                      struct ufrpc_cfg_diag *diag, ufrpc_cv **tree);

/* env lookup in an envp array (or the process environment when envp is NULL). */
const char *ufrpc_cfg_getenv(const char *const *envp, const char *name, size_t name_len);

#endif
