/* Fuzz target: a remote peer's bytes on a stream to a plugin, through the
 * real plugin host (src/plugin) into the built chat and echo plugins, so
 * chat's frame parser (plugins/chat/chat.c) and the host's stream path
 * (held data, flow control, resets) see arbitrary input. One host in a
 * temporary home (tests/unit/host_harness.h: a real state.sqlite and the
 * plugins' real databases), made once per process.
 *
 * Input: byte 0 picks the plugin (even: chat, odd: echo), byte 1 the size
 * of the writes (1..256), byte 2 whether the peer then closes its side
 * (even) or resets the stream (odd); the rest is what the peer sends.
 * Bad input may reset the stream; it must never trap the plugin, which
 * is checked after each input (a trap aborts, so libFuzzer reports it). */
#include "../tests/unit/host_harness.h"

static struct th_node *node;

static void teardown(void)
{
    th_cleanup();
}

static void setup(void)
{
    char err[256];

    th_init_time();
    node = th_start_node(0, 100000);
    if (th_install(node, "plugins/chat.wasm", err, sizeof(err)) ||
        th_install(node, "plugins/echo.wasm", err, sizeof(err))) {
        fprintf(stderr,
                "fuzz_plugin_stream: %s (run from the top with "
                "BUILD set, after make plugins)\n",
                err);
        abort();
    }
    th_pump(1000);
    atexit(teardown);
}

static void check_alive(const char *name)
{
    struct plugin_info info;
    if (plugin_host_info(node->h, name, &info) != 0 || info.last_error) {
        fprintf(stderr, "fuzz_plugin_stream: %s stopped: %s\n", name,
                fastn_err_name(info.last_error));
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t sink[TH_INBOX];

    if (size < 3 || size > 64 * 1024)
        return 0;
    if (!node)
        setup();
    const char *proto = data[0] & 1 ? "/fastn/echo/1.0.0" : "/fastn/chat/1.0.0";
    size_t step = (size_t)data[1] + 1;
    int reset = data[2] & 1;
    struct th_stream *s = th_raw_open(node, proto);

    data += 3;
    size -= 3;
    th_pump(1000);
    for (size_t off = 0; off < size && !s->end[0].reset_pending; off += step) {
        th_raw_write(s, data + off, size - off < step ? size - off : step);
        th_pump(1000);
        th_raw_read(s, sink, sizeof(sink)); /* a peer that reads */
    }
    if (reset)
        s->end[1].reset_pending = 1;
    else
        th_raw_close(s);
    th_advance(100); /* timers run too */
    th_raw_read(s, sink, sizeof(sink));
    /* the test's end is done: the host is told, the slot is freed */
    s->end[1].reset_pending = !s->end[1].dead;
    th_pump(1000);
    s->used = 0;
    check_alive("chat");
    check_alive("echo");
    return 0;
}
