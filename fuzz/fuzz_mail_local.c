/* Fuzz target: a local mail client's bytes to the mail plugin's SMTP or
 * IMAP port, through the real plugin host into the built mail plugin
 * (plugins/mail), as a connection to its local-listen port arrives
 * (fastn_test_local_open): the command parsers fuzz_mail_smtp and
 * fuzz_mail_imap run natively, here with the plugin's sessions, its
 * SQLite store and the host's stream path around them. One host in a
 * temporary home, made once per process.
 *
 * Input: byte 0 picks the port (even: smtp, odd: imap), byte 1 the size
 * of the writes (1..256), byte 2 whether the client then closes (even)
 * or resets (odd); the rest is what the client sends. Bad input gets
 * protocol errors or ends the session; it must never trap the plugin,
 * which is checked after each input (a trap aborts). */
#include <stdio.h>
#include <stdlib.h>

#include "fastn/plugin_test.h"
#include "fuzz_kit.h"

static struct fastn_test *T;
static struct fastn_test_node *node;

static void teardown(void)
{
    fastn_test_free(T);
}

static void setup(void)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    char path[512], err[256] = "";

    if (!(T = fastn_test_new()) ||
        kit_node_new(T, "fuzz", NULL, 100000, true, &node))
        abort();
    snprintf(path, sizeof(path), "%s/%s/plugins/mail.wasm", top ? top : ".",
             build ? build : "build");
    if (fastn_test_install_file(node, path, false, NULL, err, sizeof(err))) {
        fprintf(stderr,
                "fuzz_mail_local: %s (run from the top with BUILD set, "
                "after make plugins)\n",
                err);
        abort();
    }
    fastn_test_run(T);
    atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fastn_test_info info;

    if (size < 3 || size > 64 * 1024)
        return 0;
    if (!node)
        setup();
    struct fastn_test_stream *s =
        fastn_test_local_open(node, "mail", data[0] & 1);

    fastn_test_run(T);
    if (fastn_test_stream_result(s) != 0) {
        fprintf(stderr, "fuzz_mail_local: the plugin refused the port: %s\n",
                fastn_err_name(fastn_test_stream_result(s)));
        abort();
    }
    fuzz_kit_drive(T, s, data, size);
    if (fastn_test_info(node, "mail", &info) != 0 || info.last_error) {
        fprintf(stderr, "fuzz_mail_local: mail stopped: %s\n",
                fastn_err_name(info.last_error));
        abort();
    }
    return 0;
}
