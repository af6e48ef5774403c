/*
 * What the registry's unit tests share: a temporary folder per case, the
 * real `minisign` tool to make keys and signatures (Debian's package,
 * scripts/install-deps.sh), and small file helpers. Header-only, like
 * test.h: each test stays one program.
 */
#ifndef FASTN_TEST_REGISTRY_HARNESS_H
#define FASTN_TEST_REGISTRY_HARNESS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/file.h"

static char harness_dir[256];

/* Runs a shell command; returns its exit status (-1 if it did not run). */
static __attribute__((unused)) int run(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static __attribute__((unused)) int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* A new empty folder for this case (removed by tmp_done). */
static __attribute__((unused)) const char *tmp_new(void)
{
    snprintf(harness_dir, sizeof(harness_dir), "/tmp/fastn-registry-XXXXXX");
    if (!mkdtemp(harness_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    return harness_dir;
}

static __attribute__((unused)) void tmp_done(void)
{
    if (harness_dir[0])
        run("rm -rf '%s'", harness_dir);
}

/* harness_dir/name into out. */
static __attribute__((unused)) const char *tpath(char *out, size_t n,
                                                 const char *name)
{
    snprintf(out, n, "%s/%s", harness_dir, name);
    return out;
}

static __attribute__((unused)) bool have_minisign(void)
{
    return run("command -v minisign >/dev/null 2>&1") == 0;
}

/* minisign -G: harness_dir/NAME.pub and NAME.key, without a password. */
static __attribute__((unused)) void make_key(const char *name)
{
    if (run("cd '%s' && minisign -G -W -p %s.pub -s %s.key </dev/null "
            ">/dev/null 2>&1",
            harness_dir, name, name) != 0) {
        fprintf(stderr, "minisign -G failed\n");
        exit(1);
    }
}

/* minisign -S of harness_dir/file with key NAME, legacy (-l) or not, with
 * a trusted comment; the signature goes to file.minisig. */
static __attribute__((unused)) void sign_file(const char *key, const char *file,
                                              bool legacy, const char *comment)
{
    if (run("cd '%s' && minisign -S %s -s %s.key -m '%s' -t '%s' </dev/null "
            ">/dev/null 2>&1",
            harness_dir, legacy ? "-l" : "", key, file, comment) != 0) {
        fprintf(stderr, "minisign -S failed\n");
        exit(1);
    }
}

static __attribute__((unused)) void put(const char *name, const void *data,
                                        size_t len)
{
    char path[512];
    if (file_write_atomic(tpath(path, sizeof(path), name), data, len, 0644)) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* Reads harness_dir/name (NUL-terminated; free it). */
static __attribute__((unused)) uint8_t *get(const char *name, size_t *len)
{
    char path[512];
    uint8_t *data = NULL;
    if (file_read_all(tpath(path, sizeof(path), name), 64 << 20, &data, len)) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    return data;
}

/* Some bytes that stand for a plugin: n bytes of a pattern. */
static __attribute__((unused)) void put_pattern(const char *name, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 131 + (i >> 8));
    put(name, p, n);
    free(p);
}

#endif
