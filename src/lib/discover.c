/*
 * Which control socket a client uses when none was named: the user's own
 * daemon's (HOME/fastnd.sock), or the system daemon's. The system daemon
 * is fastnd.service running as its own user `fastn` (docs/SERVICE.md),
 * on /run/fastn/fastnd.sock, mode 0660, group `fastn`: a user who has no
 * fastn home of their own and may use that socket (a member of its group,
 * or root) talks to it instead of starting a daemon of their own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/lib_int.h"

bool lib_system_socket(const struct fastn_connect_options *o, const char *home,
                       char *out, size_t n)
{
    const char *env_home = getenv("FASTN_HOME");
    const char *sys = getenv("FASTN_SYSTEM_SOCKET");
    struct stat st;

    if ((o->home && o->home[0]) || (env_home && env_home[0]))
        return false; /* a home was named: that one, or none */
    if (!sys || !sys[0])
        sys = FASTN_SYSTEM_SOCKET;
    /* The user's own home exists: their daemon (running or started on
     * demand) is the one they mean. */
    if (lstat(home, &st) == 0 || errno != ENOENT)
        return false;
    /* Connecting needs write permission on the socket (its group's). */
    if (stat(sys, &st) != 0 || !S_ISSOCK(st.st_mode) || access(sys, W_OK) != 0)
        return false;
    return snprintf(out, n, "%s", sys) < (int)n;
}
