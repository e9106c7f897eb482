/*
 * migrate.c - `verbatim migrate --from DB --to DB`: copies a whole
 * database into an empty one (store_copy()), e.g. from the SQLite file a
 * first server used to the PostgreSQL database several servers will
 * share.
 */
#include <stdio.h>
#include <string.h>

#include "../store/store.h"
#include "../util/vb.h"
#include "cli.h"

static void usage(FILE *to)
{
    fputs("usage: verbatim migrate --from DB --to DB\n"
          "\n"
          "Copies every transcription, segment, speaker name, kept audio,\n"
          "upload job, API key and signed-in session of one database into\n"
          "another, with their ids, in one transaction.  DB is a SQLite file\n"
          "(PATH or sqlite:PATH) or a PostgreSQL URL\n"
          "(postgresql://USER@HOST/NAME).  The target's schema is created if\n"
          "needed; it must hold no transcription and no key.  Stop the\n"
          "servers that write the source first: what they write meanwhile\n"
          "is not copied.\n"
          "\n"
          "  --from DB   the database to copy\n"
          "  --to DB     the database to fill\n", to);
}

static void progress(void *ctx, const char *table, long long rows)
{
    (void)ctx;
    fprintf(stderr, "%-15s %lld rows\n", table, rows);
}

int cli_migrate(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        int m = cli_flag_value(argc, argv, &i, "--from", &from);
        if (m == 0)
            m = cli_flag_value(argc, argv, &i, "--to", &to);
        if (m < 0)
            return 2;
        if (m == 0) {
            fprintf(stderr, "verbatim migrate: unknown option \"%s\" (see "
                    "--help)\n", argv[i]);
            return 2;
        }
    }
    if (from == NULL || to == NULL) {
        fprintf(stderr, "verbatim migrate: give both --from and --to\n");
        usage(stderr);
        return 2;
    }
    if (strcmp(from, to) == 0) {
        fprintf(stderr, "verbatim migrate: --from and --to are the same "
                "database\n");
        return 2;
    }
    char err[512] = "";
    int rc = store_copy(from, to, progress, NULL, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "verbatim migrate: %s; nothing was copied\n",
                err[0] ? err : vb_strerror(rc));
        return 1;
    }
    fprintf(stderr, "copied; start the servers with --db %s\n", to);
    return 0;
}
