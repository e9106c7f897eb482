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
#   SWAP_S=S                    ... and trade cores every S seconds within
#                               a round (default 2; 0: not), so that each
#                               meets both cores' speeds (below)
#   SHARE_CORE=1                both builds on the same core, the core
#                               changing each round (below)
#   WHOLE=1                     each build on the whole machine (every
#                               core, the default workers), one after the
#                               other, A first in odd rounds and B in even
#                               ones (default STREAMS 10 accurate, 16 fast:
#                               about bench/run.sh's knees)
#
# Why at the same moment: this virtual machine's speed moves by tens of
# percent within minutes, so builds run one after the other are compared
# as much with the minute they ran in as with each other.  Here each
# build's server (--workers 1, refusing nothing) and its streams are
# pinned to a core of their own with taskset, and both run at once, so
# both meet the same minute.  The cores' speeds differ by up to a third
# from minute to minute, so a round in which each build kept its core
# said more about the core than the build (up to 40 % apart); so the
# builds trade cores every SWAP_S seconds (every process and thread,
# with taskset -p), and meet both: the same build against itself then
# came within 2.4 % in every round (four rounds, +1.4, -1.6, +2.4,
# -1.0 %).  One core each is a smaller machine than the one bench/run.sh
# measures: this compares builds, it does not replace run.sh's figures.
# SHARE_CORE=1 puts both builds on one core, taking turns: their
# latencies then include each other's work, and each build's waits are
# filled by the other's decoding, so it cannot see what waiting costs a
# decoder (bench/visits.sh ... live).  WHOLE=1 measures what
# bench/run.sh does, at one load, as the machine runs it; its rounds
# meet different minutes (the CPU ratios of one run's rounds went from
# 0.90 to 1.19), so it needs many more of them.
#
# Prints each round and, pooled over the rounds, the percentiles of the
# interims' lag and of the finals after the endpoint (as bench/run.sh
# measures them, bench/lib.sh), in how many rounds B's p95 was the
# lower, and the geometric mean of the rounds' ratios of B's processor
# time per audio second to A's; writes the same as JSON to
# bench/results/ab-STAMP.json.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ $# = 2 ] || { sed -n '4,24p' "$0" >&2; exit 2; }
scripts/deps.sh test
[ "$(nproc)" -ge 2 ] || { echo "bench/ab.sh: needs two cores" >&2; exit 1; }
profile=${PROFILE:-accurate}
whole=${WHOLE:-0}
if [ "$whole" = 1 ]; then
    if [ "$profile" = fast ]; then n=${STREAMS:-16}; else n=${STREAMS:-10}; fi
elif [ "$profile" = fast ]; then n=${STREAMS:-8}; else n=${STREAMS:-5}; fi
layout=${LAYOUT:-spread}
case "$layout" in
spread) spread=1 stagger=0.05 ;;
instep) spread=0 stagger=${STAGGER:-0.3} ;;
*) echo "bench/ab.sh: LAYOUT is spread or instep, not '$layout'" >&2; exit 2 ;;
esac
rounds=${ROUNDS:-6}
share_core=${SHARE_CORE:-0}
swap_s=${SWAP_S:-2}
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

trap kill_pids EXIT

# load SIDE BIN CORES: one build's round: its server and N streams on
# CORES (a taskset list; one worker per core); leaves the streams' lag
# lines in $work/SIDE/lags and the server's CPU seconds per audio second
# in $work/SIDE/cpu.
load() {
    local side=$1 bin=$2 core=$3 dir=$work/$1 port=$((20000 + RANDOM % 20000)) i
    local ps=() workers=(--workers 1)
    [ "$whole" = 1 ] && workers=()
    rm -rf "$dir" && mkdir -p "$dir"
    taskset -c "$core" "$bin" serve --port "$port" --db "$dir/db.sqlite" --log-level warn \
        --max-sessions 200 "${workers[@]}" --max-lag-ms 0 --max-load 0 \
        --profile "$profile" 2>>"$work/server.$side.log" &
    local server=$!
    echo "$server" >> "$dir/pids"
    until curl -sf "http://127.0.0.1:$port/api/health" -o /dev/null; do sleep 0.01; done
    warm_up "$bin" "$port" "$n" "$work/warm.raw" "$core"
    local c0; c0=$(cpu_ticks "$server")
    for i in $(seq "$n"); do
        taskset -c "$core" "$bin" stream --url "ws://127.0.0.1:$port" --realtime --timings \
            --chunk-ms 100 --sample-rate 16000 "$work/play/play.$i.raw" > "$dir/timings.$i" \
            2> "$dir/stream.$i.err" &
        ps+=($!)
        echo "$!" >> "$dir/pids"
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
if [ "$whole" = 1 ]; then where="the whole machine each, in turn"
elif [ "$share_core" = 1 ]; then where="one core for both"
elif [ "$swap_s" != 0 ]; then where="one core each, trading every $swap_s s"
else where="one core each"; fi
echo "profile $profile, $n streams per build, layout $layout, $where, $rounds rounds"
printf '%-6s %-5s %-23s %-23s %s\n' round build "interim p50 / p95 / max" "final p50 / p95 / max" "CPU s per audio s"
: > "$work/pooled.a"; : > "$work/pooled.b"
rounds_json="" b_interim_lower=0 b_final_lower=0 log_ratios=0
for r in $(seq "$rounds"); do
    if [ "$whole" = 1 ]; then
        all=0-$(( $(nproc) - 1 ))
        if (( r % 2 )); then first=a; load a "$bin_a" "$all"; load b "$bin_b" "$all"
        else first=b; load b "$bin_b" "$all"; load a "$bin_a" "$all"; fi
        round_json="\"first\": \"$first\""
    else
        core_b=$(( r % 2 ))
        core_a=$(( share_core == 1 ? core_b : (r + 1) % 2 ))
        load a "$bin_a" "$core_a" & pids=($!)
        load b "$bin_b" "$core_b" & pids+=($!)
        if [ "$swap_s" != 0 ] && [ "$share_core" != 1 ]; then
            trade_cores "$work/a/pids" "$core_a" "$work/b/pids" "$core_b" "$swap_s" &
            pids+=($!)
        fi
        wait "${pids[0]}" && wait "${pids[1]}"
        [ -n "${pids[2]:-}" ] && { kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true; }
        pids=()
        round_json="\"core_a\": $core_a"
    fi
    for side in a b; do
        sum=$(summary "$work/$side/lags") cpu=$(cat "$work/$side/cpu")
        read -ra s <<<"$sum"
        printf '%-6s %-5s %-23s %-23s %s\n' "$r" "$side" "${s[0]} / ${s[1]} / ${s[2]}" \
            "${s[3]} / ${s[4]} / ${s[5]}" "$cpu"
        cat "$work/$side/lags" >> "$work/pooled.$side"
        round_json="$round_json, \"$side\": $(json_of "$sum" "$cpu")"
        [ "$side" = a ] && a_interim=${s[1]} a_final=${s[4]}
    done
    log_ratios=$(awk -v l="$log_ratios" -v a="$(cat "$work/a/cpu")" -v b="$(cat "$work/b/cpu")" \
        'BEGIN { print l + log(b / a) }')
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
cpu_ratio=$(awk -v l="$log_ratios" -v r="$rounds" 'BEGIN { printf "%.3f", exp(l / r) }')
echo "B's CPU s per audio s over A's, geometric mean of the rounds' ratios: $cpu_ratio"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
result="bench/results/ab-$stamp.json"
cat > "$result" <<JSON
{
  "date": "$stamp", "cores": $(nproc), "profile": "$profile", "streams_per_build": $n,
  "layout": "$layout", "workers_per_build": $([ "$whole" = 1 ] && echo '"default"' || echo 1),
  "share_core": $([ "$share_core" = 1 ] && echo true || echo false), "swap_s": $swap_s, "whole": $([ "$whole" = 1 ] && echo true || echo false),
  "a": "$1", "b": "$2", "a_binary": "$bin_a", "b_binary": "$bin_b", "rounds": [$rounds_json],
  "pooled": {"a": $(json_of "$(summary "$work/pooled.a")" ""),
             "b": $(json_of "$(summary "$work/pooled.b")" "")},
  "b_interim_p95_lower_rounds": $b_interim_lower, "b_final_p95_lower_rounds": $b_final_lower,
  "b_over_a_cpu_geomean": $cpu_ratio
}
JSON
echo "written to $result"
