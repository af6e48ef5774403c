/* Fuzz target: a remote peer's bytes on a stream to a plugin, through the
 * real plugin host (src/plugin) into the built chat and echo plugins, so
 * chat's frame parser (plugins/chat/chat.c) and the host's stream path
 * (held data, flow control, resets) see arbitrary input. One host in a
 * temporary home (the plugin test library, include/fastn/plugin_test.h:
 * a real state.sqlite and the plugins' real databases), made once per
 * process.
 *
 * Input: byte 0 picks the plugin (even: chat, odd: echo), byte 1 the size
 * of the writes (1..256), byte 2 whether the peer then closes its side
 * (even) or resets the stream (odd); the rest is what the peer sends.
 * Bad input may reset the stream; it must never trap the plugin, which
 * is checked after each input (a trap aborts, so libFuzzer reports it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/plugin_test.h"
#include "fuzz_kit.h"
#include "plugin/kit_int.h"

static struct fastn_test *T;
static struct fastn_test_node *node;

static void teardown(void)
{
    fastn_test_free(T);
}

static int install(const char *rel, char *err, size_t errlen)
{
    char path[512];
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    snprintf(path, sizeof(path), "%s/%s/%s", top ? top : ".",
             build ? build : "build", rel);
    return fastn_test_install_file(node, path, false, NULL, err, errlen);
}

static void setup(void)
{
    char err[256] = "";

    if (!(T = fastn_test_new()) ||
        kit_node_new(T, "fuzz", NULL, 100000, true, &node))
        abort();
    if (install("plugins/chat.wasm", err, sizeof(err)) ||
        install("plugins/echo.wasm", err, sizeof(err))) {
        fprintf(stderr,
                "fuzz_plugin_stream: %s (run from the top with "
                "BUILD set, after make plugins)\n",
                err);
        abort();
    }
    fastn_test_run(T);
    atexit(teardown);
}

static void check_alive(const char *name)
{
    struct fastn_test_info info;
    if (fastn_test_info(node, name, &info) != 0 || info.last_error) {
        fprintf(stderr, "fuzz_plugin_stream: %s stopped: %s\n", name,
                fastn_err_name(info.last_error));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 64 * 1024)
        return 0;
    if (!node)
        setup();
    const char *proto = data[0] & 1 ? "/fastn/echo/1.0.0" : "/fastn/chat/1.0.0";
    struct fastn_test_stream *s = fastn_test_stream_open(node, NULL, proto);

    fastn_test_run(T);
    fuzz_kit_drive(T, s, data, size);
    check_alive("chat");
    check_alive("echo");
    return 0;
}
