/* toml-test-decoder: the decoder interface of toml-lang/toml-test.
 * Reads TOML on stdin (at most UFRPC_TOML_DECODER_MAX_INPUT bytes).
 * Valid: prints the tagged JSON (config/tools/toml_tagged.h) on stdout, exit 0.
 * Invalid: prints "file:line:col: message" on stderr, exit 1.
 * Anything else (input too large, out of memory, I/O error): message on stderr,
 * exit 2, which toml-test counts as a failure, not as a rejected document. */
#include <stdio.h>
#include <stdlib.h>

#include "config/toml.h"
#include "config/tools/toml_tagged.h"
#include "proto/error.h"

#define UFRPC_TOML_DECODER_MAX_INPUT (256u * 1024 * 1024)

/* Reads all of stdin into a malloc'd buffer; 0 or a negative ufrpc error. */
static int read_stdin(char **out, size_t *out_len)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    if (buf == NULL)
        return UFRPC_ERR_NOMEM;
    for (;;) {
        if (len == cap) {
            if (cap >= UFRPC_TOML_DECODER_MAX_INPUT) {
                free(buf);
                return UFRPC_ERR_LIMIT;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                return UFRPC_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - len, stdin);
        len += r;
        if (r == 0) {
            if (ferror(stdin)) {
                free(buf);
                return UFRPC_ERR_IO;
            }
            break;
        }
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int main(void)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = read_stdin(&buf, &len);
    if (rc != 0) {
        fprintf(stderr, "toml-test-decoder: reading stdin: %s\n", ufrpc_strerror(rc));
        return 2;
    }
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    rc = ufrpc_toml_parse(buf, len, "<stdin>", &root, &err);
    free(buf);
    if (rc == UFRPC_ERR_NOMEM) {
        fprintf(stderr, "toml-test-decoder: %s\n", ufrpc_strerror(rc));
        return 2;
    }
    if (rc != 0) {
        char msg[512];
        fprintf(stderr, "%s\n", ufrpc_cfg_error_format(&err, msg, sizeof msg));
        return 1;
    }
    char *json = NULL;
    size_t json_len = 0;
    rc = ufrpc_toml_tagged_json(root, &json, &json_len);
    ufrpc_cv_free(root);
    if (rc != 0) {
        fprintf(stderr, "toml-test-decoder: %s\n", ufrpc_strerror(rc));
        return 2;
    }
    size_t w = fwrite(json, 1, json_len, stdout);
    free(json);
    if (w != json_len || fflush(stdout) != 0) {
        fprintf(stderr, "toml-test-decoder: writing stdout failed\n");
        return 2;
    }
    return 0;
}
