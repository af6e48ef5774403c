/* Unit tests for src/net/ping and src/net/perf: a ping round trip with
 * the echo split at every byte, a wrong echo, the server keeping partial
 * pings, and the perf header and counting. */
#include "net/perf.h"
#include "net/ping.h"
#include "test.h"

TEST(ping_round_trip)
{
    struct ping_client pc;
    struct ping_server ps;
    struct buf echo;
    uint8_t rnd[PING_SIZE], wire[PING_SIZE];
    uint64_t rtt = 0;
    size_t used;

    for (int i = 0; i < PING_SIZE; i++)
        rnd[i] = (uint8_t)(i * 13 + 1);
    ping_client_init(&pc);
    ping_server_init(&ps);
    buf_init(&echo, 1024);
    CHECK_ERR(ping_client_send(&pc, rnd, 1000, wire), 0);
    CHECK_ERR(ping_client_send(&pc, rnd, 1000, wire), FASTN_ERR_BUSY);
    /* the server answers only whole pings */
    CHECK_EQ(ping_server_feed(&ps, wire, 10, &echo), 0);
    CHECK_EQ(echo.len, 0);
    CHECK(!ping_server_idle(&ps));
    CHECK_EQ(ping_server_feed(&ps, wire + 10, 22, &echo), 1);
    CHECK(ping_server_idle(&ps));
    CHECK_EQ(echo.len, PING_SIZE);
    for (size_t i = 0; i < PING_SIZE - 1; i++) {
        CHECK_EQ(ping_client_feed(&pc, echo.data + i, 1, &used, 1500, &rtt), 0);
        CHECK_EQ(used, 1);
    }
    CHECK_EQ(ping_client_feed(&pc, echo.data + 31, 5, &used, 1500, &rtt), 1);
    CHECK_EQ(used, 1);
    CHECK_EQ(rtt, 500);
    /* nothing in flight */
    CHECK_ERR(ping_client_feed(&pc, echo.data, 1, &used, 1500, &rtt),
              FASTN_ERR_INVAL);
    /* a wrong echo */
    CHECK_ERR(ping_client_send(&pc, rnd, 2000, wire), 0);
    echo.data[5] ^= 1;
    CHECK_ERR(ping_client_feed(&pc, echo.data, PING_SIZE, &used, 2100, &rtt),
              FASTN_ERR_MALFORMED);
    /* two pings at once */
    buf_reset(&echo);
    uint8_t two[2 * PING_SIZE];
    memcpy(two, rnd, PING_SIZE);
    memcpy(two + PING_SIZE, rnd, PING_SIZE);
    CHECK_EQ(ping_server_feed(&ps, two, sizeof(two), &echo), 2);
    CHECK_EQ(echo.len, 2 * PING_SIZE);
    buf_cleanup(&echo);
}

TEST(perf_header_and_counting)
{
    uint8_t hdr[PERF_HEADER_LEN];
    struct perf_server ps;
    uint64_t n;

    perf_client_header(0x0102030405060708ull, hdr);
    CHECK_MEM(hdr, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    perf_server_init(&ps);
    CHECK_ERR(perf_server_finish(&ps, &n), FASTN_ERR_TRUNCATED);
    perf_server_feed(&ps, hdr, 3);
    CHECK_ERR(perf_server_finish(&ps, &n), FASTN_ERR_TRUNCATED);
    uint8_t rest[5 + 100] = {0};
    memcpy(rest, hdr + 3, 5);
    perf_server_feed(&ps, rest, sizeof(rest));
    perf_server_feed(&ps, rest, 50);
    CHECK_ERR(perf_server_finish(&ps, &n), 0);
    CHECK_EQ(n, 0x0102030405060708ull);
    CHECK_EQ(ps.uploaded, 150);
    /* the max uint64 is valid */
    perf_client_header(UINT64_MAX, hdr);
    perf_server_init(&ps);
    perf_server_feed(&ps, hdr, 8);
    CHECK_ERR(perf_server_finish(&ps, &n), 0);
    CHECK(n == UINT64_MAX);
}

int main(void)
{
    RUN(ping_round_trip);
    RUN(perf_header_and_counting);
    return test_done();
}
