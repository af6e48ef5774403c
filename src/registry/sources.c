/*
 * The registries a daemon asks, in $FASTN_HOME/registries (see
 * sources.h).
 */
#include "registry/sources.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/errbuf.h"

/* The file: at most REGISTRY_SOURCES_MAX lines of a name, a URL and a
 * comment's worth more. */
#define SOURCES_FILE_MAX (REGISTRY_SOURCES_MAX * (REGISTRY_URL_MAX + 128))

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f)
            return false;
    return true;
}

bool registry_source_url_valid(const char *url)
{
    size_t n = url ? strlen(url) : 0;
    const char *host = NULL;

    /* '#' would start a comment in the file (and a fragment names no
     * folder) */
    if (n == 0 || n >= REGISTRY_URL_MAX || !printable(url) || strchr(url, '#'))
        return false;
    if (!strncmp(url, "https://", 8))
        host = url + 8;
    else if (!strncmp(url, "http://", 7))
        host = url + 7;
    else if (!strncmp(url, "file:///", 8))
        return true;
    return host && host[0] && host[0] != '/';
}

/* A name from the URL: its host without the port, or its folder's last
 * component for file://, reduced to the characters a name may have. */
static void name_from_url(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://") + 3, *end;
    size_t n = 0;

    if (!strncmp(url, "file://", 7)) {
        end = url + strlen(url);
        while (end > p && end[-1] == '/')
            end--;
        p = end;
        while (p > url + 7 && p[-1] != '/')
            p--;
    } else {
        end = p + strcspn(p, ":/?#");
        if (memchr(p, '@', (size_t)(end - p))) /* user@host */
            p = (const char *)memchr(p, '@', (size_t)(end - p)) + 1;
    }
    for (; p < end && n + 1 < cap && n < REGISTRY_KEY_NAME_MAX; p++)
        out[n++] =
            isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'
                ? *p
                : '-';
    out[n] = '\0';
    if (!registry_key_name_valid(out))
        snprintf(out, cap, "registry");
}

static const struct registry_source *find(const struct registry_sources *s,
                                          const char *what)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->v[i].name, what) || !strcmp(s->v[i].url, what))
            return &s->v[i];
    return NULL;
}

/* name, or name-2, name-3... when it is taken. */
static void unique_name(const struct registry_sources *s, const char *base,
                        char *out, size_t cap)
{
    snprintf(out, cap, "%s", base);
    for (unsigned k = 2; find(s, out) && k < 1000; k++) {
        char tail[8];
        size_t room = REGISTRY_KEY_NAME_MAX -
                      (size_t)snprintf(tail, sizeof(tail), "-%u", k);
        snprintf(out, cap, "%.*s%s", (int)room, base, tail);
    }
}

static int add_entry(struct registry_sources *s, const char *name,
                     const char *url, const char *default_url)
{
    struct registry_source *e;

    if (s->n == REGISTRY_SOURCES_MAX)
        return FASTN_ERR_TOO_LARGE;
    e = &s->v[s->n++];
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->url, sizeof(e->url), "%s", url);
    e->is_default = default_url && !strcmp(url, default_url);
    return 0;
}

/* One line: "NAME URL"; a bad one is skipped and logged. */
static void load_line(struct registry_sources *s, char *line, unsigned no,
                      const char *path, const char *default_url)
{
    char *save = NULL, *name, *url, *more;

    if (strchr(line, '#'))
        *strchr(line, '#') = '\0';
    name = strtok_r(line, " \t\r", &save);
    if (!name)
        return;
    url = strtok_r(NULL, " \t\r", &save);
    more = strtok_r(NULL, " \t\r", &save);
    if (!url || more || !registry_key_name_valid(name) ||
        !registry_source_url_valid(url) || find(s, name) || find(s, url)) {
        log_msg(LOG_WARN, "registry",
                "%s line %u skipped: want \"NAME URL\" with a name and a "
                "URL not listed before",
                path, no);
        return;
    }
    if (add_entry(s, name, url, default_url))
        log_msg(LOG_WARN, "registry",
                "%s line %u skipped: more than %d "
                "registries",
                path, no, REGISTRY_SOURCES_MAX);
}

void registry_sources_parse(struct registry_sources *out, const char *text,
                            size_t len, const char *path,
                            const char *default_url)
{
    char line[REGISTRY_URL_MAX + 256];
    unsigned no = 0;
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        size_t n = 0;
        bool skip = false;
        no++;
        for (; i < len && text[i] != '\n'; i++) {
            if (n + 1 < sizeof(line) && text[i])
                line[n++] = text[i];
            else
                skip = true; /* too long, or a NUL: not a line of ours */
        }
        i++;
        line[n] = '\0';
        if (skip)
            log_msg(LOG_WARN, "registry",
                    "%s line %u skipped: too long or "
                    "binary",
                    path, no);
        else
            load_line(out, line, no, path, default_url);
    }
}

int registry_sources_load(struct registry_sources *out, const char *path,
                          const char *default_url)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = file_read_nofollow(path, SOURCES_FILE_MAX, &text, &len);
    if (rc == FASTN_ERR_NOT_FOUND) {
        if (default_url && registry_source_url_valid(default_url))
            add_entry(out, REGISTRY_DEFAULT_NAME, default_url, default_url);
        return 0;
    }
    if (rc)
        return FASTN_ERR_IO;
    registry_sources_parse(out, (const char *)text, len, path, default_url);
    free(text);
    return 0;
}

int registry_sources_format(const struct registry_sources *s, struct buf *out)
{
    static const char head[] =
        "# fastn registries, asked in this order: NAME URL\n"
        "# (fastn registry add/remove change this file)\n";
    int rc = buf_append(out, head, sizeof(head) - 1);

    for (size_t i = 0; !rc && i < s->n; i++) {
        rc = buf_append(out, s->v[i].name, strlen(s->v[i].name));
        if (!rc)
            rc = buf_append(out, " ", 1);
        if (!rc)
            rc = buf_append(out, s->v[i].url, strlen(s->v[i].url));
        if (!rc)
            rc = buf_append(out, "\n", 1);
    }
    return rc;
}

int registry_sources_save(const struct registry_sources *s, const char *path)
{
    struct buf b;
    int rc;

    buf_init(&b, SOURCES_FILE_MAX);
    rc = registry_sources_format(s, &b);
    if (!rc)
        rc = file_write_atomic(path, b.data, b.len, 0644) ? FASTN_ERR_IO : 0;
    buf_cleanup(&b);
    return rc ? FASTN_ERR_IO : 0;
}

int registry_sources_add(struct registry_sources *s, const char *url,
                         const char *name, const char *default_url,
                         struct registry_source *out, char *err, size_t errlen)
{
    char base[REGISTRY_KEY_NAME_MAX + 1], chosen[REGISTRY_KEY_NAME_MAX + 1];
    const struct registry_source *other;

    if (!registry_source_url_valid(url))
        return errbuf_say(err, errlen, FASTN_ERR_INVAL,
                          "not a registry URL: give https://HOST/PATH, "
                          "http://HOST/PATH or file:///PATH (the folder that "
                          "holds index.json)");
    if (name && !registry_key_name_valid(name))
        return errbuf_say(
            err, errlen, FASTN_ERR_INVAL,
            "bad registry name \"%.64s\": 1 to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit",
            name);
    if ((other = find(s, url)))
        return errbuf_say(err, errlen, FASTN_ERR_EXISTS,
                          "registry %s is there already, named %s", other->url,
                          other->name);
    if (name && (other = find(s, name)))
        return errbuf_say(err, errlen, FASTN_ERR_EXISTS,
                          "a registry named %s is there already (%s); choose "
                          "another --name",
                          name, other->url);
    if (!name) {
        name_from_url(url, base, sizeof(base));
        unique_name(s, base, chosen, sizeof(chosen));
        name = chosen;
    }
    if (add_entry(s, name, url, default_url))
        return errbuf_say(err, errlen, FASTN_ERR_TOO_LARGE,
                          "there are %d registries already; remove one first",
                          REGISTRY_SOURCES_MAX);
    if (out)
        *out = s->v[s->n - 1];
    return 0;
}

int registry_sources_remove(struct registry_sources *s, const char *what,
                            struct registry_source *removed, char *err,
                            size_t errlen)
{
    const struct registry_source *e = find(s, what);
    size_t i;

    if (!e)
        return errbuf_say(err, errlen, FASTN_ERR_NOT_FOUND,
                          "no registry named %.64s (see fastn registry list)",
                          what);
    i = (size_t)(e - s->v);
    if (removed)
        *removed = *e;
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
    s->n--;
    return 0;
}
