#!/usr/bin/env bash
# Search over many transcripts (issue 37): N transcripts (default 5,000)
# of SEGMENTS segments each (default 20, 12 words a segment, words drawn
# from the system's word list, wamerican) put into a server's database,
# then GET /api/search timed from outside for a common word, a rare one,
# a prefix as typed and two words together, each the median of 9 tries,
# beside the first page of the transcript list timed the same way (the
# page a user waits for anyway) in the same run.
#
#   bench/search.sh [N] [SEGMENTS]
#   DB=postgresql bench/search.sh   the same on a throwaway PostgreSQL
#                                   (tests/lib/postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5000}
per=${2:-20}
. bench/lib.sh
build_verbatim
work=$(mktemp -d /tmp/vbsearch-XXXXXX)
port=$((20000 + RANDOM % 20000))
server=
backend=${DB:-sqlite}
db="$work/db.sqlite"
if [ "$backend" = postgresql ]; then
    . tests/lib/postgres.sh
    pg_start >/dev/null
    psql -q "$VERBATIM_TEST_PG/postgres" -c "CREATE DATABASE vbsearch"
    db="$VERBATIM_TEST_PG/vbsearch"
fi
trap 'kill $server 2>/dev/null; wait 2>/dev/null; [ "$backend" = postgresql ] && pg_cleanup; rm -rf "$work"' EXIT
serve() {
    "$bin" serve --port "$port" --db "$db" --log-level warn 2>>"$work/server.log" &
    server=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
}
serve # creates the schema
kill "$server"; wait "$server" || true
python3 - "$n" "$per" > "$work/fill.sql" <<'PY'
import random, sys
n, per = int(sys.argv[1]), int(sys.argv[2])
random.seed(7)
words = [w.strip() for w in open('/usr/share/dict/american-english')
         if w.strip().isalpha() and w.strip().islower()][:20000]
common = words[:200]  # drawn more often: a few words in most segments
print("BEGIN;")
for t in range(1, n + 1):
    print(f"INSERT INTO transcriptions (id, title, created_at) VALUES ({t}, 'Meeting {t} "
          f"{random.choice(words)}', '2026-01-01T00:00:00+00:00');")
    for s in range(per):
        text = " ".join(random.choice(common) if random.random() < .3 else random.choice(words)
                        for _ in range(12))
        print(f"INSERT INTO segments (transcription_id, text, start_time, end_time) VALUES "
              f"({t}, '{text}.', {s * 5}, {s * 5 + 4.5});")
print("COMMIT;")
print(f"SELECT '{common[0]}', '{words[19999]}', '{common[1][:3]}', '{common[2]} {common[3]}';")
PY
start=$(date +%s.%N)
if [ "$backend" = postgresql ]; then
    read -r common rare prefix pair < <(psql -q -At -F ' ' "$db" -f "$work/fill.sql" | tail -1)
    psql -q "$db" -c "VACUUM ANALYZE"
else
    read -r common rare prefix pair < <(sqlite3 -separator ' ' "$db" < "$work/fill.sql")
fi
echo "filled $n transcripts x $per segments ($backend) in $(calc "$(date +%s.%N) - $start" 1) s"
serve
# median_ms URL: the median of 9 requests' total time, in ms.
median_ms() {
    for _ in $(seq 9); do curl -s -o /dev/null -w '%{time_total}\n' "$1"; done |
        sort -n | sed -n 5p | awk '{ printf "%.1f", $1 * 1000 }'
}
base=$(median_ms "http://127.0.0.1:$port/api/transcriptions/?limit=50&summary=true")
echo "the list's first page (50, with summaries): $base ms"
for q in "$common" "$rare" "$prefix" "$pair"; do
    url="http://127.0.0.1:$port/api/search?q=$(sed 's/ /+/g' <<<"$q")"
    total=$(curl -s "$url" | grep -oE '"total":[0-9]+' | grep -oE '[0-9]+')
    ms=$(median_ms "$url")
    echo "search \"$q\": $total results, first page in $ms ms ($(calc "$ms / $base" 2) x the list page)"
done
