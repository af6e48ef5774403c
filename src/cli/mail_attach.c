/*
 * fastn mail send --attach: builds a MIME multipart/mixed body (RFC 2045,
 * 2046, 2183) from the text on stdin and the files named: the text as its
 * first part, each file as a base64 part with its file name and a content
 * type guessed from its extension (application/octet-stream when none
 * fits), streamed: the text and the files are read in pieces as the body
 * goes out to a sink (fastn mail send's calls), never held whole. The
 * mail plugin puts the headers before it (calls.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/mail.h"

static const struct {
    const char *ext, *type;
} types[] = {
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"html", "text/html"},
    {"htm", "text/html"},
    {"csv", "text/csv"},
    {"ics", "text/calendar"},
    {"css", "text/css"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"odt", "application/vnd.oasis."
            "opendocument.text"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"svg", "image/svg+xml"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
};

const char *mail_attach_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name || strchr(dot, '/'))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcasecmp(dot + 1, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* What the body goes out through: the sink, and a little of its own
 * buffering so that small pieces (a header, a line) cost no call each. */
struct mbuf {
    const struct mail_sink *sink;
    char p[8192];
    size_t len;
};

static int drain(struct mbuf *b)
{
    int rc = b->len ? b->sink->write(b->sink->ctx, b->p, b->len) : 0;
    b->len = 0;
    return rc;
}

static int put(struct mbuf *b, const void *p, size_t n)
{
    int rc = 0;
    while (!rc && n) {
        if (b->len == sizeof(b->p) && (rc = drain(b)))
            break;
        size_t k = sizeof(b->p) - b->len < n ? sizeof(b->p) - b->len : n;
        memcpy(b->p + b->len, p, k);
        b->len += k;
        p = (const char *)p + k;
        n -= k;
    }
    return rc;
}

static int putf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int putf(struct mbuf *b, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return FASTN_ERR_TOO_LARGE;
    return put(b, line, (size_t)n);
}

/* The file's name as a Content-Disposition parameter: quoted when it is
 * printable ASCII, else RFC 2231's filename*=utf-8''%XX. */
static int put_filename(struct mbuf *b, const char *name)
{
    int ascii = 1, rc = 0;
    for (const unsigned char *s = (const unsigned char *)name; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            ascii = 0;
    if (ascii) {
        rc = put(b, "filename=\"", 10);
        for (const char *s = name; !rc && *s; s++)
            rc =
                (*s == '"' || *s == '\\' ? put(b, "\\", 1) : 0) || put(b, s, 1);
        return rc ? rc : put(b, "\"", 1);
    }
    rc = put(b, "filename*=utf-8''", 17);
    for (const unsigned char *s = (const unsigned char *)name; !rc && *s; s++)
        rc = (*s > 0x20 && *s < 0x7f && !strchr("\"%'()*,/:;<=>?@[\\]{}", *s))
                 ? put(b, s, 1)
                 : putf(b, "%%%02X", *s);
    return rc;
}

/* Base64 lines of 76 characters (57 bytes) with CRLF: n is a multiple of
 * 57 but for a file's last piece. */
static int put_base64(struct mbuf *b, const uint8_t *p, size_t n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
        "xyz0123456789+/";
    char line[80];
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i += 57) {
        size_t k = 0, end = i + 57 < n ? i + 57 : n;
        for (size_t j = i; j < end; j += 3) {
            uint32_t v = (uint32_t)p[j] << 16;
            if (j + 1 < end)
                v |= (uint32_t)p[j + 1] << 8;
            if (j + 2 < end)
                v |= p[j + 2];
            line[k++] = abc[v >> 18];
            line[k++] = abc[(v >> 12) & 63];
            line[k++] = j + 1 < end ? abc[(v >> 6) & 63] : '=';
            line[k++] = j + 2 < end ? abc[v & 63] : '=';
        }
        line[k++] = '\r';
        line[k++] = '\n';
        rc = put(b, line, k);
    }
    return rc;
}

/* Reads what it can into p (up to cap; *n), EINTR retried; -1 and errno
 * on an error. */
static int read_some(int fd, uint8_t *p, size_t cap, size_t *n)
{
    *n = 0;
    while (*n < cap) {
        ssize_t k = read(fd, p + *n, cap - *n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        *n += (size_t)k;
    }
    return 0;
}

/* The text from fd, its line ends made CRLF (the CRLF before a boundary
 * is the boundary's: RFC 2046 5.1.1; the text keeps its own). */
static int put_text(struct mbuf *b, int fd)
{
    uint8_t in[4096];
    char prev = 0;
    size_t n;
    int rc = 0, any = 0;
    while (!rc) {
        if (read_some(fd, in, sizeof(in), &n) < 0)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                             "reading the body: %s", strerror(errno));
        if (n == 0)
            break;
        for (size_t i = 0; !rc && i < n; i++) {
            rc = in[i] == '\n' && prev != '\r' ? put(b, "\r\n", 2)
                                               : put(b, in + i, 1);
            prev = (char)in[i];
        }
        any = 1;
    }
    if (!rc && any && prev != '\n')
        rc = put(b, "\r\n", 2);
    return rc;
}

int mail_attach_open(char **files, size_t n, int *fds, uint64_t *sizes)
{
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        int fd = open(files[i], O_RDONLY | O_CLOEXEC);
        int e = fd < 0 ? errno : fstat(fd, &st) ? errno : 0;
        if (!e && !S_ISREG(st.st_mode))
            e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        if (e) {
            if (fd >= 0)
                close(fd);
            while (i > 0)
                close(fds[--i]);
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                             "cannot read the attachment %s: %s%s", files[i],
                             strerror(e),
                             e == EINVAL ? " (not a regular file)" : "");
        }
        fds[i] = fd;
        sizes[i] = (uint64_t)st.st_size;
    }
    return 0;
}

uint64_t mail_attach_size(const uint64_t *sizes, size_t n)
{
    uint64_t t = 200; /* the text part's header and the last boundary */
    for (size_t i = 0; i < n; i++)
        t += 4 * ((sizes[i] + 2) / 3) + 2 * ((sizes[i] + 56) / 57) + 300;
    return t;
}

static int put_file(struct mbuf *b, const char *bd, const char *path, int fd)
{
    static uint8_t data[57 * 1024];
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t n;
    int rc = putf(b,
                  "\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: "
                  "base64\r\nContent-Disposition: attachment; ",
                  bd, mail_attach_type(name));
    if (!rc)
        rc = put_filename(b, *name ? name : "attachment");
    if (!rc)
        rc = put(b, "\r\n\r\n", 4);
    while (!rc) {
        if (read_some(fd, data, sizeof(data), &n) < 0)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                             "cannot read the attachment %s: %s", path,
                             strerror(errno));
        if (n == 0)
            break;
        rc = put_base64(b, data, n);
    }
    return rc;
}

int mail_attach_ctype(char *bd, size_t bd_cap, char *ctype, size_t cap)
{
    uint8_t r[12];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                         "no random bytes for the MIME boundary: %s",
                         strerror(errno));
    int k = snprintf(bd, bd_cap, "=_fastn_");
    for (size_t i = 0; i < sizeof(r); i++)
        k += snprintf(bd + k, bd_cap - (size_t)k, "%02x", r[i]);
    snprintf(ctype, cap, "multipart/mixed; boundary=\"%s\"", bd);
    return 0;
}

int mail_attach_write(int text_fd, char **files, const int *fds, size_t nfiles,
                      const char *bd, const struct mail_sink *sink)
{
    struct mbuf *b = malloc(sizeof(*b));
    if (!b)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    b->sink = sink;
    b->len = 0;
    int rc = putf(b,
                  "This is a message in MIME format.\r\n\r\n--%s\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n",
                  bd);
    if (!rc)
        rc = put_text(b, text_fd);
    for (size_t i = 0; !rc && i < nfiles; i++)
        rc = put_file(b, bd, files[i], fds[i]);
    if (!rc)
        rc = putf(b, "\r\n--%s--\r\n", bd);
    if (!rc)
        rc = drain(b);
    free(b);
    return rc;
}
