/* config/ini_parse.c — go-ini compatible INI reader, see config/ini_parse.h. */
#include "config/ini_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/error.h"

struct ufrpc_ini_slot {
    uint32_t sec; /* section index + 1; 0 = empty slot */
    uint32_t key; /* key index + 1; 0 = the section itself */
};

/* ---------------------------------------------------------------- text helpers */

struct span {
    const char *p;
    size_t n;
};

/* Length of the Unicode white-space character at p[0..n) (Go's unicode.IsSpace),
 * 0 when there is none. */
static size_t space_at(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r'))
        return 1;
    if (n >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
        return 2;
    if (n < 3)
        return 0;
    if (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80)
        return 3; /* U+1680 */
    if (p[0] == 0xE2 && p[1] == 0x80 &&
        ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
        return 3; /* U+2000..200A, 2028, 2029, 202F */
    if (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F)
        return 3; /* U+205F */
    if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
        return 3; /* U+3000 */
    return 0;
}

static struct span trim_left(struct span s)
{
    size_t k;
    while ((k = space_at((const unsigned char *)s.p, s.n)) != 0) {
        s.p += k;
        s.n -= k;
    }
    return s;
}

static struct span trim(struct span s)
{
    s = trim_left(s);
    for (;;) {
        size_t k = 0;
        for (size_t w = 1; w <= 3 && w <= s.n && k == 0; w++)
            if (space_at((const unsigned char *)s.p + s.n - w, w) == w)
                k = w;
        if (k == 0)
            return s;
        s.n -= k;
    }
}

static const char *find(struct span s, const char *needle, size_t nn)
{
    if (nn > s.n)
        return NULL;
    for (size_t i = 0; i + nn <= s.n; i++)
        if (memcmp(s.p + i, needle, nn) == 0)
            return s.p + i;
    return NULL;
}

static const char *rfind(struct span s, const char *needle, size_t nn)
{
    if (nn > s.n)
        return NULL;
    for (size_t i = s.n - nn + 1; i-- > 0;)
        if (memcmp(s.p + i, needle, nn) == 0)
            return s.p + i;
    return NULL;
}

static const char *find_any(struct span s, const char *set)
{
    for (size_t i = 0; i < s.n; i++)
        if (strchr(set, s.p[i]) != NULL && s.p[i] != '\0')
            return s.p + i;
    return NULL;
}

static bool starts3(struct span s, const char *q)
{
    return s.n >= 3 && memcmp(s.p, q, 3) == 0;
}

/* ---------------------------------------------------------------- growable string */

struct sbuf {
    char *p;
    size_t n, cap;
};

static int sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->cap - b->n <= n) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap - b->n <= n) {
            if (cap > SIZE_MAX / 2)
                return UFRPC_ERR_NOMEM;
            cap *= 2;
        }
        char *q = realloc(b->p, cap);
        if (q == NULL)
            return UFRPC_ERR_NOMEM;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

/* ---------------------------------------------------------------- the reader */

struct rd {
    const char *text;
    size_t len, pos;
    uint32_t line; /* of the line last read */
    bool eof;      /* the last read reached the end without a '\n' (go-ini's isEOF) */
    const struct ufrpc_ini_opts *opts;
    struct ufrpc_ini_doc *doc;
    size_t cur;     /* current section */
    uint32_t count; /* "-" auto-increment counter */
    uint32_t *err_line;
    char *err;
    size_t errcap;
};

/* go-ini readUntil('\n'): the next line including its '\n'. */
static struct span next_line(struct rd *r)
{
    struct span s = {r->text + r->pos, 0};
    const char *nl = memchr(s.p, '\n', r->len - r->pos);
    if (nl == NULL) {
        s.n = r->len - r->pos;
        r->eof = true;
    } else {
        s.n = (size_t)(nl - s.p) + 1;
    }
    r->pos += s.n;
    r->line++;
    return s;
}

static int syntax(struct rd *r, uint32_t line, const char *what, struct span ctx)
{
    struct span t = trim(ctx);
    if (r->err_line != NULL)
        *r->err_line = line;
    if (r->err != NULL && r->errcap > 0)
        snprintf(r->err, r->errcap, "%s: %.*s%s", what, (int)(t.n > 60 ? 60 : t.n), t.p,
                 t.n > 60 ? "..." : "");
    return UFRPC_ERR_CONFIG_SYNTAX;
}

/* ---------------------------------------------------------------- index */

static uint64_t hash(const char *s, size_t sec_plus1)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)sec_plus1 * 0x9E3779B97F4A7C15ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static const char *slot_name(const struct ufrpc_ini_doc *d, const struct ufrpc_ini_slot *e)
{
    const struct ufrpc_ini_section *s = &d->secs[e->sec - 1];
    return e->key ? s->keys[e->key - 1].name : s->name;
}

/* Slot for name (in section sec for a key, sec = SIZE_MAX for a section): the one
 * holding it, or the empty one where it would go. */
static struct ufrpc_ini_slot *lookup(const struct ufrpc_ini_doc *d, const char *name, size_t sec)
{
    size_t h = (size_t)hash(name, sec == SIZE_MAX ? 0 : sec + 1), mask = d->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct ufrpc_ini_slot *e = &d->slots[i];
        if (e->sec == 0)
            return e;
        bool is_key = e->key != 0;
        if ((sec == SIZE_MAX ? !is_key : (is_key && e->sec - 1 == sec)) &&
            strcmp(slot_name(d, e), name) == 0)
            return e;
    }
}

static int grow_index(struct ufrpc_ini_doc *d)
{
    if ((d->nused + 1) * 2 <= d->nslots)
        return 0;
    size_t n = d->nslots ? d->nslots * 2 : 64;
    if (n > SIZE_MAX / sizeof *d->slots / 2)
        return UFRPC_ERR_NOMEM;
    struct ufrpc_ini_slot *old = d->slots;
    size_t on = d->nslots;
    d->slots = calloc(n, sizeof *d->slots);
    if (d->slots == NULL) {
        d->slots = old;
        return UFRPC_ERR_NOMEM;
    }
    d->nslots = n;
    for (size_t i = 0; i < on; i++) {
        if (old[i].sec == 0)
            continue;
        size_t sec = old[i].key ? old[i].sec - 1 : SIZE_MAX;
        *lookup(d, slot_name(d, &old[i]), sec) = old[i];
    }
    free(old);
    return 0;
}

/* ---------------------------------------------------------------- doc building */

static int new_section(struct rd *r, const char *name, size_t n, uint32_t line)
{
    struct ufrpc_ini_doc *d = r->doc;
    char *nm = malloc(n + 1);
    if (nm == NULL || grow_index(d) != 0) {
        free(nm);
        return UFRPC_ERR_NOMEM;
    }
    memcpy(nm, name, n);
    nm[n] = '\0';
    struct ufrpc_ini_slot *e = lookup(d, nm, SIZE_MAX);
    if (e->sec != 0) { /* reopened */
        r->cur = e->sec - 1;
        free(nm);
        return 0;
    }
    if (d->nsecs == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        struct ufrpc_ini_section *ns = cap < UINT32_MAX ? realloc(d->secs, cap * sizeof *ns) : NULL;
        if (ns == NULL) {
            free(nm);
            return UFRPC_ERR_NOMEM;
        }
        d->secs = ns;
        d->cap = cap;
    }
    d->secs[d->nsecs] = (struct ufrpc_ini_section){.name = nm, .line = line};
    *e = (struct ufrpc_ini_slot){(uint32_t)d->nsecs + 1, 0};
    d->nused++;
    r->cur = d->nsecs++;
    return 0;
}

/* Takes ownership of name and value (malloc'd) in every case. */
static int new_key(struct rd *r, char *name, char *value, uint32_t line)
{
    struct ufrpc_ini_doc *d = r->doc;
    struct ufrpc_ini_section *s = &d->secs[r->cur];
    if (grow_index(d) != 0)
        goto nomem;
    struct ufrpc_ini_slot *e = lookup(d, name, r->cur);
    if (e->sec != 0) { /* last value wins, first position kept */
        struct ufrpc_ini_key *k = &s->keys[e->key - 1];
        free(k->value);
        free(name);
        k->value = value;
        k->line = line;
        return 0;
    }
    if (s->nkeys == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct ufrpc_ini_key *nk = cap < UINT32_MAX ? realloc(s->keys, cap * sizeof *nk) : NULL;
        if (nk == NULL)
            goto nomem;
        s->keys = nk;
        s->cap = cap;
    }
    s->keys[s->nkeys] = (struct ufrpc_ini_key){name, value, line};
    *e = (struct ufrpc_ini_slot){(uint32_t)r->cur + 1, (uint32_t)s->nkeys + 1};
    d->nused++;
    s->nkeys++;
    return 0;
nomem:
    free(name);
    free(value);
    return UFRPC_ERR_NOMEM;
}

/* ---------------------------------------------------------------- values */

static bool surrounded(struct span s, char q)
{
    return s.n >= 2 && s.p[0] == q && s.p[s.n - 1] == q && memchr(s.p + 1, q, s.n - 2) == NULL;
}

/* go-ini readValue on `in` (the rest of the line after the delimiter, '\n'
 * included); may read more lines. key_line is the line of the key. */
static int read_value(struct rd *r, struct span in, uint32_t key_line, struct sbuf *out)
{
    struct span line = trim_left(in);
    if (line.n == 0)
        return sb_add(out, "", 0);
    const char *q = NULL;
    size_t ql = 0;
    if (line.n > 3 && starts3(line, "\"\"\"")) {
        q = "\"\"\"";
        ql = 3;
    } else if (line.p[0] == '`') {
        q = "`";
        ql = 1;
    }
    if (q != NULL) {
        struct span body = {line.p + ql, line.n - ql};
        const char *end = rfind(body, q, ql);
        if (end != NULL)
            return sb_add(out, body.p, (size_t)(end - body.p));
        int rc = sb_add(out, body.p, body.n); /* multi-line: newlines kept */
        while (rc == 0) {
            if (r->eof)
                return syntax(r, key_line, "missing closing quote of a multi-line value", line);
            struct span next = next_line(r);
            end = rfind(next, q, ql);
            if (end != NULL)
                return sb_add(out, next.p, (size_t)(end - next.p));
            rc = sb_add(out, next.p, next.n);
        }
        return rc;
    }
    line = trim(line);
    if (line.p[line.n - 1] == '\\') { /* continuation */
        int rc = sb_add(out, line.p, line.n - 1);
        while (rc == 0 && !(r->eof && r->pos >= r->len)) {
            struct span next = trim(next_line(r));
            if (next.n == 0)
                break;
            if (next.p[next.n - 1] != '\\')
                return sb_add(out, next.p, next.n);
            rc = sb_add(out, next.p, next.n - 1);
        }
        return rc;
    }
    if (!r->opts->frp) {
        const char *c = find_any(line, "#;");
        if (c != NULL) {
            line.n = (size_t)(c - line.p);
            line = trim(line);
        }
    }
    if (surrounded(line, '\'') || surrounded(line, '"')) {
        line.p++;
        line.n -= 2;
    }
    return sb_add(out, line.p, line.n);
}

/* ---------------------------------------------------------------- lines */

static int key_line(struct rd *r, struct span line)
{
    uint32_t at = r->line;
    struct span name;
    size_t vstart;
    const char *q = NULL;
    size_t ql = 0;
    if (line.p[0] == '"') {
        q = line.n > 6 && starts3(line, "\"\"\"") ? "\"\"\"" : "\"";
        ql = strlen(q);
    } else if (line.p[0] == '`') {
        q = "`";
        ql = 1;
    }
    const char *delim;
    if (q != NULL) {
        const char *close = find((struct span){line.p + ql, line.n - ql}, q, ql);
        if (close == NULL)
            return syntax(r, at, "missing closing key quote", line);
        const char *after = close + ql;
        delim = find_any((struct span){after, (size_t)(line.p + line.n - after)}, "=:");
        name = trim((struct span){line.p + ql, (size_t)(close - line.p) - ql});
    } else {
        delim = find_any(line, "=:");
        if (delim == line.p)
            return syntax(r, at, "empty key name", line);
        name = trim((struct span){line.p, delim ? (size_t)(delim - line.p) : 0});
    }
    struct sbuf v = {0}, k = {0};
    int rc;
    if (delim == NULL) {
        if (!r->opts->frp)
            return syntax(r, at, "key-value delimiter not found", line);
        /* AllowBooleanKeys: the whole line, read as a value, is the key */
        rc = read_value(r, line, at, &k);
        if (rc == 0)
            rc = sb_add(&v, "true", 4);
    } else {
        vstart = (size_t)(delim - line.p) + 1;
        rc = sb_add(&k, name.p, name.n);
        if (rc == 0)
            rc = read_value(r, (struct span){line.p + vstart, line.n - vstart}, at, &v);
    }
    if (rc == 0 && k.n == 0)
        rc = syntax(r, at, "empty key name", line);
    if (rc == 0 && (memchr(k.p, '\0', k.n) != NULL || memchr(v.p, '\0', v.n) != NULL))
        rc = syntax(r, at, "NUL byte in a key or value", line);
    if (rc == 0 && strcmp(k.p, "-") == 0) {
        char auto_name[16];
        int n = snprintf(auto_name, sizeof auto_name, "#%u", (unsigned)r->count++);
        k.n = 0;
        rc = sb_add(&k, auto_name, (size_t)n);
    }
    if (rc != 0) {
        free(k.p);
        free(v.p);
        return rc;
    }
    return new_key(r, k.p, v.p, at);
}

int ufrpc_ini_parse(const char *text, size_t len, const struct ufrpc_ini_opts *opts,
                    struct ufrpc_ini_doc *doc, uint32_t *err_line, char *err, size_t errcap)
{
    static const struct ufrpc_ini_opts defaults = {0};
    memset(doc, 0, sizeof *doc);
    if (err_line != NULL)
        *err_line = 0;
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    struct rd r = {.text = text,
                   .len = len,
                   .opts = opts ? opts : &defaults,
                   .doc = doc,
                   .count = 1,
                   .err_line = err_line,
                   .err = err,
                   .errcap = errcap};
    const unsigned char *u = (const unsigned char *)text;
    if (len >= 2 && ((u[0] == 0xFE && u[1] == 0xFF) || (u[0] == 0xFF && u[1] == 0xFE)))
        r.pos = 2;
    else if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF)
        r.pos = 3;
    int rc = new_section(&r, "DEFAULT", 7, 0);
    while (rc == 0 && !r.eof) {
        struct span line = trim_left(next_line(&r));
        if (line.n == 0 || line.p[0] == '#' || line.p[0] == ';')
            continue;
        if (line.p[0] == '[') {
            const char *close = rfind(line, "]", 1);
            if (close == NULL)
                return syntax(&r, r.line, "unclosed section", line);
            size_t n = (size_t)(close - line.p) - 1;
            if (n == 0)
                return syntax(&r, r.line, "empty section name", line);
            if (memchr(line.p + 1, '\0', n) != NULL)
                return syntax(&r, r.line, "NUL byte in a section name", line);
            rc = new_section(&r, line.p + 1, n, r.line);
            r.count = 1;
            continue;
        }
        rc = key_line(&r, line);
    }
    return rc;
}

void ufrpc_ini_doc_free(struct ufrpc_ini_doc *doc)
{
    for (size_t i = 0; i < doc->nsecs; i++) {
        struct ufrpc_ini_section *s = &doc->secs[i];
        for (size_t j = 0; j < s->nkeys; j++) {
            free(s->keys[j].name);
            free(s->keys[j].value);
        }
        free(s->keys);
        free(s->name);
    }
    free(doc->secs);
    free(doc->slots);
    memset(doc, 0, sizeof *doc);
}

const struct ufrpc_ini_section *ufrpc_ini_section(const struct ufrpc_ini_doc *doc, const char *name)
{
    if (doc->nslots == 0)
        return NULL;
    const struct ufrpc_ini_slot *e = lookup(doc, name, SIZE_MAX);
    return e->sec ? &doc->secs[e->sec - 1] : NULL;
}

const struct ufrpc_ini_key *ufrpc_ini_key(const struct ufrpc_ini_section *s, const char *name)
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i].name, name) == 0)
            return &s->keys[i];
    return NULL;
}
