/*
 * fastnd under a service manager (systemd), without libsystemd: the
 * three small, documented protocols a daemon speaks with it.
 *
 *  - Socket activation (sd_listen_fds(3)): the manager binds the control
 *    socket (fastnd.socket) and passes it as fd 3 onwards, naming the
 *    count in LISTEN_FDS, the receiving pid in LISTEN_PID and the names
 *    in LISTEN_FDNAMES. fastnd then adopts that socket instead of binding
 *    its own, so the first client starts the daemon and nothing is lost
 *    while it restarts.
 *  - Readiness (sd_notify(3)): "READY=1" and "STOPPING=1" datagrams to
 *    $NOTIFY_SOCKET, for Type=notify units.
 *  - Log priorities (sd-daemon(3)): when stderr is the journal's stream
 *    ($JOURNAL_STREAM), each line starts with "<N>", its syslog level,
 *    and the journal adds the time itself.
 *
 * Each is inert when its variable is absent, so a daemon started by hand
 * or by libfastn's autostart behaves as before.
 */
#ifndef FASTN_DAEMON_SERVICE_H
#define FASTN_DAEMON_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/log.h"

/* The name fastnd.socket gives the control socket (FileDescriptorName=);
 * with a single passed socket the name does not matter. */
#define SERVICE_FD_NAME "control"

/* Takes the control socket the service manager passed to this process.
 * Returns 0 with *fd = -1 when none was passed (no LISTEN_FDS, or one
 * meant for another pid), 0 with *fd >= 0 (close-on-exec, the caller
 * owns it) and its path in path (n bytes), or an error with a one-line
 * reason in err: FASTN_ERR_INVAL (LISTEN_* malformed, several sockets and
 * none named "control", or the socket is not a listening Unix stream
 * socket with a path), FASTN_ERR_TOO_LARGE (path longer than n - 1).
 * The LISTEN_* variables are removed from the environment either way,
 * and passed sockets that are not used are closed. */
int service_listen_fd(int *fd, char *path, size_t n, char *err, size_t errlen);

/* Sends state ("READY=1", "STOPPING=1", "STATUS=...") to the service
 * manager when $NOTIFY_SOCKET names one; otherwise does nothing. Returns
 * true when the message was sent. */
bool service_notify(const char *state);

/* True when stderr is the journal's stream ($JOURNAL_STREAM names
 * stderr's device and inode). */
bool service_stderr_is_journal(void);

/* A log sink (util/log.h) for stderr read by the journal: "<N>subsys:
 * line", N the syslog priority of level. */
void service_journal_sink(enum log_level level, const char *subsys,
                          const char *line, void *arg);

#endif
