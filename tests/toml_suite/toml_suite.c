/* toml_suite: runs toml-test's TOML 1.0.0 cases against ufrpc_toml_parse in one
 * process. Usage: toml_suite [-v] [case-substring]. Exit 0 only if every valid
 * case matches its JSON and every invalid case is rejected. */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"
#include "config/tools/toml_tagged.h"
#include "testutil.h"

static bool is_tagged(json_object *o)
{
    if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 2)
        return false;
    json_object *t, *v;
    return json_object_object_get_ex(o, "type", &t) && json_object_object_get_ex(o, "value", &v) &&
           json_object_is_type(t, json_type_string) && json_object_is_type(v, json_type_string);
}

static bool parse_float(const char *s, double *out)
{
    const char *p = s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (strcmp(p, "inf") == 0 || strcmp(p, "Inf") == 0) {
        *out = sign * INFINITY;
        return true;
    }
    if (strcmp(p, "nan") == 0 || strcmp(p, "NaN") == 0) {
        *out = NAN;
        return true;
    }
    char clean[256];
    size_t n = 0;
    for (const char *q = s; *q && n + 1 < sizeof clean; q++)
        if (*q != '_')
            clean[n++] = *q;
    clean[n] = '\0';
    char *end;
    *out = strtod(clean, &end);
    return *end == '\0' && n > 0;
}

/* Canonical form of an RFC 3339 value: 'T', upper case, no trailing fraction
 * zeros, "+00:00"/"-00:00" -> "Z". */
static void norm_dt(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < cap; p++) {
        char c = (char)toupper((unsigned char)*p);
        if (c == ' ' && n == 10)
            c = 'T';
        out[n++] = c;
    }
    out[n] = '\0';
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        char *e = dot + 1;
        while (isdigit((unsigned char)*e))
            e++;
        char *z = e;
        while (z > dot + 1 && z[-1] == '0')
            z--;
        if (z == dot + 1)
            z = dot;
        memmove(z, e, strlen(e) + 1);
    }
    size_t l = strlen(out);
    if (l >= 6 && (strcmp(out + l - 6, "+00:00") == 0 || strcmp(out + l - 6, "-00:00") == 0))
        strcpy(out + l - 6, "Z");
}

static bool same(json_object *exp, json_object *got, char *why, size_t cap)
{
    if (is_tagged(exp) || is_tagged(got)) {
        if (!is_tagged(exp) || !is_tagged(got)) {
            snprintf(why, cap, "scalar vs container: want %s got %s", json_object_to_json_string(exp),
                     json_object_to_json_string(got));
            return false;
        }
        json_object *et, *ev, *gt, *gv;
        json_object_object_get_ex(exp, "type", &et);
        json_object_object_get_ex(exp, "value", &ev);
        json_object_object_get_ex(got, "type", &gt);
        json_object_object_get_ex(got, "value", &gv);
        const char *t = json_object_get_string(et);
        const char *a = json_object_get_string(ev), *b = json_object_get_string(gv);
        int al = json_object_get_string_len(ev), bl = json_object_get_string_len(gv);
        bool ok;
        if (strcmp(t, json_object_get_string(gt)) != 0) {
            ok = false;
        } else if (strcmp(t, "float") == 0) {
            double x, y;
            ok = parse_float(a, &x) && parse_float(b, &y) &&
                 ((isnan(x) && isnan(y)) || x == y);
        } else if (strcmp(t, "integer") == 0) {
            ok = strtoll(a, NULL, 10) == strtoll(b, NULL, 10);
        } else if (strncmp(t, "date", 4) == 0 || strncmp(t, "time", 4) == 0) {
            char x[128], y[128];
            norm_dt(a, x, sizeof x);
            norm_dt(b, y, sizeof y);
            ok = strcmp(x, y) == 0;
        } else {
            ok = al == bl && memcmp(a, b, (size_t)al) == 0;
        }
        if (!ok)
            snprintf(why, cap, "want %s got %s", json_object_to_json_string(exp),
                     json_object_to_json_string(got));
        return ok;
    }
    if (json_object_get_type(exp) != json_object_get_type(got)) {
        snprintf(why, cap, "want %s got %s", json_object_to_json_string(exp),
                 json_object_to_json_string(got));
        return false;
    }
    if (json_object_is_type(exp, json_type_array)) {
        size_t n = json_object_array_length(exp);
        if (n != json_object_array_length(got)) {
            snprintf(why, cap, "array length: want %zu got %zu", n, json_object_array_length(got));
            return false;
        }
        for (size_t i = 0; i < n; i++)
            if (!same(json_object_array_get_idx(exp, i), json_object_array_get_idx(got, i), why, cap))
                return false;
        return true;
    }
    if (json_object_is_type(exp, json_type_object)) {
        if (json_object_object_length(exp) != json_object_object_length(got)) {
            snprintf(why, cap, "table size: want %s got %s", json_object_to_json_string(exp),
                     json_object_to_json_string(got));
            return false;
        }
        json_object_object_foreach(exp, k, ev)
        {
            json_object *gv;
            if (!json_object_object_get_ex(got, k, &gv)) {
                snprintf(why, cap, "missing key '%s'", k);
                return false;
            }
            if (!same(ev, gv, why, cap))
                return false;
        }
        return true;
    }
    snprintf(why, cap, "unexpected JSON %s", json_object_to_json_string(exp));
    return false;
}

int main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    const char *filter = argc > (verbose ? 2 : 1) ? argv[verbose ? 2 : 1] : NULL;
    char *list_path = ufrpc_test_data_path("toml-test/tests/files-toml-1.0.0");
    uint8_t *list;
    size_t list_len;
    if (list_path == NULL || ufrpc_test_read_file(list_path, &list, &list_len) != 0) {
        fprintf(stderr, "toml-test: cannot read %s\n", list_path ? list_path : "(null)");
        free(list_path);
        return 1;
    }
    free(list_path);
    int valid_n = 0, valid_ok = 0, invalid_n = 0, invalid_ok = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t l = strlen(line);
        if (l < 5 || strcmp(line + l - 5, ".toml") != 0)
            continue;
        if (filter != NULL && strstr(line, filter) == NULL)
            continue;
        bool valid = strncmp(line, "valid/", 6) == 0;
        char rel[512];
        snprintf(rel, sizeof rel, "toml-test/tests/%s", line);
        char *path = ufrpc_test_data_path(rel);
        uint8_t *text = NULL;
        size_t len = 0;
        if (path == NULL || ufrpc_test_read_file(path, &text, &len) != 0) {
            printf("FAIL %s: cannot read\n", line);
            free(path);
            valid ? valid_n++ : invalid_n++;
            continue;
        }
        ufrpc_cv *root = NULL;
        struct ufrpc_cfg_error err = {0};
        int rc = ufrpc_toml_parse((const char *)text, len, line, &root, &err);
        char msg[600];
        if (!valid) {
            invalid_n++;
            if (rc != 0) {
                invalid_ok++;
                if (verbose)
                    printf("ok   %s: %s\n", line, ufrpc_cfg_error_format(&err, msg, sizeof msg));
            } else {
                printf("FAIL %s: accepted invalid input\n", line);
            }
        } else {
            valid_n++;
            if (rc != 0) {
                printf("FAIL %s: %s\n", line, ufrpc_cfg_error_format(&err, msg, sizeof msg));
            } else {
                char jrel[512];
                snprintf(jrel, sizeof jrel, "%.*s.json", (int)(strlen(path) - 5), path);
                json_object *exp = json_object_from_file(jrel);
                json_object *got = ufrpc_toml_tagged(root);
                char why[1024] = "";
                if (exp == NULL)
                    printf("FAIL %s: cannot read expected JSON\n", line);
                else if (got == NULL)
                    printf("FAIL %s: out of memory\n", line);
                else if (!same(exp, got, why, sizeof why))
                    printf("FAIL %s: %s\n", line, why);
                else
                    valid_ok++;
                json_object_put(exp);
                json_object_put(got);
            }
        }
        ufrpc_cv_free(root);
        free(text);
        free(path);
    }
    free(list);
    printf("toml-test: valid %d/%d passed, invalid %d/%d rejected\n", valid_ok, valid_n, invalid_ok,
           invalid_n);
    return valid_ok == valid_n && invalid_ok == invalid_n && valid_n + invalid_n > 0 ? 0 : 1;
}
