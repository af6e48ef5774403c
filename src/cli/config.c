/*
 * fastn config list|get|set|unset: the daemon's config file, edited the
 * way the daemon reads it. The keys are those of the daemon's own
 * template (daemon_config_template), a new file is checked with the
 * daemon's own parser (daemon_config_parse) before it replaces the old
 * one (a new file renamed over it, owner and mode kept), and the running
 * daemon is asked to reload it (DAEMON_RELOAD); when that fails, the old
 * file is put back. Keys the daemon takes only at its next start (its
 * command line sets them) are named as such.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "util/file.h"
#include "util/home.h"
#include "util/multiaddr.h"

const char cli_config_usage[] =
    "usage: fastn config list [--json]\n"
    "       fastn config get KEY [--json]\n"
    "       fastn config set KEY VALUE... [--json]\n"
    "       fastn config unset KEY [--json]\n"
    "\n"
    "The daemon's config file: the one the running daemon reads (fastn\n"
    "status shows it), else HOME/config. list prints every key fastnd\n"
    "knows with the value the file sets, or (default); get prints one\n"
    "(each on its own line for a key set on several lines, e.g. listen).\n"
    "set replaces the key's lines with KEY = VALUE (several VALUE words\n"
    "are joined by a space: listen takes several addresses); unset removes\n"
    "them. The new file is checked with fastnd's own parser (a bad value\n"
    "is refused, saying why), written atomically, and the running daemon\n"
    "reloads it at once (an admin request), as SIGHUP would; if it refuses\n"
    "the file the old one is put back. A key fastnd's command line sets\n"
    "(--listen, --log-level) applies only at its next start without it:\n"
    "fastn says so.\n"
    "\n"
    "--json: list {\"file\", \"settings\": [{\"key\", \"value\", \"values\",\n"
    "\"set\", \"restart\"}]}; get {\"key\", \"value\", \"values\", \"set\",\n"
    "\"file\"}; set and unset {\"key\", \"value\", \"values\", \"file\",\n"
    "\"reloaded\", \"restart\"} (\"value\" null when not set; \"reloaded\"\n"
    "false when no daemon runs)\n";

#define MAX_KEYS 64
#define MAX_LINES 4096

/* The file as lines, and what the keys are. */
struct conf {
    char path[PATH_MAX];
    bool own; /* HOME/config, which fastnd reads only as a file, no link */
    bool exists;
    struct stat st;
    char *text; /* owned; lines point into it */
    char *lines[MAX_LINES];
    size_t n_lines;
    const char *keys[MAX_KEYS];
    char key_buf[MAX_KEYS][40];
    size_t n_keys;
    struct fastn_client *c; /* the running daemon, or NULL */
    struct fastn_status *status;
};

/* "# key = example" lines of the template: the keys fastnd knows. */
static void known_keys(struct conf *f)
{
    const char *p = daemon_config_template();

    while (p && *p && f->n_keys < MAX_KEYS) {
        const char *e = strchr(p, '\n'), *k = p + 2;
        size_t len = 0;
        while (p[0] == '#' && p[1] == ' ' &&
               ((k[len] >= 'a' && k[len] <= 'z') || k[len] == '-'))
            len++;
        if (len && len < sizeof(f->key_buf[0]) && !strncmp(k + len, " = ", 3)) {
            memcpy(f->key_buf[f->n_keys], k, len);
            f->key_buf[f->n_keys][len] = '\0';
            f->keys[f->n_keys] = f->key_buf[f->n_keys];
            f->n_keys++;
        }
        p = e ? e + 1 : NULL;
    }
}

static bool is_key(const struct conf *f, const char *key)
{
    for (size_t i = 0; i < f->n_keys; i++)
        if (!strcmp(f->keys[i], key))
            return true;
    return false;
}

/* The file the daemon reads: the running one's, else HOME/config. An
 * administrator's file (--config) that is a link is edited where it
 * points. */
static int conf_path(struct cli *cli, struct conf *f)
{
    char home[PATH_MAX], own[PATH_MAX], real[PATH_MAX];
    int err;

    if ((f->c = cli_connect_running(cli, &err)) &&
        fastn_client_status(f->c, &f->status) == 0 && f->status->config[0])
        snprintf(f->path, sizeof(f->path), "%s", f->status->config);
    else if (f->c == NULL && err != FASTN_ERR_NO_DAEMON)
        return cli_fail(NULL, err);
    if (f->status && f->status->home[0])
        snprintf(home, sizeof(home), "%s", f->status->home);
    else if (cli_home(cli, home, sizeof(home)))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                         "cannot find the fastn home: give --home DIR");
    if (home_path(home, "config", own, sizeof(own)))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_TOO_LARGE, "path too long");
    if (!f->path[0])
        snprintf(f->path, sizeof(f->path), "%s", own);
    f->own = !strcmp(f->path, own);
    if (!f->own && realpath(f->path, real))
        snprintf(f->path, sizeof(f->path), "%s", real);
    return 0;
}

static int conf_read(struct conf *f)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc;

    rc = file_read_all(f->path, CONFIG_MAX_BYTES, &text, &len);
    if (rc == FASTN_ERR_NOT_FOUND) {
        f->text = strdup("");
        return f->text ? 0 : cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "oom");
    }
    if (rc)
        return cli_error(CLI_EXIT_FAIL, rc, "cannot read %s: %s", f->path,
                         rc == FASTN_ERR_IO ? strerror(errno)
                                            : fastn_strerror(rc));
    f->exists = stat(f->path, &f->st) == 0;
    f->text = (char *)text;
    for (char *p = f->text; *p && f->n_lines < MAX_LINES;) {
        char *nl = strchr(p, '\n');
        f->lines[f->n_lines++] = p;
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    return 0;
}

static void conf_free(struct conf *f)
{
    free(f->text);
    fastn_status_free(f->status);
    fastn_client_free(f->c);
}

static bool restart_key(const struct conf *f, const char *key)
{
    for (size_t i = 0; f->status && i < f->status->n_restart_keys; i++)
        if (!strcmp(f->status->restart_keys[i], key))
            return true;
    return false;
}

/* The values the file sets for key, one per line that sets it. */
static json_t *values_of(const struct conf *f, const char *key)
{
    json_t *a = json_array();
    char buf[4200];
    const char *v;

    for (size_t i = 0; i < f->n_lines; i++)
        if (cli_config_line_key(f->lines[i], buf, sizeof(buf), &v) &&
            !strcmp(buf, key))
            json_array_append_new(a, jstr(v));
    return a;
}

static json_t *setting_json(const struct conf *f, const char *key)
{
    json_t *vals = values_of(f, key);
    size_t n = json_array_size(vals);

    return json_pack("{s:s,s:O,s:o,s:b,s:b}", "key", key, "value",
                     n ? json_array_get(vals, n - 1) : json_null(), "values",
                     vals, "set", n > 0, "restart", restart_key(f, key));
}

static int do_list(struct cli *cli, struct conf *f)
{
    json_t *a = json_array(), *s;

    for (size_t i = 0; i < f->n_keys; i++) {
        s = setting_json(f, f->keys[i]);
        if (cli->json) {
            json_array_append_new(a, s);
            continue;
        }
        json_t *vals = json_object_get(s, "values");
        if (!json_array_size(vals))
            printf("%-20s (default)\n", f->keys[i]);
        for (size_t k = 0; k < json_array_size(vals); k++)
            printf("%-20s %s%s\n", f->keys[i],
                   json_string_value(json_array_get(vals, k)),
                   json_is_true(json_object_get(s, "restart"))
                       ? "  (at the next start: the command line sets it)"
                       : "");
        json_decref(s);
    }
    if (cli->json)
        cli_emit(json_pack("{s:o,s:o}", "file", jstr(f->path), "settings", a));
    else
        json_decref(a);
    return 0;
}

static int unknown_key(const struct conf *f, const char *key)
{
    return cli_unknown_word("config", "key", key, f->keys, f->n_keys);
}

static int do_get(struct cli *cli, struct conf *f, const char *key)
{
    json_t *s, *vals;

    if (!is_key(f, key))
        return unknown_key(f, key);
    s = setting_json(f, key);
    vals = json_object_get(s, "values");
    if (cli->json) {
        json_object_del(s, "restart");
        json_object_set_new(s, "file", jstr(f->path));
        cli_emit(s);
        return 0;
    }
    for (size_t k = 0; k < json_array_size(vals); k++)
        printf("%s\n", json_string_value(json_array_get(vals, k)));
    if (!json_array_size(vals))
        cli_note("%s is not set in %s: fastnd uses its default", key, f->path);
    json_decref(s);
    return 0;
}

/* The new text: key's lines replaced by "key = value" (value NULL: just
 * removed), at its first line, else after its template comment, else at
 * the end. Returns a malloc'd string. */
static char *edited(const struct conf *f, const char *key, const char *value)
{
    size_t cap = 256 + (value ? strlen(value) : 0) + strlen(key), len = 0;
    char buf[4200], *out;
    const char *v;
    bool placed = value == NULL;
    size_t after_comment = (size_t)-1;

    for (size_t i = 0; i < f->n_lines; i++) {
        cap += strlen(f->lines[i]) + 1;
        if (!strncmp(f->lines[i], "# ", 2) &&
            !strncmp(f->lines[i] + 2, key, strlen(key)) &&
            !strncmp(f->lines[i] + 2 + strlen(key), " = ", 3))
            after_comment = i;
    }
    if (!(out = malloc(cap)))
        return NULL;
    for (size_t i = 0; i < f->n_lines; i++) {
        bool mine = cli_config_line_key(f->lines[i], buf, sizeof(buf), &v) &&
                    !strcmp(buf, key);
        if (mine && !placed)
            len += (size_t)sprintf(out + len, "%s = %s\n", key, value);
        placed |= mine;
        if (!mine)
            len += (size_t)sprintf(out + len, "%s\n", f->lines[i]);
        if (i == after_comment && !placed) {
            len += (size_t)sprintf(out + len, "%s = %s\n", key, value);
            placed = true;
        }
    }
    if (!placed)
        len += (size_t)sprintf(out + len, "%s = %s\n", key, value);
    out[len] = '\0';
    return out;
}

/* Replaces the file with text: a new file in its folder, with the old
 * one's owner and mode (0644 for a new one), synced, renamed over it. */
static int write_file(const struct conf *f, const char *text)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    size_t len = strlen(text);
    int fd, dfd, rc = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", f->path) >= (int)sizeof(tmp))
        return FASTN_ERR_TOO_LARGE;
    if ((fd = mkstemp(tmp)) < 0)
        return FASTN_ERR_IO;
    if (fchmod(fd, f->exists ? f->st.st_mode & 07777 : 0644) != 0 ||
        (f->exists &&
         (f->st.st_uid != geteuid() || f->st.st_gid != getegid()) &&
         fchown(fd, f->st.st_uid, f->st.st_gid) != 0) ||
        fd_write_all(fd, text, len) != 0 || fsync(fd) != 0)
        rc = FASTN_ERR_IO;
    close(fd);
    if (!rc && rename(tmp, f->path) != 0)
        rc = FASTN_ERR_IO;
    if (rc) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return rc;
    }
    snprintf(dir, sizeof(dir), "%s", f->path);
    if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* The new text is what fastnd would accept. */
static int check_text(const char *text, const char *path)
{
    struct daemon_config cfg;
    char err[512];
    int rc;

    daemon_config_init(&cfg);
    rc = daemon_config_parse(&cfg, text, strlen(text), err, sizeof(err));
    /* fastnd's parser leaves a listen address's checks to the swarm,
     * which skips a bad one (logged) at a reload: here it is refused */
    for (size_t i = 0; !rc && i < cfg.n_listen; i++) {
        struct multiaddr ma;
        if (multiaddr_parse(cfg.listen[i], &ma) == 0)
            continue;
        snprintf(err, sizeof(err),
                 "listen: '%.200s' is not a multiaddr fastnd can listen on "
                 "(like /ip4/0.0.0.0/tcp/4004 or /ip6/::/tcp/4004)",
                 cfg.listen[i]);
        rc = FASTN_ERR_BAD_MULTIADDR;
    }
    daemon_config_cleanup(&cfg);
    if (rc)
        return cli_error(CLI_EXIT_FAIL, rc,
                         "refused, as fastnd would: %s; %s was not changed",
                         err, path);
    return 0;
}

/* Writes the new text and has the running daemon apply it; a daemon
 * that refuses it gets the old file back. *reloaded says it applied. */
static int apply(struct conf *f, const char *text, bool *reloaded)
{
    char old[CONFIG_MAX_BYTES + 1];
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < f->n_lines; i++)
        n += (size_t)snprintf(old + n, sizeof(old) - n, "%s\n", f->lines[i]);
    if (f->own && lstat(f->path, &f->st) == 0 && S_ISLNK(f->st.st_mode))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_PERM,
                         "%s is a symbolic link, which fastnd does not read "
                         "in its home: put the file itself there",
                         f->path);
    f->exists = stat(f->path, &f->st) == 0;
    if ((rc = write_file(f, text)))
        return cli_error(CLI_EXIT_FAIL, rc, "cannot write %s: %s", f->path,
                         strerror(errno));
    *reloaded = false;
    if (!f->c)
        return 0;
    if ((rc = fastn_client_daemon_reload(f->c))) {
        if (f->exists)
            write_file(f, old);
        else
            unlink(f->path);
        rc = cli_fail(f->c, rc);
        cli_note("%s was put back as it was", f->path);
        return rc;
    }
    *reloaded = true;
    return 0;
}

static void say_set(struct cli *cli, struct conf *f, const char *key,
                    const char *value, bool reloaded)
{
    bool restart = restart_key(f, key);
    json_t *o;

    if (cli->json) {
        o = json_pack("{s:s,s:o,s:o,s:o,s:b,s:b}", "key", key, "value",
                      value ? jstr(value) : json_null(), "values",
                      value ? json_pack("[o]", jstr(value)) : json_array(),
                      "file", jstr(f->path), "reloaded", reloaded, "restart",
                      restart);
        cli_emit(o);
        return;
    }
    if (value)
        printf("%s = %s\n", key, value);
    else
        printf("%s unset (fastnd's default)\n", key);
    if (!reloaded)
        cli_note("saved in %s; no fastnd is running: it applies at the next "
                 "start",
                 f->path);
    else if (restart && (!strcmp(key, "listen") || !strcmp(key, "log-level")))
        cli_note("saved in %s and reloaded, but fastnd's command line sets %s "
                 "(--%s): the file's value applies when it starts without it",
                 f->path, key, key);
    else if (restart) /* read once, at the start (seccomp, plugin-storage-mib)
                       */
        cli_note("saved in %s; fastnd applies %s at its next start (fastn "
                 "restart)",
                 f->path, key);
    else
        cli_note("saved in %s and applied by fastnd (pid %u)", f->path,
                 f->status->pid);
}

static int do_set(struct cli *cli, struct conf *f, const char *key,
                  const char *value)
{
    bool reloaded;
    char *text;
    int rc;

    if (!is_key(f, key))
        return unknown_key(f, key);
    if (value && (!value[0] || strpbrk(value, "#\n\r")))
        return cli_usage_error("config", "a VALUE is one line, without '#'");
    if (!(text = edited(f, key, value)))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    if (!(rc = check_text(text, f->path)) && !(rc = apply(f, text, &reloaded)))
        say_set(cli, f, key, value, reloaded);
    free(text);
    return rc;
}

/* VALUE... joined by spaces into out. */
static int join_words(char **w, int n, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        int k = snprintf(out + len, cap - len, "%s%s", i ? " " : "", w[i]);
        if (k < 0 || (size_t)k >= cap - len)
            return -1;
        len += (size_t)k;
    }
    return 0;
}

int cli_cmd_config(struct cli *cli, int argc, char **argv)
{
    static const char *const subs[] = {"list", "get", "set", "unset"};
    struct conf f = {.n_keys = 0};
    char *pos[66], value[4096];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 66, &n);

    if (rc)
        return rc;
    if (n == 0)
        return cli_usage_error(argv[0], "list, get, set or unset?");
    if (strcmp(pos[0], "list") && strcmp(pos[0], "get") &&
        strcmp(pos[0], "set") && strcmp(pos[0], "unset"))
        return cli_unknown_word(argv[0], "command", pos[0], subs, 4);
    if ((!strcmp(pos[0], "list") && n != 1) ||
        ((!strcmp(pos[0], "get") || !strcmp(pos[0], "unset")) && n != 2) ||
        (!strcmp(pos[0], "set") && n < 3))
        return cli_usage_error(argv[0], "list, get KEY, set KEY VALUE or "
                                        "unset KEY");
    if (n > 2 && join_words(pos + 2, n - 2, value, sizeof(value)))
        return cli_usage_error(argv[0], "VALUE is too long");
    known_keys(&f);
    if (!(rc = conf_path(cli, &f)) && !(rc = conf_read(&f))) {
        if (!strcmp(pos[0], "list"))
            rc = do_list(cli, &f);
        else if (!strcmp(pos[0], "get"))
            rc = do_get(cli, &f, pos[1]);
        else
            rc = do_set(cli, &f, pos[1], n > 2 ? value : NULL);
    }
    conf_free(&f);
    return rc;
}
