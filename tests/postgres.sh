#!/usr/bin/env bash
# The store's, REST, live, authentication and upload tests again, against
# a real PostgreSQL server (a throwaway one: tests/lib/postgres.sh), plus
# what only PostgreSQL has: several servers on one database, and the
# database restarted under a live session (test_live's
# test_store_restarted).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/postgres.sh
trap pg_cleanup EXIT
pg_start || exit 1
failed=0
for t in test_store test_rest test_live test_auth test_formats test_instances; do
    echo "== $t (PostgreSQL)"
    build/asan/$t || failed=1
done
exit $failed
