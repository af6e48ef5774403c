/* Logging front end; see log.h. The level check comes first so that a
 * disabled debug line costs one comparison. */
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fastn/err.h"

static log_sink_fn sink;
static void *sink_arg;
static enum log_level max_level = LOG_INFO;

static const char *const names[] = {"error", "warn", "info", "debug", "trace"};

void log_set_sink(log_sink_fn fn, void *arg)
{
    sink = fn;
    sink_arg = arg;
}

void log_set_level(enum log_level level)
{
    max_level = level;
}

enum log_level log_get_level(void)
{
    return max_level;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level > LOG_TRACE)
        return "?";
    return names[level];
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (unsigned i = 0; i <= LOG_TRACE; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return 0;
    }
    return FASTN_ERR_INVAL;
}

void log_sink_stderr(enum log_level level, const char *subsys, const char *line,
                     void *arg)
{
    (void)arg;
    fprintf(stderr, "%s %s: %s\n", log_level_name(level), subsys, line);
}

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (level > max_level || !sink)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One event, one line: a newline inside would forge a second one. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    sink(level, subsys, line, sink_arg);
}

int log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst, unsigned seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec;
    if (now - rl->window_start >= seconds) {
        rl->window_start = now;
        rl->count = 0;
    }
    if (rl->count >= burst) {
        rl->dropped++;
        return 0;
    }
    rl->count++;
    return 1;
}

int log_ratelimit_pass(struct log_ratelimit *rl, enum log_level level,
                       const char *subsys)
{
    unsigned dropped;

    if (!log_ratelimit_ok(rl, 10, 5))
        return 0;
    dropped = rl->dropped;
    rl->dropped = 0;
    if (dropped)
        log_msg(level, subsys,
                "(%u more lines like the next were not logged: rate limit)",
                dropped);
    return 1;
}
