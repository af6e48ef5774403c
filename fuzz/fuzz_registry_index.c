/* Fuzz target: a registry's index.json, as fetched from any web server.
 * Checks that what parses is written back and read back the same, that
 * every listed version compares (antisymmetrically) with every other, and
 * that the look-ups find what is listed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/index.h"

static void check_versions(const struct registry_index *idx)
{
    for (size_t i = 0; i < idx->n && i < 16; i++)
        for (size_t j = 0; j < idx->n && j < 16; j++) {
            int ab, ba;
            if (registry_version_cmp(idx->entries[i].version,
                                     idx->entries[j].version, &ab) != 0 ||
                registry_version_cmp(idx->entries[j].version,
                                     idx->entries[i].version, &ba) != 0 ||
                (ab > 0) != (ba < 0) || (ab == 0) != (ba == 0))
                abort();
        }
}

static void check_lookups(const struct registry_index *idx)
{
    for (size_t i = 0; i < idx->n && i < 16; i++) {
        const struct registry_entry *e = &idx->entries[i];
        if (registry_index_find(idx, e->name, e->version) != e ||
            !registry_index_find(idx, e->name, NULL) ||
            !registry_index_find_protocol(idx, e->protocols[0]) ||
            !registry_index_find_sha256(idx, e->sha256) ||
            !registry_entry_matches(e, e->name))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct registry_index idx, again;
    char err[256], *json = NULL, *json2 = NULL;

    if (registry_index_parse("fuzz", data, size, &idx, err, sizeof(err)) != 0)
        return 0;
    check_versions(&idx);
    check_lookups(&idx);
    if (registry_index_to_json(&idx, &json) != 0)
        abort();
    if (registry_index_parse("again", (const uint8_t *)json, strlen(json),
                             &again, err, sizeof(err)) != 0 ||
        again.n != idx.n || registry_index_to_json(&again, &json2) != 0 ||
        strcmp(json, json2) != 0)
        abort();
    free(json);
    free(json2);
    registry_index_cleanup(&again);
    registry_index_cleanup(&idx);
    return 0;
}
