/* errbuf_say(): a failure's message into the caller's buffer. */
#include "util/errbuf.h"

#include <stdarg.h>
#include <stdio.h>

int errbuf_say(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return code;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}
