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
# A password in --db reaches neither the log nor the answers (the
# throwaway server trusts loopback, so any password connects); and a
# shared database without --bus is warned about.
echo "== a password in --db (PostgreSQL)"
secret=notForTheLog$$
log=$(mktemp /tmp/vbpgpw-XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
build/verbatim serve --host 127.0.0.1 --port "$port" --auth off --log-level info \
    --db "${VERBATIM_TEST_PG/verbatim@/verbatim:$secret@}/postgres" >"$log" 2>&1 &
pid=$!
up=0
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/api/health" >"$log.health" && { up=1; break; }
    sleep 0.1
done
kill "$pid"; wait "$pid"
if [ "$up" = 1 ] && grep -q 'store postgresql://verbatim:\*\*\*@' "$log" &&
    ! grep -q "$secret" "$log" "$log.health" &&
    grep -q 'live messages stay within this one (no --bus)' "$log"; then
    echo "ok: the log says postgresql://verbatim:***@... and asks for --bus"
else
    echo "FAIL: the password reached the log, no --bus warning, or the server did not start:"
    cat "$log"
    failed=1
fi
rm -f "$log" "$log.health"
exit $failed
