#!/usr/bin/env bash
# The server under live streams on one core, beside the recogniser alone
# at full speed on the other, at the same moment: what the server spends
# per second of audio against what the recogniser needs for it, both cores
# busy, free of this virtual machine's drift.
#
#   bench/beside.sh               4 streams, 3 rounds, accurate profile
#   STREAMS=N ROUNDS=R PROFILE=fast bench/beside.sh
#   PACE=full                     the streams send as fast as they can
#                                 instead of at the audio's pace
#   CLIENTS=away                  the stream clients run on the
#                                 recogniser's core, not the server's
#   CHUNK_MS=N                    the streams send N ms messages (100)
#
# Each round: a server (--workers 1, refusing nothing) pinned to one core
# is warmed up as bench/run.sh does, then plays N streams of its
# concurrency recording (out of step, 100 ms messages unless CHUNK_MS
# says); meanwhile `verbatim bench engine` decodes the same recording over
# and over on the other core.  Every 2 s the two sides trade cores (every
# process and thread), so that each meets both cores' speeds; the cores
# change sides each round.  Prints each round's server CPU seconds per audio second, the
# recogniser's, and their ratio, and the geometric mean of the ratios;
# and whether the streams kept up as bench/run.sh counts it (interim lag
# p95 and the latest final after its endpoint both under 1 s), beside
# the most streams the recogniser's speed of that moment allows on one
# core (1 / its CPU seconds per audio second): with STREAMS swept, one
# core's knee against its ceiling, measured at the same moment, so free
# of the drift that moves bench/run.sh's ceiling during its sweep.
# Writes them to bench/results/beside-STAMP-COMMIT.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
[ "$(nproc)" -ge 2 ] || { echo "bench/beside.sh: needs two cores" >&2; exit 1; }
n=${STREAMS:-4} rounds=${ROUNDS:-3} profile=${PROFILE:-accurate}
pace=${PACE:-live} clients=${CLIENTS:-server} chunk_ms=${CHUNK_MS:-100}
case "$pace" in live) pace_flag=--realtime ;; full) pace_flag= ;;
*) echo "bench/beside.sh: PACE is live or full, not '$pace'" >&2; exit 2 ;; esac
case "$clients" in server | away) ;;
*) echo "bench/beside.sh: CLIENTS is server or away, not '$clients'" >&2; exit 2 ;; esac
[[ "$chunk_ms" =~ ^[1-9][0-9]*$ ]] ||
    { echo "bench/beside.sh: CHUNK_MS is a number of milliseconds, not '$chunk_ms'" >&2; exit 2; }
work=build/beside
rm -rf "$work" && mkdir -p "$work/play"

conc=$work/conversation.raw
conversation_of $(librivox_files) > "$conc"
head -c 96000 "$conc" > "$work/warm.raw"
ffmpeg -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$conc" "$work/conversation.wav"
play_set "$conc" "$n" 1 96000 "$work/play"
audio_s=$(cat "$work"/play/play.*.raw | wc -c | awk '{ print $1 / 32000 }')
# Enough passes of the recording to outlast the streams (the fast
# profile decodes it in half the time).
passes=()
for _ in $(seq "$([ "$profile" = fast ] && echo 18 || echo 10)"); do
    passes+=("$work/conversation.wav")
done

trap kill_pids EXIT

echo "profile $profile, $n streams ($pace pace, $chunk_ms ms messages, clients on the $([ "$clients" = away ] && echo "recogniser" || echo "server")'s core), $rounds rounds"
printf '%-6s %-26s %-18s %-7s %-9s %s\n' round "server CPU s per audio s" "recogniser alone" ratio ceiling \
    "interim p95 / final max"
kept=0
rounds_json="" log_ratios=0
for r in $(seq "$rounds"); do
    sc=$((r % 2)) ec=$(((r + 1) % 2)) port=$((20000 + RANDOM % 20000))
    cc=$([ "$clients" = away ] && echo "$ec" || echo "$sc")
    cf=$([ "$clients" = away ] && echo "$work/engine.pids" || echo "$work/server.pids")
    : > "$work/server.pids"; : > "$work/engine.pids"
    taskset -c "$sc" "$bin" serve --port "$port" --db "$work/db.$r.sqlite" --log-level warn \
        --workers 1 --max-sessions 200 --max-lag-ms 0 --max-load 0 --profile "$profile" \
        2>>"$work/server.log" &
    server=$!
    pids=("$server")
    echo "$server" >> "$work/server.pids"
    until curl -sf "http://127.0.0.1:$port/api/health" -o /dev/null; do sleep 0.01; done
    warm_up "$bin" "$port" "$n" "$work/warm.raw" "$sc"
    ps=()
    c0=$(cpu_ticks "$server")
    for i in $(seq "$n"); do
        # shellcheck disable=SC2086 # pace_flag is one word or none
        taskset -c "$cc" "$bin" stream --url "ws://127.0.0.1:$port" $pace_flag \
            --timings --chunk-ms "$chunk_ms" --sample-rate 16000 "$work/play/play.$i.raw" \
            >"$work/timings.$r.$i" 2>"$work/stream.$i.err" &
        ps+=($!)
        echo "$!" >> "$cf"
        sleep 0.05
    done
    taskset -c "$ec" "$bin" bench engine --profile "$profile" "${passes[@]}" \
        > "$work/engine.json" &
    engine=$!
    echo "$engine" >> "$work/engine.pids"
    trade_cores "$work/server.pids" "$sc" "$work/engine.pids" "$ec" 2 &
    trader=$!
    pids+=("${ps[@]}" "$engine" "$trader")
    failed=0
    for i in $(seq "$n"); do
        wait "${ps[i - 1]}" || { failed=1; cat "$work/stream.$i.err" >&2; }
    done
    c1=$(cpu_ticks "$server")
    # The recogniser must have been busy all the while: its passes of the
    # recording outlast the streams unless the machine is very fast.
    outlasted=$(kill -0 "$engine" 2>/dev/null && echo true || echo false)
    wait "$engine"
    kill "$trader" "$server"; wait "$trader" "$server" 2>/dev/null || true
    pids=()
    [ "$failed" = 0 ] || { echo "bench/beside.sh: a stream failed (above)" >&2; exit 1; }
    srv=$(awk -v t="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v a="$audio_s" \
        'BEGIN { printf "%.4f", t / hz / a }')
    eng=$(json_field "$(cat "$work/engine.json")" rtf_cpu)
    ratio=$(awk -v s="$srv" -v e="$eng" 'BEGIN { printf "%.3f", s / e }')
    log_ratios=$(awk -v l="$log_ratios" -v q="$ratio" 'BEGIN { print l + log(q) }')
    ceiling=$(awk -v e="$eng" 'BEGIN { printf "%.1f", 1 / e }')
    lag_lines "$work"/timings."$r".* > "$work/lags.$r"
    ip95=$(percentiles i .95 < "$work/lags.$r") fmax=$(percentiles f 1 < "$work/lags.$r")
    ok=$(kept_up "$ip95" "$fmax")
    [ "$ok" = false ] || kept=$((kept + 1))
    printf '%-6s %-26s %-18s %-7s %-9s %s%s\n' "$r" "$srv" "$eng" "$ratio" "$ceiling" \
        "$ip95 / $fmax s $([ "$ok" = true ] && echo "kept up" || echo "did not keep up")" \
        "$([ "$outlasted" = true ] || echo ' (the recogniser finished first)')"
    rounds_json="$rounds_json${rounds_json:+, }{\"server_core\": $sc, \"server_cpu_per_audio_s\": $srv, \"engine_rtf_cpu\": $eng, \"ratio\": $ratio, \"engine_outlasted_streams\": $outlasted, \"ceiling_streams\": $ceiling, \"interim_lag_p95_s\": $ip95, \"final_lag_max_s\": $fmax, \"keeps_up\": $ok}"
done
mean=$(awk -v l="$log_ratios" -v r="$rounds" 'BEGIN { printf "%.3f", exp(l / r) }')
echo "server over the recogniser alone, geometric mean of the rounds: $mean"
echo "$n streams on one core kept up in $kept of $rounds rounds"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
result="bench/results/beside-$stamp-$(git rev-parse --short HEAD).json"
cat > "$result" <<JSON
{
  "date": "$stamp", "commit": "$(git rev-parse --short HEAD)", "cores": $(nproc),
  "profile": "$profile", "streams": $n, "pace": "$pace", "chunk_ms": $chunk_ms,
  "clients": "$clients",
  "rounds": [$rounds_json],
  "server_over_engine_geomean": $mean,
  "rounds_kept_up": $kept
}
JSON
echo "written to $result"
