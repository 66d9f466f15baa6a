/* libFuzzer target: ufrpc_yaml_read (and ufrpc_json_read, which shares the
 * "text -> positioned tree" contract) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/json_reader.h"
#include "config/yaml_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const ufrpc_cv *v, int depth)
{
    if (depth > UFRPC_YAML_MAX_DEPTH + 2)
        abort();
    if (v->type == UFRPC_CV_TABLE) {
        for (size_t i = 0; i < v->u.t.len; i++)
            check(v->u.t.items[i].value, depth + 1);
    } else if (v->type == UFRPC_CV_ARRAY) {
        for (size_t i = 0; i < v->u.a.len; i++)
            check(v->u.a.items[i], depth + 1);
    } else if (v->type == UFRPC_CV_STRING && v->u.s.ptr[v->u.s.len] != '\0') {
        abort();
    }
}

static void run(int (*reader)(const char *, size_t, const char *, ufrpc_cv **,
                              struct ufrpc_cfg_error *),
                const char *buf, size_t size)
{
    ufrpc_cv *root = NULL;
    struct ufrpc_cfg_error err = {0};
    int rc = reader(buf, size, "fuzz", &root, &err);
    if (rc == 0)
        check(root, 0);
    else if (root != NULL || err.msg[0] == '\0')
        abort();
    ufrpc_cv_free(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    run(ufrpc_yaml_read, buf, size);
    if (size > 0 && buf[0] == '{')
        run(ufrpc_json_read, buf, size);
    free(buf);
    return 0;
}
