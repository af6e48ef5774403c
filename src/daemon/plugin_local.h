/*
 * Loopback TCP for plugins (local-listen, local-connect): the listeners
 * on 127.0.0.1 and ::1 at the ports plugins serve, and the connections,
 * accepted or opened, that plugins.c hands to the plugin host as streams.
 * libuv only; nothing here knows the plugin host but the list of ports
 * it asks for (plugin_host_listens) and the ports it is told of.
 *
 * A connection reports, through its callback and never from inside one
 * of the calls below: LOCAL_EV_OPEN (connected; outgoing ones only),
 * _DATA (bytes read), _FIN (the program finished writing), _WRITABLE
 * (after a write that took less than asked, once the queue fell below
 * half), _CLOSED (err 0: both sides finished; < 0: reset or failed; the
 * connection is freed right after). Its send queue holds at most
 * LOCAL_CONN_BUFFER bytes (writes take what fits), and a paused one is
 * not read, so a program that does not read, or a plugin that does not
 * take its data, is held back as a peer's stream is.
 */
#ifndef FASTN_DAEMON_PLUGIN_LOCAL_H
#define FASTN_DAEMON_PLUGIN_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct plugin_host;
struct local_conn;
struct local_listeners;

#define LOCAL_CONN_BUFFER (256u * 1024)

enum local_ev {
    LOCAL_EV_OPEN,
    LOCAL_EV_DATA,
    LOCAL_EV_FIN,
    LOCAL_EV_WRITABLE,
    LOCAL_EV_CLOSED,
};

typedef void (*local_conn_cb)(struct local_conn *lc, enum local_ev ev,
                              const uint8_t *p, size_t n, int err, void *arg);

/* Connects to addr ("127.0.0.1:22", "[::1]:22": loopback only, else
 * FASTN_ERR_PERM); LOCAL_EV_OPEN or _CLOSED follows. Errors:
 * FASTN_ERR_INVAL, _PERM, _NOMEM, _NET_UNREACHABLE. */
int local_conn_connect(uv_loop_t *loop, const char *addr, local_conn_cb cb,
                       void *arg, struct local_conn **out);
/* Sets an accepted connection's callback and starts reading it. */
void local_conn_start(struct local_conn *lc, local_conn_cb cb, void *arg);
/* Queues bytes; returns how many it took (0..n), or FASTN_ERR_CLOSED. */
int local_conn_write(struct local_conn *lc, const uint8_t *p, size_t n);
/* Our side is done: the program reads EOF after the queued bytes. */
int local_conn_close(struct local_conn *lc);
/* Aborts it (RST); no more callbacks; it is freed. */
void local_conn_reset(struct local_conn *lc);
void local_conn_pause(struct local_conn *lc, bool paused);
size_t local_conn_queued(const struct local_conn *lc);
/* Its program's address, "127.0.0.1:PORT" or "[::1]:PORT". */
const char *local_conn_peer(const struct local_conn *lc);

/* A connection came to a plugin's port (entry index of its manifest's
 * local_listen): the function takes lc (local_conn_start or _reset). */
typedef void (*local_accept_fn)(void *arg, const char *plugin, unsigned index,
                                struct local_conn *lc);
struct local_listeners *local_listeners_new(uv_loop_t *loop, local_accept_fn fn,
                                            void *arg);
/* Listens on what h asks for now and on nothing else: new ports opened
 * (127.0.0.1 and ::1 at the asked port or, when it is taken, at one the
 * system picks: logged), old ones closed; each told to h
 * (plugin_host_listen_bound). */
void local_listeners_sync(struct local_listeners *ll, struct plugin_host *h);
/* Closes every listener (connections are not touched). NULL is fine. */
void local_listeners_free(struct local_listeners *ll);

#endif
