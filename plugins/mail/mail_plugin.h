/*
 * The mail plugin's parts (docs/MAIL.md): mail.c (the manifest, events,
 * the account, settings, calls), smtp.c (SMTP submission sessions),
 * imap.c (IMAP4rev1 sessions), deliver.c (the outbox and the delivery
 * protocol /fastn/mail/1.0.0 between peers). The core is plugins/mail/lib.
 */
#ifndef MAIL_PLUGIN_H
#define MAIL_PLUGIN_H

#include <fastn/plugin.h>

#include "mail.h"

#define MAIL_PROTOCOL "/fastn/mail/1.0.0"
#define CONNS 256
/* Replies waiting past this: the session reads nothing more until they
 * are out (the client is paced by its own reading). */
#define OUT_HIGH (256u * 1024)

enum conn_kind { CONN_SMTP = 1, CONN_IMAP, CONN_RX, CONN_TX };

/* One stream: a local client's session or a delivery. */
struct conn {
    int32_t stream;
    enum conn_kind kind;
    uint8_t *out; /* replies the stream has not taken yet: from out_off */
    size_t out_off, out_len, out_cap;
    size_t out_now; /* replies made in this event (IMAP: its budget) */
    int closing;    /* close once out is sent */
    int64_t last_ms;
    void *state; /* struct smtp_sess, imap_sess, rx, tx */
};

/* Settings (the `setting` table; `fastn plugin call mail set K V`). */
struct mail_settings {
    int64_t retry_min_ms, retry_max_ms, give_up_ms, idle_ms, send_idle_ms;
    uint64_t size_max;
};
extern struct mail_settings mail_cfg;

/* mail.c */
struct conn *conn_new(int32_t stream, enum conn_kind kind);
struct conn *conn_find(int32_t stream);
/* The i-th slot (0 .. CONNS-1), or NULL when free. */
struct conn *conn_each(size_t i);
int conn_send(struct conn *c, const void *p, size_t n);
int conn_send_str(struct conn *c, const char *s);
int conn_flush(struct conn *c);
void conn_free(struct conn *c);
/* This daemon's PeerID (text and binary), its mail domain. */
extern char mail_self_text[FASTN_PEER_ID_BUF];
extern uint8_t mail_self_bin[MAIL_PEER_MAX];
extern size_t mail_self_len;
int peer_to_text(const uint8_t *p, size_t n, char *out, size_t cap);
int mail_password_check(const char *user, size_t ulen, const char *pass,
                        size_t plen);
int64_t now_s(void);
void hexify(const uint8_t *p, size_t n, char *out);

/* smtp.c */
int smtp_start(int32_t stream);
int smtp_data(struct conn *c, const uint8_t *p, size_t n);
void smtp_end(struct conn *c);
/* Timer 4: sessions with input held take the next piece. */
void smtp_resume(void);
/* The client closed while input of its is held: true when the session
 * ends once that input is taken (from smtp_resume), not now. */
bool smtp_close_later(struct conn *c);
/* Queues a message already stored as body (in Sent, uid) for rcpts:
 * one outbox row per peer, inside the append's transaction. */
int outbox_add_rows(int64_t body, const char (*peers)[FASTN_PEER_ID_BUF],
                    unsigned n);

/* imap.c */
int imap_start(int32_t stream);
int imap_data(struct conn *c, const uint8_t *p, size_t n);
int imap_writable(struct conn *c);
void imap_end(struct conn *c);
/* Timer 4: sessions with work left and no write pending go on. */
void imap_resume(void);
/* New mail in a folder: sessions in IDLE on it hear of it at once. */
void imap_new_mail(int64_t folder);

/* calls.c: staged sends (send_begin, send_data, send_end, send_abort)
 * untouched for send_idle_ms are dropped with their bytes. */
void mail_stage_expire(void);
/* Timer 5: send_data bytes a store stopped at its time left, again. */
void mail_stage_timer(void);
int mail_stage_count(void);

/* deliver.c */
int deliver_schema(void);
void deliver_kick(int64_t delay_ms);
void deliver_timer(void);
int deliver_rx_start(int32_t stream, const char *peer, size_t peer_len);
int deliver_rx_data(struct conn *c, const uint8_t *p, size_t n);
void deliver_rx_close(struct conn *c, int32_t reason);
void deliver_tx_open(struct conn *c, int32_t result);
void deliver_tx_writable(struct conn *c);
int deliver_tx_data(struct conn *c, const uint8_t *p, size_t n);
void deliver_tx_close(struct conn *c, int32_t reason);
/* Puts a message (whole, in memory) in a folder; *uid. */
int mail_put(const char *folder, const void *p, size_t n, unsigned flags,
             int (*in_txn)(void *ctx, int64_t body, uint32_t uid), void *ctx,
             uint32_t *uid);

#endif
