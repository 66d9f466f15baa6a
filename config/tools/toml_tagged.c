#include "config/tools/toml_tagged.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static json_object *tagged(const char *type, const char *value, size_t len)
{
    json_object *o = json_object_new_object();
    json_object *t = json_object_new_string(type);
    json_object *v = json_object_new_string_len(value, (int)len);
    if (o == NULL || t == NULL || v == NULL) {
        json_object_put(o);
        json_object_put(t);
        json_object_put(v);
        return NULL;
    }
    json_object_object_add(o, "type", t);
    json_object_object_add(o, "value", v);
    return o;
}

json_object *ufrpc_toml_tagged(const ufrpc_cv *v)
{
    char buf[64];
    switch (v->type) {
    case UFRPC_CV_TABLE: {
        json_object *o = json_object_new_object();
        if (o == NULL)
            return NULL;
        for (size_t i = 0; i < v->u.t.len; i++) {
            json_object *c = ufrpc_toml_tagged(v->u.t.items[i].value);
            if (c == NULL || json_object_object_add(o, v->u.t.items[i].key, c) != 0) {
                json_object_put(c);
                json_object_put(o);
                return NULL;
            }
        }
        return o;
    }
    case UFRPC_CV_ARRAY: {
        json_object *a = json_object_new_array();
        if (a == NULL)
            return NULL;
        for (size_t i = 0; i < v->u.a.len; i++) {
            json_object *c = ufrpc_toml_tagged(v->u.a.items[i]);
            if (c == NULL || json_object_array_add(a, c) != 0) {
                json_object_put(c);
                json_object_put(a);
                return NULL;
            }
        }
        return a;
    }
    case UFRPC_CV_INTEGER:
        snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
        return tagged("integer", buf, strlen(buf));
    case UFRPC_CV_FLOAT:
        if (isnan(v->u.f))
            snprintf(buf, sizeof buf, "nan");
        else if (isinf(v->u.f))
            snprintf(buf, sizeof buf, "%sinf", v->u.f < 0 ? "-" : "");
        else
            snprintf(buf, sizeof buf, "%.17g", v->u.f);
        return tagged("float", buf, strlen(buf));
    case UFRPC_CV_BOOL:
        return tagged("bool", v->u.b ? "true" : "false", v->u.b ? 4 : 5);
    case UFRPC_CV_STRING:
    case UFRPC_CV_DATETIME:
    case UFRPC_CV_DATETIME_LOCAL:
    case UFRPC_CV_DATE_LOCAL:
    case UFRPC_CV_TIME_LOCAL:
        return tagged(ufrpc_cv_type_name(v->type), v->u.s.ptr, v->u.s.len);
    }
    return NULL;
}
