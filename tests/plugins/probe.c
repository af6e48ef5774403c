/*
 * Test plugin: exercises the host functions one call at a time, so the
 * host's unit tests can check each import's behaviour through a real
 * WebAssembly instance. Each method answers with what the host returned.
 *   busy N          runs N rounds of a small loop (many fuel slices)
 *   notify N        notifies N times: "ok=A again=B other=C"
 *   ntx N           BEGIN, an INSERT, N notifies, COMMIT: as notify
 *   nrollback N     BEGIN, N notifies, ROLLBACK: as notify
 *   nopen N         BEGIN, an INSERT, N notifies, left open: as notify
 *   sql TEXT        runs TEXT with exec: "CODE MESSAGE"
 *   timer ID MS     arms timer ID; "fired" lists the ids that fired
 *   cancel ID       disarms it
 *   log N           logs N lines: "ok=A err=B"
 *   random N        asks for N random bytes: the code, or "nonzero=K"
 *   peer            the local PeerID
 *   sha256 TEXT     SHA-256 of TEXT in hex, or the code
 *   blake2b K TEXT  BLAKE2b-(K*8) of TEXT in hex (K bytes, 0..70), or the
 *                   code; "blake2bkey" the same keyed with 32 bytes 0..31
 *   hashbig         sha256 of 4 MiB + 1 bytes: the code
 *   hashprep N      fills 8 buffers of N bytes (at most 256 KiB) with
 *                   bytes j * 7 + 3: "ok"
 *   hashstart K     hash_start of K (at most 9) of them, the ninth on
 *                   the first's bytes: answered once every on_hash came,
 *                   "codes=C,.. digests=H,.." (a start refused answers
 *                   its code and no digest)
 *   blob TEXT       puts TEXT as blob "k", reads it back from byte 1,
 *                   deletes it: "put=.. size=.. read=N:TEXT bad=.. del=..
 *                   again=.. gone=.." (bad: a key of 65 bytes)
 *   blobfill        puts 64 KiB blobs until refused, deletes them, puts
 *                   one again: "n=N err=E after=R"
 *   sqlwork N       a recursive CTE counting to N: "count=C" or the code
 *   txn             BEGIN and an INSERT left open (the host rolls back)
 *   rows            how many rows txn's table holds
 *   later           answers from the next timer 1 (armed for 10 ms)
 *   never           never answers (the host times it out)
 *   twice           answers, then answers again: "last" has that code
 *                   (or the last error notify got)
 *   fail            returns -2 without answering
 *   exit            calls exit(3) (WASI proc_exit)
 *   print           writes two lines to stdout and one to stderr
 *   grow            grows its memory a page at a time until refused:
 *                   "pages=N"
 */
#include <fastn/plugin.h>

// clang-format off
FASTN_MANIFEST({
    "name": "test-probe", "version": "1.0.0", "abi": 1,
    "description": "Test plugin: calls each host function on request",
    "capabilities": ["storage", "notify", "timers"],
    "storage_quota": 1048576,
    "limits": {"timers": 4, "fuel_per_event": 50000000}
})
// clang-format on

static int32_t fired[32];
static int n_fired;
static int32_t later_call = -1;
static int32_t last_code;

static int is(const char *m, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(m, s, n) == 0;
}

/* The argument as a NUL-terminated string (cut at 255 bytes). */
static const char *arg_str(const uint8_t *arg, size_t len)
{
    static char buf[256];
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, arg, len);
    buf[len] = '\0';
    return buf;
}

static int32_t replyf(int32_t call, const char *fmt, long a, long b, long c)
{
    char msg[128];
    snprintf(msg, sizeof(msg), fmt, a, b, c);
    return fastn_reply_str(call, 0, msg);
}

static int32_t blob(int32_t call, const uint8_t *arg, size_t len)
{
    static const uint8_t key[FASTN_BLOB_KEY_MAX + 1];
    char got[64] = {0}, msg[256];
    int32_t put = fastn_blob_put("k", 1, arg, len);
    int64_t size = fastn_blob_size("k", 1);
    int32_t rd = fastn_blob_read("k", 1, 1, got, sizeof(got) - 1);
    int32_t bad = fastn_blob_put(key, sizeof(key), "x", 1);
    int32_t del = fastn_blob_delete("k", 1);
    int32_t again = fastn_blob_delete("k", 1);
    int64_t gone = fastn_blob_size("k", 1);
    snprintf(msg, sizeof(msg),
             "put=%d size=%lld read=%d:%s bad=%d del=%d again=%d gone=%lld",
             (int)put, (long long)size, (int)rd, rd > 0 ? got : "", (int)bad,
             (int)del, (int)again, (long long)gone);
    return fastn_reply_str(call, 0, msg);
}

static int32_t blob_fill(int32_t call)
{
    static uint8_t data[65536];
    int32_t r = 0, n = 0;
    char msg[64];
    for (;
         n < 64 && (r = fastn_blob_put(&n, sizeof(n), data, sizeof(data))) == 0;
         n++)
        ;
    for (int32_t i = 0; i < n; i++)
        fastn_blob_delete(&i, sizeof(i));
    int32_t after = fastn_blob_put(&n, sizeof(n), data, sizeof(data));
    fastn_blob_delete(&n, sizeof(n));
    snprintf(msg, sizeof(msg), "n=%d err=%d after=%d", (int)n, (int)r,
             (int)after);
    return fastn_reply_str(call, 0, msg);
}

static volatile uint32_t sink;

static int32_t busy(int32_t call, long n)
{
    for (long i = 0; i < n; i++)
        sink = sink * 31 + (uint32_t)i;
    return fastn_reply_str(call, 0, "done");
}

static int32_t notify(int32_t call, long n)
{
    long ok = 0, again = 0, other = 0;
    for (long i = 0; i < n; i++) {
        int32_t r = fastn_notify("probe", 5, "body\nline two", 13);
        ok += r == 0;
        again += r == FASTN_ERR_AGAIN;
        other += r != 0 && r != FASTN_ERR_AGAIN;
        if (r != 0 && r != FASTN_ERR_AGAIN)
            last_code = r; /* "last" tells which */
    }
    return replyf(call, "ok=%ld again=%ld other=%ld", ok, again, other);
}

/* notify inside a transaction that commits (1), rolls back (0) or is
 * left open (-1) */
static int32_t notify_txn(int32_t call, long n, int commit)
{
    fastn_sql_exec_str("BEGIN; INSERT INTO t VALUES(2)");
    int32_t r = notify(call, n);
    if (commit >= 0)
        fastn_sql_exec_str(commit ? "COMMIT" : "ROLLBACK");
    return r;
}

static int32_t sql_text(int32_t call, const char *sql)
{
    char msg[200];
    int32_t rc = fastn_sql_exec_str(sql);
    int32_t n = fastn_sql_errmsg(msg, sizeof(msg) - 1);
    msg[n < 0 ? 0 : n] = '\0';
    char out[260];
    snprintf(out, sizeof(out), "%d %s", (int)rc, rc < 0 ? msg : "");
    return fastn_reply_str(call, 0, out);
}

static int32_t sqlwork(int32_t call, long n)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c"
             " LIMIT %ld) SELECT count(*) FROM c",
             n);
    int32_t st = fastn_sql_prepare_str(sql);
    if (st < 0)
        return replyf(call, "%ld", st, 0, 0);
    int32_t r = fastn_sql_step(st);
    long count = r == FASTN_SQL_ROW ? (long)fastn_sql_column_int64(st, 0) : r;
    fastn_sql_finalize(st);
    return replyf(call, "count=%ld", count, 0, 0);
}

static int32_t rows(int32_t call)
{
    int32_t st = fastn_sql_prepare_str("SELECT count(*) FROM t");
    if (st < 0)
        return replyf(call, "%ld", st, 0, 0);
    long n = fastn_sql_step(st) == FASTN_SQL_ROW
                 ? (long)fastn_sql_column_int64(st, 0)
                 : -1;
    fastn_sql_finalize(st);
    return replyf(call, "rows=%ld", n, 0, 0);
}

static int32_t random_bytes(int32_t call, long n)
{
    static uint8_t buf[70000];
    memset(buf, 0, sizeof(buf));
    int32_t r = fastn_random(buf, (size_t)n);
    if (r < 0)
        return replyf(call, "%ld", r, 0, 0);
    long nz = 0;
    for (long i = 0; i < n; i++)
        nz += buf[i] != 0;
    return replyf(call, "nonzero=%ld", nz, 0, 0);
}

int32_t on_start(void)
{
    return fastn_sql_exec_str("CREATE TABLE IF NOT EXISTS t(x)");
}

int32_t on_timer(int32_t id)
{
    if (n_fired < 32)
        fired[n_fired++] = id;
    if (id == 1 && later_call >= 0) {
        fastn_reply_str(later_call, 0, "later");
        later_call = -1;
    }
    return 0;
}

static int32_t fired_list(int32_t call)
{
    char msg[256] = "fired";
    size_t len = strlen(msg);
    for (int i = 0; i < n_fired && len < sizeof(msg) - 16; i++)
        len += (size_t)snprintf(msg + len, sizeof(msg) - len, " %d",
                                (int)fired[i]);
    return fastn_reply_str(call, 0, msg);
}

static int32_t two_args(int32_t call, const char *a, int cancel)
{
    long id = strtol(a, NULL, 10);
    const char *sp = strchr(a, ' ');
    long ms = sp ? strtol(sp + 1, NULL, 10) : 0;
    int32_t r = cancel ? fastn_timer_cancel((int32_t)id)
                       : fastn_timer_set((int32_t)id, ms);
    return replyf(call, "%ld", r, 0, 0);
}

static int32_t log_lines(int32_t call, long n)
{
    long ok = 0, err = 0;
    for (long i = 0; i < n; i++) {
        int32_t r = fastn_logf(FASTN_LOG_DEBUG, "probe line %ld", i);
        ok += r == 0;
        err += r != 0;
    }
    return replyf(call, "ok=%ld err=%ld bad_level=%ld", ok, err,
                  fastn_log(9, "x", 1));
}

/* The host's hashes: hex of the digest, or the code. */
static int32_t hash(int32_t call, int which, const uint8_t *arg, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t out[80], key[32];
    char txt[161];
    size_t olen = 32;
    int32_t r;

    if (which == 0) {
        r = fastn_sha256(arg, len, out);
    } else {
        char *end;
        olen = (size_t)strtoul((const char *)arg, &end, 10);
        if (olen > 70 || *end != ' ')
            return fastn_reply_str(call, FASTN_ERR_INVAL, "K TEXT");
        for (size_t i = 0; i < sizeof(key); i++)
            key[i] = (uint8_t)i;
        len -= (size_t)(end + 1 - (const char *)arg);
        r = fastn_blake2b(end + 1, len, key, which == 2 ? 32 : 0, out, olen);
    }
    if (r < 0)
        return replyf(call, "%ld", r, 0, 0);
    for (size_t i = 0; i < olen; i++) {
        txt[2 * i] = hex[out[i] >> 4];
        txt[2 * i + 1] = hex[out[i] & 15];
    }
    return fastn_call_reply(call, 0, txt, 2 * olen);
}

#define HS_MAX 8
#define HS_BYTES (256u << 10)
static uint8_t *hs_in[HS_MAX], hs_out[HS_MAX + 1][32];
static size_t hs_len;
static int32_t hs_call = -1, hs_code[HS_MAX + 1];
static int hs_n, hs_left;

static void hs_answer(void)
{
    static const char hex[] = "0123456789abcdef";
    char txt[(HS_MAX + 1) * 80 + 128];
    size_t k = (size_t)snprintf(txt, sizeof(txt), "codes=");
    for (int i = 0; i < hs_n; i++)
        k += (size_t)snprintf(txt + k, sizeof(txt) - k, "%s%d", i ? "," : "",
                              (int)hs_code[i]);
    k += (size_t)snprintf(txt + k, sizeof(txt) - k, " digests=");
    for (int i = 0; i < hs_n; i++) {
        if (hs_code[i])
            continue;
        if (txt[k - 1] != '=')
            txt[k++] = ',';
        for (int b = 0; b < 32; b++) {
            txt[k++] = hex[hs_out[i][b] >> 4];
            txt[k++] = hex[hs_out[i][b] & 15];
        }
    }
    fastn_call_reply(hs_call, 0, txt, k);
    hs_call = -1;
}

static int32_t hash_prep(int32_t call, const uint8_t *arg, size_t len)
{
    char a[32];
    snprintf(a, sizeof(a), "%.*s", (int)(len < 31 ? len : 31),
             (const char *)arg);
    hs_len = (size_t)strtoul(a, NULL, 10);
    if (hs_len > HS_BYTES || hs_call >= 0)
        return fastn_reply_str(call, FASTN_ERR_INVAL, "N");
    for (int i = 0; i < HS_MAX; i++) {
        free(hs_in[i]);
        if (!(hs_in[i] = malloc(hs_len ? hs_len : 1)))
            return fastn_reply_str(call, FASTN_ERR_NOMEM, "memory");
        for (size_t j = 0; j < hs_len; j++)
            hs_in[i][j] = (uint8_t)(j * 7 + 3);
    }
    return fastn_reply_str(call, 0, "ok");
}

static int32_t hash_start(int32_t call, const uint8_t *arg, size_t len)
{
    char a[32];
    snprintf(a, sizeof(a), "%.*s", (int)(len < 31 ? len : 31),
             (const char *)arg);
    hs_n = atoi(a);
    if (hs_n < 0 || hs_n > HS_MAX + 1 || hs_call >= 0 || !hs_in[0])
        return fastn_reply_str(call, FASTN_ERR_INVAL, "K, after hashprep");
    hs_call = call;
    hs_left = 0;
    for (int i = 0; i < hs_n; i++) {
        hs_code[i] = fastn_hash_start(
            FASTN_HASH_SHA256, hs_in[i < HS_MAX ? i : 0], hs_len, hs_out[i], i);
        hs_left += hs_code[i] == 0;
    }
    if (hs_left == 0)
        hs_answer();
    return 0;
}

int32_t on_hash(int32_t tag, int32_t result)
{
    if (tag >= 0 && tag < hs_n && hs_left > 0) {
        if (result)
            hs_code[tag] = result;
        if (--hs_left == 0 && hs_call >= 0)
            hs_answer();
    }
    return 0;
}

/* An answer in n pieces (call_reply_v): piece i is (i + 1) * 2048 bytes
 * of 'a' + i % 26, piece 2 empty; "err=CODE" if it is refused. bad: one
 * piece points past the plugin's memory (the host traps it). */
static int32_t pieces(int32_t call, long n, int bad)
{
    struct fastn_iov v[20];
    size_t at = 0;
    uint8_t *buf;

    if (n < 0 || n > 20 || !(buf = malloc(20 * 21 * 1024)))
        return replyf(call, "err=%ld", FASTN_ERR_INVAL, 0, 0);
    for (long i = 0; i < n; i++) {
        size_t len = i == 2 ? 0 : (size_t)(i + 1) * 2048;
        memset(buf + at, 'a' + (int)(i % 26), len);
        v[i] = (struct fastn_iov){.p = buf + at, .len = len};
        at += len;
    }
    if (bad && n > 0)
        v[n - 1].p = (const void *)(uintptr_t)0xfffff000u;
    int32_t r = fastn_call_reply_v(call, 0, v, (size_t)n);
    free(buf);
    return r ? replyf(call, "err=%ld", r, 0, 0) : 0;
}

static int32_t hash_big(int32_t call)
{
    size_t n = FASTN_HASH_MAX + 1;
    uint8_t *p = malloc(n), out[32];
    if (!p)
        return replyf(call, "%ld", FASTN_ERR_NOMEM, 0, 0);
    int32_t r = fastn_sha256(p, n, out);
    free(p);
    return replyf(call, "%ld", r, 0, 0);
}

int32_t on_call(int32_t call, const char *method, size_t method_len,
                const uint8_t *arg, size_t arg_len)
{
    if (is(method, method_len, "sha256"))
        return hash(call, 0, arg, arg_len);
    if (is(method, method_len, "blake2b"))
        return hash(call, 1, arg, arg_len);
    if (is(method, method_len, "blake2bkey"))
        return hash(call, 2, arg, arg_len);
    if (is(method, method_len, "hashbig"))
        return hash_big(call);
    if (is(method, method_len, "hashprep"))
        return hash_prep(call, arg, arg_len);
    if (is(method, method_len, "hashstart"))
        return hash_start(call, arg, arg_len);
    if (is(method, method_len, "blob"))
        return blob(call, arg, arg_len);
    if (is(method, method_len, "blobfill"))
        return blob_fill(call);

    const char *a = arg_str(arg, arg_len);
    long n = strtol(a, NULL, 10);
    if (is(method, method_len, "busy"))
        return busy(call, n);
    if (is(method, method_len, "pieces"))
        return pieces(call, n, 0);
    if (is(method, method_len, "piecesbad"))
        return pieces(call, n, 1);
    if (is(method, method_len, "grow")) {
        while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1)
            ;
        return replyf(call, "pages=%ld", (long)__builtin_wasm_memory_size(0), 0,
                      0);
    }
    if (is(method, method_len, "notify"))
        return notify(call, n);
    if (is(method, method_len, "ntx"))
        return notify_txn(call, n, 1);
    if (is(method, method_len, "nrollback"))
        return notify_txn(call, n, 0);
    if (is(method, method_len, "nopen"))
        return notify_txn(call, n, -1);
    if (is(method, method_len, "sql"))
        return sql_text(call, a);
    if (is(method, method_len, "timer"))
        return two_args(call, a, 0);
    if (is(method, method_len, "cancel"))
        return two_args(call, a, 1);
    if (is(method, method_len, "fired"))
        return fired_list(call);
    if (is(method, method_len, "log"))
        return log_lines(call, n);
    if (is(method, method_len, "random"))
        return random_bytes(call, n);
    if (is(method, method_len, "peer")) {
        char id[FASTN_PEER_ID_BUF];
        fastn_local_peer_id_str(id, sizeof(id));
        return fastn_reply_str(call, 0, id);
    }
    if (is(method, method_len, "sqlwork"))
        return sqlwork(call, n);
    if (is(method, method_len, "txn")) {
        fastn_sql_exec_str("BEGIN; INSERT INTO t VALUES(1)");
        return fastn_reply_str(call, 0, "open");
    }
    if (is(method, method_len, "rows"))
        return rows(call);
    if (is(method, method_len, "later")) {
        later_call = call;
        return fastn_timer_set(1, 10);
    }
    if (is(method, method_len, "never"))
        return 0;
    if (is(method, method_len, "twice")) {
        fastn_reply_str(call, 0, "first");
        last_code = fastn_reply_str(call, 0, "second");
        return 0;
    }
    if (is(method, method_len, "last"))
        return replyf(call, "%ld", last_code, 0, 0);
    if (is(method, method_len, "fail"))
        return FASTN_ERR_INVAL;
    if (is(method, method_len, "exit"))
        exit(3);
    if (is(method, method_len, "print")) {
        printf("hello from probe\nsecond line\n");
        fflush(stdout);
        fprintf(stderr, "to stderr\n");
        return fastn_reply_str(call, 0, "printed");
    }
    return fastn_reply_str(call, FASTN_ERR_NOT_FOUND, "unknown method");
}
