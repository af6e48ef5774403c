/*
 * `fastn dht`: the daemon's Kademlia DHT from the command line, over the
 * control protocol's DHT request (fastn_client_dht): find a peer's
 * addresses, the peers closest to a key, a CID's providers, announce one,
 * get and put values, a peer's public key.
 *
 * Keys: `/pk/PEERID` is the /pk/ record of that peer (the PeerID's bytes
 * after "/pk/", as the DHT keys it); any other key is taken as its bytes.
 * CIDs: base58btc (Qm..., CIDv0) or base32 (b..., CIDv1). Values print in
 * hex (JSON: "value_hex").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/base58.h"
#include "util/peer_id.h"

#define KEY_MAX 512

static int b32_decode(const char *s, uint8_t *out, size_t max, size_t *n)
{
    uint32_t acc = 0;
    int bits = 0;

    *n = 0;
    for (; *s; s++) {
        const char *p = strchr("abcdefghijklmnopqrstuvwxyz234567", *s);
        if (!p || !*s)
            return -1;
        acc = (acc << 5) | (uint32_t)(p - "abcdefghijklmnopqrstuvwxyz234567");
        bits += 5;
        if (bits >= 8) {
            if (*n == max)
                return -1;
            out[(*n)++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return 0;
}

static int parse_cid(const char *s, uint8_t *out, size_t max, size_t *n)
{
    if (s[0] == 'Q' && s[1] == 'm') {
        int k = base58_decode(s, strlen(s), out, max);
        if (k <= 0)
            return -1;
        *n = (size_t)k;
        return 0;
    }
    if (s[0] == 'b')
        return b32_decode(s + 1, out, max, n);
    return -1;
}

static int parse_key(const char *s, uint8_t *out, size_t *n)
{
    struct peer_id id;

    if (!strncmp(s, "/pk/", 4) && peer_id_parse(s + 4, &id) == 0) {
        memcpy(out, "/pk/", 4);
        memcpy(out + 4, id.bytes, id.len);
        *n = 4 + id.len;
        return 0;
    }
    *n = strlen(s);
    if (*n == 0 || *n > 256)
        return -1;
    memcpy(out, s, *n);
    return 0;
}

static int parse_hex(const char *s, uint8_t **out, size_t *n)
{
    size_t len = strlen(s);

    if (len % 2 || !(*out = malloc(len / 2 + 1)))
        return -1;
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            free(*out);
            return -1;
        }
        (*out)[i] = (uint8_t)v;
    }
    *n = len / 2;
    return 0;
}

static char *hex_of(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);

    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

static void print_items(struct cli *cli, const struct fastn_dht_result *r,
                        const char *what)
{
    json_t *list = cli->json ? json_array() : NULL;

    for (size_t i = 0; r && i < r->n; i++) {
        const struct fastn_dht_item *it = &r->items[i];
        char *hex = it->value ? hex_of(it->value, it->value_len) : NULL;
        if (list && it->peer[0])
            json_array_append_new(
                list, json_pack("{s:o,s:o}", "peer_id", jstr(it->peer), "addrs",
                                jstr_list(it->addrs, it->n_addrs)));
        else if (list)
            json_array_append_new(list,
                                  json_pack("{s:o}", "value_hex", jstr(hex)));
        else if (it->peer[0] && !it->n_addrs)
            printf("%s\n", it->peer);
        for (size_t j = 0; !list && j < it->n_addrs; j++)
            printf("%s/p2p/%s\n", it->addrs[j], it->peer);
        if (!list && !it->peer[0])
            printf("%s\n", hex ? hex : "");
        free(hex);
    }
    if (list)
        cli_emit(json_pack("{s:o}", what, list));
}

struct dht_cmd {
    const char *name;
    enum fastn_dht_op op;
    const char *arg; /* what its argument is, for the usage error */
};

static const struct dht_cmd dht_cmds[] = {
    {"find-peer", FASTN_DHT_FIND_PEER, "a PEERID"},
    {"closest", FASTN_DHT_CLOSEST, "a KEY"},
    {"providers", FASTN_DHT_PROVIDERS, "a CID"},
    {"provide", FASTN_DHT_PROVIDE, "a CID"},
    {"get", FASTN_DHT_GET, "a KEY"},
    {"put", FASTN_DHT_PUT, "a KEY and a VALUE in hex"},
    {"public-key", FASTN_DHT_PUBLIC_KEY, "a PEERID"},
};

/* The key (or CID) and value of the request from its arguments. */
static int dht_args(const struct dht_cmd *d, char **pos, int n, uint8_t *key,
                    size_t *key_len, uint8_t **value, size_t *value_len)
{
    if (n != (d->op == FASTN_DHT_PUT ? 3 : 2))
        return -1;
    if (d->op == FASTN_DHT_FIND_PEER || d->op == FASTN_DHT_PUBLIC_KEY)
        return cli_check_peer(pos[1]) ? -1 : 0;
    if (d->op == FASTN_DHT_PROVIDERS || d->op == FASTN_DHT_PROVIDE)
        return parse_cid(pos[1], key, KEY_MAX, key_len);
    if (parse_key(pos[1], key, key_len))
        return -1;
    return d->op == FASTN_DHT_PUT ? parse_hex(pos[2], value, value_len) : 0;
}

int cli_cmd_dht(struct cli *cli, int argc, char **argv)
{
    const char *count_s = NULL;
    const struct cli_opt opts[] = {{"-n", "--count", &count_s},
                                   {NULL, NULL, NULL}};
    const struct dht_cmd *d = NULL;
    struct fastn_dht_result *res = NULL;
    struct fastn_client *c;
    uint8_t key[KEY_MAX], *value = NULL;
    size_t key_len = 0, value_len = 0;
    char *pos[3];
    int n, rc = cli_parse(cli, argc, argv, opts, pos, 3, &n);

    if (rc)
        return rc;
    for (size_t i = 0; n > 0 && i < sizeof(dht_cmds) / sizeof(*dht_cmds); i++)
        if (!strcmp(pos[0], dht_cmds[i].name))
            d = &dht_cmds[i];
    if (!d)
        return cli_usage_error(argv[0], "want find-peer, closest, providers, "
                                        "provide, get, put or public-key");
    if (dht_args(d, pos, n, key, &key_len, &value, &value_len)) {
        char what[96];
        snprintf(what, sizeof(what), "%s wants %s", d->name, d->arg);
        return cli_usage_error(argv[0], what);
    }
    if (!(c = cli_connect(cli))) {
        free(value);
        return CLI_EXIT_FAIL;
    }
    rc =
        fastn_client_dht(c, d->op, pos[1], key_len ? key : NULL, key_len, value,
                         value_len, count_s ? atoi(count_s) : 0, 0, &res);
    if (rc)
        rc = cli_fail(c, rc);
    else if (d->op == FASTN_DHT_PUT || d->op == FASTN_DHT_PROVIDE)
        cli->json ? cli_emit(json_pack("{s:b}", "stored", 1))
                  : (void)printf("stored\n");
    else
        print_items(cli, res,
                    res && res->n && !res->items[0].peer[0] ? "values"
                                                            : "peers");
    fastn_dht_result_free(res);
    free(value);
    fastn_client_free(c);
    return rc;
}
