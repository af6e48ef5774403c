/*
 * Loopback TCP addresses of plugins (local-listen, local-connect):
 * "127.0.0.1:22" and "[::1]:22", numeric only, loopback only. Shared by
 * the manifest's parser, the host, the daemon and the config (which the
 * CLI links too, so this file stands alone).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "plugin/manifest.h"

int plugin_addr_parse(const char *s, struct plugin_addr *out)
{
    char host[INET6_ADDRSTRLEN + 1], *end;
    const char *colon, *h = s;
    size_t hl;
    unsigned long port;

    memset(out, 0, sizeof(*out));
    if (!s || !(colon = strrchr(s, ':')) || colon == s)
        return FASTN_ERR_INVAL;
    hl = (size_t)(colon - s);
    if (s[0] == '[') { /* [v6]:port */
        if (hl < 3 || s[hl - 1] != ']')
            return FASTN_ERR_INVAL;
        h = s + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return FASTN_ERR_INVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (colon[1] < '1' || colon[1] > '9' || strlen(colon + 1) > 5)
        return FASTN_ERR_INVAL;
    port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535)
        return FASTN_ERR_INVAL;
    out->port = (uint16_t)port;
    if (s[0] != '[' && inet_pton(AF_INET, host, out->ip) == 1)
        out->family = 4;
    else if (s[0] == '[' && inet_pton(AF_INET6, host, out->ip) == 1)
        out->family = 6;
    else
        return FASTN_ERR_INVAL;
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if ((out->family == 4 && out->ip[0] != 127) ||
        (out->family == 6 && memcmp(out->ip, v6_loopback, 16) != 0))
        return FASTN_ERR_PERM;
    return 0;
}

char *plugin_addr_format(const struct plugin_addr *a, char *out)
{
    char ip[INET6_ADDRSTRLEN];

    if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof(ip)))
        snprintf(ip, sizeof(ip), "?");
    snprintf(out, PLUGIN_ADDR_MAX + 1, a->family == 6 ? "[%s]:%u" : "%s:%u", ip,
             (unsigned)a->port);
    return out;
}

bool plugin_addr_equal(const struct plugin_addr *a, const struct plugin_addr *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}
