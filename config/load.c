/* config/load.c — the public entry: file → template → format detection → tree →
 * struct, then includes, duplicate names, start/enabled filters, defaults,
 * validation and the "not supported yet" report (frp pkg/config/load.go
 * LoadClientConfig, in that order). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/cfg_internal.h"
#include "config/json_reader.h"
#include "config/toml.h"
#include "config/yaml_reader.h"
#include "proto/error.h"
#include "proto/text.h"

#define DEFAULT_MAX_FILE (8u << 20)
#define MAX_INCLUDED_FILES 1000

static void add_reader_error(struct ufrpc_cfg_diag *d, const struct ufrpc_cfg_error *e, const char *file,
                             const char *prefix)
{
    if (ufrpc_cfg_diag_add(d, UFRPC_CFG_ERROR, e->code ? e->code : UFRPC_ERR_CONFIG_SYNTAX, file, e->line,
                           "%s%s", prefix, e->msg) == 0 &&
        d->len > 0)
        d->items[d->len - 1].err.col = e->col;
}

static int read_file(const struct ufrpc_mem *mem, const char *path, size_t max, char **out, size_t *len, struct ufrpc_cfg_diag *d,
                     const char *dfile)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        ufrpc_cfg_diag_add(d, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_IO, dfile, 0, "cannot open: %s", strerror(errno));
        return UFRPC_ERR_CONFIG_IO;
    }
    size_t cap = 4096, n = 0;
    char *buf = ufrpc_mem_malloc(mem, cap);
    if (buf == NULL) {
        fclose(f);
        return UFRPC_ERR_NOMEM;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max) {
                ufrpc_mem_free(mem, buf);
                fclose(f);
                ufrpc_cfg_diag_add(d, UFRPC_CFG_ERROR, UFRPC_ERR_LIMIT, dfile, 0,
                                   "file larger than %zu bytes", max);
                return UFRPC_ERR_LIMIT;
            }
            char *nb = ufrpc_mem_realloc(mem, buf, cap * 2);
            if (nb == NULL) {
                ufrpc_mem_free(mem, buf);
                fclose(f);
                return UFRPC_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    bool err = ferror(f) != 0;
    fclose(f);
    if (err) {
        ufrpc_mem_free(mem, buf);
        ufrpc_cfg_diag_add(d, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_IO, dfile, 0, "read error");
        return UFRPC_ERR_CONFIG_IO;
    }
    if (n > max) {
        ufrpc_mem_free(mem, buf);
        ufrpc_cfg_diag_add(d, UFRPC_CFG_ERROR, UFRPC_ERR_LIMIT, dfile, 0, "file larger than %zu bytes", max);
        return UFRPC_ERR_LIMIT;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Returns 0 or the 1-based line of the first invalid UTF-8 sequence. */
static uint32_t bad_utf8_line(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t line = 1;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '\n')
            line++;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return line;
        }
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xC0) != 0x80)
                return line;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return line;
        i += k + 1;
    }
    return 0;
}

static const char *ext_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    return dot ? dot : "";
}

/* Parses a (rendered) v1 document as frp does: TOML first, then JSON if it starts
 * with '{', else YAML. JSON: in strict mode frpc decodes with a json.Decoder, which
 * stops after the top-level object (text after it is ignored: a warning here);
 * otherwise json.Unmarshal, which rejects such text. */
static int parse_v1(const struct ufrpc_mem *mem, const char *text, size_t len, const char *file,
                    bool strict, struct ufrpc_cfg_diag *d, ufrpc_cv **tree)
{
    struct ufrpc_cfg_error terr = {0}, err = {0};
    const char *ext = ext_of(file);
    int rc = ufrpc_toml_parse_mem(mem, text, len, file, tree, &terr);
    if (rc == 0 || rc == UFRPC_ERR_NOMEM)
        return rc;
    if (strcasecmp(ext, ".toml") == 0) {
        add_reader_error(d, &terr, file, "toml: ");
        return rc;
    }
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i < len && text[i] == '{') {
        struct ufrpc_cfg_error trail = {0};
        rc = ufrpc_json_read_mem(mem, text, len, file, tree, &err, strict ? &trail : NULL);
        if (rc != 0 && rc != UFRPC_ERR_NOMEM)
            add_reader_error(d, &err, file, "json: ");
        if (rc == 0 && trail.code != 0 &&
            ufrpc_cfg_diag_add(d, UFRPC_CFG_WARNING, trail.code, file, trail.line,
                               "json: %s (as frpc does in strict mode)", trail.msg) == 0 &&
            d->len > 0)
            d->items[d->len - 1].err.col = trail.col;
        return rc;
    }
    rc = ufrpc_yaml_read(text, len, file, tree, &err);
    if (rc != 0 && rc != UFRPC_ERR_NOMEM) {
        add_reader_error(d, &err, file, "yaml: ");
        if (strcasecmp(ext, ".yaml") != 0 && strcasecmp(ext, ".yml") != 0 && strcasecmp(ext, ".json") != 0)
            add_reader_error(d, &terr, file, "(as TOML) ");
    }
    return rc;
}

/* Reads, checks the encoding, renders and parses one file (or buffer). */
static int load_text(struct ufrpc_cfg_ctx *c, const char *raw, size_t rlen, const char *file, bool included,
                     bool *legacy, ufrpc_cv **tree)
{
    *tree = NULL;
    uint32_t bad = bad_utf8_line(raw, rlen);
    if (bad) {
        ufrpc_cfg_diag_add(c->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_ENCODING, file, bad,
                           "invalid UTF-8 (configuration files must be UTF-8)");
        return UFRPC_ERR_CONFIG_ENCODING;
    }
    if (!included)
        *legacy = ufrpc_ini_is_legacy(raw, rlen);
    char *text;
    size_t len;
    int rc = ufrpc_cfg_template_render(raw, rlen, file, c->envp, c->diag, &text, &len);
    if (rc != 0)
        return rc;
    if (*legacy)
        rc = ufrpc_ini_to_tree(text, len, file, included, c->diag, tree);
    else
        rc = parse_v1(c->mem, text, len, file, c->strict, c->diag, tree);
    if (rc != 0 && rc != UFRPC_ERR_NOMEM && !*legacy && !included) {
        uint32_t line;
        char why[160];
        if (ufrpc_ini_not_legacy_reason(raw, rlen, &line, why, sizeof why))
            ufrpc_cfg_diag_add(c->diag, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_SYNTAX, file, line,
                               "not read as legacy INI despite its [common] section (as frpc): %s", why);
    }
    free(text);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* frp LoadAdditionalClientConfigs: the directory part of each pattern must exist;
 * its regular files whose names match the last component are loaded in name order. */
static int load_includes(struct ufrpc_cfg_ctx *c, bool legacy, size_t max)
{
    const struct ufrpc_cfg_strlist *inc = &c->cfg->includes;
    int first = 0;
    size_t loaded = 0;
    for (size_t i = 0; i < inc->len && !c->nomem; i++) {
        const char *pat = inc->items[i];
        ufrpc_cv_pos ipos = ufrpc_cfg_pos_of(c, inc);
        const char *slash = strrchr(pat, '/');
        char dir[4096];
        const char *base;
        if (slash == NULL) {
            snprintf(dir, sizeof dir, ".");
            base = pat;
        } else {
            size_t dl = (size_t)(slash - pat);
            if (dl >= sizeof dir) {
                ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_VALUE, ipos, "include: path too long");
                continue;
            }
            memcpy(dir, pat, dl);
            dir[dl] = '\0';
            if (dl == 0)
                snprintf(dir, sizeof dir, "/");
            base = slash + 1;
        }
        DIR *dh = opendir(dir);
        if (dh == NULL) {
            ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_IO, ipos, "include: directory of %.200s not exist",
                             pat);
            if (!first)
                first = UFRPC_ERR_CONFIG_IO;
            continue;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(dh)) != NULL) {
            if (ufrpc_go_path_match(base, de->d_name) != 1) /* frp: filepath.Match, errors ignored */
                continue;
            char full[4352];
            snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
            struct stat st;
            if (stat(full, &st) != 0 || S_ISDIR(st.st_mode))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                char **nn = ufrpc_mem_realloc(c->mem, names, cap * sizeof *nn);
                if (nn == NULL) {
                    c->nomem = 1;
                    break;
                }
                names = nn;
            }
            names[n] = ufrpc_mem_strdup(c->mem, full);
            if (names[n] == NULL) {
                c->nomem = 1;
                break;
            }
            n++;
        }
        closedir(dh);
        if (n > 1)
            qsort(names, n, sizeof *names, cmp_str);
        for (size_t k = 0; k < n && !c->nomem; k++) {
            if (++loaded > MAX_INCLUDED_FILES) {
                ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_LIMIT, ipos, "include: more than %d files",
                                 MAX_INCLUDED_FILES);
                break;
            }
            const char *dfile = ufrpc_cfg_diag_file(c->diag, names[k]);
            if (dfile == NULL) {
                c->nomem = 1;
                break;
            }
            char *raw;
            size_t rlen;
            int rc = read_file(c->mem, names[k], max, &raw, &rlen, c->diag, dfile);
            if (rc == 0) {
                ufrpc_cv *tree = NULL;
                bool lg = legacy;
                rc = load_text(c, raw, rlen, dfile, true, &lg, &tree);
                ufrpc_mem_free(c->mem, raw);
                if (rc == 0 && tree != NULL)
                    rc = ufrpc_schema_read(c, tree, true);
                ufrpc_cv_free(tree);
            }
            if (rc == UFRPC_ERR_NOMEM)
                c->nomem = 1;
            else if (rc != 0 && !first)
                first = rc;
        }
        for (size_t k = 0; k < n; k++)
            ufrpc_mem_free(c->mem, names[k]);
        ufrpc_mem_free(c->mem, names);
    }
    return c->nomem ? UFRPC_ERR_NOMEM : first;
}

/* store.path (frp cmd/frpc/sub/root.go, pkg/config/source/store.go): a relative path
 * is taken from the config file's directory; a missing file is an empty store; the
 * file is frp's JSON {"proxies":[...],"visitors":[...]}, read without strictness
 * (frpc decodes it with unknown fields allowed). Its entries are marked from_store. */
static int load_store(struct ufrpc_cfg_ctx *c, size_t max)
{
    const char *sp = c->cfg->store.path;
    ufrpc_cv_pos spos = ufrpc_cfg_pos_of(c, &c->cfg->store.path);
    if (sp[0] != '/') {
        const char *slash = strrchr(c->file, '/');
        size_t dl = slash ? (size_t)(slash - c->file) : 0;
        size_t need = dl + 1 + strlen(sp) + 1;
        char *full = ufrpc_cfg_arena_alloc(c->arena, need);
        if (full == NULL)
            return UFRPC_ERR_NOMEM;
        if (slash != NULL)
            snprintf(full, need, "%.*s/%s", (int)dl, c->file, sp);
        else
            snprintf(full, need, "%s", sp);
        c->cfg->store.path = sp = full;
    }
    struct stat st;
    if (stat(sp, &st) != 0 && errno == ENOENT)
        return 0;
    const char *dfile = ufrpc_cfg_diag_file(c->diag, sp);
    if (dfile == NULL)
        return UFRPC_ERR_NOMEM;
    char *raw;
    size_t rlen;
    int rc = read_file(c->mem, sp, max, &raw, &rlen, c->diag, dfile);
    if (rc != 0)
        return rc;
    ufrpc_cv *tree = NULL;
    struct ufrpc_cfg_error err = {0};
    rc = ufrpc_json_read_mem(c->mem, raw, rlen, dfile, &tree, &err, NULL);
    ufrpc_mem_free(c->mem, raw);
    if (rc != 0) {
        if (rc != UFRPC_ERR_NOMEM)
            add_reader_error(c->diag, &err, dfile, "store: failed to parse JSON: ");
        return rc;
    }
    if (tree->type != UFRPC_CV_TABLE) {
        ufrpc_cv_free(tree);
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_SYNTAX, spos,
                         "store: %s is not a JSON object", sp);
        return UFRPC_ERR_CONFIG_SYNTAX;
    }
    size_t p0 = c->nproxies, v0 = c->nvisitors;
    bool strict = c->strict;
    c->strict = false;
    rc = ufrpc_schema_read(c, tree, true);
    c->strict = strict;
    ufrpc_cv_free(tree);
    for (size_t i = p0; i < c->nproxies; i++)
        c->proxies[i]->from_store = true;
    for (size_t i = v0; i < c->nvisitors; i++)
        c->visitors[i]->from_store = true;
    return rc;
}

/* frp's aggregator: a store entry replaces a config-file entry of the same name. */
static void store_overrides(struct ufrpc_cfg_ctx *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nproxies; i++) {
        bool shadowed = false;
        for (size_t j = 0; j < c->nproxies && !c->proxies[i]->from_store && !shadowed; j++)
            shadowed = c->proxies[j]->from_store &&
                       strcmp(ufrpc_cfg_str(c->proxies[j]->name), ufrpc_cfg_str(c->proxies[i]->name)) == 0;
        if (!shadowed)
            c->proxies[k++] = c->proxies[i];
    }
    c->nproxies = k;
    k = 0;
    for (size_t i = 0; i < c->nvisitors; i++) {
        bool shadowed = false;
        for (size_t j = 0; j < c->nvisitors && !c->visitors[i]->from_store && !shadowed; j++)
            shadowed = c->visitors[j]->from_store &&
                       strcmp(ufrpc_cfg_str(c->visitors[j]->name), ufrpc_cfg_str(c->visitors[i]->name)) == 0;
        if (!shadowed)
            c->visitors[k++] = c->visitors[i];
    }
    c->nvisitors = k;
}

struct named {
    const char *name;
    size_t idx;
};

static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r != 0 ? r : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

/* frp validateNoDuplicateNames (before the filters), sorted so large configs stay fast */
static void check_dup_list(struct ufrpc_cfg_ctx *c, void **items, size_t n, bool visitors)
{
    if (n < 2)
        return;
    struct named *v = ufrpc_mem_malloc(c->mem, n * sizeof *v);
    if (v == NULL) {
        c->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *nm = visitors ? ((struct ufrpc_visitor_config *)items[i])->name
                                  : ((struct ufrpc_proxy_config *)items[i])->name;
        v[i] = (struct named){ufrpc_cfg_str(nm), i};
    }
    qsort(v, n, sizeof *v, named_cmp);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i].name, v[i - 1].name) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && strcmp(v[first - 1].name, v[i].name) == 0)
            first--;
        const char *f1, *f2;
        uint32_t l1, l2;
        if (visitors) {
            const struct ufrpc_visitor_config *a = items[v[first].idx], *b = items[v[i].idx];
            f1 = a->source_file, l1 = a->source_line, f2 = b->source_file, l2 = b->source_line;
        } else {
            const struct ufrpc_proxy_config *a = items[v[first].idx], *b = items[v[i].idx];
            f1 = a->source_file, l1 = a->source_line, f2 = b->source_file, l2 = b->source_line;
        }
        ufrpc_cfg_report(c, UFRPC_CFG_ERROR, UFRPC_ERR_CONFIG_DUPLICATE, (ufrpc_cv_pos){f2, l2, 0},
                         "%s name [%.100s] is duplicated (first defined at %s:%u)", visitors ? "visitor" : "proxy",
                         v[i].name, ufrpc_cfg_str(f1), l1);
    }
    ufrpc_mem_free(c->mem, v);
}

static void check_duplicates(struct ufrpc_cfg_ctx *c)
{
    check_dup_list(c, (void **)c->proxies, c->nproxies, false);
    check_dup_list(c, (void **)c->visitors, c->nvisitors, true);
}

static bool in_start(const struct ufrpc_cfg_strlist *start, const char *name)
{
    if (start->len == 0)
        return true;
    for (size_t i = 0; i < start->len; i++)
        if (strcmp(start->items[i], ufrpc_cfg_str(name)) == 0)
            return true;
    return false;
}

/* start and enabled filters, in place on the pointer arrays */
static void filter(struct ufrpc_cfg_ctx *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nproxies; i++)
        if (c->proxies[i]->enabled && in_start(&c->cfg->start, c->proxies[i]->name))
            c->proxies[k++] = c->proxies[i];
    c->nproxies = k;
    k = 0;
    for (size_t i = 0; i < c->nvisitors; i++)
        if (c->visitors[i]->enabled && in_start(&c->cfg->start, c->visitors[i]->name))
            c->visitors[k++] = c->visitors[i];
    c->nvisitors = k;
}

static int finish(struct ufrpc_cfg_ctx *c)
{
    struct ufrpc_config *g = c->cfg;
    g->proxies = ufrpc_cfg_arena_alloc(c->arena, (c->nproxies + 1) * sizeof *g->proxies);
    g->visitors = ufrpc_cfg_arena_alloc(c->arena, (c->nvisitors + 1) * sizeof *g->visitors);
    if (g->proxies == NULL || g->visitors == NULL)
        return UFRPC_ERR_NOMEM;
    for (size_t i = 0; i < c->nproxies; i++)
        g->proxies[i] = *c->proxies[i];
    for (size_t i = 0; i < c->nvisitors; i++)
        g->visitors[i] = *c->visitors[i];
    g->nproxies = c->nproxies;
    g->nvisitors = c->nvisitors;
    return 0;
}

/* Copies proxy/visitor source file names into the arena (diag-owned names must not
 * be referenced by the config, which may outlive the diag). */
static void own_file_names(struct ufrpc_cfg_ctx *c)
{
    const char *last_in = NULL, *last_out = NULL;
    for (size_t i = 0; i < c->nproxies + c->nvisitors && !c->nomem; i++) {
        const char **f = i < c->nproxies ? &c->proxies[i]->source_file
                                         : &c->visitors[i - c->nproxies]->source_file;
        if (*f == NULL)
            continue;
        if (*f != last_in) {
            last_in = *f;
            last_out = ufrpc_cfg_arena_strndup(c->arena, *f, strlen(*f));
            if (last_out == NULL)
                c->nomem = 1;
        }
        *f = last_out;
    }
}

int ufrpc_config_load_buffer(const char *text, size_t len, const char *name,
                             const struct ufrpc_config_load_opts *opts, struct ufrpc_config **out,
                             struct ufrpc_cfg_diag *diag)
{
    struct ufrpc_config_load_opts dflt = {0};
    if (opts == NULL)
        opts = &dflt;
    *out = NULL;
    size_t errors_before = diag->errors, items_before = diag->len;
    size_t max = opts->max_file_size ? opts->max_file_size : DEFAULT_MAX_FILE;
    const char *file = ufrpc_cfg_diag_file(diag, name != NULL ? name : "<config>");
    if (file == NULL)
        return UFRPC_ERR_NOMEM;
    if (len > max) {
        ufrpc_cfg_diag_add(diag, UFRPC_CFG_ERROR, UFRPC_ERR_LIMIT, file, 0, "file larger than %zu bytes", max);
        return UFRPC_ERR_LIMIT;
    }
    struct ufrpc_cfg_ctx c = {.mem = ufrpc_mem_or_default(opts->mem), .diag = diag, .file = file,
                              .strict = !opts->non_strict, .envp = opts->envp};
    c.arena = ufrpc_cfg_arena_new(c.mem);
    if (c.arena == NULL)
        return UFRPC_ERR_NOMEM;
    c.cfg = ufrpc_cfg_arena_alloc(c.arena, sizeof *c.cfg);
    if (c.cfg == NULL) {
        ufrpc_cfg_arena_free(c.arena);
        return UFRPC_ERR_NOMEM;
    }
    ufrpc_schema_init_common(c.cfg);
    c.cfg->arena_ = c.arena;
    c.cfg->source_file = ufrpc_cfg_arena_strndup(c.arena, file, strlen(file));

    bool legacy = false;
    ufrpc_cv *tree = NULL;
    int rc = load_text(&c, text, len, file, false, &legacy, &tree);
    c.cfg->legacy_ini = legacy;
    if (legacy)
        ufrpc_cfg_diag_add(diag, UFRPC_CFG_NOTICE, 0, file, 0, "%s", UFRPC_CONFIG_INI_DEPRECATED);
    if (tree != NULL && rc != UFRPC_ERR_NOMEM) {
        int r2 = ufrpc_schema_read(&c, tree, false);
        if (r2 != 0)
            rc = r2;
    }
    ufrpc_cv_free(tree);
    if (rc == 0 && !c.nomem && c.cfg->includes.len > 0)
        rc = load_includes(&c, legacy, max);
    if (rc == 0 && !c.nomem && c.cfg->store.path != NULL && c.cfg->store.path[0] != '\0' &&
        !opts->no_store) {
        rc = load_store(&c, max);
        if (rc == 0)
            store_overrides(&c);
    }
    if (rc != UFRPC_ERR_NOMEM && !c.nomem && c.cfg->source_file != NULL) {
        if (rc == 0) {
            check_duplicates(&c);
            filter(&c);
            ufrpc_schema_complete(&c);
            ufrpc_config_validate(&c);
            ufrpc_config_report_unsupported(&c);
        }
        own_file_names(&c);
    }
    ufrpc_mem_free(c.mem, c.pos);
    if (c.nomem || c.cfg->source_file == NULL)
        rc = UFRPC_ERR_NOMEM;
    if (rc == 0 && diag->errors > errors_before) {
        rc = UFRPC_ERR_CONFIG_VALUE;
        for (size_t i = items_before; i < diag->len; i++)
            if (diag->items[i].severity == UFRPC_CFG_ERROR) {
                rc = diag->items[i].err.code < 0 ? diag->items[i].err.code : UFRPC_ERR_CONFIG_VALUE;
                break;
            }
    }
    if (rc == 0)
        rc = finish(&c);
    if (rc != 0) {
        ufrpc_cfg_arena_free(c.arena);
        return rc;
    }
    *out = c.cfg;
    return 0;
}

int ufrpc_config_load(const char *path, const struct ufrpc_config_load_opts *opts, struct ufrpc_config **out,
                      struct ufrpc_cfg_diag *diag)
{
    *out = NULL;
    size_t max = opts && opts->max_file_size ? opts->max_file_size : DEFAULT_MAX_FILE;
    const char *dfile = ufrpc_cfg_diag_file(diag, path);
    if (dfile == NULL)
        return UFRPC_ERR_NOMEM;
    char *text;
    size_t len;
    const struct ufrpc_mem *mem = ufrpc_mem_or_default(opts != NULL ? opts->mem : NULL);
    int rc = read_file(mem, path, max, &text, &len, diag, dfile);
    if (rc != 0)
        return rc;
    rc = ufrpc_config_load_buffer(text, len, path, opts, out, diag);
    ufrpc_mem_free(mem, text);
    return rc;
}

void ufrpc_config_free(struct ufrpc_config *cfg)
{
    if (cfg != NULL)
        ufrpc_cfg_arena_free(cfg->arena_);
}
