/* ufrpc — frpc's store of proxies and visitors (store.path), behind the admin API's
 * /api/store/proxies and /api/store/visitors (frp v0.70.0 pkg/config/source/store.go,
 * client/config_manager.go, client/http/model/proxy_definition.go).
 *
 * The store is an in-memory list of entries, each a JSON object in the form frpc
 * writes them (Go's encoding of the proxy/visitor struct: known keys in struct order,
 * the always-present zero values, unknown keys dropped; see ufrpc_store_canonical).
 * The file is frpc's: {"proxies":[...],"visitors":[...]} indented by two spaces.
 * The loaded configuration reads the same file (config/load.c) and lets its entries
 * replace config-file entries of the same name, as frpc's aggregator.
 *
 * Threads: everything runs on the loop but ufrpc_store_write_file(), which does the
 * blocking file work (temporary file, fsync, rename) and is meant for the thread
 * pool; it touches only its arguments and the store's write lock.
 *
 * Ownership: ufrpc_store_open copies the path; the caller frees the store with
 * ufrpc_store_free once no write is in flight. Returned strings are malloc'd and the
 * caller's; json_object results are new references the caller puts. */
#ifndef UFRPC_CLIENT_STORE_H
#define UFRPC_CLIENT_STORE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ufrpc_store;

/* Largest store file read at startup. */
#define UFRPC_STORE_MAX_FILE (8u * 1024u * 1024u)

/* Opens the store at path (already resolved against the config file's directory):
 * reads the file when it exists (synchronously: call before the loop runs). 0, or
 * UFRPC_ERR_CONFIG_SYNTAX / _IO / _NOMEM with a reason in err ("failed to load
 * existing data: failed to parse JSON: ..."). */
int ufrpc_store_open(const char *path, struct ufrpc_store **out, char *err, size_t cap);
void ufrpc_store_free(struct ufrpc_store *s);
const char *ufrpc_store_path(const struct ufrpc_store *s);

/* Number of proxy (visitor=false) or visitor entries. */
size_t ufrpc_store_count(const struct ufrpc_store *s, bool visitor);

/* GET /api/store/proxies: {"proxies":[{"name","type","<type>":{...}}...]} sorted by
 * name (visitors alike). NULL on allocation failure. */
char *ufrpc_store_list_json(const struct ufrpc_store *s, bool visitor);

/* GET /api/store/proxies/{name}: the definition, or NULL when absent (*nomem set on
 * allocation failure). */
char *ufrpc_store_get_json(const struct ufrpc_store *s, bool visitor, const char *name, bool *nomem);

/* The definition {"name","type","<type>":entry} of a canonical entry. */
char *ufrpc_store_definition_json(json_object *entry);

/* Parses and checks a request body as frpc's controller does (ProxyDefinition /
 * VisitorDefinition: JSON, Validate(pathName, isUpdate), ToConfigurer), then checks
 * the entry as frpc's validation would (via the config loader). On success returns
 * 200 and *entry (canonical, name/type set from the body). Otherwise the HTTP status
 * (400) with frpc's message in msg ("proxy name is required", "proxy type block
 * \"tcp\" does not match type \"udp\"", "parse JSON error: ...", "invalid argument:
 * validation error: ..."). path_name: NULL for a create. */
int ufrpc_store_parse_body(bool visitor, const char *path_name, const uint8_t *body, size_t len,
                           json_object **entry, char *msg, size_t cap);

/* Go's JSON form of one proxy/visitor object of the given type ("tcp", ...): known
 * keys in frp's struct order, zero values of the fields without omitempty, unknown
 * keys dropped. Returns NULL (msg set) on a value of the wrong JSON type. */
json_object *ufrpc_store_canonical(bool visitor, const char *type, json_object *in, char *msg,
                                   size_t cap);

/* Mutations (in memory only; the caller persists, then applies). Each returns 200, or
 * the HTTP status with frpc's message: create 409 "conflict: already exists: proxy
 * \"x\""; update/delete 404 "not found: not found: proxy \"x\"". *undo receives what
 * ufrpc_store_undo needs to revert the change (the previous entry or NULL). entry: the
 * store takes a reference of its own. */
int ufrpc_store_create(struct ufrpc_store *s, bool visitor, json_object *entry, char *msg,
                       size_t cap);
int ufrpc_store_update(struct ufrpc_store *s, bool visitor, json_object *entry,
                       json_object **undo, char *msg, size_t cap);
int ufrpc_store_delete(struct ufrpc_store *s, bool visitor, const char *name, json_object **undo,
                       char *msg, size_t cap);
/* Puts `name` back as it was: prev (a reference the call takes) or absent (NULL). */
void ufrpc_store_undo(struct ufrpc_store *s, bool visitor, const char *name, json_object *prev);

/* The file's text for the current entries (MarshalIndent form) and a sequence number
 * that grows with each snapshot. NULL on allocation failure. */
char *ufrpc_store_snapshot(struct ufrpc_store *s, size_t *len, uint64_t *seq);

/* Writes a snapshot atomically: creates the directory if needed, writes path.tmp,
 * fsyncs it, renames it over path (and fsyncs the directory). A snapshot older than
 * one already written is skipped (returns 0). Blocking: for the thread pool. 0, or
 * UFRPC_ERR_IO with frpc's wording in err ("failed to persist: failed to write temp
 * file: ..."). */
int ufrpc_store_write_file(struct ufrpc_store *s, const char *data, size_t len, uint64_t seq,
                           char *err, size_t cap);

#endif
