/*
 * The daemon's home (see daemon.h): found, checked, locked, and what is in
 * it opened so that no other user can make the daemon read, write or
 * chmod anything but its own files, even when it runs as root.
 *
 *  - The home is a real folder (its path resolved once, then used as
 *    resolved) owned by the daemon's user and not writable by its group
 *    or others. Each folder above it belongs to root or to that user and
 *    is not writable by group or others unless sticky (as /tmp): as
 *    OpenSSH's StrictModes, so that nobody can swap the home, or a folder
 *    on its path, for one of theirs.
 *  - Nothing in the home is reached through a symbolic link: what the
 *    daemon creates or opens there (fastnd.lock, fastnd.log, config,
 *    keys/, the key file, state.sqlite and its journals, plugins/, data/,
 *    fastnd.sock) is checked with lstat at start, and the files it opens
 *    itself are opened O_NOFOLLOW relative to the home's descriptor and
 *    checked again with fstat; keys/ is chmod'ed through its descriptor.
 *    SQLite opens state.sqlite by path after that check: with the home
 *    the daemon's own, nobody else can put a link there in between.
 *  - The identity key is the one exception to "no link": keys/ being the
 *    daemon's own 0700 folder, a link in it was put there by the daemon's
 *    user (say into a secrets volume) and is followed for reading, never
 *    written through. A link to nothing, or a key missing from a home
 *    that already has state, stops the start: a new identity is made only
 *    for a new home, or when asked with --new-identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "util/home.h"
#include "util/log.h"
#include "util/errbuf.h"

/* "uid 1000 (alice)" */
static const char *user_name(uid_t uid, char *buf, size_t n)
{
    struct passwd *pw = getpwuid(uid);

    snprintf(buf, n, "uid %u%s%s%s", (unsigned)uid, pw ? " (" : "",
             pw ? pw->pw_name : "", pw ? ")" : "");
    return buf;
}

static bool writable_by_others(const struct stat *st)
{
    return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/* One folder above the home: root's or ours, and nobody else may rename
 * what is in it (not writable by group or others, unless sticky). */
static int check_parent(const char *dir, const char *home, char *err,
                        size_t errlen)
{
    char who[64], me[64];
    struct stat st;

    if (stat(dir, &st) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_IO, "cannot check %s: %s", dir,
                          strerror(errno));
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return errbuf_say(
            err, errlen, FASTN_ERR_PERM,
            "the home %s is inside %s, which belongs to %s: that "
            "user could swap the home for a folder of theirs; use a "
            "home whose folders belong to root or to %s",
            home, dir, user_name(st.st_uid, who, sizeof(who)),
            user_name(geteuid(), me, sizeof(me)));
    if (writable_by_others(&st) && !(st.st_mode & S_ISVTX))
        return errbuf_say(
            err, errlen, FASTN_ERR_PERM,
            "the home %s is inside %s, which others may write (mode "
            "%04o): they could swap the home for a folder of "
            "theirs; run `chmod go-w %s` or use another home",
            home, dir, (unsigned)(st.st_mode & 07777), dir);
    return 0;
}

/* Every folder from the home's parent up to /. */
static int check_parents(const char *home, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    char *slash;
    int rc;

    snprintf(dir, sizeof(dir), "%s", home);
    while ((slash = strrchr(dir, '/')) != NULL) {
        if (slash == dir && dir[1] == '\0')
            break;
        slash[slash == dir ? 1 : 0] = '\0';
        if ((rc = check_parent(dir, home, err, errlen)))
            return rc;
    }
    return 0;
}

/* The home itself, through its descriptor: a folder of ours, not
 * writable by anyone else. */
static int check_home_fd(struct daemon *d, char *err, size_t errlen)
{
    char who[64], me[64], name[64];
    struct passwd *pw = getpwuid(geteuid());
    struct stat st;

    snprintf(name, sizeof(name), "%s", pw ? pw->pw_name : "");
    if (!name[0])
        snprintf(name, sizeof(name), "%u", (unsigned)geteuid());

    if (fstat(d->home_fd, &st) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot check the home %s: %s", d->home,
                          strerror(errno));
    if (st.st_uid != geteuid())
        return errbuf_say(
            err, errlen, FASTN_ERR_PERM,
            "the home %s belongs to %s, not to this daemon's user %s: "
            "that user could make the daemon write where they "
            "choose; use a home of your own, or `chown %s %s` if it "
            "is meant to be this daemon's",
            d->home, user_name(st.st_uid, who, sizeof(who)),
            user_name(geteuid(), me, sizeof(me)), name, d->home);
    if (writable_by_others(&st))
        return errbuf_say(
            err, errlen, FASTN_ERR_PERM,
            "the home %s may be written by its group or others (mode "
            "%04o): they could plant links the daemon would follow; "
            "run `chmod go-w %s`",
            d->home, (unsigned)(st.st_mode & 07777), d->home);
    return 0;
}

/* The home's path: --home, $FASTN_HOME or ~/.fastn (created 0700 when
 * missing); but a p2pd-style run with its own control socket and no home
 * given gets a private temporary one, as p2pd keeps no state (two such
 * daemons must not share a home). */
static int find_home(struct daemon *d, char *path, size_t n, char *err,
                     size_t errlen)
{
    const char *env = getenv("FASTN_HOME"), *tmp = getenv("TMPDIR");
    int rc;

    if (d->opts->control_path && !d->opts->home && !(env && env[0])) {
        if (snprintf(path, n, "%s/fastnd-XXXXXX",
                     tmp && tmp[0] ? tmp : "/tmp") >= (int)n ||
            !mkdtemp(path))
            return errbuf_say(err, errlen, FASTN_ERR_IO,
                              "cannot create a temporary home: %s",
                              strerror(errno));
        d->home_is_temp = true;
        return 0;
    }
    rc = home_resolve(d->opts->home, path, n);
    if (rc)
        return errbuf_say(err, errlen, rc,
                          "cannot find the fastn home: %s; use --home DIR",
                          fastn_strerror(rc));
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot create home %s: %s", path, strerror(errno));
    return 0;
}

/* What the daemon keeps in its home, and what each must be. */
static const struct {
    const char *name;
    mode_t type;
} home_entries[] = {
    {"fastnd.lock", S_IFREG},
    {"fastnd.log", S_IFREG},
    {"config", S_IFREG},
    {"fastnd.sock", S_IFSOCK},
    {"keys", S_IFDIR},
    {"state.sqlite", S_IFREG},
    {"state.sqlite-wal", S_IFREG},
    {"state.sqlite-shm", S_IFREG},
    {"state.sqlite-journal", S_IFREG},
    {"plugins", S_IFDIR},
    {"data", S_IFDIR},
};

/* An entry of the home: not a link, of its kind, ours (absent is fine). */
static int check_entry(struct daemon *d, const char *name, mode_t type,
                       char *err, size_t errlen)
{
    char who[64];
    struct stat st;

    if (fstatat(d->home_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0
                               : errbuf_say(err, errlen, FASTN_ERR_IO,
                                            "cannot check %s/%s: %s", d->home,
                                            name, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return errbuf_say(
            err, errlen, FASTN_ERR_PERM,
            "%s/%s is a symbolic link: fastnd follows no link in its "
            "home (it could lead the daemon to another user's "
            "files); remove it and put the %s itself there",
            d->home, name, type == S_IFDIR ? "folder" : "file");
    if ((st.st_mode & S_IFMT) != type)
        return errbuf_say(err, errlen, FASTN_ERR_PERM,
                          "%s/%s is not a %s; move it out of the home", d->home,
                          name,
                          type == S_IFDIR    ? "folder"
                          : type == S_IFSOCK ? "socket"
                                             : "regular file");
    if (st.st_uid != geteuid())
        return errbuf_say(
            err, errlen, FASTN_ERR_PERM,
            "%s/%s belongs to %s, not to this daemon's user; move it "
            "out of the home",
            d->home, name, user_name(st.st_uid, who, sizeof(who)));
    return 0;
}

int daemon_home_open(struct daemon *d, char *err, size_t errlen)
{
    char given[PATH_MAX], real[PATH_MAX];
    int rc = find_home(d, given, sizeof(given), err, errlen);

    if (rc)
        return rc;
    snprintf(d->home, sizeof(d->home), "%s", given); /* a temporary goes */
    if (!realpath(given, real))
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot use the home %s: %s", given, strerror(errno));
    snprintf(d->home, sizeof(d->home), "%s", real); /* used as resolved */
    if ((rc = check_parents(d->home, err, errlen)))
        return rc;
    d->home_fd = open(d->home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d->home_fd < 0)
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot open the home %s: %s", d->home,
                          strerror(errno));
    if ((rc = check_home_fd(d, err, errlen)))
        return rc;
    for (size_t i = 0; i < sizeof(home_entries) / sizeof(home_entries[0]); i++)
        if ((rc = check_entry(d, home_entries[i].name, home_entries[i].type,
                              err, errlen)))
            return rc;
    return 0;
}

/* Opens (creating, 0600) a file of the home: never through a link, and
 * only a regular file of ours. */
static int open_file(struct daemon *d, const char *name, int flags, int *out,
                     char *err, size_t errlen)
{
    struct stat st;
    int fd =
        openat(d->home_fd, name,
               flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);

    if (fd < 0 && errno != ELOOP)
        return errbuf_say(err, errlen, FASTN_ERR_IO, "cannot open %s/%s: %s",
                          d->home, name, strerror(errno));
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_uid != geteuid()) {
        if (fd >= 0)
            close(fd);
        /* it says what is wrong; PERM should it have changed again */
        int rc = check_entry(d, name, S_IFREG, err, errlen);
        return rc ? rc
                  : errbuf_say(
                        err, errlen, FASTN_ERR_PERM,
                        "%s/%s changed while fastnd opened it; try again",
                        d->home, name);
    }
    *out = fd;
    return 0;
}

/* One daemon per home: an exclusive flock on HOME/fastnd.lock, held for
 * the process's life. The file is never removed (removing it would let
 * two daemons lock two different files). */
int daemon_home_lock(struct daemon *d, char *err, size_t errlen)
{
    char pid[32] = "";
    ssize_t n;
    int len, rc = open_file(d, "fastnd.lock", O_RDWR, &d->lock_fd, err, errlen);

    if (rc)
        return rc;
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        n = pread(d->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? strcspn(pid, "\n") : 0] = '\0';
        return errbuf_say(
            err, errlen, FASTN_ERR_DAEMON_RUNNING,
            "another fastnd%s%s%s is already running on %s; stop it "
            "first or use another --home",
            pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "", d->home);
    }
    len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 ||
        pwrite(d->lock_fd, pid, (size_t)len, 0) != len)
        log_msg(LOG_WARN, "daemon", "cannot write the pid to %s/fastnd.lock",
                d->home);
    return 0;
}

int daemon_home_open_log(struct daemon *d, FILE **out, char *err, size_t errlen)
{
    int fd,
        rc = open_file(d, "fastnd.log", O_WRONLY | O_APPEND, &fd, err, errlen);

    if (rc)
        return rc;
    *out = fdopen(fd, "a");
    if (!*out) {
        close(fd);
        return errbuf_say(err, errlen, FASTN_ERR_NOMEM,
                          "cannot log to %s/fastnd.log", d->home);
    }
    return 0;
}

/* Whether the home has been used: a key folder, an address book or
 * plugins. A first start finds none of them (only a config, perhaps). */
static bool home_has_state(struct daemon *d)
{
    static const char *const marks[] = {"keys", "state.sqlite", "plugins",
                                        "data"};
    struct stat st;

    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (fstatat(d->home_fd, marks[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
            return true;
    return false;
}

/* HOME/keys: made 0700 when missing; a folder of ours (never through a
 * link), kept 0700 by fchmod on its own descriptor. */
static int open_keys(struct daemon *d, int *out, char *err, size_t errlen)
{
    struct stat st;
    int fd, rc;

    if (mkdirat(d->home_fd, "keys", 0700) != 0 && errno != EEXIST)
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot create %s/keys: %s", d->home,
                          strerror(errno));
    fd = openat(d->home_fd, "keys",
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid()) {
        rc = check_entry(d, "keys", S_IFDIR, err, errlen);
        if (!rc)
            rc =
                errbuf_say(err, errlen, FASTN_ERR_IO, "cannot open %s/keys: %s",
                           d->home, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0) {
        close(fd);
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot chmod 0700 %s/keys: %s", d->home,
                          strerror(errno));
    }
    *out = fd;
    return 0;
}

/* Why a key in place could not be used. */
static int key_load_failed(const char *path, int rc, char *err, size_t errlen)
{
    if (rc == FASTN_ERR_PERM)
        return errbuf_say(
            err, errlen, rc,
            "the identity key %s is not a regular file of this "
            "daemon's user or root; put the key file itself there",
            path);
    return errbuf_say(
        err, errlen, rc, "cannot load the identity key %s: %s", path,
        rc == FASTN_ERR_IO ? strerror(errno) : fastn_strerror(rc));
}

/* A link to nothing where the key should be: most likely a secrets
 * volume that is not there yet. A new key would be written nowhere
 * useful, and the old identity lost: stop. */
static int key_dangling(int dirfd, const char *name, const char *path,
                        char *err, size_t errlen)
{
    char target[PATH_MAX] = "?";
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

    target[n > 0 ? n : 1] = '\0';
    return errbuf_say(
        err, errlen, FASTN_ERR_NOT_FOUND,
        "the identity key %s is a symbolic link to %s, which does not "
        "exist (a secrets volume not mounted yet?): mount it and "
        "start again; fastnd makes no new identity in its place (to "
        "start over as a new peer, remove the link and run fastnd "
        "--new-identity)",
        path, target);
}

/* The key at (dirfd, name), shown as path: loaded when there; created
 * when missing and create is set; else the reason to stop. */
static int key_at(struct daemon *d, int dirfd, const char *name,
                  const char *path, bool create, bool *created, char *err,
                  size_t errlen)
{
    enum identity_key_state ks;
    mode_t mode = 0;
    int rc = identity_key_state_at(dirfd, name, &ks);

    if (rc)
        return key_load_failed(path, rc, err, errlen);
    if (ks == IDENTITY_KEY_DANGLING)
        return key_dangling(dirfd, name, path, err, errlen);
    if (ks == IDENTITY_KEY_PRESENT && d->opts->new_identity)
        return errbuf_say(
            err, errlen, FASTN_ERR_EXISTS,
            "--new-identity: the identity key %s is there, and fastnd "
            "never replaces a key; move it away first to start over "
            "as a new peer, or start without --new-identity",
            path);
    if (ks == IDENTITY_KEY_MISSING && !create)
        return errbuf_say(
            err, errlen, FASTN_ERR_NOT_FOUND,
            "the home %s has state (keys/, state.sqlite or plugins) "
            "but no identity key %s: it was lost or is on a volume "
            "that is not there; restore it, or, to start over as a "
            "new peer (peers that knew the old one will not know "
            "this one), run fastnd --home %s --new-identity once",
            d->home, path, d->home);
    /* the signer process reads (or makes) the key; this one never does */
    struct signer_config sc = {dirfd, name, ks == IDENTITY_KEY_MISSING,
                               d->config.seccomp};
    if (ks == IDENTITY_KEY_MISSING) {
        if ((rc = signer_start(&d->signer, &sc, &d->identity, NULL)))
            return errbuf_say(
                err, errlen, rc, "cannot create the identity key %s: %s", path,
                rc == FASTN_ERR_IO ? strerror(errno) : fastn_strerror(rc));
        *created = true;
        return 0;
    }
    if ((rc = signer_start(&d->signer, &sc, &d->identity, &mode)))
        return key_load_failed(path, rc, err, errlen);
    if (mode & 077)
        log_msg(LOG_WARN, "daemon",
                "the identity key %s may be read by other users (mode %04o); "
                "chmod 600 it",
                path, (unsigned)mode);
    return 0;
}

int daemon_home_load_identity(struct daemon *d, bool *created, char *err,
                              size_t errlen)
{
    const char *file = d->opts->id_file;
    bool fresh = !home_has_state(d); /* before keys/ is made */
    char path[PATH_MAX + 32];
    int kfd = -1, rc;

    *created = false;
    /* -id=KEYFILE is created when missing, as a p2pd user expects */
    if (file)
        return key_at(d, AT_FDCWD, file, file, true, created, err, errlen);
    if ((rc = open_keys(d, &kfd, err, errlen)))
        return rc;
    snprintf(path, sizeof(path), "%s/keys/identity.key", d->home);
    rc = key_at(d, kfd, "identity.key", path, fresh || d->opts->new_identity,
                created, err, errlen);
    close(kfd);
    return rc;
}
