/* Fuzz target: plugin manifests, as the loader reads them from outside
 * files: the custom-section walker, the JSON rules and the interface
 * check on arbitrary module bytes, and the JSON parser on arbitrary
 * text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct plugin_manifest m;
    char err[128];
    const uint8_t *p;
    size_t n;

    plugin_wasm_custom_section(data, size, PLUGIN_MANIFEST_SECTION, &p, &n);
    if (plugin_manifest_from_wasm(data, size, &m, err, sizeof(err)) == 0) {
        char *json = NULL;
        plugin_wasm_check_interface(data, size, &m, err, sizeof(err));
        if (plugin_manifest_to_json(&m, &json) == 0) {
            struct plugin_manifest again;
            /* what we write we must read back, the same */
            if (plugin_manifest_parse(json, strlen(json), &again, err,
                                      sizeof(err)) != 0 ||
                memcmp(&m, &again, sizeof(m)) != 0)
                abort();
            free(json);
        }
    }
    /* the bytes as JSON, and the interface check with a full manifest */
    if (plugin_manifest_parse((const char *)data, size, &m, err, sizeof(err)) !=
        0) {
        static const char all[] =
            "{\"name\":\"f\",\"version\":\"1\",\"abi\":1,"
            "\"protocols\":[\"/f\"],\"capabilities\":[\"streams\","
            "\"storage\",\"notify\",\"timers\"]}";
        if (plugin_manifest_parse(all, sizeof(all) - 1, &m, err, sizeof(err)) ==
            0)
            plugin_wasm_check_interface(data, size, &m, err, sizeof(err));
    }
    return 0;
}
