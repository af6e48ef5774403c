/*
 * Text that reaches a terminal: strings that came from peers or plugins
 * (agent strings, protocols, addresses, plugin replies and manifests,
 * notifications, chat messages) are shown with every byte that a
 * terminal would act on made visible instead:
 *
 *   C0 controls and DEL        \xHH (\n \t \r by name), except newline
 *                              and tab in TERM_LINES text
 *   C1 controls (U+0080-009F)  \u0085 (raw bytes 0x80-0x9F are not UTF-8
 *                              and are shown as \x85)
 *   bidi embeddings, overrides \u202e (U+202A-U+202E, U+2066-U+2069), so
 *   and isolates               text cannot be made to read backwards
 *   bytes that are not UTF-8   \xHH each (overlong forms, surrogates,
 *                              code points past U+10FFFF, cut sequences)
 *
 * Everything else (printable ASCII, the backslash, valid UTF-8 of any
 * script) passes unchanged. ESC sequences are thus shown as text
 * ("\x1b[2J"), never run. The CLI's --json output does not use this: JSON
 * escapes keep those strings exact.
 */
#ifndef FASTN_UTIL_TERM_H
#define FASTN_UTIL_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Multi-line text (a reply, a message body): newline and tab pass as
 * they are. Without it a string is one field on one line. */
#define TERM_LINES 1u

/* Writes the escaped form of n bytes at p into out (cap bytes, always
 * NUL-terminated when cap > 0; truncated at a whole unit, never inside an
 * escape or a character). Returns the length the whole escaped text has,
 * as snprintf does, so a return >= cap means it was truncated. */
size_t term_escape(const void *p, size_t n, unsigned flags, char *out,
                   size_t cap);

/* Escapes the string s into buf (term_escape, truncated to cap) and
 * returns buf: for short fields printed with printf. */
const char *term_safe(const char *s, char *buf, size_t cap);

/* Writes the escaped form of n bytes at p, or of the string s, to f.
 * Return 0 or EOF (f's error). */
int term_fwrite(const void *p, size_t n, FILE *f, unsigned flags);
int term_fputs(const char *s, FILE *f, unsigned flags);

/* Escaping a byte stream that arrives in pieces (a stream's data, a
 * reply): a UTF-8 character cut between two pieces is held until the
 * rest comes. */
struct term_stream {
    uint8_t held[3];
    size_t n_held;
    unsigned flags;
};

/* Where term_stream_write() puts its output; returns 0 or -1 (stops). */
typedef int (*term_sink_fn)(void *arg, const char *p, size_t n);

void term_stream_init(struct term_stream *s, unsigned flags);
/* Escapes the next n bytes of the stream to sink. final marks the end of
 * the stream (held bytes of a cut character are then shown as \xHH).
 * Returns 0, or -1 when the sink failed. */
int term_stream_write(struct term_stream *s, const void *p, size_t n,
                      bool final, term_sink_fn sink, void *arg);

#endif
