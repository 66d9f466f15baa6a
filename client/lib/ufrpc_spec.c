/* libufrpc tunnel specifications and the dotted-key JSON setter (see
 * client/lib/ufrpc_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "client/lib/ufrpc_internal.h"
#include "proto/error.h"

#define MAX_KEY 256

int ufrpc__json_set(json_object *root, const char *key, json_object *val)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n >= MAX_KEY || key[0] == '.' || key[n - 1] == '.' || strstr(key, "..")) {
        json_object_put(val);
        return UFRPC_ERR_INVAL;
    }
    if (!val)
        return UFRPC_ERR_NOMEM;
    char path[MAX_KEY];
    memcpy(path, key, n + 1);
    json_object *cur = root;
    char *seg = path;
    for (char *dot; (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
        *dot = '\0';
        json_object *next = NULL;
        if (!json_object_object_get_ex(cur, seg, &next)) {
            next = json_object_new_object();
            if (!next || json_object_object_add(cur, seg, next) != 0) {
                json_object_put(next);
                json_object_put(val);
                return UFRPC_ERR_NOMEM;
            }
        } else if (!json_object_is_type(next, json_type_object)) {
            json_object_put(val);
            return UFRPC_ERR_INVAL;
        }
        cur = next;
    }
    if (!json_object_is_type(cur, json_type_object) || json_object_object_add(cur, seg, val) != 0) {
        json_object_put(val);
        return UFRPC_ERR_NOMEM;
    }
    return 0;
}

json_object *ufrpc__json_get(json_object *root, const char *key)
{
    char path[MAX_KEY];
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n >= MAX_KEY)
        return NULL;
    memcpy(path, key, n + 1);
    json_object *cur = root;
    char *seg = path;
    for (char *dot; (dot = strchr(seg, '.')) != NULL; seg = dot + 1) {
        *dot = '\0';
        if (!json_object_object_get_ex(cur, seg, &cur) || !json_object_is_type(cur, json_type_object))
            return NULL;
    }
    json_object *v = NULL;
    return json_object_object_get_ex(cur, seg, &v) ? v : NULL;
}

int ufrpc_spec_new(int kind, const char *type, ufrpc_spec **out)
{
    if (!out || !type || !type[0] || (kind != UFRPC_PROXY && kind != UFRPC_VISITOR))
        return UFRPC_ERR_INVAL;
    *out = NULL;
    ufrpc_spec *s = calloc(1, sizeof *s);
    if (!s)
        return UFRPC_ERR_NOMEM;
    s->kind = kind;
    s->obj = json_object_new_object();
    if (!s->obj || ufrpc__json_set(s->obj, "type", json_object_new_string(type)) != 0) {
        ufrpc_spec_free(s);
        return UFRPC_ERR_NOMEM;
    }
    *out = s;
    return 0;
}

void ufrpc_spec_free(ufrpc_spec *s)
{
    if (!s)
        return;
    json_object_put(s->obj);
    free(s);
}

int ufrpc_spec_set_str(ufrpc_spec *s, const char *key, const char *value)
{
    if (!s || !value)
        return UFRPC_ERR_INVAL;
    return ufrpc__json_set(s->obj, key, json_object_new_string(value));
}

int ufrpc_spec_set_int(ufrpc_spec *s, const char *key, int64_t value)
{
    if (!s)
        return UFRPC_ERR_INVAL;
    return ufrpc__json_set(s->obj, key, json_object_new_int64(value));
}

int ufrpc_spec_set_bool(ufrpc_spec *s, const char *key, int value)
{
    if (!s)
        return UFRPC_ERR_INVAL;
    return ufrpc__json_set(s->obj, key, json_object_new_boolean(value != 0));
}

int ufrpc_spec_add_str(ufrpc_spec *s, const char *key, const char *value)
{
    if (!s || !value)
        return UFRPC_ERR_INVAL;
    json_object *arr = ufrpc__json_get(s->obj, key);
    if (arr && !json_object_is_type(arr, json_type_array))
        return UFRPC_ERR_INVAL;
    if (!arr) {
        arr = json_object_new_array();
        int rc = ufrpc__json_set(s->obj, key, arr);
        if (rc)
            return rc;
    }
    json_object *v = json_object_new_string(value);
    if (!v || json_object_array_add(arr, v) != 0) {
        json_object_put(v);
        return UFRPC_ERR_NOMEM;
    }
    return 0;
}

int ufrpc_spec_set_json(ufrpc_spec *s, const char *key, const char *json)
{
    if (!s || !json)
        return UFRPC_ERR_INVAL;
    enum json_tokener_error jerr = json_tokener_success;
    json_object *v = json_tokener_parse_verbose(json, &jerr);
    if (jerr != json_tokener_success)
        return UFRPC_ERR_JSON;
    if (!v) /* "null" */
        return UFRPC_ERR_INVAL;
    return ufrpc__json_set(s->obj, key, v);
}
