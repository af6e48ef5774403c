/* Fuzz target: $FASTN_HOME/registries, the list of registries the daemon
 * reads at every registry request (a file a user may edit by hand). The
 * input is the file's text. Checks that every entry kept has a valid name
 * and URL and no repeat, and that the list written back reads back the
 * same (the daemon's own writes round trip). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct registry_sources a, b;
    struct buf out;

    registry_sources_parse(&a, (const char *)data, size, "fuzz",
                           "file:///usr/share/fastn/plugins");
    if (a.n > REGISTRY_SOURCES_MAX)
        abort();
    for (size_t i = 0; i < a.n; i++) {
        if (!registry_key_name_valid(a.v[i].name) ||
            !registry_source_url_valid(a.v[i].url))
            abort();
        for (size_t k = 0; k < i; k++)
            if (!strcmp(a.v[i].name, a.v[k].name) ||
                !strcmp(a.v[i].url, a.v[k].url))
                abort();
    }
    buf_init(&out, 1 << 20);
    if (registry_sources_format(&a, &out) != 0)
        abort();
    registry_sources_parse(&b, (const char *)out.data, out.len, "fuzz",
                           "file:///usr/share/fastn/plugins");
    if (b.n != a.n || memcmp(a.v, b.v, a.n * sizeof(a.v[0])) != 0)
        abort();
    buf_cleanup(&out);
    return 0;
}
