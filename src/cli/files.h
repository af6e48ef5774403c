/*
 * fastn files: what files.c (add, ls, list, rm, share) and files_get.c
 * (get) share. The records of the plugin's add_data and get_next calls
 * are a byte OP, a 32-bit little-endian length and that many bytes
 * (plugins/files/files_plugin.h).
 */
#ifndef FASTN_CLI_FILES_H
#define FASTN_CLI_FILES_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/cli.h"

#define REC_HEAD 5
#define CLI_FILES_CALL_MAX ((1u << 20) - 4096) /* a call's argument */
#define CLI_FILES_DEPTH_MAX 256                /* folders inside folders */
#define CLI_FILES_PEERS 8                      /* --from */
#define CLI_FILES_POS 64                       /* add's PATHs and the word */

struct cli_files_args {
    char *pos[CLI_FILES_POS];
    int n;
    const char *from[CLI_FILES_PEERS];
    int nfrom;
    const char *profile, *with, *out;
    bool pin;
};

static inline void cli_files_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t cli_files_get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* fastn_client_plugin_call on the files plugin: 0, or CLI_EXIT_FAIL
 * after saying why (the plugin not installed: how to install it). */
int cli_files_call(struct fastn_client *c, const char *method, const void *arg,
                   size_t len, uint8_t **out, size_t *n);
/* What cli_files_call says of a call that failed with rc (< 0):
 * CLI_EXIT_FAIL. */
int cli_files_fail(struct fastn_client *c, int rc);
int cli_files_get(struct cli *cli, struct fastn_client *c,
                  const struct cli_files_args *fa);
/* A link fastn://files/CID?from=PEER[&from=PEER]...: the CID into cid
 * and the peers added to from[]. 0, or -1 when it is not one. */
int cli_files_link(const char *s, char *cid, size_t cap, char from[][128],
                   int *nfrom, int max);

#endif
