#!/usr/bin/env bash
# Memory per live stream: resident memory of `verbatim serve` when idle,
# with N connected but silent streams, with N streams speaking at once,
# and once they have gone and the unused recognisers have been released.
# Usage: bench/stream_memory.sh [N]   (default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
n=${1:-8}
work=$(mktemp -d /tmp/vbmem-XXXXXX)
port=$((20000 + RANDOM % 20000))
cleanup() {
    [ -n "${server:-}" ] && pids+=("$server")
    kill_pids
    rm -rf "$work"
}
trap cleanup EXIT

rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$server/status"; }

# 20 s of silence, and 20 s of speech (flite sentences back to back).
head -c $((16000 * 2 * 20)) /dev/zero > "$work/silence.raw"
text="The quick brown fox jumps over the lazy dog while the weather stays nice and everyone drinks coffee in the morning before work begins."
flite -voice slt -t "$text $text $text" -o "$work/speech.wav"

"$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn --max-sessions $((n * 2 + 4)) \
    --release-decoders-after 3 &
server=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
sleep 1
idle=$(rss_kb)

for i in $(seq "$n"); do
    "$bin" stream --url "ws://127.0.0.1:$port" --realtime --sample-rate 16000 \
        "$work/silence.raw" >/dev/null &
    pids+=($!)
done
sleep 5
silent=$(rss_kb)
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
sleep 1
after_silent=$(rss_kb)

for i in $(seq "$n"); do
    "$bin" stream --url "ws://127.0.0.1:$port" --realtime "$work/speech.wav" >/dev/null &
    pids+=($!)
done
peak=0
for _ in $(seq 40); do
    r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.25
done
decoders=$(curl -s "http://127.0.0.1:$port/api/health")
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$port/api/health" | grep -q '"decoders":1,' && break
    sleep 0.2
done
released=$(rss_kb)

echo "streams: $n"
echo "idle RSS:                          $((idle / 1024)) MiB"
echo "with $n silent streams:             $((silent / 1024)) MiB  ($(( (silent - idle) / n )) KiB per stream)"
echo "with $n streams speaking at once:   $((peak / 1024)) MiB  ($(( (peak - after_silent) / n / 1024 )) MiB per speaking stream)"
echo "they left, 3 s later (--release-decoders-after 3): $((released / 1024)) MiB"
echo "health while speaking: $decoders"
