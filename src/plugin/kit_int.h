/*
 * The plugin test library's world (include/fastn/plugin_test.h), laid
 * bare for the project's own tests of the host (tests/unit/
 * test_plugin_host.c), which reach under the public API: a node's host
 * and state store, and knobs that make the simulated network misbehave.
 * Plugin authors use the public header only.
 *
 * The network plays the router's part (struct plugin_host_ops): streams
 * between nodes and between the test and a node, each direction an inbox
 * of at most FASTN_TEST_WINDOW bytes, every delivery deferred to
 * fastn_test_step() as an event loop would.
 */
#ifndef FASTN_PLUGIN_KIT_INT_H
#define FASTN_PLUGIN_KIT_INT_H

#include "fastn/plugin_test.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/peer_id.h"

#define KIT_NODE_NAME_MAX 32

/* One direction of a stream: what one end wrote for the other. */
struct kit_end {
    uint64_t id; /* the id this end's host knows the stream by */
    struct fastn_test_node *node; /* NULL: the test, as a simulated peer */
    uint8_t *inbox;               /* FASTN_TEST_WINDOW bytes */
    size_t in_len;                /* bytes written by the other end */
    int fin_pending, fin_sent;    /* the other end closed its side */
    int reset_pending;            /* the other end reset the stream */
    int paused;
    int want_writable;
    int dead; /* reported gone to this end's host */
};

/* The address a local program's connection comes from in the kit. */
#define KIT_LOCAL_CLIENT "127.0.0.1:40000"

struct fastn_test_stream {
    struct fastn_test *t;
    int used;
    char proto[PLUGIN_PROTOCOL_MAX + 1];
    char from_peer[FASTN_TEST_PEER_ID_MAX]; /* the test as a peer */
    struct kit_end end[2]; /* [0] the opener, [1] the acceptor */
    uint64_t open_token;   /* the opener's token until answered */
    int open_result;       /* 1 pending, else the answer to the opener */
    int open_pending;
    size_t bytes[2]; /* written by each end in all */
    bool local;      /* a local program's connection: proto is the plugin */
    unsigned local_index; /* its local_listen entry */
};

struct fastn_test_node {
    struct fastn_test *t;
    char name[KIT_NODE_NAME_MAX + 1];
    char home[256];
    bool own_home; /* made by the world: deleted with it */
    int online;
    char peer_id[FASTN_TEST_PEER_ID_MAX];
    struct store *state;
    struct plugin_host *h;
    uint64_t slice_fuel; /* 0: the default */
    struct fastn_test_reply *replies;
    size_t n_replies, cap_replies;
    uint64_t next_call;
    int wakes, protocol_changes, opens;
    /* knobs of the project's own tests */
    int refuse_opens;  /* ops->stream_open fails at once */
    int no_read;       /* its host is given no data: a peer that never reads */
    int slow_reply_ms; /* ops->call_reply keeps the CPU that long */
    /* work handed off (ops->offload): done at the node's next run, on
     * this thread, in order, so that tests see the same order each time */
    struct kit_job *jobs, **jobs_tail;
};

/* Done what the node's host handed off (ops->offload): all of it with
 * run_work, else (the node stops) only told done. Returns whether any. */
bool kit_jobs_run(struct fastn_test_node *n, bool run_work);

struct fastn_test {
    struct fastn_test_node **nodes;
    size_t n_nodes;
    struct fastn_test_stream **streams;
    size_t n_streams;
    uint64_t next_id;
    uint64_t now, mono;
    int resets_seen;
    fastn_test_trace_fn trace;
    void *trace_arg;
};

extern const struct plugin_host_ops kit_ops;
/* A new stream slot (aborts when out of memory, as the header says). */
struct fastn_test_stream *kit_stream_new(struct fastn_test *t);

/* A node whose host runs with slice_fuel per slice (0: the default), and
 * loads the plugins installed in its home only with load; as
 * fastn_test_node_new otherwise. */
int kit_node_new(struct fastn_test *t, const char *name, const char *home,
                 uint64_t slice_fuel, bool load, struct fastn_test_node **out);
/* fastn_test_node_start, loading the installed plugins only with load. */
int kit_node_start(struct fastn_test_node *n, bool load);
/* Delivers what the network holds for one end of s, or its pending open.
 * Returns whether it did anything. */
int kit_deliver_end(struct fastn_test_stream *s, int k);
int kit_deliver_open(struct fastn_test_stream *s);

#endif
