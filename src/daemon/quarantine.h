/*
 * fastnd's quarantine (quarantine.c): keeps streams the router's policy
 * gives it, offers the plugin that handles them, replays them once one is
 * installed; and what the control requests ask of it (struct
 * ipc_pending).
 */
#ifndef FASTN_DAEMON_QUARANTINE_H
#define FASTN_DAEMON_QUARANTINE_H

#include "daemon/daemon.h"
#include "ipc/ipc.h"

/* Installs the quarantine on the router (after daemon_registry_start):
 * the policy of the config, what was kept before looked at again. */
int daemon_quarantine_start(struct daemon *d, char *err, size_t errlen);
/* The config's policy and auto-grant again (SIGHUP). */
void daemon_quarantine_reload(struct daemon *d);
/* Before daemon_registry_stop: kept streams reset (what they kept
 * stays), lookups canceled. */
void daemon_quarantine_stop(struct daemon *d);

void daemon_quarantine_offer(struct daemon *d, const char *protocol,
                             struct ipc_pending_offer *out);
int daemon_quarantine_approve(struct daemon *d, int64_t id,
                              const char *protocol, unsigned grant, char *msg,
                              size_t msglen);
int daemon_quarantine_reject(struct daemon *d, int64_t id, const char *protocol,
                             bool block, char *msg, size_t msglen);
int daemon_quarantine_peer_allow(struct daemon *d, const struct peer_id *p,
                                 char *msg, size_t msglen);
int daemon_quarantine_peer_block(struct daemon *d, const struct peer_id *p,
                                 char *msg, size_t msglen);

#endif
