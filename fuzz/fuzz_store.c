/* libFuzzer: the store API's request body (client/core/store.c, POST/PUT of
 * /api/store/proxies and /api/store/visitors: input from any admin API client).
 * The first byte chooses proxies or visitors (bit 0) and a create or an update of
 * the name "p" (bit 1); the rest is the body. Properties: the status is 200 or 400,
 * with an entry exactly on 200 and a message on 400; an accepted body is one JSON
 * object and white space (as Go's json.Unmarshal reads it); an accepted entry has its name
 * and a known type, its definition (what GET answers) is accepted again as a body
 * and gives the same entry, and the store takes it through create (a second create
 * is a conflict), get, list, snapshot, update with undo and delete. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client/core/store.h"
#include "fuzz_check.h"

static const char *str_of(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static void store_ops(bool visitor, json_object *e, const char *def)
{
    char msg[512];
    struct ufrpc_store *s = NULL;
    CHECK(ufrpc_store_open("/nonexistent-ufrpc-fuzz/store.json", &s, msg, sizeof msg) == 0);
    const char *name = str_of(e, "name");
    CHECK(ufrpc_store_create(s, visitor, e, msg, sizeof msg) == 200);
    CHECK(ufrpc_store_create(s, visitor, e, msg, sizeof msg) == 409);
    CHECK(ufrpc_store_count(s, visitor) == 1 && ufrpc_store_count(s, !visitor) == 0);
    bool nomem = true;
    char *got = ufrpc_store_get_json(s, visitor, name, &nomem);
    CHECK(got != NULL && !nomem && strcmp(got, def) == 0);
    free(got);
    char *list = ufrpc_store_list_json(s, visitor);
    json_object *lj = list ? json_tokener_parse(list) : NULL;
    CHECK(lj != NULL && json_object_is_type(lj, json_type_object));
    json_object_put(lj);
    free(list);
    size_t len = 0;
    uint64_t seq = 0;
    char *snap = ufrpc_store_snapshot(s, &len, &seq);
    CHECK(snap != NULL && len == strlen(snap));
    free(snap);
    json_object *undo = NULL;
    CHECK(ufrpc_store_update(s, visitor, e, &undo, msg, sizeof msg) == 200 && undo != NULL);
    ufrpc_store_undo(s, visitor, name, undo);
    CHECK(ufrpc_store_count(s, visitor) == 1);
    CHECK(ufrpc_store_delete(s, visitor, name, &undo, msg, sizeof msg) == 200);
    json_object_put(undo);
    CHECK(ufrpc_store_count(s, visitor) == 0);
    CHECK(ufrpc_store_delete(s, visitor, name, &undo, msg, sizeof msg) == 404);
    ufrpc_store_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 16384)
        return 0;
    bool visitor = (data[0] & 1) != 0;
    const char *path_name = (data[0] & 2) != 0 ? "p" : NULL;
    char msg[512];
    msg[0] = '\0';
    json_object *e = (json_object *)1;
    int st = ufrpc_store_parse_body(visitor, path_name, data + 1, size - 1, &e, msg, sizeof msg);
    CHECK(st == 200 || st == 400);
    CHECK(memchr(msg, '\0', sizeof msg) != NULL);
    if (st != 200) {
        CHECK(e == NULL && msg[0] != '\0');
        return 0;
    }
    CHECK(e != NULL && json_object_is_type(e, json_type_object));
    /* as Go's json.Unmarshal: the object is the whole body, but white space */
    size_t last = size;
    while (last > 1 && (data[last - 1] == ' ' || data[last - 1] == '\t' ||
                        data[last - 1] == '\r' || data[last - 1] == '\n'))
        last--;
    CHECK(last > 1 && data[last - 1] == '}');
    const char *name = str_of(e, "name"), *type = str_of(e, "type");
    CHECK(name != NULL && name[0] != '\0' && type != NULL);
    CHECK(path_name == NULL || strcmp(name, path_name) == 0);
    char *def = ufrpc_store_definition_json(e);
    CHECK(def != NULL);
    json_object *e2 = NULL;
    CHECK(ufrpc_store_parse_body(visitor, name, (const uint8_t *)def, strlen(def), &e2, msg,
                                 sizeof msg) == 200);
    CHECK(json_object_equal(e, e2));
    json_object_put(e2);
    store_ops(visitor, e, def);
    free(def);
    json_object_put(e);
    return 0;
}
