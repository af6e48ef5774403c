/*
 * The plugin test library: what a plugin left behind, for a test to
 * check: its state in the host, the notifications it raised (the node's
 * state.sqlite) and its database, read through a second connection so
 * the plugin's own is not disturbed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fastn/err.h"
#include "plugin/kit_int.h"

int fastn_test_info(struct fastn_test_node *n, const char *plugin,
                    struct fastn_test_info *out)
{
    struct plugin_info in;
    int rc;

    if (!n->h)
        return FASTN_ERR_NOT_FOUND;
    if ((rc = plugin_host_info(n->h, plugin, &in)))
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->state, sizeof(out->state), "%s", plugin_state_name(in.state));
    out->restarts = in.restarts;
    out->last_error = in.last_error;
    snprintf(out->last_error_text, sizeof(out->last_error_text), "%s",
             in.last_error_text);
    out->open_streams = in.open_streams;
    out->pending_calls = in.pending_calls;
    out->armed_timers = in.armed_timers;
    out->events = in.events;
    out->fuel_used = in.fuel_used;
    out->db_bytes = in.db_bytes;
    return 0;
}

int fastn_test_notify_count(struct fastn_test_node *n, const char *plugin)
{
    return n->state ? store_notify_unread_count(n->state, plugin)
                    : FASTN_ERR_CLOSED;
}

int fastn_test_notify_get(struct fastn_test_node *n, const char *plugin,
                          size_t i, char **title, char **body)
{
    struct store_notify_query q = {.source = plugin, .oldest_first = true};
    struct store_notification *v = NULL;
    size_t count = 0;
    int rc;

    if (!n->state)
        return FASTN_ERR_CLOSED;
    if ((rc = store_notify_list(n->state, &q, &v, &count)))
        return rc;
    if (i >= count) {
        rc = FASTN_ERR_NOT_FOUND;
    } else {
        *title = strdup(v[i].title);
        *body = strdup(v[i].body ? v[i].body : "");
        if (!*title || !*body) {
            free(*title);
            free(*body);
            rc = FASTN_ERR_NOMEM;
        }
    }
    store_notifications_free(v, count);
    return rc;
}

/* Appends n bytes to the growing text *buf (*len, *cap). */
static int text_add(char **buf, size_t *len, size_t *cap, const void *p,
                    size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1)
            c *= 2;
        char *nb = realloc(*buf, c);
        if (!nb)
            return FASTN_ERR_NOMEM;
        *buf = nb;
        *cap = c;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Every row of statement h as text. */
static int rows_text(struct store_pdb *db, int32_t h, char **out)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc, cols = store_pdb_column_count(db, h);

    rc = text_add(&buf, &len, &cap, "", 0);
    while (!rc && (rc = store_pdb_step(db, h)) == 1) {
        rc = 0;
        for (int c = 0; !rc && c < cols; c++) {
            const uint8_t *p = NULL;
            size_t n = 0;
            store_pdb_column_bytes(db, h, c, &p, &n);
            if (c)
                rc = text_add(&buf, &len, &cap, "|", 1);
            if (!rc && n)
                rc = text_add(&buf, &len, &cap, p, n);
        }
        if (!rc)
            rc = text_add(&buf, &len, &cap, "\n", 1);
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

/* Runs sql on db, the rows as text. */
static int query(struct store_pdb *db, const char *sql, char **out)
{
    int32_t h = store_pdb_prepare(db, sql, strlen(sql));
    int rc;

    if (h < 0)
        return h;
    rc = rows_text(db, h, out);
    store_pdb_finalize(db, h);
    return rc;
}

int fastn_test_sql(struct fastn_test_node *n, const char *plugin,
                   const char *sql, char **out)
{
    char path[sizeof(n->home) + PLUGIN_NAME_MAX + 32],
        data[sizeof(n->home) + 8];
    struct store_pdb *db = n->h ? plugin_host_db(n->h, plugin) : NULL;
    struct stat st;
    int rc;

    if (db) {
        /* the plugin's own connection, between its events; the budget its
         * last SQL call was given does not apply here */
        store_pdb_budget_set(db, NULL);
        return query(db, sql, out);
    }
    snprintf(data, sizeof(data), "%s/data", n->home);
    snprintf(path, sizeof(path), "%s/%s/db.sqlite", data, plugin);
    if (strchr(plugin, '/') || stat(path, &st) != 0)
        return FASTN_ERR_NOT_FOUND;
    if ((rc = store_pdb_open(data, plugin, NULL, &db)))
        return rc;
    rc = query(db, sql, out);
    store_pdb_close(db);
    return rc;
}
