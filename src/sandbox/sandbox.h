/*
 * The sandbox: seccomp filters (libseccomp) that fastnd and its signer
 * install once started, each allowing only the system calls that
 * process needs. Only this module calls libseccomp.
 *
 * The daemon's list covers its event loop (epoll, sockets, timers,
 * signals through a pipe), files in its home (SQLite, the log, plugins),
 * the thread pool (threads only: clone with CLONE_THREAD), libcurl's
 * fetches and name lookups; it has no execve, no ptrace, no new
 * processes, no mount or namespace calls, no kernel keyring, no bpf, no
 * executable mprotect. The signer's is read and write on its socket,
 * the clock, exit. Builds with AddressSanitizer allow what the sanitizer
 * itself needs (decided at compile time).
 *
 * A forbidden call kills the whole process (SANDBOX_ON) or is logged by
 * the kernel and allowed (SANDBOX_LOG: the audit log, or `dmesg` when
 * no audit daemon runs, "type=1326 ... syscall=N").
 */
#ifndef FASTN_SANDBOX_H
#define FASTN_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

enum sandbox_mode { SANDBOX_OFF = 0, SANDBOX_LOG = 1, SANDBOX_ON = 2 };
enum sandbox_role { SANDBOX_DAEMON, SANDBOX_SIGNER };

/* "on", "log", "off". */
const char *sandbox_mode_name(int mode);

/* Installs role's filter on every thread of the calling process (mode
 * SANDBOX_OFF: nothing). peer is the one other process the daemon may
 * signal (its signer), or 0. Errors: FASTN_ERR_UNSUPPORTED (the kernel
 * refused the filter), FASTN_ERR_NOMEM, FASTN_ERR_INTERNAL. */
int sandbox_install(enum sandbox_role role, int mode, pid_t peer);

/* What this process installed: SANDBOX_OFF until sandbox_install(). */
int sandbox_mode(void);

/* Defined only by the test programs that check the filters (the release
 * programs do not have it): called right after a filter is loaded (or
 * where it would be, with SANDBOX_OFF). */
void sandbox_test_hook(enum sandbox_role role) __attribute__((weak));

#endif
