/* fastn_strerror() and fastn_err_name(), generated from FASTN_ERR_LIST. */
#include "fastn/err.h"

const char *fastn_strerror(int err)
{
    switch (err) {
#define FASTN_ERR_MSG_(name, value, msg)                                       \
    case value:                                                                \
        return msg;
        FASTN_ERR_LIST(FASTN_ERR_MSG_)
#undef FASTN_ERR_MSG_
    }
    return "unknown error";
}

const char *fastn_err_name(int err)
{
    switch (err) {
#define FASTN_ERR_NAME_(name, value, msg)                                      \
    case value:                                                                \
        return #name;
        FASTN_ERR_LIST(FASTN_ERR_NAME_)
#undef FASTN_ERR_NAME_
    }
    return "FASTN_ERR_UNKNOWN";
}
