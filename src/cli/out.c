/*
 * The CLI's output: JSON through jansson for --json, and errors in one
 * form for both modes: "fastn[ CMD]: MESSAGE" on stderr for people,
 * {"error": {"code", "message"}} on stdout for programs, with the same
 * exit code.
 *
 * The output is always valid JSON, whatever bytes a peer, a plugin, a
 * file or the command line brought (jansson refuses strings that are not
 * UTF-8). One rule for every command (docs/CLI.md, "JSON output"): in a
 * text field (and an object's key) each byte that does not belong to a
 * valid UTF-8 sequence, and a NUL, becomes U+FFFD; payload (a stream's
 * or a plugin's reply) is "KEY" when it is UTF-8 text, else
 * "KEY_base64" with the exact bytes.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/term.h"

static struct cli *out_cli;
static bool emit_failed; /* an object could not be built or printed */

void cli_out_init(struct cli *cli)
{
    out_cli = cli;
}

static bool json_mode(void)
{
    return out_cli && out_cli->json;
}

void cli_emit(json_t *o)
{
    /* NULL: building it failed (out of memory): an error in its place,
     * and the exit code says so (cli_out_status) */
    if (!o) {
        emit_failed = true;
        fputs("{\"error\":{\"code\":\"FASTN_ERR_NOMEM\",\"message\":"
              "\"out of memory while building the output; try again\"}}\n",
              stdout);
        fflush(stdout);
        return;
    }
    if (json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(12)) != 0)
        emit_failed = true;
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(o);
}

int cli_out_status(int rc)
{
    return rc == 0 && emit_failed ? CLI_EXIT_FAIL : rc;
}

/* The length of the UTF-8 sequence at p (n bytes left), or 0 when it is
 * not one (overlong forms, surrogates and values past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;

    if (p[0] < 0x80)
        return p[0] ? 1 : 0;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, cp = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, cp = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, cp = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

bool cli_is_utf8(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;

    for (size_t i = 0, k; i < n; i += k)
        if (!(k = utf8_len(u + i, n - i)))
            return false;
    return true;
}

json_t *jstrn(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    json_t *s;
    char *buf;
    size_t o = 0;

    if (!p)
        return json_string("");
    if (cli_is_utf8(p, n))
        return json_stringn(p, n);
    /* each bad byte becomes U+FFFD (3 bytes); a NUL too */
    if (!(buf = malloc(n * 3 + 1)))
        return json_null();
    for (size_t i = 0, k; i < n; i += k) {
        if ((k = utf8_len(u + i, n - i))) {
            memcpy(buf + o, p + i, k);
            o += k;
        } else {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            k = 1;
        }
    }
    s = json_stringn(buf, o);
    free(buf);
    return s ? s : json_null();
}

json_t *jstr(const char *s)
{
    return jstrn(s, s ? strlen(s) : 0);
}

void cli_json_set(json_t *o, const char *key, json_t *v)
{
    json_t *k = jstr(key);

    if (json_is_string(k))
        json_object_set_new(o, json_string_value(k), v);
    else
        json_decref(v);
    json_decref(k);
}

json_t *jstr_list(char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, jstr(v[i]));
    return a ? a : json_null();
}

static char *base64(const unsigned char *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

void cli_json_bytes(json_t *o, const char *key, const void *p, size_t n)
{
    char k[64], *b;

    if (cli_is_utf8(p, n)) {
        json_object_set_new(o, key, json_stringn(p, n));
        return;
    }
    snprintf(k, sizeof(k), "%s_base64", key);
    b = base64(p, n);
    json_object_set_new(o, k, b ? json_string(b) : json_null());
    free(b);
}

static void error_out(int err, const char *msg)
{
    json_t *e;

    if (json_mode()) {
        e = json_object();
        json_object_set_new(e, "code", json_string(fastn_err_name(err)));
        json_object_set_new(e, "message", jstr(msg));
        cli_emit(json_pack("{s:o}", "error", e));
        return;
    }
    if (out_cli && out_cli->cmd)
        fprintf(stderr, "fastn %s: %s\n", out_cli->cmd, msg);
    else
        fprintf(stderr, "fastn: %s\n", msg);
}

int cli_error(int exit, int err, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    error_out(err, msg);
    return exit;
}

int cli_fail(struct fastn_client *c, int err)
{
    return cli_fail_hint(c, err, NULL);
}

int cli_fail_hint(struct fastn_client *c, int err, const char *hint)
{
    char remote[1024];
    const char *what = fastn_strerror(err);
    const char *sep = hint ? "; " : "";

    /* the daemon's message may quote a plugin or a peer: escaped for a
     * terminal (JSON carries it as it is) */
    if (json_mode())
        snprintf(remote, sizeof(remote), "%s",
                 c ? fastn_client_error_message(c) : "");
    else
        term_safe(c ? fastn_client_error_message(c) : "", remote,
                  sizeof(remote));
    if (!hint)
        hint = "";
    if (remote[0] && strstr(remote, what)) /* it says all */
        return cli_error(CLI_EXIT_FAIL, err, "%s%s%s", remote, sep, hint);
    if (remote[0])
        return cli_error(CLI_EXIT_FAIL, err, "%s: %s%s%s", what, remote, sep,
                         hint);
    return cli_error(CLI_EXIT_FAIL, err, "%s%s%s", what, sep, hint);
}

int cli_usage_error(const char *cmd, const char *what)
{
    if (json_mode())
        return cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                         "%s; see fastn %s --help", what, cmd);
    fprintf(stderr, "fastn %s: %s; see fastn %s --help\n", cmd, what, cmd);
    return CLI_EXIT_USAGE;
}

int cli_unknown_option(const char *cmd, const char *opt)
{
    return cli_unknown_option_of(cmd, opt, NULL, 0);
}

int cli_unknown_option_of(const char *cmd, const char *opt,
                          const char *const *known, size_t n_known)
{
    const struct cli_command *c = cli_command_find(cmd);
    const char *v[192], *near;
    char buf[4096], what[512];
    size_t n = c ? cli_usage_options(c->usage, buf, sizeof(buf), v, 120) : 0;

    for (size_t i = 0; i < n_known && n < 188; i++)
        v[n++] = known[i];
    v[n++] = "--json";
    v[n++] = "--help";
    near = cli_nearest(opt, v, n);
    if (near)
        snprintf(what, sizeof(what), "unknown option '%s' (did you mean %s?)",
                 opt, near);
    else
        snprintf(what, sizeof(what), "unknown option '%s'", opt);
    return cli_usage_error(cmd, what);
}

int cli_unknown_word(const char *cmd, const char *what, const char *word,
                     const char *const *words, size_t n)
{
    const char *near = cli_nearest(word, words, n);
    char msg[512];

    if (near)
        snprintf(msg, sizeof(msg), "unknown %s '%s' (did you mean %s?)", what,
                 word, near);
    else
        snprintf(msg, sizeof(msg), "unknown %s '%s'", what, word);
    return cli_usage_error(cmd, msg);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;

    fputs("fastn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
