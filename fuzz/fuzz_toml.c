/* libFuzzer target: ufrpc_toml_parse on arbitrary bytes. Checks that errors carry
 * a position and message and that every node of an accepted tree is sane: keys
 * and strings are NUL-terminated copies of key_len / u.s.len bytes of valid UTF-8
 * (U+0000 included, from \u0000 escapes), no table holds the same key twice
 * (compared with lengths, so "a\u0000" and "a" differ), and the tree survives
 * toml-test-decoder's tagged JSON (config/tools/toml_tagged.c) read back with
 * config/json_reader: every key and string comes back with all its bytes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/json_reader.h"
#include "config/toml.h"
#include "config/tools/toml_tagged.h"
#include "proto/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_text(ufrpc_cv_type t)
{
    return t == UFRPC_CV_STRING || t == UFRPC_CV_DATETIME || t == UFRPC_CV_DATETIME_LOCAL ||
           t == UFRPC_CV_DATE_LOCAL || t == UFRPC_CV_TIME_LOCAL;
}

/* Valid UTF-8, no surrogates or values past U+10FFFF; NUL bytes allowed. */
static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((u[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (u[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static void check(ufrpc_cv *v, int depth)
{
    if (depth > UFRPC_TOML_MAX_DEPTH * 3 || v->pos.line == 0)
        abort();
    if (v->type == UFRPC_CV_TABLE) {
        for (size_t i = 0; i < v->u.t.len; i++) {
            const ufrpc_cv_member *m = &v->u.t.items[i];
            if (m->key == NULL || m->key[m->key_len] != '\0' || !utf8_ok(m->key, m->key_len))
                abort();
            check(m->value, depth + 1);
        }
        /* last_wins = false changes nothing; a duplicate key is a parser bug */
        int rc = ufrpc_cv_dedupe(v, false, NULL);
        if (rc != 0 && rc != UFRPC_ERR_NOMEM)
            abort();
    } else if (v->type == UFRPC_CV_ARRAY) {
        for (size_t i = 0; i < v->u.a.len; i++)
            check(v->u.a.items[i], depth + 1);
    } else if (is_text(v->type)) {
        if (v->u.s.ptr[v->u.s.len] != '\0' || !utf8_ok(v->u.s.ptr, v->u.s.len))
            abort();
        if (v->type != UFRPC_CV_STRING && memchr(v->u.s.ptr, '\0', v->u.s.len) != NULL)
            abort();
    }
}

static bool same_bytes(const ufrpc_cv *j, const char *s, size_t n)
{
    return j != NULL && j->type == UFRPC_CV_STRING && j->u.s.len == n &&
           (n == 0 || memcmp(j->u.s.ptr, s, n) == 0);
}

/* v (TOML tree) against j (its tagged JSON read back). */
static void check_tagged(const ufrpc_cv *v, const ufrpc_cv *j)
{
    if (v->type == UFRPC_CV_TABLE) {
        if (j->type != UFRPC_CV_TABLE || j->u.t.len != v->u.t.len)
            abort();
        for (size_t i = 0; i < v->u.t.len; i++) {
            const ufrpc_cv_member *m = &v->u.t.items[i];
            const ufrpc_cv *jm = ufrpc_cv_getn(j, m->key, m->key_len);
            if (jm == NULL)
                abort();
            check_tagged(m->value, jm);
        }
    } else if (v->type == UFRPC_CV_ARRAY) {
        if (j->type != UFRPC_CV_ARRAY || j->u.a.len != v->u.a.len)
            abort();
        for (size_t i = 0; i < v->u.a.len; i++)
            check_tagged(v->u.a.items[i], j->u.a.items[i]);
    } else {
        const char *tn = ufrpc_cv_type_name(v->type);
        if (j->type != UFRPC_CV_TABLE || j->u.t.len != 2 ||
            !same_bytes(ufrpc_cv_getn(j, "type", 4), tn, strlen(tn)))
            abort();
        const ufrpc_cv *jv = ufrpc_cv_getn(j, "value", 5);
        if (jv == NULL || jv->type != UFRPC_CV_STRING)
            abort();
        if (is_text(v->type) && !same_bytes(jv, v->u.s.ptr, v->u.s.len))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact-size heap copy so ASan sees any over-read */
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_toml_parse(buf, size, "fuzz.toml", &root, &err);
    if (rc == 0) {
        check(root, 0);
        char *json = NULL;
        size_t json_len = 0;
        rc = ufrpc_toml_tagged_json(root, &json, &json_len);
        if (rc == 0) {
            ufrpc_cv *back = NULL;
            struct ufrpc_cfg_error jerr = {0};
            rc = ufrpc_json_read(json, json_len, "tagged.json", &back, &jerr);
            if (rc == 0)
                check_tagged(root, back);
            else if (rc != UFRPC_ERR_CONFIG_DEPTH && rc != UFRPC_ERR_NOMEM)
                abort(); /* the decoder wrote JSON that does not parse */
            ufrpc_cv_free(back);
        } else if (rc != UFRPC_ERR_NOMEM) {
            abort();
        }
        free(json);
    } else if (root != NULL || err.line == 0 || err.col == 0 || err.msg[0] == '\0') {
        abort();
    }
    ufrpc_cv_free(root);
    free(buf);
    return 0;
}
