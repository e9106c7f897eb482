#!/usr/bin/env bash
# What keeping the audio costs (issue 37): the server's CPU seconds per
# second of audio uploaded, with --keep-audio on and off, side by side in
# the same run (two servers, the LibriVox recordings uploaded to each in
# turn, ROUNDS rounds), and the bytes kept per hour of audio.  Prints the
# ratio on/off per round and its median: the cost of encoding and
# storing the Opus beside the recogniser's own work.
#
#   bench/keep_audio.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
. bench/lib.sh
build_verbatim
work=$(mktemp -d /tmp/vbkeep-XXXXXX)
declare -A port pid
cleanup() { kill "${pid[on]:-}" "${pid[off]:-}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for mode in on off; do
    port[$mode]=$((20000 + RANDOM % 20000))
    "$bin" serve --port "${port[$mode]}" --db "$work/$mode.db" --keep-audio "$mode" \
        --log-level warn 2>"$work/$mode.log" &
    pid[$mode]=$!
done
for mode in on off; do
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:${port[$mode]}/api/health" | grep -q '"recogniser":"ready"' && break
        sleep 0.2
    done
done
mapfile -t files < <(librivox_files)
seconds=0
for f in "${files[@]}"; do seconds=$(calc "$seconds + ($(stat -c %s "$f") - 44) / 32000"); done
# upload_all MODE: every file to a new transcription; CPU ticks used.
upload_all() {
    local p=${port[$1]} before id
    before=$(cpu_ticks "${pid[$1]}")
    id=$(curl -s -X POST -H 'content-type: application/json' -d '{"title":"keep"}' \
        "http://127.0.0.1:$p/api/transcriptions/" | grep -oE '"id":[0-9]+' | grep -oE '[0-9]+')
    for f in "${files[@]}"; do
        curl -s --data-binary @"$f" "http://127.0.0.1:$p/api/transcriptions/$id/audio?wait=120" >/dev/null
    done
    echo "$(( $(cpu_ticks "${pid[$1]}") - before )) $id"
}
upload_all on >/dev/null; upload_all off >/dev/null # warm: decoders built
hz=$(getconf CLK_TCK)
ratios=()
for r in $(seq "$rounds"); do
    read -r on_ticks on_id < <(upload_all on)
    read -r off_ticks _ < <(upload_all off)
    ratio=$(calc "$on_ticks / $off_ticks" 3)
    ratios+=("$ratio")
    echo "round $r: CPU s per audio s, keeping $(calc "$on_ticks / $hz / $seconds") not keeping $(calc "$off_ticks / $hz / $seconds"): ratio $ratio"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
bytes=$(curl -s "http://127.0.0.1:${port[on]}/api/transcriptions/$on_id/audio.ogg" | wc -c)
echo "median ratio (keeping / not): $median over $rounds rounds of ${seconds} s"
echo "kept: $bytes bytes for ${seconds} s: $(calc "$bytes / $seconds * 3600 / 1e6" 1) MB per hour"
