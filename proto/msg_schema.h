/* ufrpc — internal: field tables that drive the message JSON encoder, decoder and
 * free (msg.c, msg_encode.c, msg_decode.c). Not for use outside proto/msg*.c. */
#ifndef UFRPC_PROTO_MSG_SCHEMA_H
#define UFRPC_PROTO_MSG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

enum msg_field_kind {
    MSG_FK_STR,     /* char * */
    MSG_FK_I64,     /* int64_t (Go int / int64) */
    MSG_FK_U16,     /* uint16_t */
    MSG_FK_BOOL,    /* bool */
    MSG_FK_MAP,     /* struct ufrpc_map */
    MSG_FK_STRV,    /* struct ufrpc_strv */
    MSG_FK_BYTES,   /* struct ufrpc_bytes, base64 */
    MSG_FK_OBJ,     /* embedded struct described by sub; always written */
    MSG_FK_OBJ_PTR, /* pointer to a struct described by sub; NULL = absent */
    MSG_FK_PORTS,   /* struct ufrpc_port_ranges */
};

struct ufrpc_msg_schema;

struct ufrpc_msg_field {
    const char *name;
    uint8_t kind;
    bool omitempty;
    size_t off;
    const struct ufrpc_msg_schema *sub;
};

struct ufrpc_msg_schema {
    const struct ufrpc_msg_field *fields;
    size_t n;
    size_t size; /* sizeof the C struct */
};

/* Schema of a message type's payload (inside struct ufrpc_msg.u), or NULL if the
 * type is unknown. ReqWorkConn has a schema with no fields. */
const struct ufrpc_msg_schema *ufrpc_msg_schema_of(uint8_t type);

/* Schema of struct ufrpc_port_range (elements of MSG_FK_PORTS). */
const struct ufrpc_msg_schema *ufrpc_msg_schema_port_range(void);

/* Frees what a struct described by s at base owns and zeroes those fields. */
void ufrpc_msg_schema_free(const struct ufrpc_msg_schema *s, char *base);

/* Appends the JSON object for the struct at base; see msg_encode.c. */
struct ufrpc_jbuf {
    char *p;
    size_t len, cap;
    int err; /* first error (UFRPC_ERR_NOMEM), sticky */
};
void ufrpc_msg_schema_encode(struct ufrpc_jbuf *b, const struct ufrpc_msg_schema *s,
                             const char *base);
/* Appends n bytes (the buffer stays NUL-terminated; b->p is the caller's to free). */
void ufrpc_jbuf_put(struct ufrpc_jbuf *b, const char *s, size_t n);
/* Appends s (NULL = "") as a JSON string escaped like Go's encoding/json. */
void ufrpc_jbuf_str(struct ufrpc_jbuf *b, const char *s);

#endif
