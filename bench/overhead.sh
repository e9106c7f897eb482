#!/usr/bin/env bash
# The server's overhead counted in instructions, not timed: the same
# audio through the recogniser alone (`verbatim bench engine`) and through
# the full server path (WebSocket in at full speed, 100 ms messages,
# results out, stored), each under valgrind's callgrind, which counts
# every instruction the program runs.  Timed runs on this virtual machine
# move by tens of percent within minutes (bench/run.sh alternates its runs
# and still sees -0.2 to +15 %); the counts come out the same each time.
# Prints a table and writes the figures as JSON to bench/results/.
#
#   bench/overhead.sh             the LibriVox files (about 3 minutes)
#   bench/overhead.sh FILE...     other 16 kHz WAV files
#   PROFILE=fast bench/overhead.sh
#
# Counted: instructions in user space, every thread.  Not counted: time
# in the kernel (system calls, the network's loopback), which perf puts
# at 1-1.5 % of the server's processor time under real-time streams
# (bench/NOTES.md).  The engine's figure is its session work, the
# same code the server runs for each stream (voice detection, phrases,
# speaker features, the recogniser): what the pool's worker ran, model
# loading left out.  The server's is everything it ran from just before
# the first file to just after the last (one warm-up stream first builds
# its decoder).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim bench
profile=${PROFILE:-accurate}
work=build/overhead
rm -rf "$work"
mkdir -p "$work" bench/results
shim="$work/valgrind_shim.so"
cc -shared -fPIC -O2 -o "$shim" bench/valgrind_shim.c
if [ $# -gt 0 ]; then
    files=("$@")
else
    mapfile -t files < <(librivox_files)
fi
port=$((20000 + RANDOM % 20000))
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

callgrind() { # OUT COMMAND...: run in the background, as valgrind's own process
    local out=$1; shift
    LD_PRELOAD="$PWD/$shim" exec valgrind --tool=callgrind --callgrind-out-file="$out" "$@"
}
total_of() { # the instructions of a callgrind output
    callgrind_annotate "$1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
inclusive_of() { # OUT FUNCTION: the instructions run in FUNCTION and below
    callgrind_annotate --inclusive=yes "$1" |
        awk -v f=":$2 " '!found && $0 ~ f { gsub(",", "", $1); print $1; found = 1 }'
}

# The recogniser alone, in the background, while the server runs.
callgrind "$work/engine.out" "$bin" bench engine --profile "$profile" "${files[@]}" \
    > "$work/engine.json" 2> "$work/engine.log" &
engine=$!

# The server: refusing nothing (admission would count the slow valgrind
# run against new streams), no decoder built ahead.
callgrind "$work/server.out" "$bin" serve --port "$port" --db "$work/db.sqlite" \
    --log-level warn --profile "$profile" --max-load 0 --max-lag-ms 0 \
    --spare-decoders 0 2> "$work/server.log" &
server=$!
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/api/health" -o /dev/null && break
    sleep 0.5
done
send() { "$bin" stream --url "ws://127.0.0.1:$port" --chunk-ms 100 --no-punctuate "$1"; }
send "${files[0]}" > /dev/null
callgrind_control -z "$server" > /dev/null 2>&1
for f in "${files[@]}"; do send "$f"; done > "$work/server.txt"
callgrind_control -d "$server" > /dev/null 2>&1
kill "$server"
wait "$server" || true
server=
wait "$engine"

# callgrind_control -d wrote the streams' part as server.out.1.
for out in "$work/server.out.1" "$work/engine.out"; do
    [ -s "$out" ] || { echo "overhead: valgrind wrote no $out (see $work/*.log)" >&2; exit 1; }
done
server_ir=$(total_of "$work/server.out.1")
server_sessions_ir=$(inclusive_of "$work/server.out.1" run_slice)
engine_ir=$(inclusive_of "$work/engine.out" run_slice)
engine_json=$(cat "$work/engine.json")
audio=$(json_field "$engine_json" audio_s)
words_engine=$(json_field "$engine_json" words)
words_server=$(wc -w < <(sed 's/^\[[^]]*\] //' "$work/server.txt"))
overhead=$(calc "($server_ir / $engine_ir - 1) * 100" 2)
outside=$(calc "($server_ir - $server_sessions_ir) / $server_ir * 100" 2)

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="bench/results/overhead-$stamp-$commit.json"
cat > "$json" <<EOF
{
  "commit": "$commit", "date": "$stamp", "profile": "$profile",
  "files": ${#files[@]}, "audio_s": $audio,
  "engine_instructions": $engine_ir, "server_instructions": $server_ir,
  "server_session_instructions": $server_sessions_ir,
  "server_overhead_pct": $overhead, "outside_sessions_pct": $outside,
  "words_engine": $words_engine, "words_server": $words_server
}
EOF
cat <<EOF
Verbatim overhead, commit $commit, profile $profile, ${#files[@]} files, $audio s of audio
  recogniser alone (its sessions)   $(calc "$engine_ir / 1e9" 3) G instructions, $(calc "$engine_ir / 1e9 / $audio" 3) G per audio s
  full server path                  $(calc "$server_ir / 1e9" 3) G instructions
    of which in its sessions        $(calc "$server_sessions_ir / 1e9" 3) G; outside them (network, JSON, storage, threads) $outside %
  server overhead                   $overhead %
  words: $words_engine alone, $words_server through the server
written to $json
EOF
