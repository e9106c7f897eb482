#!/usr/bin/env bash
# Two builds of Verbatim under the same real-time load at the same moment,
# one core each, to tell which keeps its streams' results sooner.
#
#   bench/ab.sh A B             A and B: git revisions (each built under
#                               build/ab/) or paths of verbatim binaries
#   PROFILE=fast bench/ab.sh .. the recogniser profile (default accurate)
#   STREAMS=N                   streams per build (default 5 accurate,
#                               8 fast: about the knee of one core)
#   LAYOUT=instep               every stream plays the recording from its
#                               start, STAGGER (0.3) s apart (default: out
#                               of step, as bench/run.sh's main sweep)
#   ROUNDS=R                    rounds (default 6); the builds swap cores
#                               after each
#   SHARE_CORE=1                both builds on the same core, the core
#                               changing each round: to compare processor
#                               time (below)
#
# Why at the same moment: this virtual machine's speed moves by tens of
# percent within minutes, so builds run one after the other are compared
# as much with the minute they ran in as with each other.  Here each
# build's server (--workers 1, refusing nothing) and its streams are
# pinned to a core of their own with taskset, and both run at once, so
# both meet the same minute; swapping the cores each round evens out a
# core that is slower than the other.  One core each is a smaller machine
# than the one bench/run.sh measures: this compares builds, it does not
# replace run.sh's figures.  The cores' speeds differ by up to a third
# from minute to minute, so each round's processor time says more about
# the core than the build; with SHARE_CORE=1 both builds take turns on
# one core and meet the same speed (two builds that differed little came
# within 1.6 % of each other in every round, against up to 40 % apart on
# separate cores), though their latencies then include each other's work
# and each build's waits are filled by the other's decoding, so it cannot
# see what waiting costs a decoder (bench/visits.sh ... live): not for
# comparing how much audio a decoder gets per visit.
#
# Prints each round and, pooled over the rounds, the percentiles of the
# interims' lag and of the finals after the endpoint (as bench/run.sh
# measures them, bench/lib.sh), and in how many rounds B's p95 was the
# lower; writes the same as JSON to bench/results/ab-STAMP.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# = 2 ] || { sed -n '4,18p' "$0" >&2; exit 2; }
scripts/deps.sh test
[ "$(nproc)" -ge 2 ] || { echo "bench/ab.sh: needs two cores" >&2; exit 1; }
profile=${PROFILE:-accurate}
if [ "$profile" = fast ]; then n=${STREAMS:-8}; else n=${STREAMS:-5}; fi
layout=${LAYOUT:-spread}
case "$layout" in
spread) spread=1 stagger=0.05 ;;
instep) spread=0 stagger=${STAGGER:-0.3} ;;
*) echo "bench/ab.sh: LAYOUT is spread or instep, not '$layout'" >&2; exit 2 ;;
esac
rounds=${ROUNDS:-6}
share_core=${SHARE_CORE:-0}
work=build/ab
mkdir -p "$work" bench/results

# binary_of A: the path of A's verbatim, building a git revision first.
binary_of() {
    if [ -f "$1" ] && [ -x "$1" ]; then echo "$1"; return; fi
    local sha dir
    sha=$(git rev-parse --verify --short "$1^{commit}" 2>/dev/null) ||
        { echo "bench/ab.sh: '$1' is neither a binary nor a git revision" >&2; return 1; }
    dir=$work/$sha
    if [ ! -x "$dir/build/verbatim" ]; then
        rm -rf "$dir" && mkdir -p "$dir"
        git archive "$sha" | tar -x -C "$dir"
        make -C "$dir" --no-print-directory build/verbatim >/dev/null
    fi
    echo "$dir/build/verbatim"
}
bin_a=$(binary_of "$1")
bin_b=$(binary_of "$2")

# The recording bench/run.sh's concurrency sweep plays, and its warm-up.
conc=$work/conversation.raw
conversation_of $(librivox_files) > "$conc"
head -c 96000 "$conc" > "$work/warm.raw"
rm -rf "$work/play" && mkdir -p "$work/play"
play_set "$conc" "$n" "$spread" 96000 "$work/play"
audio_s=$(cat "$work"/play/play.*.raw | wc -c | awk '{ print $1 / 32000 }')

pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# load SIDE BIN CORE: one build's round: its server and N streams on CORE;
# leaves the streams' lag lines in $work/SIDE/lags and the server's CPU
# seconds per audio second in $work/SIDE/cpu.
load() {
    local side=$1 bin=$2 core=$3 dir=$work/$1 port=$((20000 + RANDOM % 20000)) i
    local ps=()
    rm -rf "$dir" && mkdir -p "$dir"
    taskset -c "$core" "$bin" serve --port "$port" --db "$dir/db.sqlite" --log-level warn \
        --max-sessions 200 --workers 1 --max-lag-ms 0 --max-load 0 \
        --profile "$profile" 2>>"$work/server.$side.log" &
    local server=$!
    until curl -sf "http://127.0.0.1:$port/api/health" -o /dev/null; do sleep 0.01; done
    for i in $(seq "$n"); do
        taskset -c "$core" "$bin" stream --url "ws://127.0.0.1:$port" --realtime \
            --sample-rate 16000 "$work/warm.raw" >/dev/null 2>&1 &
        ps+=($!)
    done
    wait "${ps[@]}" || true
    ps=()
    local c0; c0=$(cpu_ticks "$server")
    for i in $(seq "$n"); do
        taskset -c "$core" "$bin" stream --url "ws://127.0.0.1:$port" --realtime --timings \
            --chunk-ms 100 --sample-rate 16000 "$work/play/play.$i.raw" > "$dir/timings.$i" \
            2> "$dir/stream.$i.err" &
        ps+=($!)
        sleep "$stagger"
    done
    local failed=0
    for i in $(seq "$n"); do
        wait "${ps[i - 1]}" || { failed=1; cat "$dir/stream.$i.err" >&2; }
    done
    local c1; c1=$(cpu_ticks "$server")
    kill "$server"; wait "$server" || true
    [ "$failed" = 0 ] || { echo "bench/ab.sh: a stream of $bin failed (above)" >&2; return 1; }
    lag_lines "$dir"/timings.* > "$dir/lags"
    awk -v t="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v a="$audio_s" \
        'BEGIN { printf "%.3f\n", t / hz / a }' > "$dir/cpu"
}

# summary LAGS: "interim p50 p95 max final p50 p95 max" of a lag file.
summary() {
    echo "$(percentiles i .5 .95 1 < "$1") $(percentiles f .5 .95 1 < "$1")"
}
# lower B A: 1 if the figure B is lower than A, else 0.
lower() { awk -v b="$1" -v a="$2" 'BEGIN { print (b < a) ? 1 : 0 }'; }
json_of() { # SUMMARY CPU: a summary's figures as JSON
    local s; read -ra s <<<"$1"
    printf '{"interim_lag_p50_s": %s, "interim_lag_p95_s": %s, "interim_lag_max_s": %s, ' "${s[@]:0:3}"
    printf '"final_lag_p50_s": %s, "final_lag_p95_s": %s, "final_lag_max_s": %s%s}' "${s[@]:3:3}" \
        "${2:+, \"server_cpu_per_audio_s\": $2}"
}

echo "A $1 ($bin_a)"
echo "B $2 ($bin_b)"
echo "profile $profile, $n streams per build, layout $layout, $([ "$share_core" = 1 ] && echo "one core for both" || echo "one core each"), $rounds rounds"
printf '%-6s %-5s %-23s %-23s %s\n' round build "interim p50 / p95 / max" "final p50 / p95 / max" "CPU s per audio s"
: > "$work/pooled.a"; : > "$work/pooled.b"
rounds_json="" b_interim_lower=0 b_final_lower=0
for r in $(seq "$rounds"); do
    core_b=$(( r % 2 ))
    core_a=$(( share_core == 1 ? core_b : (r + 1) % 2 ))
    load a "$bin_a" "$core_a" & pids=($!)
    load b "$bin_b" "$core_b" & pids+=($!)
    wait "${pids[0]}" && wait "${pids[1]}"
    pids=()
    round_json="\"core_a\": $core_a"
    for side in a b; do
        sum=$(summary "$work/$side/lags") cpu=$(cat "$work/$side/cpu")
        read -ra s <<<"$sum"
        printf '%-6s %-5s %-23s %-23s %s\n' "$r" "$side" "${s[0]} / ${s[1]} / ${s[2]}" \
            "${s[3]} / ${s[4]} / ${s[5]}" "$cpu"
        cat "$work/$side/lags" >> "$work/pooled.$side"
        round_json="$round_json, \"$side\": $(json_of "$sum" "$cpu")"
        [ "$side" = a ] && a_interim=${s[1]} a_final=${s[4]}
    done
    b_interim_lower=$((b_interim_lower + $(lower "${s[1]}" "$a_interim")))
    b_final_lower=$((b_final_lower + $(lower "${s[4]}" "$a_final")))
    rounds_json="$rounds_json${rounds_json:+, }{$round_json}"
done

echo "pooled over $rounds rounds (interims, finals: A $(grep -c '^i' "$work/pooled.a"), $(grep -c '^f' "$work/pooled.a"); B $(grep -c '^i' "$work/pooled.b"), $(grep -c '^f' "$work/pooled.b"))"
printf '%-6s %-40s %s\n' build "interim p50 / p90 / p95 / p99 / max" "final p50 / p90 / p95 / p99 / max"
for side in a b; do
    read -ra i < <(percentiles i .5 .9 .95 .99 1 < "$work/pooled.$side")
    read -ra f < <(percentiles f .5 .9 .95 .99 1 < "$work/pooled.$side")
    printf '%-6s %-40s %s\n' "$side" "$(sed 's| | / |g' <<<"${i[*]}")" "$(sed 's| | / |g' <<<"${f[*]}")"
done
echo "B's p95 lower than A's: interims in $b_interim_lower of $rounds rounds, finals in $b_final_lower"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
result="bench/results/ab-$stamp.json"
cat > "$result" <<JSON
{
  "date": "$stamp", "cores": $(nproc), "profile": "$profile", "streams_per_build": $n,
  "layout": "$layout", "workers_per_build": 1, "share_core": $([ "$share_core" = 1 ] && echo true || echo false),
  "a": "$1", "b": "$2", "rounds": [$rounds_json],
  "pooled": {"a": $(json_of "$(summary "$work/pooled.a")" ""),
             "b": $(json_of "$(summary "$work/pooled.b")" "")},
  "b_interim_p95_lower_rounds": $b_interim_lower, "b_final_p95_lower_rounds": $b_final_lower
}
JSON
echo "written to $result"
