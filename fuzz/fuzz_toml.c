/* libFuzzer target: ufrpc_toml_parse on arbitrary bytes. Checks that errors carry
 * a position and message and that every node of an accepted tree is sane. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const ufrpc_cv *v, int depth)
{
    if (depth > UFRPC_TOML_MAX_DEPTH * 3 || v->pos.line == 0)
        abort();
    if (v->type == UFRPC_CV_TABLE) {
        for (size_t i = 0; i < v->u.t.len; i++)
            check(v->u.t.items[i].value, depth + 1);
    } else if (v->type == UFRPC_CV_ARRAY) {
        for (size_t i = 0; i < v->u.a.len; i++)
            check(v->u.a.items[i], depth + 1);
    } else if (v->type != UFRPC_CV_INTEGER && v->type != UFRPC_CV_FLOAT && v->type != UFRPC_CV_BOOL) {
        if (v->u.s.ptr[v->u.s.len] != '\0')
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
    } else if (root != NULL || err.line == 0 || err.col == 0 || err.msg[0] == '\0') {
        abort();
    }
    ufrpc_cv_free(root);
    free(buf);
    return 0;
}
