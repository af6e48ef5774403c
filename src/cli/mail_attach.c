/*
 * fastn mail send --attach: builds a MIME multipart/mixed body (RFC 2045,
 * 2046, 2183) from the text on stdin and the files named: the text as its
 * first part, each file as a base64 part with its file name and a content
 * type guessed from its extension (application/octet-stream when none
 * fits). The mail plugin puts the headers around it (calls.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

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

/* A growing buffer that refuses to pass max bytes. */
struct mbuf {
    char *p;
    size_t len, max;
};

static int put(struct mbuf *b, const void *p, size_t n)
{
    if (n > b->max - b->len)
        return FASTN_ERR_TOO_LARGE;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

static int putf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int putf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->max - b->len + 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > b->max - b->len)
        return FASTN_ERR_TOO_LARGE;
    b->len += (size_t)n;
    return 0;
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

static int put_base64(struct mbuf *b, const uint8_t *p, size_t n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
        "xyz0123456789+/";
    char line[80];
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i += 57) { /* 57 bytes: 76 chars */
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

/* The text from stdin, its line ends made CRLF (the CRLF before a
 * boundary is the boundary's: RFC 2046 5.1.1; the text keeps its own). */
static int put_text(struct mbuf *b, const char *t, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = t[i] == '\n' && (i == 0 || t[i - 1] != '\r') ? put(b, "\r\n", 2)
                                                          : put(b, t + i, 1);
    if (!rc && n && t[n - 1] != '\n')
        rc = put(b, "\r\n", 2);
    return rc;
}

static int read_file(const char *path, uint8_t **out, size_t *n, size_t max)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (!f)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                         "cannot read the attachment %s: %s", path,
                         strerror(errno));
    for (;;) {
        if (*n == cap) {
            uint8_t *p = cap > max ? NULL : realloc(*out, cap + 65536);
            if (!p)
                break;
            *out = p;
            cap += 65536;
        }
        size_t k = fread(*out + *n, 1, cap - *n, f);
        *n += k;
        if (k == 0)
            break;
    }
    int bad = ferror(f), big = *n > max;
    fclose(f);
    if (bad || big) {
        free(*out);
        *out = NULL;
        return big ? FASTN_ERR_TOO_LARGE
                   : cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                               "cannot read the attachment %s: %s (is it "
                               "a directory?)",
                               path, strerror(errno ? errno : EIO));
    }
    return 0;
}

static int put_file(struct mbuf *b, const char *bd, const char *path,
                    size_t *size)
{
    uint8_t *data;
    size_t n;
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int rc = read_file(path, &data, &n, b->max);
    if (rc)
        return rc;
    *size = n;
    rc = putf(b,
              "\r\n--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: "
              "base64\r\nContent-Disposition: attachment; ",
              bd, mail_attach_type(name));
    if (!rc)
        rc = put_filename(b, *name ? name : "attachment");
    if (!rc)
        rc = put(b, "\r\n\r\n", 4);
    if (!rc)
        rc = put_base64(b, data, n);
    free(data);
    return rc;
}

int mail_attach_build(const char *text, size_t tlen, char **files,
                      size_t nfiles, size_t *sizes, char *ctype,
                      size_t ctype_cap, char *out, size_t *len, size_t max)
{
    uint8_t r[12];
    char bd[40];
    struct mbuf b = {out, 0, max};
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                         "no random bytes for the MIME boundary: %s",
                         strerror(errno));
    int k = snprintf(bd, sizeof(bd), "=_fastn_");
    for (size_t i = 0; i < sizeof(r); i++)
        k += snprintf(bd + k, sizeof(bd) - (size_t)k, "%02x", r[i]);
    snprintf(ctype, ctype_cap, "multipart/mixed; boundary=\"%s\"", bd);
    int rc = putf(&b,
                  "This is a message in MIME format.\r\n\r\n--%s\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\n"
                  "Content-Transfer-Encoding: 8bit\r\n\r\n",
                  bd);
    if (!rc)
        rc = put_text(&b, text, tlen);
    for (size_t i = 0; !rc && i < nfiles; i++)
        rc = put_file(&b, bd, files[i], &sizes[i]);
    if (!rc)
        rc = putf(&b, "\r\n--%s--\r\n", bd);
    *len = b.len;
    return rc;
}
