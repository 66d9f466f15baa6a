/* toml-test-decoder: the decoder interface of toml-lang/toml-test.
 * Reads TOML on stdin. Valid: prints the tagged JSON on stdout, exit 0.
 * Invalid: prints "file:line:col: message" on stderr, exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include "config/toml.h"
#include "config/tools/toml_tagged.h"

int main(void)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    if (buf == NULL)
        return 2;
    for (;;) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return 2;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, stdin);
        if (r == 0)
            break;
        len += r;
    }
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = ufrpc_toml_parse(buf, len, "<stdin>", &root, &err);
    free(buf);
    if (rc != 0) {
        char msg[512];
        fprintf(stderr, "%s\n", ufrpc_cfg_error_format(&err, msg, sizeof msg));
        return 1;
    }
    json_object *j = ufrpc_toml_tagged(root);
    ufrpc_cv_free(root);
    if (j == NULL) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
    return 0;
}
