/*
 * Logging: one line per event, with a level and a subsystem prefix.
 *
 * Code logs through log_msg(); nothing is printed until a program installs
 * a sink with log_set_sink() (libraries never print). Never log keys or
 * payloads. LOG_RATELIMITED drops repeats of a warning a peer can trigger.
 */
#ifndef FASTN_UTIL_LOG_H
#define FASTN_UTIL_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

typedef void (*log_sink_fn)(enum log_level level, const char *subsys,
                            const char *line, void *arg);

void log_set_sink(log_sink_fn fn, void *arg);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug", "trace". Returns 0 or
 * FASTN_ERR_INVAL. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

/* A sink that writes "LEVEL subsys: line" to stderr. */
void log_sink_stderr(enum log_level level, const char *subsys, const char *line,
                     void *arg);

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Per-call-site rate limit: at most `burst` lines per `seconds`. The first
 * line let through after a window that dropped some is preceded by one
 * saying how many were dropped, so a flood is never silent.
 */
struct log_ratelimit {
    uint64_t window_start;
    unsigned count;
    unsigned dropped;
};
int log_ratelimit_ok(struct log_ratelimit *rl, unsigned burst,
                     unsigned seconds);
/* log_ratelimit_ok() and, when it says yes, the line about those dropped. */
int log_ratelimit_pass(struct log_ratelimit *rl, enum log_level level,
                       const char *subsys);

#define LOG_RATELIMITED(level, subsys, ...)                                    \
    do {                                                                       \
        static struct log_ratelimit rl_;                                       \
        if (log_ratelimit_pass(&rl_, level, subsys))                           \
            log_msg(level, subsys, __VA_ARGS__);                               \
    } while (0)

#endif
