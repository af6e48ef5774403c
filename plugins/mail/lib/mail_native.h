/*
 * Native builds of plugins/mail/lib only (tests, fuzz targets): the
 * database the fastn_sql_* calls reach (sql_native.c), which in the plugin
 * is the host's.
 */
#ifndef FASTN_MAIL_NATIVE_H
#define FASTN_MAIL_NATIVE_H

#include <stdint.h>

/* Opens data_dir/mail/db.sqlite through src/store (quota_bytes 0: the
 * default). Errors: as store_pdb_open, _BUSY (one is open already). */
int mail_sql_native_open(const char *data_dir, uint64_t quota_bytes);
void mail_sql_native_close(void);
/* The time one SQL call may take (store_pdb_budget_set; 0: the host's
 * default, as the plugin gets), for tests about size, not time. */
void mail_sql_native_budget(uint64_t time_ns);
/* What the host does after each plugin event (store_pdb_event_end). */
int mail_sql_native_event_end(void);

#endif
