/*
 * fastnd for the seccomp tests (tests/integration/privsep.sh): the
 * daemon's own main with sandbox_test_hook() defined, which the release
 * fastnd does not have. FASTN_TEST_FORBIDDEN says what forbidden system
 * call to make once a filter is on:
 *   signer-socket   the signer calls socket() at once;
 *   daemon-execve   the daemon calls execve() once the file named by
 *                   FASTN_TEST_TRIGGER exists (so the test can first see
 *                   the daemon up and answering).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

static void *execve_later(void *arg)
{
    const char *trigger = getenv("FASTN_TEST_TRIGGER");
    struct timespec t = {0, 20 * 1000 * 1000};

    (void)arg;
    for (int i = 0; trigger && i < 3000 && access(trigger, F_OK) != 0; i++)
        nanosleep(&t, NULL);
    char *argv[] = {"true", NULL};
    execve("/bin/true", argv, NULL);
    return NULL;
}

void sandbox_test_hook(enum sandbox_role role)
{
    const char *what = getenv("FASTN_TEST_FORBIDDEN");
    pthread_t t;

    if (!what)
        return;
    if (role == SANDBOX_SIGNER && !strcmp(what, "signer-socket")) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0)
            close(fd);
    }
    if (role == SANDBOX_DAEMON && !strcmp(what, "daemon-execve") &&
        pthread_create(&t, NULL, execve_later, NULL) == 0)
        pthread_detach(t);
}
