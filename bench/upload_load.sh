#!/usr/bin/env bash
# Do uploads slow live streams down?  One live stream at real-time pace
# (bench/run.sh's 30 s LibriVox recording), first alone, then while
# UPLOADS (default 2) long recordings (that recording ten times over, five
# minutes, as MP3) are transcribed at full speed.  Prints
# the live stream's interim and final lag, p95 and max, both ways.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
work=build/bench/upload
mkdir -p "$work"
uploads=${UPLOADS:-2}
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

files=$(librivox_files)
live="$work/live.raw"
[ -f "$live" ] || for f in $files; do tail -c +45 "$f"; head -c 32000 /dev/zero; done > "$live"
long="$work/long.mp3"
[ -f "$long" ] || for i in $(seq 10); do cat "$live"; done | ffmpeg -nostdin -loglevel error -y \
    -f s16le -ar 16000 -ac 1 -i - -b:a 64k "$long"

rm -f "$work/db.sqlite"*
"$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn 2>"$work/server.log" &
server=$!
until curl -sf "$url/api/health" -o /dev/null; do sleep 0.05; done

lags() { # TIMINGS-FILE: interim p95, max; final p95, max (s)
    awk -v ep=0.5 '
        $1 == "T" && $4 == 0 { l = $2 - $6; il[++ni] = l < 0 ? 0 : l }
        $1 == "T" && $4 == 1 && $7 == 1 && $6 + ep < $3 - 0.05 { l = $2 - ($6 + ep); fl[++nf] = l < 0 ? 0 : l }
        function sort(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
        function p(a, n, q) { return n ? a[int((n - 1) * q) + 1] : 0 }
        END { sort(il, ni); sort(fl, nf)
              printf "interim p95 %.2f s, max %.2f s; final p95 %.2f s, max %.2f s", p(il, ni, .95), p(il, ni, 1), p(fl, nf, .95), p(fl, nf, 1) }' "$1"
}
run_live() {
    "$bin" stream --url "ws://127.0.0.1:$port" --realtime --timings --chunk-ms 100 \
        --sample-rate 16000 "$live" > "$work/timings"
    lags "$work/timings"
}
echo "live stream alone:               $(run_live)"
pids=()
upload_ids=
for i in $(seq "$uploads"); do
    id=$(curl -sf -X POST "$url/api/transcriptions/" -H 'content-type: application/json' \
         -d "{\"title\": \"upload $i\"}" | sed 's/.*"id":\([0-9]*\).*/\1/')
    upload_ids+=" $id"
    curl -sf -X POST --data-binary @"$long" "$url/api/transcriptions/$id/audio?wait=0" \
        -o /dev/null &
    pids+=($!)
done
sleep 1
echo "live stream during $uploads uploads:   $(run_live)"
wait "${pids[@]}"
for id in $upload_ids; do
    echo "upload into transcription $id, when the live stream ended: $(curl -sf "$url/api/transcriptions/$id/audio" |
        grep -o '"status":"[a-z]*","progress":[0-9.]*,"audio_seconds":[0-9.]*')"
done
