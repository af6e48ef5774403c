/* Unit tests for src/daemon/config.c: the config file's keys, names and
 * numbers, comments, and bad files. */
#include "daemon/config.h"
#include "test.h"

static int parse(struct daemon_config *c, const char *text, char *err)
{
    daemon_config_init(c);
    return daemon_config_parse(c, text, strlen(text), err, 256);
}

TEST(keys)
{
    struct daemon_config c;
    char err[256];
    const char *text = "# comment\n"
                       "allow-uids = nobody, 1234  # trailing comment\n"
                       "allow-gids=nogroup\n"
                       "\tadmin-gids = 0 27\r\n"
                       "socket-group = 65534\n"
                       "log-level = debug\n"
                       "max-clients = 8\n"
                       "listen = /ip4/0.0.0.0/tcp/4001\n"
                       "listen = /ip6/::/tcp/4001\n"
                       "future-key = whatever\n";
    CHECK_ERR(parse(&c, text, err), 0);
    CHECK_EQ(c.n_allow_uids, 2);
    CHECK_EQ(c.allow_uids[0], 65534); /* nobody on Debian */
    CHECK_EQ(c.allow_uids[1], 1234);
    CHECK_EQ(c.n_allow_gids, 1);
    CHECK_EQ(c.allow_gids[0], 65534);
    CHECK_EQ(c.n_admin_gids, 2);
    CHECK_EQ(c.admin_gids[1], 27);
    CHECK(c.has_socket_group && c.socket_group == 65534);
    CHECK(c.has_log_level && c.log_level == LOG_DEBUG);
    CHECK_EQ(c.max_clients, 8);
    CHECK_EQ(c.n_listen, 2);
    CHECK_STR(c.listen[1], "/ip6/::/tcp/4001");
    daemon_config_cleanup(&c);
}

TEST(network_keys)
{
    struct daemon_config c;
    char err[256];
    const char *text = "idle-timeout = 0\n"
                       "keepalive = 20\n"
                       "ping-timeout = 5\n"
                       "handshake-timeout = 3\n"
                       "max-connections = 50\n";
    CHECK_ERR(parse(&c, text, err), 0);
    CHECK(c.has_idle_timeout && c.idle_timeout == 0);
    CHECK(c.has_keepalive && c.keepalive == 20);
    CHECK(c.has_ping_timeout && c.ping_timeout == 5);
    CHECK(c.has_handshake_timeout && c.handshake_timeout == 3);
    CHECK(c.has_max_connections && c.max_connections == 50);
    daemon_config_cleanup(&c);
    CHECK_ERR(parse(&c, "", err), 0);
    CHECK(!c.has_idle_timeout && !c.has_keepalive && !c.has_ping_timeout);
    daemon_config_cleanup(&c);
    static const char *const bad[] = {
        "idle-timeout = soon\n",  "keepalive = -1\n",
        "ping-timeout = 0\n",     "handshake-timeout = 0\n",
        "idle-timeout = 86401\n", "max-connections = 0\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(parse(&c, bad[i], err) < 0);
        CHECK(strstr(err, "line 1") != NULL);
        daemon_config_cleanup(&c);
    }
}

TEST(mdns_key)
{
    struct daemon_config c;
    char err[256];
    CHECK_ERR(parse(&c, "", err), 0);
    CHECK(!c.mdns_off); /* on by default */
    daemon_config_cleanup(&c);
    CHECK_ERR(parse(&c, "mdns = off\n", err), 0);
    CHECK(c.mdns_off);
    daemon_config_cleanup(&c);
    CHECK_ERR(parse(&c, "mdns = on\n", err), 0);
    CHECK(!c.mdns_off);
    daemon_config_cleanup(&c);
    CHECK(parse(&c, "mdns = maybe\n", err) < 0);
    CHECK(strstr(err, "mdns wants on or off") != NULL);
    daemon_config_cleanup(&c);
}

TEST(plugin_keys)
{
    struct daemon_config c;
    char err[256];
    const char *text = "plugin-slice-ms = 20\n"
                       "plugin-cpu-percent = 50\n"
                       "plugin-cpu-window = 5\n"
                       "plugin-memory-mib = 128\n";
    CHECK_ERR(parse(&c, text, err), 0);
    CHECK_EQ(c.plugin_slice_ms, 20);
    CHECK_EQ(c.plugin_cpu_percent, 50);
    CHECK_EQ(c.plugin_cpu_window, 5);
    CHECK_EQ(c.plugin_memory_mib, 128);
    daemon_config_cleanup(&c);
    CHECK_ERR(parse(&c, "", err), 0); /* 0: the plugin host's defaults */
    CHECK(!c.plugin_slice_ms && !c.plugin_cpu_percent && !c.plugin_cpu_window &&
          !c.plugin_memory_mib);
    daemon_config_cleanup(&c);
    static const char *const bad[] = {
        "plugin-slice-ms = 0\n",      "plugin-slice-ms = 1001\n",
        "plugin-cpu-percent = 0\n",   "plugin-cpu-percent = 101\n",
        "plugin-cpu-window = 3601\n", "plugin-memory-mib = 4097\n",
        "plugin-memory-mib = lots\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(parse(&c, bad[i], err) < 0);
        CHECK(strstr(err, "line 1: plugin-") != NULL);
        CHECK(strstr(err, "wants a whole number") != NULL);
        daemon_config_cleanup(&c);
    }
}

TEST(swarm_limit_keys)
{
    struct daemon_config c;
    char err[256];
    const char *text = "max-handshakes = 12\n"
                       "max-handshakes-per-address = 2\n"
                       "max-inbound-streams = 100\n"
                       "max-connection-buffers = 8\n";
    CHECK_ERR(parse(&c, text, err), 0);
    CHECK(c.has_max_handshakes && c.max_handshakes == 12);
    CHECK(c.has_max_handshakes_per_addr && c.max_handshakes_per_addr == 2);
    CHECK(c.has_max_inbound_streams && c.max_inbound_streams == 100);
    CHECK(c.has_max_connection_buffers && c.max_connection_buffers == 8);
    daemon_config_cleanup(&c);
    static const char *const bad[] = {
        "max-handshakes = 0\n",
        "max-handshakes-per-address = lots\n",
        "max-connection-buffers = 65537\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(parse(&c, bad[i], err) < 0);
        CHECK(strstr(err, "wants a whole number 1..") != NULL);
        daemon_config_cleanup(&c);
    }
}

TEST(relay_limit_keys)
{
    struct daemon_config c;
    char err[256];
    CHECK_ERR(parse(&c, "relay-service = on\n", err), 0);
    CHECK(!c.has_relay_duration_s && !c.has_relay_data_kib); /* the spec's */
    daemon_config_cleanup(&c);
    CHECK_ERR(parse(&c,
                    "relay-service-duration = 3600\n"
                    "relay-service-data = 4194304\n",
                    err),
              0);
    CHECK(c.has_relay_duration_s && c.relay_duration_s == 3600);
    CHECK(c.has_relay_data_kib && c.relay_data_kib == 4194304);
    daemon_config_cleanup(&c);
    static const char *const bad[] = {
        "relay-service-duration = 0\n",
        "relay-service-duration = 86401\n",
        "relay-service-data = 4194305\n",
        "relay-service-data = lots\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(parse(&c, bad[i], err) < 0);
        CHECK(strstr(err, "wants a whole number 1..") != NULL);
        daemon_config_cleanup(&c);
    }
}

TEST(defaults)
{
    struct daemon_config c;
    char err[256];
    CHECK_ERR(parse(&c, "", err), 0);
    CHECK_EQ(c.n_allow_uids + c.n_allow_gids + c.n_admin_gids, 0);
    CHECK(!c.has_socket_group && !c.has_log_level);
    CHECK_EQ(c.max_clients, 1024);
    daemon_config_cleanup(&c);
}

TEST(bad_files)
{
    static const struct {
        const char *text;
        const char *where;
    } bad[] = {
        {"allow-uids = no-such-user-here\n", "line 1"},
        {"\n\nallow-gids = no-such-group-here\n", "line 3"},
        {"just words\n", "line 1"},
        {"allow-uids =\n", "line 1"},
        {"= 5\n", "line 1"},
        {"log-level = loud\n", "line 1"},
        {"max-clients = 0\n", "line 1"},
        {"max-clients = 99999999999999999999\n", "line 1"},
        {"listen = nonsense\n", "line 1"},
        {"allow-uids = -1\n", "line 1"},
    };
    struct daemon_config c;
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(&c, bad[i].text, err);
        CHECK(rc < 0);
        CHECK(strstr(err, bad[i].where) != NULL);
        daemon_config_cleanup(&c);
    }
    /* NUL bytes and endless lines */
    daemon_config_init(&c);
    CHECK(daemon_config_parse(&c, "a\0b", 3, err, sizeof(err)) < 0);
    daemon_config_cleanup(&c);
    char *big = malloc(10000);
    memset(big, 'x', 10000);
    daemon_config_init(&c);
    CHECK_ERR(daemon_config_parse(&c, big, 10000, err, sizeof(err)),
              FASTN_ERR_TOO_LARGE);
    daemon_config_cleanup(&c);
    free(big);
}

TEST(load_missing_and_template)
{
    struct daemon_config c;
    char err[256], dir[] = "/tmp/fastn-test-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/config", dir);
    daemon_config_init(&c);
    CHECK_ERR(daemon_config_load(&c, path, err, sizeof(err)), 0);
    daemon_config_cleanup(&c);
    /* the template is all comments: it parses to the defaults */
    CHECK_ERR(daemon_config_write_template(path), 0);
    CHECK_ERR(daemon_config_write_template(path), 0); /* kept as is */
    daemon_config_init(&c);
    CHECK_ERR(daemon_config_load(&c, path, err, sizeof(err)), 0);
    CHECK_EQ(c.n_allow_uids, 0);
    daemon_config_cleanup(&c);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    RUN(keys);
    RUN(network_keys);
    RUN(mdns_key);
    RUN(plugin_keys);
    RUN(swarm_limit_keys);
    RUN(relay_limit_keys);
    RUN(defaults);
    RUN(bad_files);
    RUN(load_missing_and_template);
    return test_done();
}
