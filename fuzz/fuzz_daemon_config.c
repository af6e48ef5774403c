/* Fuzz target: the daemon's config file parser. */
#include <stdint.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct daemon_config cfg;
    char err[256];

    daemon_config_init(&cfg);
    daemon_config_parse(&cfg, (const char *)data, size, err, sizeof(err));
    daemon_config_cleanup(&cfg);
    return 0;
}
