/* Unit tests for src/daemon/options.c: fastnd's own options and
 * go-libp2p-daemon's flags in every spelling Go's flag package takes. */
#include "daemon/options.h"
#include <stdarg.h>

#include "test.h"

static int parse(struct daemon_options *o, char *err, const char *a0, ...)
{
    char *argv[16] = {"fastnd"};
    int argc = 1;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    return daemon_options_parse(o, argc, argv, err, 256);
}

TEST(own_options)
{
    struct daemon_options o;
    char err[256];
    CHECK_ERR(parse(&o, err, "--home", "/h", "--foreground", "--log-level",
                    "debug", NULL),
              0);
    CHECK_STR(o.home, "/h");
    CHECK(o.foreground && o.has_log_level && o.log_level == LOG_DEBUG);
    CHECK(!o.p2pd_flags);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "--home=/x", NULL), 0);
    CHECK_STR(o.home, "/x");
    CHECK(!o.foreground && !o.new_identity);
    CHECK(o.config_file == NULL);
    daemon_options_cleanup(&o);
    /* the system service: its config under /etc, not in the home */
    CHECK_ERR(parse(&o, err, "--config", "/etc/fastn/fastnd.conf", NULL), 0);
    CHECK_STR(o.config_file, "/etc/fastn/fastnd.conf");
    CHECK(!o.p2pd_flags);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "--config", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "--new-identity", NULL), 0);
    CHECK(o.new_identity && !o.foreground);
    daemon_options_cleanup(&o);
    /* -id=KEYFILE is created when missing: --new-identity is not for it */
    CHECK_ERR(parse(&o, err, "--new-identity", "-id=/k", NULL),
              FASTN_ERR_INVAL);
    CHECK(strstr(err, "-id=KEYFILE is created when missing") != NULL);
    daemon_options_cleanup(&o);
}

TEST(p2pd_flags)
{
    struct daemon_options o;
    char err[256];
    CHECK_ERR(parse(&o, err, "-listen=/unix/tmp/p.sock", "-id=/k.key",
                    "-hostAddrs=/ip4/127.0.0.1/tcp/0,/ip6/::1/tcp/0",
                    "-noListenAddrs", "-q", NULL),
              0);
    CHECK_STR(o.control_path, "/tmp/p.sock");
    CHECK_STR(o.id_file, "/k.key");
    CHECK_EQ(o.n_listen, 2);
    CHECK_STR(o.listen[1], "/ip6/::1/tcp/0");
    CHECK(o.no_listen_addrs && o.quiet && o.p2pd_flags);
    /* p2pd never detaches: its spawners wait on the process */
    CHECK(o.foreground);
    CHECK(o.has_log_level && o.log_level == LOG_WARN);
    daemon_options_cleanup(&o);
    /* separate values, two dashes, explicit booleans, encoded paths */
    CHECK_ERR(parse(&o, err, "--listen", "/unix/%2Ftmp%2Fq.sock", "-id", "k",
                    "-q=false", "--noListenAddrs=true", NULL),
              0);
    CHECK_STR(o.control_path, "/tmp/q.sock");
    CHECK_STR(o.id_file, "k");
    CHECK(!o.quiet && o.no_listen_addrs && o.foreground);
    daemon_options_cleanup(&o);
}

TEST(p2pd_dht_flags)
{
    struct daemon_options o;
    char err[256];
    /* spawned as p2pd but no -dht: no DHT, as p2pd; else the config's */
    CHECK_ERR(parse(&o, err, "-listen=/unix/tmp/p.sock", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_OFF);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-noListenAddrs", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_FROM_CONFIG);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-dhtServer", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_SERVER && o.p2pd_flags && o.foreground);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "--dhtClient=true", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_CLIENT);
    daemon_options_cleanup(&o);
    /* p2pd's precedence whatever the order: -dht, -dhtClient, -dhtServer */
    CHECK_ERR(parse(&o, err, "-dhtServer", "-dhtClient", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_CLIENT);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-dht", "-dhtServer", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_AUTO);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-dhtServer=false", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_FROM_CONFIG);
    daemon_options_cleanup(&o);
    /* the last value of a flag counts, as Go's flag package has it */
    CHECK_ERR(parse(&o, err, "-listen=/unix/p", "-dht", "-dht=false", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_OFF);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-dht", "-dhtClient", "-dht=false", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_CLIENT);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-dhtServer=false", "-dhtServer", NULL), 0);
    CHECK(o.dht == DAEMON_DHT_SERVER);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-dht=sometimes", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
}

TEST(network_listen_is_not_the_control_socket)
{
    struct daemon_options o;
    char err[256];
    CHECK_ERR(parse(&o, err, "--listen", "/ip4/0.0.0.0/tcp/4001", "--listen",
                    "/ip4/0.0.0.0/tcp/4002", NULL),
              0);
    CHECK(o.control_path == NULL);
    CHECK_EQ(o.n_listen, 2);
    CHECK(!o.foreground);
    daemon_options_cleanup(&o);
}

TEST(bad_command_lines)
{
    struct daemon_options o;
    char err[256];
    CHECK_ERR(parse(&o, err, "--bogus", NULL), FASTN_ERR_INVAL);
    CHECK(strstr(err, "--bogus") != NULL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "--home", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "--log-level", "loud", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-hostAddrs=nonsense", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-listen=/unix/", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "-q=maybe", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
    CHECK_ERR(parse(&o, err, "stray", NULL), FASTN_ERR_INVAL);
    daemon_options_cleanup(&o);
}

int main(void)
{
    RUN(own_options);
    RUN(p2pd_flags);
    RUN(p2pd_dht_flags);
    RUN(network_listen_is_not_the_control_socket);
    RUN(bad_command_lines);
    return test_done();
}
