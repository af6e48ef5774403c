/*
 * fastn-plugin-kit: runs `fastn plugin run` and `fastn plugin new` (see
 * kit_tool.h for why this is a program of its own).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plugin/kit_tool.h"

int kit_error(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("fastn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

static const char usage[] =
    "usage: fastn plugin run FILE.wasm [--data DIR] [--peer NAME]... "
    "[--trace]\n"
    "           [--call METHOD [ARG]...] [--stream PEER PROTOCOL < INPUT]\n"
    "           [--time MS] [--restart]...\n"
    "       fastn plugin new NAME [--template echo|request-reply|store] "
    "[--dir DIR]\n"
    "\n"
    "run: the plugin in fastnd's own plugin host, without a daemon or a\n"
    "network, in a temporary folder (--data DIR: in DIR, kept). The\n"
    "actions run in order: --call calls it (several ARGs are joined with\n"
    "a NUL byte, as fastn plugin call sends them; @NAME is the PeerID of\n"
    "NAME: me, or a --peer), --stream sends standard input as PEER's\n"
    "stream and prints the plugin's answer, --time moves the clock (its\n"
    "timers fire), --restart restarts it. --peer NAME runs the plugin on\n"
    "a second node NAME that streams can reach. --trace prints each\n"
    "event and host call with the fuel used so far. Exit 1 with fastn\n"
    "plugin call's message when a call fails or the plugin fails; 2 for a\n"
    "bad command line.\n"
    "\n"
    "new: writes a project (NAME.c, test_NAME.c, Makefile, README.md) in\n"
    "DIR (default ./NAME): make builds NAME.wasm, make test tests it with\n"
    "the fastn-plugin-test library (pkg-config).\n";

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
    if (argc > 1 && !strcmp(argv[1], "run"))
        return kit_run_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "new"))
        return kit_new_main(argc - 1, argv + 1);
    fputs(usage, stderr);
    return KIT_EXIT_USAGE;
}
