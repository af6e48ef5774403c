/* Unit tests for src/daemon/service.c: taking the control socket systemd
 * passes (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES, fds from 3), every way
 * the variables can be wrong, and the READY=1 datagram. Each case runs in
 * its own process (test.h), so its pid and descriptors are its own. */
#include "daemon/service.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fastn/err.h"
#include "test.h"

static char dir[] = "/tmp/fastn-svc-XXXXXX";

/* A socket of type at dir/name (listening when listening) placed at fd. */
static void place_socket(int fd, const char *name, int type, bool listening)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, type, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, name);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    if (listening)
        CHECK(listen(s, 4) == 0);
    CHECK(dup2(s, fd) == fd);
    if (s != fd)
        close(s);
}

/* Removes dir and the sockets the cases make in it. */
static void remove_dir(void)
{
    const char *names[] = {"ctl.sock",   "a.sock",    "b.sock",
                           "dgram.sock", "idle.sock", "notify"};
    char path[128];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void set_env(const char *fds, const char *names)
{
    char pid[32];

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", fds, 1);
    if (names)
        setenv("LISTEN_FDNAMES", names, 1);
    else
        unsetenv("LISTEN_FDNAMES");
}

static int take(int *fd, char *path, char *err)
{
    return service_listen_fd(fd, path, 108, err, 256);
}

TEST(none_passed)
{
    char path[108], err[256];
    int fd = 7;

    unsetenv("LISTEN_FDS");
    CHECK_ERR(take(&fd, path, err), 0);
    CHECK_EQ(fd, -1);
}

TEST(one_socket)
{
    char path[108], want[108], err[256];
    int fd = -1;

    CHECK(mkdtemp(dir) != NULL);
    place_socket(3, "ctl.sock", SOCK_STREAM, true);
    set_env("1", "whatever");
    CHECK_ERR(take(&fd, path, err), 0);
    CHECK_EQ(fd, 3);
    snprintf(want, sizeof(want), "%s/ctl.sock", dir);
    CHECK_STR(path, want);
    CHECK(fcntl(3, F_GETFD) & FD_CLOEXEC);
    /* the variables are gone: a child of ours is not activated */
    CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS") &&
          !getenv("LISTEN_FDNAMES"));
    remove_dir();
}

TEST(the_one_named_control)
{
    char path[108], err[256];
    int fd = -1;

    CHECK(mkdtemp(dir) != NULL);
    place_socket(3, "a.sock", SOCK_STREAM, true);
    place_socket(4, "b.sock", SOCK_STREAM, true);
    set_env("2", "metrics:control");
    CHECK_ERR(take(&fd, path, err), 0);
    CHECK_EQ(fd, 4);
    CHECK(strstr(path, "/b.sock") != NULL);
    CHECK(fcntl(3, F_GETFD) < 0); /* the unused one is closed */
    remove_dir();
}

TEST(several_and_none_named_control)
{
    char path[108], err[256];
    int fd = -1;

    CHECK(mkdtemp(dir) != NULL);
    place_socket(3, "a.sock", SOCK_STREAM, true);
    place_socket(4, "b.sock", SOCK_STREAM, true);
    set_env("2", "a:controller");
    CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
    CHECK_EQ(fd, -1);
    CHECK(strstr(err, "set FileDescriptorName=control") != NULL);
    set_env("2", NULL);
    CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
    remove_dir();
}

TEST(not_a_listening_stream_socket)
{
    char path[108], err[256];
    int fd = -1, sv[2];

    CHECK(mkdtemp(dir) != NULL);
    place_socket(3, "dgram.sock", SOCK_DGRAM, false);
    set_env("1", NULL);
    CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
    CHECK(strstr(err, "use ListenStream=/PATH") != NULL);
    place_socket(3, "idle.sock", SOCK_STREAM, false); /* never listen()ed */
    set_env("1", NULL);
    CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
    /* a socket without a path: nothing on disk guards it */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(dup2(sv[0], 3) == 3);
    set_env("1", NULL);
    CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
    /* a plain file */
    CHECK(dup2(open("/dev/null", O_RDONLY), 3) == 3);
    set_env("1", NULL);
    CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
    CHECK_EQ(fd, -1);
    remove_dir();
}

TEST(bad_variables)
{
    char path[108], err[256];
    int fd = -1;
    const char *bad[] = {"", "0", "1x", "-1", "65", "99999999999999999999"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        set_env(bad[i], NULL);
        CHECK_ERR(take(&fd, path, err), FASTN_ERR_INVAL);
        CHECK(strstr(err, "is not a count of passed sockets") != NULL);
        CHECK_EQ(fd, -1);
    }
    /* meant for another process: ignored, and removed */
    setenv("LISTEN_PID", "1", 1);
    setenv("LISTEN_FDS", "1", 1);
    CHECK_ERR(take(&fd, path, err), 0);
    CHECK_EQ(fd, -1);
    CHECK(!getenv("LISTEN_FDS"));
    setenv("LISTEN_PID", "12x", 1);
    setenv("LISTEN_FDS", "1", 1);
    CHECK_ERR(take(&fd, path, err), 0);
    CHECK_EQ(fd, -1);
}

TEST(notify)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char buf[64];
    ssize_t n;
    int s;

    unsetenv("NOTIFY_SOCKET");
    CHECK(!service_notify("READY=1"));
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    CHECK(!service_notify("READY=1"));
    CHECK(mkdtemp(dir) != NULL);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    CHECK(service_notify("READY=1"));
    n = recv(s, buf, sizeof(buf) - 1, 0);
    CHECK_EQ(n, 7);
    buf[n > 0 ? n : 0] = '\0';
    CHECK_STR(buf, "READY=1");
    /* the abstract namespace, as "@name" */
    close(s);
    remove_dir();
    memset(sa.sun_path, 0, sizeof(sa.sun_path));
    snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "fastn-test-%ld",
             (long)getpid());
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CHECK(bind(s, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                           strlen(sa.sun_path + 1))) == 0);
    snprintf(buf, sizeof(buf), "@%s", sa.sun_path + 1);
    setenv("NOTIFY_SOCKET", buf, 1);
    CHECK(service_notify("STOPPING=1"));
    n = recv(s, buf, sizeof(buf) - 1, 0);
    CHECK_EQ(n, 10);
    close(s);
}

int main(void)
{
    RUN(none_passed);
    RUN(one_socket);
    RUN(the_one_named_control);
    RUN(several_and_none_named_control);
    RUN(not_a_listening_stream_socket);
    RUN(bad_variables);
    RUN(notify);
    return test_done();
}
