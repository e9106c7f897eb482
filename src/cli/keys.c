/*
 * keys.c - `verbatim keys`: make, list and revoke the API keys a server
 * with --auth required accepts.  They live in the database, so every
 * server sharing it accepts them (within a few seconds: auth.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth/auth.h"
#include "../store/store.h"
#include "../util/vb.h"
#include "cli.h"

static void usage(FILE *to)
{
    fputs("usage: verbatim keys create --name NAME --scope read|write|admin "
          "[--db DB]\n"
          "       verbatim keys list [--db DB]\n"
          "       verbatim keys revoke NAME [--db DB]\n"
          "\n"
          "Scopes: read (GET, /ws/watch), write (also create, record, upload,\n"
          "correct), admin (also delete).  A new key is printed once; the\n"
          "database keeps only its hash.  DB defaults to $VERBATIM_DB, else\n"
          "data/verbatim.db, as for serve.\n", to);
}

static int open_db(const char *db, store_t **store)
{
    char err[300];
    if (store_open(db, store, err, sizeof(err)) != 0) {
        fprintf(stderr, "verbatim keys: %s\n", err);
        return -1;
    }
    return 0;
}

static int create(store_t *store, const char *name, const char *scope_name)
{
    auth_scope scope;
    if (name == NULL || scope_name == NULL) {
        fprintf(stderr, "verbatim keys create: --name and --scope are "
                "needed\n");
        return 2;
    }
    if (auth_scope_parse(scope_name, &scope) != 0) {
        fprintf(stderr, "verbatim keys create: --scope must be read, write "
                "or admin, not \"%s\"\n", scope_name);
        return 2;
    }
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789-_.@") != n) {
        fprintf(stderr, "verbatim keys create: a name is 1 to 64 letters, "
                "digits and - _ . @, not \"%s\"\n", name);
        return 2;
    }
    char key[AUTH_KEY_LEN + 1];
    if (auth_key_new(key) != 0) {
        fprintf(stderr, "verbatim keys create: no randomness available\n");
        return 1;
    }
    store_key row = {0};
    snprintf(row.name, sizeof(row.name), "%s", name);
    snprintf(row.scope, sizeof(row.scope), "%s", auth_scope_name(scope));
    auth_key_prefix(key, row.prefix);
    auth_key_hash(key, row.hash);
    int rc = store_key_create(store, &row);
    if (rc == VB_EBUSY) {
        fprintf(stderr, "verbatim keys create: there is a key named \"%s\" "
                "already (revoke it first, or choose another name)\n", name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "verbatim keys create: the database failed\n");
        return 1;
    }
    printf("%s\n", key);
    fprintf(stderr, "key \"%s\" (%s) made; it is shown only now: keep it "
            "somewhere safe\n", name, row.scope);
    return 0;
}

static int list(store_t *store)
{
    store_key *keys = NULL;
    size_t n = 0;
    if (store_key_list(store, &keys, &n) != 0) {
        fprintf(stderr, "verbatim keys list: the database failed\n");
        return 1;
    }
    printf("%-24s %-6s %-12s %-27s %s\n", "NAME", "SCOPE", "PREFIX", "CREATED",
           "LAST USED");
    for (size_t i = 0; i < n; i++)
        printf("%-24s %-6s %-12s %-27.19s %.19s\n", keys[i].name,
               keys[i].scope, keys[i].prefix, keys[i].created_at,
               keys[i].last_used_at[0] ? keys[i].last_used_at : "never");
    free(keys);
    return 0;
}

static int revoke(store_t *store, const char *name)
{
    int rc = store_key_revoke(store, name);
    if (rc == VB_ENOTFOUND) {
        fprintf(stderr, "verbatim keys revoke: no key is named \"%s\" (see "
                "verbatim keys list)\n", name);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "verbatim keys revoke: the database failed\n");
        return 1;
    }
    fprintf(stderr, "key \"%s\" revoked\n", name);
    return 0;
}

int cli_keys(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    const char *db = getenv("VERBATIM_DB"), *name = NULL, *scope = NULL;
    const char *target = NULL;
    if (db == NULL)
        db = "data/verbatim.db";
    for (int i = 2; i < argc; i++) {
        int m = cli_flag_value(argc, argv, &i, "--db", &db);
        if (m == 0)
            m = cli_flag_value(argc, argv, &i, "--name", &name);
        if (m == 0)
            m = cli_flag_value(argc, argv, &i, "--scope", &scope);
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (argv[i][0] != '-' && target == NULL && strcmp(action, "revoke") == 0) {
            target = argv[i];
            continue;
        }
        fprintf(stderr, "verbatim keys: unknown option \"%s\" (see --help)\n",
                argv[i]);
        return 2;
    }
    if (strcmp(action, "create") != 0 && strcmp(action, "list") != 0 &&
        strcmp(action, "revoke") != 0) {
        fprintf(stderr, "verbatim keys: unknown action \"%s\"\n", action);
        usage(stderr);
        return 2;
    }
    if (strcmp(action, "revoke") == 0 && target == NULL) {
        fprintf(stderr, "verbatim keys revoke: which key? give its name\n");
        return 2;
    }
    store_t *store = NULL;
    if (open_db(db, &store) != 0)
        return 1;
    int rc = strcmp(action, "create") == 0 ? create(store, name, scope)
             : strcmp(action, "list") == 0 ? list(store)
                                           : revoke(store, target);
    store_close(store);
    return rc;
}
