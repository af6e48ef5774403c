/*
 * seccomp filters for fastnd and its signer; see sandbox.h.
 *
 * The lists name system calls, resolved for the running architecture
 * (a name the architecture does not have is skipped: e.g. open on
 * arm64, which only has openat). A call not listed gets the default
 * action: SCMP_ACT_KILL_PROCESS, or SCMP_ACT_LOG in log mode. clone3 is
 * answered ENOSYS (its flags cannot be inspected), so glibc falls back
 * to clone, whose flags are checked.
 */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "fastn/err.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

static int installed = SANDBOX_OFF;

/* Both processes: memory, signals, time, exit. */
static const char *const base_calls[] = {
    "read",
    "write",
    "readv",
    "writev",
    "close",
    "exit",
    "exit_group",
    "rt_sigreturn",
    "rt_sigprocmask",
    "rt_sigaction",
    "clock_gettime",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "futex",
    "getpid",
    "gettid",
    "brk",
    "mmap",
    "munmap",
    "madvise",
    "restart_syscall",
    "sigaltstack",
    "recvfrom",
    "sendto",
    "recvmsg",
    "sendmsg",
};

/* The daemon: its loop, sockets, files, threads. */
static const char *const daemon_calls[] = {
    /* files (the home, SQLite, the log, plugins) */
    "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "open",
    "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "lseek",
    "mremap", "msync", "fsync", "fdatasync", "sync_file_range", "ftruncate",
    "fallocate", "fadvise64", "rename", "renameat", "renameat2", "unlink",
    "unlinkat", "mkdir", "mkdirat", "rmdir", "link", "linkat", "symlink",
    "symlinkat", "readlink", "readlinkat", "chmod", "fchmod", "fchmodat",
    "fchown", "fchownat", "lchown", "chown", "access", "faccessat",
    "faccessat2", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
    "flock", "fcntl", "dup", "dup2", "dup3", "umask", "utimensat", "statfs",
    "fstatfs", "copy_file_range", "sendfile", "close_range",
    /* the event loop */
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "epoll_pwait2", "eventfd", "eventfd2", "pipe", "pipe2", "poll", "ppoll",
    "select", "pselect6", "timerfd_create", "timerfd_settime",
    "timerfd_gettime", "clock_getres", "inotify_init1", "inotify_add_watch",
    "inotify_rm_watch",
    /* sockets (socket itself: by family, below) */
    "socketpair", "bind", "listen", "accept", "accept4", "connect",
    "getsockname", "getpeername", "setsockopt", "getsockopt", "sendmmsg",
    "recvmmsg", "shutdown",
    /* threads and the process */
    "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "sched_yield", "sched_getaffinity", "prctl", "prlimit64", "getrlimit",
    "getrusage", "sysinfo", "uname", "getrandom", "getuid", "geteuid", "getgid",
    "getegid", "getgroups", "getresuid", "getresgid", "getppid", "getpgrp",
    "wait4", "waitid", "membarrier", "mlock", "munlock", "mincore",
    "pidfd_open", /* ipc/watch.c: handlers' processes */
};

#ifdef SANDBOX_ASAN
/* What AddressSanitizer (and LeakSanitizer's check at exit: a tracer
 * made by clone that ptraces the threads) needs beyond the lists. */
static const char *const asan_calls[] = {
    "open",
    "openat",
    "readlink",
    "readlinkat",
    "getdents64",
    "fstat",
    "newfstatat",
    "stat",
    "lseek",
    "prctl",
    "sched_yield",
    "ptrace",
    "wait4",
    "clone",
    "getppid",
    "kill",
    "tgkill",
    "tkill",
    "pipe2",
    "dup",
    "dup2",
    "dup3",
    "getrlimit",
    "prlimit64",
    "getrusage",
    "mincore",
    "set_robust_list",
    "sched_getaffinity",
    "uname",
    "rt_sigtimedwait",
    "munmap",
    "mremap",
    "setrlimit",
    "personality",
};
#endif

static int allow(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR || nr < 0)
            continue;
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
            return FASTN_ERR_INTERNAL;
    }
    return 0;
}

#define RULE(ctx, name, ...)                                                   \
    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(name), __VA_ARGS__)

/* Argument comparisons with every field set (libseccomp's SCMP_A0()
 * leaves datum_b out, which clang's -Wmissing-field-initializers
 * refuses): argument arg equal to v, or (arg & mask) == v. */
static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t v)
{
    struct scmp_arg_cmp c = {arg, SCMP_CMP_EQ, v, 0};
    return c;
}

static struct scmp_arg_cmp arg_masked(unsigned arg, scmp_datum_t mask,
                                      scmp_datum_t v)
{
    struct scmp_arg_cmp c = {arg, SCMP_CMP_MASKED_EQ, mask, v};
    return c;
}

/* The daemon's calls allowed only with some arguments. */
static int daemon_rules(scmp_filter_ctx ctx, pid_t peer)
{
    static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
    static const unsigned long ioctls[] = {FIONBIO,  FIOCLEX, FIONCLEX,
                                           FIONREAD, TCGETS,  TIOCGWINSZ};
    int rc = 0;

    for (size_t i = 0; !rc && i < sizeof(families) / sizeof(families[0]); i++)
        rc = RULE(ctx, socket, 1, arg_eq(0, (scmp_datum_t)families[i]));
    for (size_t i = 0; !rc && i < sizeof(ioctls) / sizeof(ioctls[0]); i++)
        rc = RULE(ctx, ioctl, 1, arg_eq(1, ioctls[i]));
    if (!rc)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
#ifndef SANDBOX_ASAN /* (the sanitizer's list allows these outright) */
    /* threads only: no new processes */
    if (!rc)
        rc = RULE(ctx, clone, 1, arg_masked(0, CLONE_THREAD, CLONE_THREAD));
    /* signals: to itself (raise, abort) and to its signer */
    if (!rc)
        rc = RULE(ctx, tgkill, 1, arg_eq(0, (scmp_datum_t)getpid()));
    if (!rc)
        rc = RULE(ctx, kill, 1, arg_eq(0, (scmp_datum_t)getpid()));
    if (!rc && peer > 0)
        rc = RULE(ctx, kill, 1, arg_eq(0, (scmp_datum_t)peer));
#else
    (void)peer;
#endif
    return rc ? FASTN_ERR_INTERNAL : 0;
}

static int add_rules(scmp_filter_ctx ctx, enum sandbox_role role, pid_t peer)
{
    int rc = allow(ctx, base_calls, sizeof(base_calls) / sizeof(base_calls[0]));

    /* no memory made executable (the wasm engine interprets) */
    if (!rc && RULE(ctx, mprotect, 1, arg_masked(2, PROT_EXEC, 0)))
        rc = FASTN_ERR_INTERNAL;

#ifdef SANDBOX_ASAN
    if (!rc)
        rc = allow(ctx, asan_calls, sizeof(asan_calls) / sizeof(asan_calls[0]));
#endif
    if (rc || role != SANDBOX_DAEMON)
        return rc;
    rc = allow(ctx, daemon_calls,
               sizeof(daemon_calls) / sizeof(daemon_calls[0]));
    return rc ? rc : daemon_rules(ctx, peer);
}

int sandbox_install(enum sandbox_role role, int mode, pid_t peer)
{
    scmp_filter_ctx ctx;
    int rc;

    if (mode == SANDBOX_OFF) {
        if (sandbox_test_hook)
            sandbox_test_hook(role);
        return 0;
    }
    ctx = seccomp_init(mode == SANDBOX_LOG ? SCMP_ACT_LOG
                                           : SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return FASTN_ERR_NOMEM;
    /* every thread, the thread pool's too */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) ? FASTN_ERR_INTERNAL
                                                         : 0;
    /* a binary tree of the calls, not a list: fewer comparisons per call
     * (libseccomp >= 2.5; older ones keep the list) */
    if (!rc)
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (!rc)
        rc = add_rules(ctx, role, peer);
    if (!rc && seccomp_load(ctx) != 0)
        rc = FASTN_ERR_UNSUPPORTED;
    seccomp_release(ctx);
    if (rc)
        return rc;
    installed = mode;
    if (sandbox_test_hook)
        sandbox_test_hook(role);
    return 0;
}

int sandbox_mode(void)
{
    return installed;
}

const char *sandbox_mode_name(int mode)
{
    return mode == SANDBOX_ON ? "on" : mode == SANDBOX_LOG ? "log" : "off";
}
