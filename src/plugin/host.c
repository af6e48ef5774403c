/*
 * The plugin host (plugin.h): the installed plugins and their files.
 *
 * HOME/plugins/NAME.wasm holds each plugin, HOME/plugins/index the
 * enabled state of each and the user's narrowing, one line each:
 *
 *   NAME enabled|disabled [serves=known-peers|nobody] [withhold=CAP,CAP]
 *        [serves@PROTOCOL=known-peers|nobody]...
 *
 * (the tokens after the state came later: a line without them, as older
 * daemons wrote, loads with no narrowing). A protocol id has no spaces
 * (0x21..0x7e, manifest.c) but may hold '=' or '@': serves@ tokens are
 * split at their last '=', since no serves value holds one. What this
 * daemon does not understand (a token, or a whole line: a newer daemon's,
 * or one written by hand) is logged once when the index is read and kept
 * as it is when the index is written again. Both files are written
 * atomically (a temporary NAME.tmp, fsync, rename), so a crash leaves
 * either the old or the new one; a temporary file a crash left is removed
 * at the next start (and logged). A .wasm without an index line is loaded
 * as enabled (copied in by hand); the line of a plugin whose file is gone
 * is dropped. Plugin files and the index are read only as regular files,
 * not through a link (file_read_nofollow).
 *
 * Invariants: h->plugins is sorted by name; every plugin in it has a file
 * on disk; a plugin that did not load (bad file) is kept with its error so
 * that `fastn plugin info` can say why, and never runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/file.h"
#include "plugin/host_int.h"
#include "store/store.h"
#include "util/log.h"

#define INDEX_NAME "index"
#define INDEX_LINE_MAX 256

const char *plugin_state_name(enum plugin_state s)
{
    switch (s) {
    case PLUGIN_STATE_DISABLED:
        return "disabled";
    case PLUGIN_STATE_RUNNING:
        return "running";
    case PLUGIN_STATE_BACKOFF:
        return "restarting";
    case PLUGIN_STATE_FAILED:
        return "failed";
    }
    return "unknown";
}

void host_wake(struct plugin_host *h)
{
    if (h->ops && h->ops->wake)
        h->ops->wake(h->ops_arg);
}

static void protocols_changed(struct plugin_host *h)
{
    if (h->ops && h->ops->protocols_changed)
        h->ops->protocols_changed(h->ops_arg);
}

struct host_plugin *host_find(struct plugin_host *h, const char *name)
{
    for (struct host_plugin *p = h->plugins; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

struct store_pdb *plugin_host_db(struct plugin_host *h, const char *name)
{
    struct host_plugin *p = host_find(h, name);
    return p && p->inst && !p->inst->cur ? p->inst->db : NULL;
}

static void insert_sorted(struct plugin_host *h, struct host_plugin *p)
{
    struct host_plugin **pp = &h->plugins;
    while (*pp && strcmp((*pp)->name, p->name) < 0)
        pp = &(*pp)->next;
    p->next = *pp;
    *pp = p;
}

static void unlink_plugin(struct plugin_host *h, struct host_plugin *p)
{
    for (struct host_plugin **pp = &h->plugins; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void plugin_free(struct host_plugin *p)
{
    if (!p)
        return;
    host_waiting_drop(p, FASTN_ERR_CANCELED,
                      "the plugin was removed or replaced before it "
                      "restarted");
    fastn_wasm_module_free(p->mod);
    free(p->index_unknown);
    free(p);
}

/* --- files ------------------------------------------------------------- */

static int plugin_file(const struct plugin_host *h, const char *name,
                       const char *suffix, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s%s", h->plugins_dir, name, suffix);
    return n > 0 && (size_t)n < cap ? 0 : FASTN_ERR_TOO_LARGE;
}

/* Whether the file at path holds exactly p[0..n) (no write, no fsync
 * needed then: a daemon start rewrites nothing). */
static bool same_content(const char *path, const void *p, size_t n)
{
    uint8_t *old = NULL;
    size_t len = 0;
    bool same;

    if (file_read_all(path, n + 1, &old, &len))
        return false;
    same = len == n && memcmp(old, p, n) == 0;
    free(old);
    return same;
}

/* The tokens after a plugin's state: its narrowing, if any. */
static void index_narrowing(const struct host_plugin *p, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    if (p->narrowed)
        n += (size_t)snprintf(out, cap, " serves=%s",
                              plugin_serves_name(p->user_serves));
    for (unsigned bit = 1, first = 1; bit & PLUGIN_CAPS_ALL; bit <<= 1)
        if ((p->withheld & bit) && n < cap) {
            n += (size_t)snprintf(out + n, cap - n, "%s%s",
                                  first ? " withhold=" : ",",
                                  plugin_cap_name(bit));
            first = 0;
        }
}

/* The serves@PROTOCOL=WHO tokens of p, appended to b. */
static int index_protocols(const struct host_plugin *p, struct buf *b)
{
    char tok[PLUGIN_PROTOCOL_MAX + 32];
    int err = 0;

    for (size_t i = 0; i < p->n_proto && !err; i++) {
        int n =
            snprintf(tok, sizeof(tok), " serves@%s=%s", p->proto[i].protocol,
                     plugin_serves_name(p->proto[i].serves));
        err = buf_append(b, tok, (size_t)n);
    }
    return err;
}

int host_index_save(struct plugin_host *h)
{
    static const char head[] = "# fastn plugins: NAME enabled|disabled "
                               "[serves=WHO] [withhold=CAP,...] "
                               "[serves@PROTOCOL=WHO]...\n";
    char path[PATH_MAX];
    struct buf b;
    int err;

    buf_init(&b, 1u << 20);
    err = buf_append(&b, head, sizeof(head) - 1);
    for (struct host_plugin *p = h->plugins; p && !err; p = p->next) {
        char line[INDEX_LINE_MAX], extra[INDEX_LINE_MAX / 2];
        index_narrowing(p, extra, sizeof(extra));
        int n = snprintf(line, sizeof(line), "%s %s%s", p->name,
                         p->enabled ? "enabled" : "disabled", extra);
        err = buf_append(&b, line, (size_t)n);
        if (!err)
            err = index_protocols(p, &b);
        if (!err && p->index_unknown)
            err = buf_append(&b, p->index_unknown, strlen(p->index_unknown));
        if (!err)
            err = buf_append(&b, "\n", 1);
    }
    /* lines this daemon does not understand stay as they were */
    if (!err && h->index_unknown)
        err = buf_append(&b, h->index_unknown, strlen(h->index_unknown));
    if (!err)
        err = plugin_file(h, INDEX_NAME, "", path, sizeof(path));
    if (!err && !same_content(path, b.data, b.len))
        err = file_write_atomic(path, b.data, b.len, 0600);
    buf_cleanup(&b);
    if (err)
        log_msg(LOG_ERROR, "plugin", "cannot write %s/index: %s",
                h->plugins_dir, fastn_strerror(err));
    return err;
}

/* A plugin name as the manifest allows it, so it is one path component. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > PLUGIN_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return false;
    return true;
}

/* One plugin's line of the index. */
struct index_entry {
    bool enabled;  /* default: yes */
    bool narrowed; /* serves= was there */
    enum plugin_serves serves;
    unsigned withheld;
    size_t n_proto; /* serves@PROTOCOL=WHO tokens */
    struct host_proto_serves proto[PLUGIN_PROTOCOLS_MAX];
    char *unknown; /* tokens not understood, " a b" (malloc'd, or NULL) */
};

/* Appends " token" (len bytes) to a malloc'd string (NULL: empty); out of
 * memory, the token is lost. */
static void token_keep(char **v, const char *tok, size_t len)
{
    size_t n = *v ? strlen(*v) : 0;
    char *t = realloc(*v, n + len + 2);

    if (!t)
        return;
    t[n] = ' ';
    memcpy(t + n + 1, tok, len);
    t[n + len + 1] = '\0';
    *v = t;
}

/* Appends " withhold=NAME" (len bytes of name) to a malloc'd string. */
static void token_keep_withhold(char **v, const char *name, size_t len)
{
    char *t = malloc(len + 9);

    if (!t)
        return;
    memcpy(t, "withhold=", 9);
    memcpy(t + 9, name, len);
    token_keep(v, t, len + 9);
    free(t);
}

/* Reads "withhold=a,b" (len bytes, after the '='); a name it does not
 * know is kept in e->unknown as a token "withhold=NAME" of its own. */
static unsigned parse_withhold(const char *s, size_t len, struct index_entry *e)
{
    unsigned bits = 0;

    while (len) {
        const char *c = memchr(s, ',', len);
        size_t k = c ? (size_t)(c - s) : len;
        char name[16];
        unsigned bit = 0;
        if (k < sizeof(name)) {
            memcpy(name, s, k);
            name[k] = '\0';
            bit = plugin_cap_from_name(name);
        }
        if (!bit && k)
            token_keep_withhold(&e->unknown, s, k);
        bits |= bit;
        s += k + (c != NULL);
        len -= k + (c != NULL);
    }
    return bits;
}

/* Sets protocol's narrowing in v (n entries, room for
 * PLUGIN_PROTOCOLS_MAX), replacing one it had; full: skipped. */
static void proto_set(struct host_proto_serves *v, size_t *n,
                      const char *protocol, size_t len,
                      enum plugin_serves serves)
{
    size_t i = 0;
    while (i < *n && !(strlen(v[i].protocol) == len &&
                       memcmp(v[i].protocol, protocol, len) == 0))
        i++;
    if (i == PLUGIN_PROTOCOLS_MAX || len > PLUGIN_PROTOCOL_MAX)
        return;
    memcpy(v[i].protocol, protocol, len);
    v[i].protocol[len] = '\0';
    v[i].serves = serves;
    if (i == *n)
        (*n)++;
}

/* Reads "serves@PROTOCOL=WHO" (len bytes, after the '@'): split at the
 * last '=' (a protocol id may hold '='). Returns false for one it does
 * not understand. */
static bool parse_proto_token(const char *s, size_t len, struct index_entry *e)
{
    size_t eq = len;
    char v[16];

    while (eq > 0 && s[eq - 1] != '=')
        eq--;
    if (eq < 2 || len - eq >= sizeof(v)) /* no '=', or no protocol */
        return false;
    memcpy(v, s + eq, len - eq);
    v[len - eq] = '\0';
    int w = plugin_serves_from_name(v);
    if (w < 0 || eq - 1 > PLUGIN_PROTOCOL_MAX)
        return false;
    proto_set(e->proto, &e->n_proto, s, eq - 1, (enum plugin_serves)w);
    return true;
}

/* Reads "serves=WHO" (len bytes after the '='); false if not understood. */
static bool parse_serves(const char *s, size_t len, struct index_entry *e)
{
    char v[16];
    int w;

    if (len >= sizeof(v))
        return false;
    memcpy(v, s, len);
    v[len] = '\0';
    if ((w = plugin_serves_from_name(v)) < 0)
        return false;
    e->narrowed = true;
    e->serves = (enum plugin_serves)w;
    return true;
}

/* Reads the tokens of one index line after the name (len bytes). */
static void parse_index_tokens(const char *s, size_t len, struct index_entry *e)
{
    for (int i = 0; len; i++) {
        while (len && *s == ' ') {
            s++;
            len--;
        }
        const char *sp = memchr(s, ' ', len);
        size_t k = sp ? (size_t)(sp - s) : len;
        bool known = true;
        if (!k)
            break;
        if (i == 0)
            e->enabled = !(k == 8 && memcmp(s, "disabled", 8) == 0);
        else if (k > 7 && memcmp(s, "serves=", 7) == 0)
            known = parse_serves(s + 7, k - 7, e);
        else if (k > 9 && memcmp(s, "withhold=", 9) == 0)
            e->withheld |= parse_withhold(s + 9, k - 9, e);
        else if (k > 7 && memcmp(s, "serves@", 7) == 0)
            known = parse_proto_token(s + 7, k - 7, e);
        else
            known = false;
        if (!known)
            token_keep(&e->unknown, s, k);
        s += k;
        len -= k;
    }
}

/* A line of the index, made safe for the log: cut, control characters
 * replaced. */
static void line_for_log(const char *l, size_t len, char *out, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)l[i] < 0x20 || l[i] == 0x7f ? '?' : l[i];
    out[n] = '\0';
}

/* Whether a line of the index is one this daemon understands: "NAME
 * enabled|disabled ...", or the header it writes. */
static bool index_line_known(const char *l, size_t len)
{
    static const char head[] = "# fastn plugins:";
    const char *sp = memchr(l, ' ', len);
    size_t k = sp ? (size_t)(sp - l) : len, rest;

    if (len >= sizeof(head) - 1 && memcmp(l, head, sizeof(head) - 1) == 0)
        return true;
    if (!sp || !name_ok(l, k))
        return false;
    rest = len - k - 1;
    sp = memchr(l + k + 1, ' ', rest);
    rest = sp ? (size_t)(sp - (l + k + 1)) : rest;
    return (rest == 7 && memcmp(l + k + 1, "enabled", 7) == 0) ||
           (rest == 8 && memcmp(l + k + 1, "disabled", 8) == 0);
}

/* The lines of the index this daemon does not understand ("...\n" each,
 * in their order; malloc'd, NULL if none), logged once here. Comments
 * are kept too, silently. */
static char *index_unknown_lines(const char *index)
{
    char *out = NULL, shown[120];
    size_t n = 0, lineno = 0;

    for (const char *l = index; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        lineno++;
        if (len && !index_line_known(l, len)) {
            char *t = realloc(out, n + len + 2);
            if (!t)
                break;
            out = t;
            memcpy(out + n, l, len);
            out[n + len] = '\n';
            n += len + 1;
            out[n] = '\0';
            line_for_log(l, len, shown, sizeof(shown));
            if (l[0] != '#')
                log_msg(LOG_WARN, "plugin",
                        "plugins/index line %zu is not understood; kept as "
                        "it is: %s",
                        lineno, shown);
        }
        l = nl ? nl + 1 : NULL;
    }
    return out;
}

/* Finds name's line in the index (NUL-terminated; may be NULL). */
static struct index_entry index_entry(const char *index, const char *name)
{
    struct index_entry e = {.enabled = true};
    size_t n = strlen(name);
    for (const char *l = index; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (len > n && memcmp(l, name, n) == 0 && l[n] == ' ') {
            parse_index_tokens(l + n + 1, len - n - 1, &e);
            return e;
        }
        l = nl ? nl + 1 : NULL;
    }
    return e;
}

/* The user's narrowing, as the index or an older version of a plugin
 * holds it. */
struct narrowing {
    bool narrowed;
    enum plugin_serves serves;
    unsigned withheld;
    size_t n_proto;
    const struct host_proto_serves *proto;
};

/* Takes the user's narrowing for p where it still applies to p's
 * manifest: only capabilities it asks for, only a narrower serves, only
 * protocols it has. */
static void keep_narrowing(struct host_plugin *p, const struct narrowing *nw)
{
    p->narrowed = nw->narrowed;
    p->user_serves = nw->serves;
    p->withheld = nw->withheld & PLUGIN_CAPS_ALL;
    p->n_proto = 0;
    for (size_t i = 0; i < nw->n_proto && i < PLUGIN_PROTOCOLS_MAX; i++) {
        const struct host_proto_serves *ps = &nw->proto[i];
        if (p->loaded && (!plugin_manifest_has_protocol(&p->m, ps->protocol) ||
                          plugin_serves_narrower_eq(p->m.serves, ps->serves)))
            continue; /* not loaded: kept until the file loads again */
        p->proto[p->n_proto++] = *ps;
    }
    if (!p->loaded)
        return;
    p->withheld &= p->m.caps;
    if (p->narrowed && plugin_serves_narrower_eq(p->m.serves, nw->serves))
        p->narrowed = false;
}

enum plugin_serves host_serves_now(const struct host_plugin *p)
{
    return p->narrowed ? p->user_serves : p->m.serves;
}

/* p's narrowing of protocol, or NULL. */
static const struct host_proto_serves *proto_find(const struct host_plugin *p,
                                                  const char *protocol)
{
    for (size_t i = 0; i < p->n_proto; i++)
        if (strcmp(p->proto[i].protocol, protocol) == 0)
            return &p->proto[i];
    return NULL;
}

enum plugin_serves host_serves_protocol(const struct host_plugin *p,
                                        const char *protocol)
{
    enum plugin_serves w = host_serves_now(p);
    const struct host_proto_serves *ps = proto_find(p, protocol);
    if (ps && plugin_serves_narrower_eq(ps->serves, w))
        w = ps->serves;
    return w;
}

unsigned host_caps_now(const struct host_plugin *p)
{
    return p->m.caps & ~p->withheld;
}

/* --- loading ----------------------------------------------------------- */

static void record_load_error(struct host_plugin *p, int err, const char *msg)
{
    p->state = PLUGIN_STATE_FAILED;
    p->last_error = err;
    snprintf(p->last_error_text, sizeof(p->last_error_text), "%s", msg);
    p->last_error_ms = p->h->now_ms;
}

/* Checks a plugin file and compiles it. On failure err says why. */
static int check_module(const uint8_t *wasm, size_t len,
                        struct plugin_manifest *m,
                        struct fastn_wasm_module **mod, char *err,
                        size_t errlen)
{
    struct fastn_wasm_error werr;
    int rc;

    if (len > PLUGIN_FILE_MAX) {
        snprintf(err, errlen, "the file is larger than %u bytes",
                 PLUGIN_FILE_MAX);
        return FASTN_ERR_TOO_LARGE;
    }
    rc = plugin_manifest_from_wasm(wasm, len, m, err, errlen);
    if (!rc)
        rc = plugin_wasm_check_interface(wasm, len, m, err, errlen);
    if (rc)
        return rc;
    rc = fastn_wasm_module_load(wasm, len, 0, mod, &werr);
    if (rc)
        snprintf(err, errlen, "the module does not load: %s (at byte %zu)",
                 werr.message, werr.offset);
    return rc;
}

/* Loads HOME/plugins/NAME.wasm into a new plugin record (kept even when
 * the file is bad, with its error). */
static struct host_plugin *load_one(struct plugin_host *h, const char *name,
                                    const struct index_entry *ie)
{
    bool enabled = ie->enabled;
    const struct narrowing nw = {ie->narrowed, ie->serves, ie->withheld,
                                 ie->n_proto, ie->proto};
    struct host_plugin *p = calloc(1, sizeof(*p));
    char path[PATH_MAX], err[256] = "";
    uint8_t *wasm = NULL;
    size_t len = 0;
    int rc;

    if (!p)
        return NULL;
    p->h = h;
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->index_unknown = ie->unknown;
    p->enabled = enabled;
    p->state = enabled ? PLUGIN_STATE_RUNNING : PLUGIN_STATE_DISABLED;
    rc = plugin_file(h, name, ".wasm", path, sizeof(path));
    if (!rc)
        rc = file_read_nofollow(path, PLUGIN_FILE_MAX, &wasm, &len);
    if (rc)
        snprintf(err, sizeof(err), "cannot read %s.wasm: %s", name,
                 rc == FASTN_ERR_INVAL  ? "not a regular file"
                 : rc == FASTN_ERR_PERM ? "a symbolic link"
                                        : fastn_strerror(rc));
    else
        rc = check_module(wasm, len, &p->m, &p->mod, err, sizeof(err));
    if (!rc && strcmp(p->m.name, name) != 0) {
        rc = FASTN_ERR_PLUGIN_MANIFEST;
        snprintf(err, sizeof(err), "the file %s.wasm holds plugin \"%s\"", name,
                 p->m.name);
    }
    free(wasm);
    p->file_bytes = len;
    if (rc) {
        log_msg(LOG_ERROR, "plugin", "%s: not loaded: %s", name, err);
        record_load_error(p, rc, err);
        memset(&p->m, 0, sizeof(p->m));
        snprintf(p->m.name, sizeof(p->m.name), "%s", name);
        fastn_wasm_module_free(p->mod);
        p->mod = NULL;
        keep_narrowing(p, &nw);
        return p;
    }
    p->loaded = true;
    keep_narrowing(p, &nw);
    return p;
}

/* Whether another loaded plugin already serves one of m's protocols;
 * *other gets it. */
static const char *protocol_taken(struct plugin_host *h,
                                  const struct plugin_manifest *m,
                                  const struct host_plugin **other)
{
    for (struct host_plugin *p = h->plugins; p; p = p->next) {
        if (!p->loaded || strcmp(p->name, m->name) == 0)
            continue;
        for (size_t i = 0; i < m->n_protocols; i++)
            if (plugin_manifest_has_protocol(&p->m, m->protocols[i])) {
                *other = p;
                return m->protocols[i];
            }
    }
    return NULL;
}

/* Removes what a crash in the middle of writing a file left in
 * HOME/plugins/ (NAME.wasm.tmp, index.tmp: file_write_atomic's temporary
 * files; the daemon holds the home's lock, so none is being written). */
static void remove_partial_files(struct plugin_host *h)
{
    DIR *dir = opendir(h->plugins_dir);
    struct dirent *de;
    char shown[80];

    while (dir && (de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".tmp") != 0)
            continue;
        line_for_log(de->d_name, n, shown, sizeof(shown));
        if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
            log_msg(LOG_WARN, "plugin",
                    "removed plugins/%s, a file a crash left half written "
                    "(an install or an index update that did not finish)",
                    shown);
        else
            log_msg(LOG_ERROR, "plugin", "cannot remove plugins/%s: %s", shown,
                    strerror(errno));
    }
    if (dir)
        closedir(dir);
}

/* The index as a NUL-terminated string (NULL when there is none). */
static char *index_read(struct plugin_host *h)
{
    char path[PATH_MAX];
    uint8_t *index = NULL;
    size_t len = 0;
    int rc;

    if (plugin_file(h, INDEX_NAME, "", path, sizeof(path)))
        return NULL;
    rc = file_read_nofollow(path, 1u << 20, &index, &len);
    if (rc && rc != FASTN_ERR_NOT_FOUND)
        log_msg(LOG_ERROR, "plugin", "cannot read plugins/index: %s",
                rc == FASTN_ERR_INVAL  ? "not a regular file"
                : rc == FASTN_ERR_PERM ? "a symbolic link"
                                       : fastn_strerror(rc));
    if (rc)
        return NULL;
    /* file_read_nofollow ends the bytes with a NUL; one inside ends it
     * early, which only hides the lines after it */
    return (char *)index;
}

/* Loads HOME/plugins/NAME.wasm for every plugin file there. */
static int load_files(struct plugin_host *h, const char *index)
{
    struct dirent *de;
    DIR *dir = opendir(h->plugins_dir);
    int loaded = 0;

    while (dir && (de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        char name[PLUGIN_NAME_MAX + 1];
        if (n < 6 || strcmp(de->d_name + n - 5, ".wasm") != 0 ||
            !name_ok(de->d_name, n - 5))
            continue;
        memcpy(name, de->d_name, n - 5);
        name[n - 5] = '\0';
        if (host_find(h, name))
            continue;
        struct index_entry ie = index_entry(index, name);
        struct host_plugin *p = load_one(h, name, &ie);
        if (!p) {
            free(ie.unknown);
            continue;
        }
        const struct host_plugin *other = NULL;
        const char *proto = p->loaded ? protocol_taken(h, &p->m, &other) : 0;
        if (proto) {
            char why[200];
            snprintf(why, sizeof(why), "protocol %s is served by plugin %s",
                     proto, other->name);
            record_load_error(p, FASTN_ERR_EXISTS, why);
            p->loaded = false;
        }
        insert_sorted(h, p);
        loaded += p->loaded;
    }
    if (dir)
        closedir(dir);
    return loaded;
}

int plugin_host_load_all(struct plugin_host *h)
{
    char *index;
    int loaded;

    remove_partial_files(h);
    index = index_read(h);
    free(h->index_unknown);
    h->index_unknown = index_unknown_lines(index);
    loaded = load_files(h, index);
    free(index);
    host_index_save(h);
    for (struct host_plugin *p = h->plugins; p; p = p->next)
        if (p->loaded && p->enabled && !p->inst)
            host_instance_start(p);
    log_msg(LOG_INFO, "plugin", "%d plugin%s loaded", loaded,
            loaded == 1 ? "" : "s");
    protocols_changed(h);
    return loaded;
}

/* --- the host ---------------------------------------------------------- */

static int make_dir(const char *home, const char *sub, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", home, sub);
    if (n <= 0 || (size_t)n >= cap)
        return FASTN_ERR_TOO_LARGE;
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return FASTN_ERR_IO;
    return 0;
}

int plugin_host_new(const struct plugin_host_config *cfg,
                    struct plugin_host **out)
{
    struct plugin_host *h;
    int err;

    if (!cfg || !cfg->home || !cfg->local_peer_id ||
        strlen(cfg->local_peer_id) > PLUGIN_PEER_ID_MAX)
        return FASTN_ERR_INVAL;
    h = calloc(1, sizeof(*h));
    if (!h)
        return FASTN_ERR_NOMEM;
    err =
        make_dir(cfg->home, "plugins", h->plugins_dir, sizeof(h->plugins_dir));
    if (!err)
        err = make_dir(cfg->home, "data", h->data_dir, sizeof(h->data_dir));
    if (err) {
        free(h);
        return err;
    }
    if (host_limits_init(h, &cfg->limits)) {
        free(h);
        return FASTN_ERR_INVAL;
    }
    snprintf(h->local_peer_id, sizeof(h->local_peer_id), "%s",
             cfg->local_peer_id);
    h->state = cfg->state;
    h->ops = cfg->ops;
    h->ops_arg = cfg->ops_arg;
    h->slice_fuel = cfg->slice_fuel ? cfg->slice_fuel : PLUGIN_SLICE_FUEL;
    h->next_token = 1;
    *out = h;
    return 0;
}

void plugin_host_free(struct plugin_host *h)
{
    if (!h)
        return;
    while (h->plugins) {
        struct host_plugin *p = h->plugins;
        h->plugins = p->next;
        host_instance_stop(p, true, FASTN_ERR_CANCELED, NULL);
        plugin_free(p);
    }
    free(h->index_unknown);
    free(h->local);
    free(h);
}

unsigned plugin_host_count(const struct plugin_host *h)
{
    unsigned n = 0;
    for (const struct host_plugin *p = h->plugins; p; p = p->next)
        n += p->loaded && p->enabled;
    return n;
}

/* --- install, remove, enable ------------------------------------------ */

/* Puts a checked plugin in place of (or beside) what is installed. */
static int install_record(struct plugin_host *h, struct host_plugin *np,
                          const uint8_t *wasm, size_t len)
{
    struct host_plugin *old = host_find(h, np->name);
    char path[PATH_MAX];
    int err = plugin_file(h, np->name, ".wasm", path, sizeof(path));

    if (!err)
        err = file_write_atomic(path, wasm, len, 0600);
    if (err)
        return err;
    if (old) {
        host_instance_stop(old, true, 0, NULL);
        unlink_plugin(h, old);
        plugin_free(old);
    }
    insert_sorted(h, np);
    host_index_save(h);
    host_instance_start(np);
    protocols_changed(h);
    return 0;
}

int plugin_host_install(struct plugin_host *h, const uint8_t *wasm, size_t len,
                        bool replace, char *name_out, char *err, size_t errlen)
{
    struct host_plugin *np = calloc(1, sizeof(*np));
    const struct host_plugin *other = NULL;
    const char *proto;
    char why[256] = "";
    int rc;

    if (!np)
        return FASTN_ERR_NOMEM;
    rc = check_module(wasm, len, &np->m, &np->mod, why, sizeof(why));
    if (!rc && host_find(h, np->m.name) && !replace) {
        rc = FASTN_ERR_EXISTS;
        snprintf(why, sizeof(why),
                 "plugin %s is installed already; remove it first or "
                 "replace it (--replace)",
                 np->m.name);
    }
    if (!rc && (proto = protocol_taken(h, &np->m, &other))) {
        rc = FASTN_ERR_EXISTS;
        snprintf(why, sizeof(why), "protocol %s is served by plugin %s", proto,
                 other->name);
    }
    if (!rc) {
        np->h = h;
        snprintf(np->name, sizeof(np->name), "%s", np->m.name);
        np->loaded = np->enabled = true;
        np->state = PLUGIN_STATE_RUNNING;
        np->file_bytes = len;
        const struct host_plugin *old = host_find(h, np->name);
        if (old) { /* the user's narrowing outlives a new version */
            const struct narrowing nw = {old->narrowed, old->user_serves,
                                         old->withheld, old->n_proto,
                                         old->proto};
            keep_narrowing(np, &nw);
            if (old->index_unknown)
                np->index_unknown = strdup(old->index_unknown);
        }
        rc = install_record(h, np, wasm, len);
        if (rc)
            snprintf(why, sizeof(why), "cannot write the plugin file: %s",
                     fastn_strerror(rc));
    }
    if (rc) {
        if (err && errlen)
            snprintf(err, errlen, "%s", why);
        plugin_free(np);
        return rc;
    }
    if (name_out)
        snprintf(name_out, PLUGIN_NAME_MAX + 1, "%s", np->name);
    log_msg(LOG_INFO, "plugin", "installed %s %s", np->name, np->m.version);
    return 0;
}

int plugin_host_remove(struct plugin_host *h, const char *name, bool keep_data)
{
    struct host_plugin *p = host_find(h, name);
    char path[PATH_MAX];
    int err;

    if (!p)
        return FASTN_ERR_NOT_FOUND;
    err = plugin_file(h, name, ".wasm", path, sizeof(path));
    if (err || (unlink(path) != 0 && errno != ENOENT))
        return FASTN_ERR_IO;
    host_instance_stop(p, true, 0, NULL);
    unlink_plugin(h, p);
    if (!keep_data && store_pdb_destroy(h->data_dir, name) != 0)
        log_msg(LOG_WARN, "plugin", "%s: cannot delete its data", name);
    plugin_free(p);
    host_index_save(h);
    protocols_changed(h);
    log_msg(LOG_INFO, "plugin", "removed %s%s", name,
            keep_data ? " (data kept)" : "");
    return 0;
}

int plugin_host_enable(struct plugin_host *h, const char *name, bool on)
{
    struct host_plugin *p = host_find(h, name);
    bool was;

    if (!p)
        return FASTN_ERR_NOT_FOUND;
    was = p->enabled;
    p->enabled = on;
    if (on && p->loaded && !p->inst) {
        p->backoff_ms = 0;
        host_instance_start(p);
    } else if (!on) {
        host_instance_stop(p, true, 0, NULL);
        p->state = PLUGIN_STATE_DISABLED;
    }
    if (was != on) {
        protocols_changed(h);
        log_msg(LOG_INFO, "plugin", "%s %s", on ? "enabled" : "disabled", name);
    }
    return host_index_save(h);
}

/* Names of the bits in caps, "a, b" or "none", for messages. */
static void caps_text(unsigned caps, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (unsigned bit = 1; bit & PLUGIN_CAPS_ALL; bit <<= 1)
        if ((caps & bit) && n < cap)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
                                  plugin_cap_name(bit));
    if (!n)
        snprintf(out, cap, "none");
}

/* Checks a narrowing against p's manifest; err says why not. */
static int restrict_check(const struct host_plugin *p, int serves,
                          unsigned withhold, unsigned grant, char *err,
                          size_t errlen)
{
    char t[64];

    if (!p->loaded) {
        snprintf(err, errlen,
                 "plugin %s did not load; its manifest is "
                 "unknown",
                 p->name);
        return FASTN_ERR_INVAL;
    }
    if (serves > PLUGIN_SERVES_NOBODY || serves < -1 ||
        ((withhold | grant) & ~PLUGIN_CAPS_ALL)) {
        snprintf(err, errlen, "unknown serves value or capability");
        return FASTN_ERR_INVAL;
    }
    if (serves >= 0 &&
        !plugin_serves_narrower_eq((enum plugin_serves)serves, p->m.serves)) {
        snprintf(err, errlen,
                 "plugin %s asked to serve %s: it cannot be made to serve "
                 "%s (only %s or narrower)",
                 p->name, plugin_serves_name(p->m.serves),
                 plugin_serves_name((enum plugin_serves)serves),
                 plugin_serves_name(p->m.serves));
        return FASTN_ERR_PLUGIN_CAPABILITY;
    }
    if ((withhold | grant) & ~p->m.caps) {
        caps_text((withhold | grant) & ~p->m.caps, t, sizeof(t) / 2);
        caps_text(p->m.caps, t + sizeof(t) / 2, sizeof(t) / 2);
        snprintf(err, errlen,
                 "plugin %s did not ask for %s (its manifest asks for: %s)",
                 p->name, t, t + sizeof(t) / 2);
        return FASTN_ERR_PLUGIN_CAPABILITY;
    }
    if (withhold & grant) {
        caps_text(withhold & grant, t, sizeof(t));
        snprintf(err, errlen, "%s both withheld and granted", t);
        return FASTN_ERR_INVAL;
    }
    return 0;
}

/* The plugin a restrict request names, or NULL with *rc and err saying
 * why not. */
static struct host_plugin *restrict_target(struct plugin_host *h,
                                           const char *name, int *rc, char *err,
                                           size_t errlen)
{
    struct host_plugin *p = name ? host_find(h, name) : NULL;

    *rc = p ? 0 : FASTN_ERR_NOT_FOUND;
    if (!p && err && errlen)
        snprintf(err, errlen, "no plugin named %.64s is installed",
                 name ? name : "");
    return p;
}

/* rc, with why copied into err (when the caller gave one). */
static int refused(int rc, const char *why, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    return rc;
}

int plugin_host_restrict(struct plugin_host *h, const char *name, int serves,
                         unsigned withhold, unsigned grant, char *err,
                         size_t errlen)
{
    char why[256] = "", t[64];
    unsigned newly;
    int rc;
    struct host_plugin *p = restrict_target(h, name, &rc, err, errlen);

    if (!p)
        return rc;
    if ((rc = restrict_check(p, serves, withhold, grant, why, sizeof(why))))
        return refused(rc, why, err, errlen);
    if (serves >= 0) {
        p->narrowed = (enum plugin_serves)serves != p->m.serves;
        p->user_serves = (enum plugin_serves)serves;
    }
    newly = withhold & ~p->withheld;
    p->withheld = (p->withheld | withhold) & ~grant;
    if ((newly & PLUGIN_CAP_TIMERS) && p->inst)
        p->inst->n_timers = 0; /* set ones fire no more */
    caps_text(p->withheld, t, sizeof(t));
    log_msg(LOG_INFO, "plugin", "%s: serves %s (manifest: %s), withheld: %s",
            p->name, plugin_serves_name(host_serves_now(p)),
            plugin_serves_name(p->m.serves), t);
    rc = host_index_save(h);
    if ((withhold | grant) & PLUGIN_CAP_LOCAL_LISTEN)
        protocols_changed(h); /* its ports open or close */
    return rc;
}

/* The manifest's protocols, "a, b", for messages. */
static void protocols_text(const struct plugin_manifest *m, char *out,
                           size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->n_protocols && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "",
                              m->protocols[i]);
}

/* Checks a narrowing of one protocol; err says why not. */
static int restrict_protocol_check(const struct host_plugin *p,
                                   const char *protocol, int serves, char *err,
                                   size_t errlen)
{
    char t[200];
    int rc = restrict_check(p, serves, 0, 0, err, errlen);

    if (rc)
        return rc;
    if (serves < 0) {
        snprintf(err, errlen, "narrowing a protocol needs a serves value");
        return FASTN_ERR_INVAL;
    }
    if (!protocol || !plugin_manifest_has_protocol(&p->m, protocol)) {
        protocols_text(&p->m, t, sizeof(t));
        snprintf(err, errlen, "plugin %s has no protocol %.64s (it has: %s)",
                 p->name, protocol ? protocol : "", t);
        return FASTN_ERR_INVAL;
    }
    return 0;
}

int plugin_host_restrict_protocol(struct plugin_host *h, const char *name,
                                  const char *protocol, int serves, char *err,
                                  size_t errlen)
{
    char why[320] = "";
    int rc;
    struct host_plugin *p = restrict_target(h, name, &rc, err, errlen);

    if (!p)
        return rc;
    if ((rc = restrict_protocol_check(p, protocol, serves, why, sizeof(why))))
        return refused(rc, why, err, errlen);
    struct host_proto_serves *ps =
        (struct host_proto_serves *)proto_find(p, protocol);
    if (ps) /* drop it: set again below unless P follows the plugin */
        *ps = p->proto[--p->n_proto];
    /* one wider than the plugin-wide narrowing is kept: it applies once
     * that is undone */
    if ((enum plugin_serves)serves != p->m.serves &&
        (enum plugin_serves)serves != host_serves_now(p))
        proto_set(p->proto, &p->n_proto, protocol, strlen(protocol),
                  (enum plugin_serves)serves);
    log_msg(LOG_INFO, "plugin", "%s: %s serves %s (plugin: %s, manifest: %s)",
            p->name, protocol,
            plugin_serves_name(host_serves_protocol(p, protocol)),
            plugin_serves_name(host_serves_now(p)),
            plugin_serves_name(p->m.serves));
    return host_index_save(h);
}

/* --- info -------------------------------------------------------------- */

/* The size of p's write-ahead log (HOME/data/NAME/db.sqlite-wal), 0 when
 * there is none. */
static uint64_t db_wal_bytes(const struct host_plugin *p)
{
    char path[PATH_MAX];
    struct stat st;

    if (snprintf(path, sizeof(path), "%s/%s/db.sqlite-wal", p->h->data_dir,
                 p->name) >= (int)sizeof(path) ||
        lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    return (uint64_t)st.st_size;
}

/* What p uses of its time and memory budgets. */
static void fill_usage(struct host_plugin *p, struct plugin_info *o)
{
    const struct plugin_host *h = p->h;

    host_cpu_usage(p, &o->cpu_ns, &o->cpu_fuel);
    o->cpu_window_ms = h->lim.cpu_window_ms;
    o->cpu_budget_ns =
        (uint64_t)h->lim.cpu_window_ms * 1000000ull / 100 * h->lim.cpu_percent;
    o->deferred = p->deferred;
    o->deferrals = p->deferrals;
    o->longest_slice_ns = p->longest_slice_ns;
    o->slice_pardons = p->slice_pardons;
    o->db_wal_bytes = db_wal_bytes(p);
    o->memory.budget = p->inst ? p->inst->mem_budget : h->lim.memory;
    if (p->inst)
        host_memory(p->inst, &o->memory);
}

static void fill_info(struct host_plugin *p, struct plugin_info *o)
{
    struct host_instance *in = p->inst;

    memset(o, 0, sizeof(*o));
    o->manifest = p->m;
    o->serves = host_serves_now(p);
    o->withheld = p->withheld;
    for (size_t i = 0; i < p->m.n_protocols; i++) {
        const struct host_proto_serves *ps = proto_find(p, p->m.protocols[i]);
        o->protocol_narrowed[i] = ps ? (int)ps->serves : -1;
        o->protocol_serves[i] = host_serves_protocol(p, p->m.protocols[i]);
    }
    o->state = p->state;
    o->enabled = p->enabled;
    o->restarts = p->restarts;
    o->last_error = p->last_error;
    memcpy(o->last_error_text, p->last_error_text, sizeof(o->last_error_text));
    o->last_error_ms = p->last_error_ms;
    if (p->state == PLUGIN_STATE_BACKOFF && p->restart_at > p->h->mono_ms)
        o->restart_in_ms = p->restart_at - p->h->mono_ms;
    o->file_bytes = p->file_bytes;
    for (size_t i = 0; p->loaded && i < p->m.n_listen; i++) {
        o->listen_port[i] = host_local_port(p, i);
        o->listen_bound[i] = p->listen_bound[i];
    }
    for (size_t i = 0; p->loaded && i < p->m.n_connect; i++)
        o->connect_to[i] = host_local_target(p, i);
    o->events = p->events;
    o->fuel_used = p->fuel_used;
    fill_usage(p, o);
    o->pending_calls = p->n_waiting; /* waiting for its restart */
    if (!in)
        return;
    if (in->wasm)
        o->memory_pages = (uint32_t)(fastn_wasm_memory_size(in->wasm) >> 16);
    if (in->db) {
        struct store_pdb_usage u;
        if (store_pdb_usage(in->db, &u) == 0) {
            o->db_bytes = u.data_bytes;
            o->db_disk_bytes = u.disk_bytes;
            o->db_heap_peak = u.heap_peak;
            o->db_heap_limit = u.heap_limit;
        }
    }
    o->open_streams = in->n_streams;
    o->pending_calls += in->n_calls;
    o->armed_timers = in->n_timers;
    o->queued_events = in->n_events + (in->cur != NULL);
}

int plugin_host_info(struct plugin_host *h, const char *name,
                     struct plugin_info *out)
{
    struct host_plugin *p = host_find(h, name);

    if (!p)
        return FASTN_ERR_NOT_FOUND;
    fill_info(p, out);
    return 0;
}

int plugin_host_list(struct plugin_host *h, struct plugin_info **out, size_t *n)
{
    size_t count = 0, i = 0;
    struct plugin_info *v;

    for (struct host_plugin *p = h->plugins; p; p = p->next)
        count++;
    v = calloc(count ? count : 1, sizeof(*v));
    if (!v)
        return FASTN_ERR_NOMEM;
    for (struct host_plugin *p = h->plugins; p; p = p->next)
        fill_info(p, &v[i++]);
    *out = v;
    *n = count;
    return 0;
}

/* --- protocols --------------------------------------------------------- */

static bool serving(const struct host_plugin *p)
{
    return p->loaded && p->enabled && p->state != PLUGIN_STATE_FAILED;
}

int plugin_host_serves(struct plugin_host *h, const char *protocol,
                       const char **name_out, enum plugin_serves *serves)
{
    for (struct host_plugin *p = h->plugins; p; p = p->next)
        if (serving(p) && plugin_manifest_has_protocol(&p->m, protocol)) {
            if (name_out)
                *name_out = p->name;
            if (serves)
                *serves = host_serves_protocol(p, protocol);
            return 0;
        }
    return FASTN_ERR_NOT_FOUND;
}

int plugin_host_serving(struct plugin_host *h, const char *protocol,
                        struct plugin_serving *out)
{
    for (struct host_plugin *p = h->plugins; p; p = p->next) {
        const struct host_proto_serves *ps;
        if (!serving(p) || !plugin_manifest_has_protocol(&p->m, protocol))
            continue;
        ps = proto_find(p, protocol);
        out->name = p->name;
        out->manifest = p->m.serves;
        out->narrowed = p->narrowed ? (int)p->user_serves : -1;
        out->protocol_narrowed = ps ? (int)ps->serves : -1;
        return 0;
    }
    return FASTN_ERR_NOT_FOUND;
}

size_t plugin_host_protocols(struct plugin_host *h, const char **protos,
                             size_t max)
{
    size_t n = 0;
    for (struct host_plugin *p = h->plugins; p; p = p->next) {
        if (!serving(p))
            continue;
        for (size_t i = 0; i < p->m.n_protocols; i++, n++)
            if (n < max)
                protos[n] = p->m.protocols[i];
    }
    return n;
}
