/*
 * A tiny unit-test harness: each TEST runs in its own child process, so a
 * crash or a leak report in one case cannot hide the others.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ(a, b); CHECK_ERR(f(), FASTN_OK); }
 *   int main(void) { RUN(name); ...; return test_done(); }
 */
#ifndef FASTN_TEST_H
#define FASTN_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fastn/err.h"

static int test_failed_cases;
static int test_run_cases;
static int test_case_failures;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
            test_case_failures++;                                              \
        }                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            fprintf(stderr,                                                    \
                    "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n",       \
                    __FILE__, __LINE__, #a, #b, a_, b_);                       \
            test_case_failures++;                                              \
        }                                                                      \
    } while (0)

/* Compares error codes and names them on failure. */
#define CHECK_ERR(expr, want)                                                  \
    do {                                                                       \
        int got_ = (expr), want_ = (want);                                     \
        if (got_ != want_) {                                                   \
            fprintf(stderr, "%s:%d: %s returned %s, want %s\n", __FILE__,      \
                    __LINE__, #expr, fastn_err_name(got_),                     \
                    fastn_err_name(want_));                                    \
            test_case_failures++;                                              \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                               \
            fprintf(stderr, "%s:%d: CHECK_STR failed: \"%s\" != \"%s\"\n",     \
                    __FILE__, __LINE__, a_ ? a_ : "(null)",                    \
                    b_ ? b_ : "(null)");                                       \
            test_case_failures++;                                              \
        }                                                                      \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

static inline void test_run_one(const char *name, void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        test_case_failures = 0;
        fn();
        fflush(stderr);
        _exit(test_case_failures ? 1 : 0);
    }
    int st = 0;
    test_run_cases++;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0) {
        test_failed_cases++;
        if (pid > 0 && WIFSIGNALED(st))
            fprintf(stderr, "  %s: killed by signal %d\n", name, WTERMSIG(st));
        printf("not ok %s\n", name);
    } else {
        printf("ok %s\n", name);
    }
}

#define RUN(name) test_run_one(#name, name)

static inline int test_done(void)
{
    printf("%d/%d cases passed\n", test_run_cases - test_failed_cases,
           test_run_cases);
    return test_failed_cases ? 1 : 0;
}

#endif
