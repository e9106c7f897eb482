#!/usr/bin/env bash
# A freshly started server, with its default settings (admission on),
# receives streams at a share of the ceiling, STAGGER apart, each playing
# the concurrency recording (the LibriVox files with 1 s of silence after
# each, about 30 s) from its start at a live pace, so that their first
# utterances begin one after the other as people joining a meeting.
# Reports how many were admitted, the first interim after each utterance's
# start (p50, p95, max; the first utterance of each stream apart), the
# finals after their endpoint, and the processor time spent building
# decoders; the ceiling (cores ÷ the recogniser's CPU s per audio s, a copy
# on each core) is measured just before and just after each round.
#
#   bench/cold_start.sh             fast profile, 60 % of the ceiling, 2 rounds
#   PROFILE=accurate SHARE=0.6 STAGGER=0.15 ROUNDS=2 bench/cold_start.sh
#   SERVER_FLAGS="--spare-decoders 4"   flags added to the server's
#   WAIT_DECODERS=4     the streams come once 4 decoders are built
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
profile=${PROFILE:-fast}
share=${SHARE:-0.6}
stagger=${STAGGER:-0.15}
rounds=${ROUNDS:-2}
work=build/bench-cold
mkdir -p "$work" bench/results
cores=$(nproc)
port=$((20000 + BASHPID % 20000))
url="http://127.0.0.1:$port"
server=
trap kill_pids EXIT

conc="$work/conversation.raw"
[ -f "$conc" ] || conversation_of $(librivox_files) > "$conc"
engine_busy() { engine_rtf_each_core "$work" --profile "$profile" "$conc"; }

rows=""
for round in $(seq "$rounds"); do
    before=$(engine_busy)
    ceiling=$(calc "$cores / $before" 1)
    n=$(calc "$share * $ceiling + 0.5" 0)
    rm -f "$work/db.sqlite"*
    # shellcheck disable=SC2086
    "$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn \
        --profile "$profile" ${SERVER_FLAGS:-} 2>"$work/server.log" &
    server=$!
    pids=("$server")
    until curl -sf "$url/api/health" | grep -q '"recogniser":"ready"'; do
        kill -0 "$server" || { echo "the server stopped: $work/server.log" >&2; exit 1; }
        sleep 0.05
    done
    # WAIT_DECODERS=N: the streams come once N decoders are built.
    until [ "$(curl -sf "$url/api/health" | sed -n 's/.*"decoders":\([0-9]*\).*/\1/p')" -ge "${WAIT_DECODERS:-0}" ]; do
        sleep 0.05
    done
    thread_ticks "$server" > "$work/threads.0"
    live_streams "$port" "$n" "$stagger" "$conc" "$work"
    wait "${stream_pids[@]}" || true
    thread_ticks "$server" > "$work/threads.1"
    builds=$(calc "$(ticks_of vb-decoders "$work"/threads.[01]) / $(getconf CLK_TCK)" 2)
    kill "$server"; wait "$server" || true; pids=()
    after=$(engine_busy)
    admitted=0
    for i in $(seq "$n"); do
        grep -q "code 1013" "$work/stream.$i.err" || admitted=$((admitted + 1))
    done
    refusal=$(grep -h -o "overloaded[^;]*\|at its capacity[^;]*" "$work"/stream.*.err | head -1 || true)
    lag_lines "$work"/timings.* > "$work/lags"
    # The first utterance of each stream: its first "w" line.
    for i in $(seq "$n"); do lag_lines "$work/timings.$i" | awk '$1 == "w" { print; exit }'; done > "$work/first"
    read -r w50 w95 wmax < <(percentiles w .5 .95 1 < "$work/first")
    read -r a50 a95 amax < <(percentiles w .5 .95 1 < "$work/lags")
    read -r f50 f95 fmax < <(percentiles f .5 .95 1 < "$work/lags")
    read -r i95 < <(percentiles i .95 < "$work/lags")
    ceiling_mean=$(calc "2 * $cores / ($before + $after)" 1)
    printf 'round %d: ceiling %s streams (RTF %s, %s), %d offered (%s of it), %d admitted%s\n' \
        "$round" "$ceiling_mean" "$before" "$after" "$n" "$share" "$admitted" \
        "${refusal:+ (refused: $refusal)}"
    printf '  first interim of the first utterance p50 %s p95 %s max %s s; of every utterance p95 %s s\n' \
        "$w50" "$w95" "$wmax" "$a95"
    printf '  finals after the endpoint p50 %s p95 %s max %s s; interim lag p95 %s s; decoder builds %s CPU s\n' \
        "$f50" "$f95" "$fmax" "$i95" "$builds"
    rows="$rows${rows:+, }{\"round\": $round, \"engine_rtf_cpu_before\": $before, \"engine_rtf_cpu_after\": $after, \"ceiling_streams\": $ceiling_mean, \"offered\": $n, \"admitted\": $admitted, \"first_utterance_first_interim_p50_s\": $w50, \"first_utterance_first_interim_p95_s\": $w95, \"first_utterance_first_interim_max_s\": $wmax, \"first_interim_p95_s\": $a95, \"final_lag_p50_s\": $f50, \"final_lag_p95_s\": $f95, \"final_lag_max_s\": $fmax, \"interim_lag_p95_s\": $i95, \"decoder_builds_cpu_s\": $builds}"
    rm -f "$work"/timings.* "$work"/stream.*.err "$work/lags" "$work/first" "$work"/threads.[01]
done
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD)-cold_start.json"
printf '{"server": "%s", "profile": "%s", "share": %s, "stagger_s": %s, "server_flags": "%s", "wait_decoders": %s, "rounds": [%s]}\n' \
    "$bin" "$profile" "$share" "$stagger" "${SERVER_FLAGS:-}" "${WAIT_DECODERS:-0}" "$rows" > "$out"
echo "written: $out"
