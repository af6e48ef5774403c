/*
 * Fuzz target: plugins/index, as the plugin host reads it at start and
 * writes it again (plugin_host_load_all), with one plugin installed
 * ("fz", two protocols, built in below) so that its line's tokens apply.
 * Properties, besides no crash: every line this daemon does not
 * understand (not "NAME enabled|disabled ..." nor the header it writes)
 * is in the index it writes, as it was; and the index it writes is a
 * fixed point (read and written again, it does not change).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin.h"
#include "util/file.h"
#include "util/log.h"

/* A plugin with no code to speak of: memory, fastn_alloc/free, on_stream,
 * on_data and on_close, and the manifest {"name":"fz", "protocols":
 * ["/fz/1","/fz/2"], "serves":"anyone", ...}. */
static const uint8_t fz_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x20, 0x05, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x05, 0x7f, 0x7f,
    0x7f, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x01, 0x7f,
    0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x06, 0x05, 0x00, 0x01, 0x02,
    0x03, 0x04, 0x05, 0x04, 0x01, 0x01, 0x01, 0x01, 0x07, 0x46, 0x06, 0x06,
    0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x0b, 0x66, 0x61, 0x73,
    0x74, 0x6e, 0x5f, 0x61, 0x6c, 0x6c, 0x6f, 0x63, 0x00, 0x00, 0x0a, 0x66,
    0x61, 0x73, 0x74, 0x6e, 0x5f, 0x66, 0x72, 0x65, 0x65, 0x00, 0x01, 0x09,
    0x6f, 0x6e, 0x5f, 0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x00, 0x02, 0x07,
    0x6f, 0x6e, 0x5f, 0x64, 0x61, 0x74, 0x61, 0x00, 0x03, 0x08, 0x6f, 0x6e,
    0x5f, 0x63, 0x6c, 0x6f, 0x73, 0x65, 0x00, 0x04, 0x0a, 0x18, 0x05, 0x04,
    0x00, 0x41, 0x00, 0x0b, 0x02, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x00, 0x0b,
    0x04, 0x00, 0x41, 0x00, 0x0b, 0x04, 0x00, 0x41, 0x00, 0x0b, 0x00, 0x78,
    0x0e, 0x66, 0x61, 0x73, 0x74, 0x6e, 0x2e, 0x6d, 0x61, 0x6e, 0x69, 0x66,
    0x65, 0x73, 0x74, 0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22,
    0x66, 0x7a, 0x22, 0x2c, 0x22, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e,
    0x22, 0x3a, 0x22, 0x31, 0x2e, 0x30, 0x2e, 0x30, 0x22, 0x2c, 0x22, 0x61,
    0x62, 0x69, 0x22, 0x3a, 0x31, 0x2c, 0x22, 0x64, 0x65, 0x73, 0x63, 0x72,
    0x69, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x22, 0x3a, 0x22, 0x78, 0x22, 0x2c,
    0x22, 0x70, 0x72, 0x6f, 0x74, 0x6f, 0x63, 0x6f, 0x6c, 0x73, 0x22, 0x3a,
    0x5b, 0x22, 0x2f, 0x66, 0x7a, 0x2f, 0x31, 0x22, 0x2c, 0x22, 0x2f, 0x66,
    0x7a, 0x2f, 0x32, 0x22, 0x5d, 0x2c, 0x22, 0x73, 0x65, 0x72, 0x76, 0x65,
    0x73, 0x22, 0x3a, 0x22, 0x61, 0x6e, 0x79, 0x6f, 0x6e, 0x65, 0x22, 0x7d};

static char home[64], index_path[128];

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", home);
}

static void setup(void)
{
    char path[128];
    FILE *f;

    if (home[0])
        return;
    log_set_level(LOG_ERROR - 1);
    snprintf(home, sizeof(home), "/tmp/fastn-fuzz-index-XXXXXX");
    if (!mkdtemp(home))
        abort();
    atexit(cleanup);
    snprintf(path, sizeof(path), "%s/plugins", home);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/plugins/fz.wasm", home);
    if (!(f = fopen(path, "wb")) ||
        fwrite(fz_wasm, 1, sizeof(fz_wasm), f) != sizeof(fz_wasm) || fclose(f))
        abort();
    snprintf(index_path, sizeof(index_path), "%s/plugins/index", home);
}

/* Loads the plugins with the index as it is, and returns the index the
 * host wrote (malloc'd, NUL-terminated). */
static char *load_and_read(void)
{
    struct plugin_host_config cfg = {
        .home = home,
        .local_peer_id =
            "12D3KooWDiujcij5r7T3YTmKCdZRkAct8UcQicZCBUnKjd7Nnbvd"};
    struct plugin_host *h;
    uint8_t *out = NULL;
    size_t len = 0;

    if (plugin_host_new(&cfg, &h))
        abort();
    plugin_host_load_all(h);
    plugin_host_free(h);
    if (file_read_all(index_path, 4u << 20, &out, &len))
        abort();
    return (char *)out;
}

static int word_is(const char *p, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(p, w, n) == 0;
}

/* Whether a line is one the host understands (the property's own
 * reading: a name of [a-z0-9_-] starting with a letter, then enabled or
 * disabled as a word; or the header). */
static int understood(const char *l, size_t len)
{
    static const char head[] = "# fastn plugins:";
    size_t i = 0, k;

    if (len >= sizeof(head) - 1 && !memcmp(l, head, sizeof(head) - 1))
        return 1;
    if (!len || l[0] < 'a' || l[0] > 'z')
        return 0;
    while (i < len &&
           ((l[i] >= 'a' && l[i] <= 'z') || (l[i] >= '0' && l[i] <= '9') ||
            l[i] == '-' || l[i] == '_'))
        i++;
    if (i > 32 || i == len || l[i] != ' ')
        return 0;
    for (k = i + 1; k < len && l[k] != ' '; k++)
        ;
    return word_is(l + i + 1, k - i - 1, "enabled") ||
           word_is(l + i + 1, k - i - 1, "disabled");
}

/* Aborts unless every line of `in` (up to a NUL) the host does not
 * understand is a whole line of `out`. */
static void check_kept(const char *in, size_t n, const char *out)
{
    for (size_t i = 0; i < n && in[i];) {
        size_t e = i;
        while (e < n && in[e] && in[e] != '\n')
            e++;
        if (e > i && !understood(in + i, e - i)) {
            int found = 0;
            for (const char *o = out; *o && !found;) {
                const char *nl = strchr(o, '\n');
                size_t ol = nl ? (size_t)(nl - o) : strlen(o);
                found = ol == e - i && !memcmp(o, in + i, ol);
                o = nl ? nl + 1 : o + ol;
            }
            if (!found)
                abort();
        }
        i = e < n && in[e] == '\n' ? e + 1 : e;
        if (e < n && !in[e])
            break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f;
    char *first, *second;

    setup();
    if (size > 65536)
        return 0;
    if (!(f = fopen(index_path, "wb")) || fwrite(data, 1, size, f) != size ||
        fclose(f))
        abort();
    first = load_and_read();
    check_kept((const char *)data, size, first);
    second = load_and_read();
    if (strcmp(first, second) != 0)
        abort();
    free(first);
    free(second);
    return 0;
}
