/*
 * What the fuzz targets that drive a plugin through the plugin test kit
 * share (fuzz_plugin_stream, fuzz_mail_local): a stream's bytes written
 * in pieces, with the other side reading, then the stream closed or
 * reset, timers run, and its slot freed. Header-only: each target stays
 * one program.
 */
#ifndef FASTN_FUZZ_KIT_H
#define FASTN_FUZZ_KIT_H

#include <stdint.h>

#include "fastn/plugin_test.h"
#include "plugin/kit_int.h"

/* Input: byte 0 is the caller's, byte 1 the size of the writes (1..256),
 * byte 2 whether the writer then closes (even) or resets (odd); the rest
 * is written to s, which the world t delivers to its plugin. */
static inline void fuzz_kit_drive(struct fastn_test *t,
                                  struct fastn_test_stream *s,
                                  const uint8_t *data, size_t size)
{
    static uint8_t sink[FASTN_TEST_WINDOW];
    size_t step = (size_t)data[1] + 1;
    int reset = data[2] & 1;

    data += 3;
    size -= 3;
    for (size_t off = 0; off < size && !s->end[0].reset_pending; off += step) {
        fastn_test_stream_write(s, data + off,
                                size - off < step ? size - off : step);
        fastn_test_run(t);
        fastn_test_stream_read(s, sink, sizeof(sink)); /* it reads */
    }
    if (reset)
        s->end[1].reset_pending = 1;
    else
        fastn_test_stream_close(s);
    fastn_test_advance(t, 100); /* timers run too */
    fastn_test_stream_read(s, sink, sizeof(sink));
    /* the test's end is done: the host is told, the slot is freed */
    s->end[1].reset_pending = !s->end[1].dead;
    fastn_test_run(t);
    s->used = 0;
}

#endif
