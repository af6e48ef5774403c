/*
 * What a plugin's SQL may do (store.h, "Plugin databases"): the
 * authorizer SQLite calls while it prepares each statement (for the code
 * of triggers, views and foreign key actions too), and the check of the
 * SQL text for the host's reserved names.
 *
 * A plugin may not reach outside its database (ATTACH, DETACH, another
 * schema, temp objects, extensions), change how the host runs it (every
 * pragma but a short list), use what can do unbounded work in one step
 * of SQLite's VM (json_patch, whose work grows with the product of its
 * arguments' sizes; integrity_check and quick_check, and dbstat, which
 * read the whole database in one step), or touch the host's tables, named
 * STORE_PDB_RESERVED_PREFIX..., or sqlite_sequence, whose counters keep
 * the outbox's keys unique. Names are refused in the text too, before
 * SQLite sees it: a foreign key to a host table (REFERENCES
 * _fastn_outbox) reaches the authorizer only as a CREATE TABLE of the
 * plugin's own table, yet it would let a DELETE of the host's run the
 * plugin's ON DELETE actions and their triggers.
 *
 * The host's own statements (db->trusted) pass, except code that comes
 * from a trigger or view, and writes to any table but the host's and
 * SQLite's: nothing of the plugin's may run inside them (the host also
 * turns triggers, foreign keys and views off around them, plugin_db.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fastn/err.h"
#include "store/pdb_int.h"

enum { PRAGMA_READ = 1, PRAGMA_ARG = 2, PRAGMA_SET = 4 };

static const struct {
    const char *name;
    int how; /* PRAGMA_READ: bare; _ARG: with an argument; _SET: = value */
} pragmas[] = {
    {"table_info", PRAGMA_ARG},
    {"table_xinfo", PRAGMA_ARG},
    {"table_list", PRAGMA_READ | PRAGMA_ARG},
    {"index_list", PRAGMA_ARG},
    {"index_info", PRAGMA_ARG},
    {"index_xinfo", PRAGMA_ARG},
    {"foreign_key_list", PRAGMA_ARG},
    {"foreign_key_check", PRAGMA_READ | PRAGMA_ARG},
    {"page_count", PRAGMA_READ},
    {"page_size", PRAGMA_READ},
    {"max_page_count", PRAGMA_READ},
    {"freelist_count", PRAGMA_READ},
    {"data_version", PRAGMA_READ},
    {"schema_version", PRAGMA_READ},
    {"user_version", PRAGMA_READ | PRAGMA_SET},
    {"application_id", PRAGMA_READ | PRAGMA_SET},
    {"foreign_keys", PRAGMA_READ | PRAGMA_SET},
    {"defer_foreign_keys", PRAGMA_READ | PRAGMA_SET},
    {"recursive_triggers", PRAGMA_READ | PRAGMA_SET},
};

/* arg is NULL for a bare pragma, else its argument or value (SQLite does
 * not tell `PRAGMA x(v)` from `PRAGMA x = v`, so a pragma is either
 * argument-taking or settable, never both). */
static bool pragma_allowed(const char *name, const char *arg)
{
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        if (strcasecmp(name, pragmas[i].name) != 0)
            continue;
        if (!arg)
            return pragmas[i].how & PRAGMA_READ;
        return pragmas[i].how & (PRAGMA_ARG | PRAGMA_SET);
    }
    return false;
}

static bool function_allowed(const char *name)
{
    static const char *const refused[] = {"load_extension", "fts3_tokenizer",
                                          "json_patch"};
    for (size_t i = 0; name && i < sizeof(refused) / sizeof(refused[0]); i++)
        if (strcasecmp(name, refused[i]) == 0)
            return false;
    return true;
}

static bool vtab_module_allowed(const char *module)
{
    return module && (strcasecmp(module, "fts5") == 0 ||
                      strcasecmp(module, "rtree") == 0);
}

static int deny(struct store_pdb *db, const char *reason, const char *detail)
{
    db->deny_reason = reason;
    snprintf(db->deny_detail, sizeof(db->deny_detail), "%s%s",
             detail ? " " : "", detail ? detail : "");
    return SQLITE_DENY;
}

static bool reserved(const char *name)
{
    return name && strncasecmp(name, STORE_PDB_RESERVED_PREFIX,
                               sizeof(STORE_PDB_RESERVED_PREFIX) - 1) == 0;
}

static bool is_write(int action)
{
    return action == SQLITE_INSERT || action == SQLITE_UPDATE ||
           action == SQLITE_DELETE;
}

/* The host's statements: no plugin code, writes only to the host's tables
 * and SQLite's own (sqlite_master, sqlite_sequence). */
static int authorize_host(struct store_pdb *db, int action, const char *a3,
                          const char *trigger)
{
    if (trigger)
        return deny(db,
                    "the host's statements run no trigger or view:", trigger);
    if (is_write(action) && !reserved(a3) &&
        !(a3 && strncasecmp(a3, "sqlite_", 7) == 0))
        return deny(db,
                    "the host's statements write only the host's tables:", a3);
    return SQLITE_OK;
}

static int authorize_action(struct store_pdb *db, int action, const char *a3,
                            const char *a4)
{
    switch (action) {
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
        return deny(db, "ATTACH and DETACH", NULL);
    case SQLITE_PRAGMA:
        return pragma_allowed(a3, a4) ? SQLITE_OK : deny(db, "PRAGMA", a3);
    case SQLITE_FUNCTION:
        return function_allowed(a4) ? SQLITE_OK : deny(db, "function", a4);
    case SQLITE_READ:
        /* dbstat may sum a whole table in one step of SQLite's VM */
        return a3 && strcasecmp(a3, "dbstat") == 0 ? deny(db, "table", a3)
                                                   : SQLITE_OK;
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
        return vtab_module_allowed(a4) ? SQLITE_OK
                                       : deny(db, "virtual table module", a4);
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_CREATE_TEMP_TABLE:
    case SQLITE_CREATE_TEMP_TRIGGER:
    case SQLITE_CREATE_TEMP_VIEW:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_TRIGGER:
    case SQLITE_DROP_TEMP_VIEW:
        return deny(db, "temporary tables, views, indexes and triggers", NULL);
    default:
        return SQLITE_OK;
    }
}

int pdb_authorize(void *arg, int action, const char *a3, const char *a4,
                  const char *schema, const char *trigger)
{
    struct store_pdb *db = arg;
    if (db->trusted)
        return authorize_host(db, action, a3, trigger);
    if (schema && strcmp(schema, "main") != 0)
        return deny(db, "only the plugin's own database (main) is reachable;",
                    schema);
    /* a3 or a4 names the table, index, trigger, view or savepoint of
     * every action, except a4 of a read or update: a column (the SQL text
     * may not name one such, pdb_names_reserved, but a table of an older
     * database may have one) */
    if (reserved(a3) ||
        (action != SQLITE_READ && action != SQLITE_UPDATE && reserved(a4)))
        return deny(db,
                    "names starting with " STORE_PDB_RESERVED_PREFIX
                    " are the host's:",
                    reserved(a3) ? a3 : a4);
    if (is_write(action) && a3 && strcasecmp(a3, "sqlite_sequence") == 0)
        return deny(db, "writing sqlite_sequence (the host's keys use it)",
                    NULL);
    return authorize_action(db, action, a3, a4);
}

bool pdb_names_reserved(const char *sql, size_t len)
{
    static const char word[] = STORE_PDB_RESERVED_PREFIX;
    const size_t n = sizeof(word) - 1;
    for (size_t i = 0; i + n <= len; i++)
        if (sql[i] == '_' && strncasecmp(sql + i, word, n) == 0)
            return true;
    return false;
}
