/*
 * libcurl transfers for registries (the only file that calls libcurl):
 * one easy handle per transfer, blocking, meant for a worker thread. See
 * fetch.h for the limits and how the daemon drives it.
 */
#include "registry/fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fastn/err.h"
#include "util/errbuf.h"

struct transfer {
    registry_sink_fn sink;
    void *sink_arg;
    const struct registry_fetch_opts *o;
    uint64_t got;
    int err; /* why the write callback stopped the transfer */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int registry_fetch_global_init(void)
{
    pthread_once(&curl_once, curl_init);
    return curl_init_result == CURLE_OK ? 0 : FASTN_ERR_INTERNAL;
}

void registry_fetch_opts_init(struct registry_fetch_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout_ms = REGISTRY_FETCH_CONNECT_TIMEOUT_MS;
    o->timeout_ms = REGISTRY_FETCH_TIMEOUT_MS;
    o->stall_timeout_ms = REGISTRY_FETCH_STALL_TIMEOUT_MS;
    o->max_bytes = REGISTRY_FETCH_MAX_DEFAULT;
    o->max_redirects = REGISTRY_FETCH_REDIRECTS_MAX;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct transfer *t = arg;
    size_t len = size * n;

    if (len > t->o->max_bytes - t->got) {
        t->err = FASTN_ERR_FETCH_TOO_LARGE;
        return 0; /* anything but len stops the transfer */
    }
    t->got += len;
    if ((t->err = t->sink(t->sink_arg, (const uint8_t *)p, len)) != 0)
        return 0;
    return len;
}

static int on_progress(void *arg, curl_off_t total, curl_off_t now,
                       curl_off_t ut, curl_off_t un)
{
    struct transfer *t = arg;
    (void)ut, (void)un;
    if (!t->o->progress)
        return 0;
    return t->o->progress(t->o->progress_arg, (uint64_t)now, (uint64_t)total)
               ? 1
               : 0;
}

static bool scheme_is(const char *url, const char *scheme)
{
    return strncasecmp(url, scheme, strlen(scheme)) == 0;
}

/* The limits and safety options of fetch.h on one handle. */
static void set_options(CURL *h, const char *url, struct transfer *t,
                        char *curl_err)
{
    const struct registry_fetch_opts *o = t->o;
    long stall = (long)((o->stall_timeout_ms + 999) / 1000);

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM */
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
    /* a redirect never goes to a file, nor from https to http */
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                     scheme_is(url, "https://") ? "https" : "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, o->max_redirects);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall > 0 ? stall : 1L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (o->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "fastn/" FASTN_VERSION);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
}

/* Maps a failed transfer to one of fetch.h's errors, said in err. */
static int curl_error(CURL *h, CURLcode rc, const struct transfer *t,
                      const char *url, const char *curl_err, char *err,
                      size_t errlen)
{
    long status = 0;
    const char *why = curl_err[0] ? curl_err : curl_easy_strerror(rc);

    switch (rc) {
    case CURLE_WRITE_ERROR:
        if (t->err == FASTN_ERR_FETCH_TOO_LARGE)
            break;
        return errbuf_say(err, errlen, t->err ? t->err : FASTN_ERR_IO, "%s: %s",
                          url, fastn_strerror(t->err ? t->err : FASTN_ERR_IO));
    case CURLE_FILESIZE_EXCEEDED:
        break;
    case CURLE_OPERATION_TIMEDOUT:
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_TIMEOUT, "%s: %s", url,
                          why);
    case CURLE_TOO_MANY_REDIRECTS:
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_REDIRECTS,
                          "%s: more than %ld redirects", url,
                          t->o->max_redirects);
    case CURLE_UNSUPPORTED_PROTOCOL:
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_PROTOCOL, "%s: %s", url,
                          why);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_TLS, "%s: %s", url, why);
    case CURLE_ABORTED_BY_CALLBACK:
        return errbuf_say(err, errlen, FASTN_ERR_CANCELED, "%s: canceled", url);
    case CURLE_FILE_COULDNT_READ_FILE:
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_NOT_FOUND,
                          "%s: no such file", url);
    case CURLE_HTTP_RETURNED_ERROR:
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        return errbuf_say(err, errlen,
                          status == 404 || status == 410
                              ? FASTN_ERR_FETCH_NOT_FOUND
                              : FASTN_ERR_FETCH_HTTP,
                          "%s: the server answered HTTP %ld", url, status);
    default:
        return errbuf_say(err, errlen, FASTN_ERR_FETCH, "%s: %s", url, why);
    }
    return errbuf_say(err, errlen, FASTN_ERR_FETCH_TOO_LARGE,
                      "%s: larger than the %llu bytes allowed", url,
                      (unsigned long long)t->o->max_bytes);
}

int registry_fetch(const char *url, const struct registry_fetch_opts *o,
                   registry_sink_fn sink, void *arg, char *err, size_t errlen)
{
    struct transfer t = {sink, arg, o, 0, 0};
    char curl_err[CURL_ERROR_SIZE] = "";
    long status = 0;
    CURL *h;
    CURLcode rc;

    if (!scheme_is(url, "https://") && !scheme_is(url, "http://") &&
        !scheme_is(url, "file://"))
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_PROTOCOL,
                          "%.200s: not an https://, http:// or file:// URL",
                          url);
    if (registry_fetch_global_init() != 0 || !(h = curl_easy_init()))
        return errbuf_say(err, errlen, FASTN_ERR_INTERNAL,
                          "libcurl did not start");
    set_options(h, url, &t, curl_err);
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        int e = curl_error(h, rc, &t, url, curl_err, err, errlen);
        curl_easy_cleanup(h);
        return e;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    /* file:// has no status; HTTP must end in a 2xx (FAILONERROR took
     * 4xx and 5xx; a 3xx left here had no usable Location) */
    if (status != 0 && (status < 200 || status > 299))
        return errbuf_say(err, errlen, FASTN_ERR_FETCH_HTTP,
                          "%s: the server answered HTTP %ld", url, status);
    return 0;
}

static int to_buf(void *arg, const uint8_t *p, size_t n)
{
    int rc = buf_append(arg, p, n);
    return rc == FASTN_ERR_TOO_LARGE ? FASTN_ERR_FETCH_TOO_LARGE : rc;
}

int registry_fetch_buf(const char *url, const struct registry_fetch_opts *o,
                       struct buf *out, char *err, size_t errlen)
{
    int rc = registry_fetch(url, o, to_buf, out, err, errlen);
    if (rc == FASTN_ERR_FETCH_TOO_LARGE)
        errbuf_say(err, errlen, rc, "%s: larger than the %zu bytes allowed",
                   url,
                   out->max < o->max_bytes ? out->max : (size_t)o->max_bytes);
    return rc;
}

int registry_url_join(const char *base, const char *file, char *out, size_t n)
{
    size_t b = strlen(base);
    const char *sep = b > 0 && base[b - 1] == '/' ? "" : "/";

    if (snprintf(out, n, "%s%s%s", base, sep, file) >= (int)n)
        return FASTN_ERR_TOO_LARGE;
    return 0;
}

int registry_fetch_index(const char *name, const char *base_url,
                         const struct registry_fetch_opts *o,
                         struct registry_index *out, char *err, size_t errlen)
{
    struct registry_fetch_opts io = *o;
    char url[REGISTRY_URL_MAX];
    struct buf b;
    int rc;

    if (registry_url_join(base_url, REGISTRY_INDEX_NAME, url, sizeof(url)))
        return errbuf_say(err, errlen, FASTN_ERR_TOO_LARGE,
                          "registry %s: URL too "
                          "long",
                          name);
    /* the index's own limit, one byte more to tell "too large" apart */
    io.max_bytes = REGISTRY_INDEX_MAX + 1ull;
    buf_init(&b, REGISTRY_INDEX_MAX + 1);
    rc = registry_fetch_buf(url, &io, &b, err, errlen);
    if (rc == FASTN_ERR_FETCH_TOO_LARGE)
        rc = errbuf_say(err, errlen, FASTN_ERR_INDEX_TOO_LARGE,
                        "registry %s: %s is larger than the %u bytes allowed",
                        name, url, REGISTRY_INDEX_MAX);
    if (!rc)
        rc = registry_index_parse(name, b.data, b.len, out, err, errlen);
    buf_cleanup(&b);
    return rc;
}
