#include "proto/error.h"

const char *ufrpc_strerror(int err)
{
    switch (err) {
    case UFRPC_OK:
        return "success";
#define UFRPC__ERR_TEXT(name, value, text) \
    case (value):                          \
        return (text);
        UFRPC_ERRORS(UFRPC__ERR_TEXT)
#undef UFRPC__ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *ufrpc_errname(int err)
{
    switch (err) {
    case UFRPC_OK:
        return "UFRPC_OK";
#define UFRPC__ERR_NAME(name, value, text) \
    case (value):                          \
        return "UFRPC_ERR_" #name;
        UFRPC_ERRORS(UFRPC__ERR_NAME)
#undef UFRPC__ERR_NAME
    default:
        return "UFRPC_ERR_UNKNOWN";
    }
}
