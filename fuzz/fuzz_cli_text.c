/* Fuzz target: the CLI's readers of outside text and its JSON output
 * (src/cli/parse.c, out.c). The first byte picks the reader: jstrn and
 * cli_json_bytes, the chat plugin's send and log answers, a log line, a
 * journal entry, a config line. Property: whatever the bytes, the
 * object made is valid JSON (jansson dumps it and loads it back equal,
 * refusing what is not UTF-8); text that was UTF-8 comes out unchanged;
 * payload comes back exact from its base64; a config value stays in
 * its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void check_json(json_t *o)
{
    char *s;
    json_t *back;

    if (!o)
        abort();
    if (!(s = json_dumps(o, JSON_COMPACT)))
        abort();
    back = json_loads(s, 0, NULL);
    if (!back || !json_equal(o, back))
        abort();
    json_decref(back);
    free(s);
    json_decref(o);
}

static int b64_value(char c)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(tab, c) : NULL;
    return p ? (int)(p - tab) : -1;
}

/* The payload's JSON holds exactly p (n bytes). */
static void check_bytes(const json_t *o, const uint8_t *p, size_t n)
{
    const char *t = json_string_value(json_object_get(o, "x"));
    const char *b = json_string_value(json_object_get(o, "x_base64"));
    size_t len, k = 0;

    if (t) {
        if (b || strlen(t) != n || memcmp(t, p, n))
            abort();
        return;
    }
    if (!b || (len = strlen(b)) != (n + 2) / 3 * 4)
        abort();
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = b[i + j] == '=' ? 0 : b64_value(b[i + j]);
            if (d < 0)
                abort();
            v = v << 6 | (uint32_t)d;
        }
        for (size_t j = 0; j < 3 && k < n; j++, k++)
            if ((uint8_t)(v >> (16 - 8 * j)) != p[k])
                abort();
    }
}

static void text_and_bytes(const uint8_t *p, size_t n)
{
    json_t *s = jstrn((const char *)p, n), *o = json_object();
    char key[256];
    size_t kn = n < sizeof(key) - 1 ? n : sizeof(key) - 1;

    if (!json_is_string(s))
        abort();
    if (cli_is_utf8((const char *)p, n) &&
        (json_string_length(s) != n || memcmp(json_string_value(s), p, n)))
        abort();
    cli_json_bytes(o, "x", p, n);
    check_bytes(o, p, n);
    memcpy(key, p, kn);
    key[kn] = '\0';
    cli_json_set(o, key, s);
    check_json(o);
}

static void config_line(const char *line)
{
    char out[40];
    const char *v;

    if (cli_config_line_key(line, out, sizeof(out), &v) &&
        (v <= out || v >= out + sizeof(out) || strlen(v) >= sizeof(out)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data + 1;
    size_t n = size ? size - 1 : 0;
    char *line;
    struct cli_log_line ln;
    json_t *o;

    if (size == 0 || !(line = malloc(n + 1)))
        return 0;
    memcpy(line, p, n);
    line[n] = '\0';
    switch (data[0] % 6) {
    case 0:
        text_and_bytes(p, n);
        break;
    case 1:
        check_json(cli_chat_send_json((const char *)p, n));
        break;
    case 2:
        check_json(cli_chat_log_json((const char *)p, n));
        break;
    case 3:
        cli_log_parse(line, &ln);
        check_json(cli_log_line_json(&ln));
        break;
    case 4:
        if ((o = cli_journal_json((const char *)p, n)))
            check_json(o);
        break;
    default:
        config_line(line);
    }
    free(line);
    return 0;
}
