/*
 * The CLI's readers of text that comes from outside, turned into JSON:
 * the chat plugin's answers (plugins/chat/chat.c: "delivered ID", log
 * lines "YYYY-MM-DD HH:MM:SS  -> PEER  TEXT  [state]"), the daemon's log
 * lines (util/log.c: "2025-01-31T12:00:00Z LEVEL subsys: message", or
 * without the time on stderr), journalctl's entries (-o json), and the
 * config file's "key = value" lines. Every input is bounded by its
 * length (none needs a NUL at its end), and every string that goes out
 * passes through jstrn, so the JSON stays valid whatever the bytes
 * (fuzz/fuzz_cli_text.c holds them to that).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *const cli_log_levels[CLI_LOG_LEVELS] = {"error", "warn", "info",
                                                    "debug", "trace"};

/* --- chat ------------------------------------------------------------------
 */

json_t *cli_chat_send_json(const char *p, size_t n)
{
    const char *sp = memchr(p, ' ', n);
    size_t id_len = 0, rest;

    if (!sp)
        return json_pack("{s:n,s:n,s:o}", "status", "id", "message",
                         jstrn(p, n));
    rest = n - (size_t)(sp + 1 - p);
    while (id_len < rest && sp[1 + id_len] != ':' && sp[1 + id_len] != '\n')
        id_len++;
    return json_pack("{s:o,s:o,s:o}", "status", jstrn(p, (size_t)(sp - p)),
                     "id", jstrn(sp + 1, id_len), "message", jstrn(p, n));
}

/* One log line: "YYYY-MM-DD HH:MM:SS  -> PEER  TEXT[  [state]]", or
 * NULL for a line of another form. */
static json_t *chat_line_json(const char *l, size_t n)
{
    static const char *const states[] = {"  [delivered]", "  [queued]",
                                         "  [waiting]"};
    static const char *const names[] = {"delivered", "queued", "waiting"};
    const char *peer, *gap, *text;
    json_t *state = json_null();
    char when[21];
    bool out;

    if (n < 24 || l[19] != ' ' || l[20] != ' ' || l[23] != ' ')
        return NULL;
    out = l[21] == '-' && l[22] == '>';
    memcpy(when, l, 10);
    when[10] = 'T';
    memcpy(when + 11, l + 11, 8);
    when[19] = 'Z';
    when[20] = '\0';
    peer = l + 24;
    if (!(gap = memmem(peer, n - 24, "  ", 2)))
        return NULL;
    text = gap + 2;
    n -= (size_t)(text - l);
    for (size_t i = 0; out && i < 3; i++) {
        size_t k = strlen(states[i]);
        if (n >= k && !memcmp(text + n - k, states[i], k)) {
            json_decref(state);
            state = json_string(names[i]);
            n -= k;
            break;
        }
    }
    return json_pack("{s:o,s:s,s:o,s:o,s:o}", "time", jstrn(when, 20),
                     "direction", out ? "out" : "in", "peer_id",
                     jstrn(peer, (size_t)(gap - peer)), "text", jstrn(text, n),
                     "state", state);
}

json_t *cli_chat_log_json(const char *p, size_t n)
{
    json_t *a = json_array();

    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t len = nl ? (size_t)(nl - p) : n;
        json_t *m = chat_line_json(p, len);
        if (m)
            json_array_append_new(a, m);
        else if (len) /* a line of another form: kept as text */
            json_array_append_new(a, json_pack("{s:o}", "text", jstrn(p, len)));
        p += len + (nl ? 1 : 0);
        n -= len + (nl ? 1 : 0);
    }
    return json_pack("{s:o}", "messages", a);
}

/* --- the daemon's log ------------------------------------------------------
 */

int cli_log_level(const char *s, size_t n)
{
    for (int i = 0; i < CLI_LOG_LEVELS; i++)
        if (strlen(cli_log_levels[i]) == n && !strncmp(s, cli_log_levels[i], n))
            return i;
    return -1;
}

/* "2025-01-31T12:00:00Z" exactly, into *t. */
static bool iso_time(const char *l, time_t *t)
{
    struct tm tm = {0};
    const char *end;

    if (strlen(l) < 20 || l[4] != '-' || l[10] != 'T' || l[19] != 'Z')
        return false;
    end = strptime(l, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end != l + 20)
        return false;
    *t = timegm(&tm);
    return true;
}

void cli_log_parse(const char *l, struct cli_log_line *out)
{
    const char *p = l, *sp, *colon;

    memset(out, 0, sizeof(*out));
    out->level = -1;
    out->msg = l;
    if (iso_time(l, &out->t) && l[20] == ' ')
        p = l + 21;
    else
        out->t = 0;
    if (!(sp = strchr(p, ' ')) ||
        (out->level = cli_log_level(p, (size_t)(sp - p))) < 0)
        return;
    if ((colon = strstr(sp + 1, ": "))) {
        out->subsys = sp + 1;
        out->subsys_len = (size_t)(colon - sp - 1);
        out->msg = colon + 2;
    } else {
        out->msg = sp + 1;
    }
}

/* t as ISO 8601 UTC, or JSON null (none, or out of gmtime's range). */
static json_t *time_json(time_t t)
{
    char when[64];
    struct tm tm;

    if (!t || !gmtime_r(&t, &tm) ||
        !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return jstr(when);
}

static json_t *level_json(int level)
{
    return level >= 0 && level < CLI_LOG_LEVELS
               ? json_string(cli_log_levels[level])
               : json_null();
}

json_t *cli_log_line_json(const struct cli_log_line *ln)
{
    return json_pack("{s:o,s:o,s:o,s:o}", "time", time_json(ln->t), "level",
                     level_json(ln->level), "subsystem",
                     ln->subsys ? jstrn(ln->subsys, ln->subsys_len)
                                : json_null(),
                     "message", jstr(ln->msg));
}

/* A journal field's text: journalctl -o json gives a string, or an
 * array of byte values when the text is not UTF-8, into buf (n bytes);
 * NULL when absent. */
static const char *journal_text(json_t *v, char *buf, size_t n)
{
    size_t i, len = 0;
    json_t *b;

    if (json_is_string(v))
        return json_string_value(v);
    if (!json_is_array(v) || n == 0)
        return NULL;
    json_array_foreach(v, i, b)
    {
        if (len + 1 < n && json_is_integer(b) && json_integer_value(b) > 0 &&
            json_integer_value(b) < 256)
            buf[len++] = (char)json_integer_value(b);
    }
    buf[len] = '\0';
    return buf;
}

json_t *cli_journal_json(const char *text, size_t n)
{
    /* syslog priorities 0..7 as our levels */
    static const int prio_level[] = {0, 0, 0, 0, 1, 1, 2, 3};
    char bytes[8192];
    json_t *e = json_loadb(text, n, 0, NULL), *o;
    const char *msg, *p, *us, *colon;
    long long usec;

    if (!json_is_object(e)) {
        json_decref(e);
        return NULL;
    }
    msg = journal_text(json_object_get(e, "MESSAGE"), bytes, sizeof(bytes));
    p = json_string_value(json_object_get(e, "PRIORITY"));
    us = json_string_value(json_object_get(e, "__REALTIME_TIMESTAMP"));
    colon = msg ? strstr(msg, ": ") : NULL;
    usec = us ? strtoll(us, NULL, 10) : 0;
    o = json_pack("{s:o,s:o,s:o,s:o}", "time",
                  time_json(usec > 0 ? (time_t)(usec / 1000000) : 0), "level",
                  level_json(p && p[0] >= '0' && p[0] <= '7' && !p[1]
                                 ? prio_level[p[0] - '0']
                                 : -1),
                  "subsystem",
                  colon ? jstrn(msg, (size_t)(colon - msg)) : json_null(),
                  "message",
                  jstr(colon ? colon + 2
                       : msg ? msg
                             : ""));
    json_decref(e);
    return o;
}

/* --- the config file ------------------------------------------------------
 */

bool cli_config_line_key(const char *line, char *out, size_t n,
                         const char **value)
{
    const char *eq, *s = line;
    size_t klen, vlen;
    char *v;

    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '#' || !*s || !(eq = strchr(s, '=')))
        return false;
    klen = (size_t)(eq - s);
    while (klen && (s[klen - 1] == ' ' || s[klen - 1] == '\t'))
        klen--;
    if (!klen || klen + 2 > n)
        return false;
    memcpy(out, s, klen);
    out[klen] = '\0';
    v = out + klen + 1;
    snprintf(v, n - klen - 1, "%s", eq + 1);
    v[strcspn(v, "#\r")] = '\0';
    vlen = strspn(v, " \t");
    memmove(v, v + vlen, strlen(v + vlen) + 1);
    vlen = strlen(v);
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        v[--vlen] = '\0';
    *value = v;
    return true;
}

int cli_set_run(struct cli *cli, const struct cli_set_ops *ops, char **pos,
                int n, const char *name)
{
    const char *words[] = {"add", "list", "remove", ops->extra};
    struct fastn_client *c;
    char what[96];
    int rc;

    if (n == 0) {
        snprintf(what, sizeof(what), "which command? add, list%s%s or remove",
                 ops->extra ? ", " : "", ops->extra ? ops->extra : "");
        return cli_usage_error(ops->cmd, what);
    }
    if (strcmp(pos[0], "add") && strcmp(pos[0], "list") &&
        strcmp(pos[0], "remove"))
        return cli_unknown_word(ops->cmd, "command", pos[0], words,
                                ops->extra ? 4 : 3);
    snprintf(what, sizeof(what), "add and remove want one %s", ops->thing);
    if ((!strcmp(pos[0], "list") && n != 1) ||
        (strcmp(pos[0], "list") && n != 2))
        return cli_usage_error(ops->cmd, !strcmp(pos[0], "list")
                                             ? "list takes no argument"
                                             : what);
    if (name && strcmp(pos[0], "add"))
        return cli_usage_error(ops->cmd, "--name goes with add");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (!strcmp(pos[0], "add"))
        rc = ops->add(cli, c, pos[1], name);
    else if (!strcmp(pos[0], "list"))
        rc = ops->list(cli, c);
    else
        rc = ops->remove(cli, c, pos[1]);
    fastn_client_free(c);
    return rc;
}
