/* ufrpc — Go-like JSON reading (see gojson.h). */
#include "proto/gojson.h"

#include <limits.h>

#include "proto/error.h"

int ufrpc_gojson_parse(const char *text, size_t len, json_object **out,
                       enum json_tokener_error *jerr)
{
    *out = NULL;
    *jerr = json_tokener_success;
    if (len > INT_MAX) {
        *jerr = json_tokener_error_size;
        return UFRPC_ERR_JSON;
    }
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return UFRPC_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (je == json_tokener_continue) {
        /* all read: a number or literal at the very end waits for a delimiter, a
         * cut-short value for more; the end of the text says which */
        o = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
        end = len;
    }
    /* nothing but white space may follow the value */
    for (size_t i = end; je == json_tokener_success && i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
            je = json_tokener_error_parse_unexpected;
    json_tokener_free(tok);
    if (je != json_tokener_success) {
        json_object_put(o);
        *jerr = je;
        return UFRPC_ERR_JSON;
    }
    *out = o;
    return 0;
}
