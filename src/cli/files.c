/*
 * fastn files add|get|ls|list|rm|share: thin commands over the files
 * plugin's calls (docs/FILES.md). The CLI reads the files it adds and
 * writes the files it gets; the plugin keeps blocks and speaks bitswap.
 * add streams a file or folder in records of at most 1 MiB a call (the
 * plugin's importer makes the blocks), so memory stays bounded whatever
 * the size. get is files_get.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/files.h"

const char cli_files_usage[] =
    "usage: fastn files add PATH... [--pin] [--profile PROFILE] [--json]\n"
    "       fastn files get CID|fastn://files/CID?from=PEER [--from PEER]... "
    "-o PATH [--json]\n"
    "       fastn files ls CID [--json]\n"
    "       fastn files list [--json]\n"
    "       fastn files rm CID\n"
    "       fastn files share CID --with PEER [--json]\n"
    "\n"
    "Files and folders by IPFS CID, exchanged with bitswap (the files\n"
    "plugin: fastn plugin install PREFIX/share/fastn/plugins/files.wasm).\n"
    "add imports each PATH (hidden entries left out) and prints its CID;\n"
    "--profile unixfs-v0-2015 gives CIDv0 (Qm...) as older IPFS does, the\n"
    "default is unixfs-v1-2025 (bafy.../bafk...); --pin keeps it. get\n"
    "fetches CID from the peers named (several at once) into PATH, checking\n"
    "every block, and resumes what an earlier get left; a file is given its\n"
    "disk room before its first byte (no room: said at once). ls lists a\n"
    "folder held here; list what this daemon holds and shares; rm forgets\n"
    "a CID and its blocks; share prints the link a PEER gets it with.\n"
    "\n"
    "--json: add {\"cid\", \"name\", \"size\"} a PATH; get a line of progress\n"
    "{\"bytes\", \"total\", \"fetched_blocks\", \"local_blocks\", \"peers\"} "
    "and\n"
    "{\"done\": true, ...}; ls/list {\"entries\": [...]}; share {\"link\"}.\n";

static const char *const subcommands[] = {"add",  "get", "ls",
                                          "list", "rm",  "share"};

int cli_files_call(struct fastn_client *c, const char *method, const void *arg,
                   size_t len, uint8_t **out, size_t *n)
{
    int rc = fastn_client_plugin_call(c, "files", method, arg, len, out, n);
    return rc ? cli_files_fail(c, rc) : 0;
}

int cli_files_fail(struct fastn_client *c, int rc)
{
    if (strstr(fastn_client_error_message(c), "no plugin named"))
        return cli_error(CLI_EXIT_FAIL, rc,
                         "the files plugin is not installed; install it "
                         "with fastn plugin install PREFIX/share/fastn/"
                         "plugins/files.wasm");
    return cli_fail(c, rc);
}

/* --- add ---------------------------------------------------------------- */

struct adder {
    struct fastn_client *c;
    uint8_t *buf; /* 4 bytes of session id, then records */
    size_t len;
    int depth;
};

static int add_flush(struct adder *a)
{
    uint8_t *out = NULL;
    size_t n = 0;
    int rc;
    if (a->len <= 4)
        return 0;
    rc = cli_files_call(a->c, "add_data", a->buf, a->len, &out, &n);
    fastn_free(out);
    a->len = 4;
    return rc;
}

static int add_rec(struct adder *a, char op, const void *p, size_t n,
                   const void *q, size_t qn)
{
    int rc;
    if (a->len + REC_HEAD + n + qn > CLI_FILES_CALL_MAX && (rc = add_flush(a)))
        return rc;
    a->buf[a->len] = (uint8_t)op;
    cli_files_le32(a->buf + a->len + 1, (uint32_t)(n + qn));
    a->len += REC_HEAD;
    if (n)
        memcpy(a->buf + a->len, p, n);
    if (qn)
        memcpy(a->buf + a->len + n, q, qn);
    a->len += n + qn;
    return 0;
}

static int add_path(struct adder *a, int dirfd, const char *path,
                    const char *name);

/* A regular file, in pieces as large as the call leaves room for. */
static int add_file(struct adder *a, int fd, const char *name)
{
    int rc = add_rec(a, 'F', name, strlen(name), NULL, 0);
    for (;;) {
        if (rc)
            return rc;
        if (CLI_FILES_CALL_MAX - a->len < REC_HEAD + 65536 &&
            (rc = add_flush(a)))
            return rc;
        size_t room = CLI_FILES_CALL_MAX - a->len - REC_HEAD;
        ssize_t k = read(fd, a->buf + a->len + REC_HEAD, room);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "reading: %s",
                             strerror(errno));
        if (k == 0)
            break;
        a->buf[a->len] = 'W';
        cli_files_le32(a->buf + a->len + 1, (uint32_t)k);
        a->len += REC_HEAD + (size_t)k;
    }
    return add_rec(a, 'C', NULL, 0, NULL, 0);
}

static int name_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A folder's entries (hidden ones left out, as IPFS does by default). */
static int add_dir(struct adder *a, int fd, const char *path, const char *name)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = d ? 0
               : cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "%s: %s", path,
                           strerror(errno));

    if (a->depth++ == CLI_FILES_DEPTH_MAX)
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_FILES_LIMIT,
                       "%s: folders nested too deep", path);
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **g = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*g));
            if (!g) {
                rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "no memory");
                break;
            }
            names = g;
        }
        if (!(names[n] = strdup(e->d_name)))
            rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "no memory");
        else
            n++;
    }
    if (!rc && n)
        qsort(names, n, sizeof(*names), name_cmp);
    if (!rc)
        rc = add_rec(a, 'D', name, strlen(name), NULL, 0);
    for (size_t i = 0; !rc && i < n; i++)
        rc = add_path(a, dirfd(d), path, names[i]);
    if (!rc)
        rc = add_rec(a, 'E', NULL, 0, NULL, 0);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (d)
        closedir(d);
    a->depth--;
    return rc;
}

/* One entry: name inside dirfd (AT_FDCWD and path for a root). */
static int add_path(struct adder *a, int dirfd, const char *path,
                    const char *name)
{
    const char *at = a->depth ? name : path;
    const char *rec_name = a->depth ? name : "";
    char target[4096];
    struct stat st;
    int fd, rc;

    if (fstatat(dirfd, at, &st, AT_SYMLINK_NOFOLLOW))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "%s: %s", at,
                         strerror(errno));
    if (S_ISLNK(st.st_mode)) {
        ssize_t k = readlinkat(dirfd, at, target, sizeof(target));
        if (k < 0 || (size_t)k == sizeof(target))
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "%s: %s", at,
                             k < 0 ? strerror(errno) : "target too long");
        return add_rec(a, 'L', rec_name, strlen(rec_name) + 1, target,
                       (size_t)k);
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return 0; /* devices, sockets, FIFOs: not files to share */
    fd = openat(dirfd, at,
                O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
                    (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
    if (fd < 0)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "%s: %s", at,
                         strerror(errno));
    if (S_ISDIR(st.st_mode))
        return add_dir(a, fd, at, rec_name); /* closes fd */
    rc = add_file(a, fd, rec_name);
    close(fd);
    return rc;
}

static const char *base_name(const char *path, char *buf, size_t cap)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/')
        s--;
    snprintf(buf, cap, "%.*s", (int)(path + n - s), s);
    return buf;
}

/* Adds one PATH: add_begin, its records, add_end. */
static int add_one(struct cli *cli, struct adder *a, const char *path,
                   const char *profile, bool pin)
{
    uint8_t *out = NULL;
    size_t n = 0;
    char name[256], cid[300];
    unsigned long long size = 0;
    int rc =
        cli_files_call(a->c, "add_begin", profile, strlen(profile), &out, &n);
    if (rc)
        return rc;
    cli_files_le32(a->buf, (uint32_t)strtoul((char *)out, NULL, 10));
    fastn_free(out);
    a->len = 4;
    a->depth = 0;
    rc = add_path(a, AT_FDCWD, path, "");
    if (!rc)
        rc = add_flush(a);
    if (rc) {
        out = NULL; /* ends the plugin's import, if it still runs */
        fastn_client_plugin_call(a->c, "files", "add_abort", a->buf, 4, &out,
                                 &n);
        fastn_free(out);
        return rc;
    }
    base_name(path, name, sizeof(name));
    a->buf[4] = pin;
    memcpy(a->buf + 5, name, strlen(name));
    if ((rc = cli_files_call(a->c, "add_end", a->buf, 5 + strlen(name), &out,
                             &n)))
        return rc;
    if (sscanf((char *)out, "%299s %llu", cid, &size) != 2)
        cid[0] = '\0';
    fastn_free(out);
    if (cli->json)
        cli_emit(json_pack("{s:s,s:s,s:I}", "cid", cid, "name", name, "size",
                           (json_int_t)size));
    else
        printf("added %s %s\n", cid, name);
    return 0;
}

static int run_add(struct cli *cli, struct fastn_client *c, char **paths, int n,
                   const char *profile, bool pin)
{
    struct adder a = {.c = c, .buf = malloc(CLI_FILES_CALL_MAX)};
    int rc = a.buf ? 0 : cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "no memory");
    for (int i = 0; !rc && i < n; i++)
        rc = add_one(cli, &a, paths[i], profile ? profile : "", pin);
    free(a.buf);
    return rc;
}

/* --- ls, list, rm, share ------------------------------------------------ */

/* Lines of TAB-separated fields as {"entries": [{keys...}]}. */
static void lines_json(const char *p, size_t n, const char *const *keys,
                       int nkeys)
{
    json_t *arr = json_array();
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        json_t *o = json_object();
        for (int k = 0; k < nkeys && p <= le; k++) {
            const char *tab =
                k + 1 < nkeys ? memchr(p, '\t', (size_t)(le - p)) : NULL;
            const char *fe = tab ? tab : le;
            cli_json_set(o, keys[k], jstrn(p, (size_t)(fe - p)));
            p = fe + 1;
        }
        json_array_append_new(arr, o);
        p = le + 1;
    }
    cli_emit(json_pack("{s:o}", "entries", arr));
}

static int run_simple(struct cli *cli, struct fastn_client *c, const char *m,
                      char **args, int n)
{
    static const char *const ls_keys[] = {"kind", "size", "cid", "name"};
    static const char *const list_keys[] = {"cid", "size", "state", "name"};
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = fastn_client_plugin_call_args(
        c, "files", m, (const char *const *)args, (size_t)n, &out, &len);
    if (rc && strstr(fastn_client_error_message(c), "no plugin named"))
        return cli_files_call(c, m, NULL, 0, &out, &len);
    if (rc)
        return cli_fail(c, rc);
    if (cli->json && (!strcmp(m, "ls") || !strcmp(m, "list")))
        lines_json((const char *)out, len, m[1] == 's' ? ls_keys : list_keys,
                   4);
    else if (!cli->json)
        rc = cli_plugin_print_result(cli, out, len, true);
    else
        cli_emit(json_pack("{s:s}", "result", (const char *)out));
    fastn_free(out);
    return rc;
}

static int run_share(struct cli *cli, struct fastn_client *c, char *cid,
                     char *peer)
{
    char *args[2] = {cid, peer}, link[512];
    struct fastn_identity *id = NULL;
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = cli_check_peer(peer);

    if (!rc)
        rc = fastn_client_plugin_call_args(
            c, "files", "share", (const char *const *)args, 2, &out, &len);
    fastn_free(out);
    if (rc)
        return rc == CLI_EXIT_FAIL ? rc : cli_fail(c, rc);
    if ((rc = fastn_client_identify(c, &id)))
        return cli_fail(c, rc);
    snprintf(link, sizeof(link), "fastn://files/%s?from=%s", cid, id->peer_id);
    fastn_identity_free(id);
    if (cli->json)
        cli_emit(json_pack("{s:s}", "link", link));
    else
        printf("%s\n", link);
    return 0;
}

/* --- arguments ---------------------------------------------------------- */

static int parse(struct cli *cli, int argc, char **argv,
                 struct cli_files_args *fa)
{
    static const char *const opts[] = {"--pin",  "--profile", "--from",
                                       "--with", "-o",        "--json"};
    memset(fa, 0, sizeof(*fa));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **val = !strcmp(a, "--profile") ? &fa->profile
                           : !strcmp(a, "--with")  ? &fa->with
                           : !strcmp(a, "-o") || !strcmp(a, "--output")
                               ? &fa->out
                               : NULL;
        if (!strcmp(a, "--json")) {
            cli->json = true;
        } else if (!strcmp(a, "--pin")) {
            fa->pin = true;
        } else if (val || !strcmp(a, "--from")) {
            if (i + 1 == argc)
                return cli_usage_error(argv[0], "an option wants a value");
            if (val)
                *val = argv[++i];
            else if (fa->nfrom == CLI_FILES_PEERS)
                return cli_usage_error(argv[0], "at most 8 --from peers");
            else
                fa->from[fa->nfrom++] = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            return cli_unknown_option_of(argv[0], a, opts, 6);
        } else if (fa->n < CLI_FILES_POS) {
            fa->pos[fa->n++] = argv[i];
        } else {
            return cli_usage_error(argv[0], "too many arguments");
        }
    }
    return 0;
}

int cli_cmd_files(struct cli *cli, int argc, char **argv)
{
    struct cli_files_args fa;
    struct fastn_client *c;
    int rc = parse(cli, argc, argv, &fa);
    const char *w = fa.n ? fa.pos[0] : "";

    if (rc)
        return rc;
    if (!fa.n || !strcmp(w, "help"))
        return cli_usage_error(argv[0], "add, get, ls, list, rm or share?");
    if (strcmp(w, "add") && strcmp(w, "get") && strcmp(w, "ls") &&
        strcmp(w, "list") && strcmp(w, "rm") && strcmp(w, "share"))
        return cli_unknown_word(argv[0], "command", w, subcommands, 6);
    if ((!strcmp(w, "add") && fa.n < 2) ||
        ((!strcmp(w, "ls") || !strcmp(w, "rm") || !strcmp(w, "share") ||
          !strcmp(w, "get")) &&
         fa.n != 2) ||
        (!strcmp(w, "list") && fa.n != 1))
        return cli_usage_error(argv[0], "wrong number of arguments (see "
                                        "fastn files --help)");
    if (!strcmp(w, "share") && !fa.with)
        return cli_usage_error(argv[0], "share wants --with PEER");
    if (!strcmp(w, "get") && !fa.out)
        return cli_usage_error(argv[0], "get wants -o PATH");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (!strcmp(w, "add"))
        rc = run_add(cli, c, fa.pos + 1, fa.n - 1, fa.profile, fa.pin);
    else if (!strcmp(w, "get"))
        rc = cli_files_get(cli, c, &fa);
    else if (!strcmp(w, "share"))
        rc = run_share(cli, c, fa.pos[1], (char *)fa.with);
    else
        rc = run_simple(cli, c, w, fa.pos + 1, fa.n - 1);
    fastn_client_free(c);
    return rc;
}
