#!/usr/bin/env bash
# Verbatim's benchmark: accuracy, speed, server overhead, concurrency,
# latency, memory and start-up, on this machine, the same way every time.
# Prints a table and writes the figures as JSON to bench/results/.
# Loopback only; every load is bounded and stops by itself.
#
#   bench/run.sh                 everything (about 10 minutes on 2 cores)
#   PROFILE=fast bench/run.sh    the fast recogniser profile
#   STREAMS="1 4 8" bench/run.sh the stream counts of the main sweep, where
#                                each stream starts the recording at its
#                                own point, as independent speakers would,
#                                and plays on for up to RUN_ON (3) s more,
#                                so that they also stop at different times
#                                (after the first count that does not keep
#                                up, the counts between it and the last
#                                that did are halved down to one stream)
#   INSTEP_STREAMS="8 10"        ... and of the second, where every stream
#                                plays it from the start, STAGGER (0.3) s
#                                apart: all pause and end their utterances
#                                together, the worst case ("" skips it)
#   WARM=0 bench/run.sh          each step on a fresh server, decoders
#                                built while the streams wait (default 1:
#                                built first, as after earlier speakers)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
work=build/bench
mkdir -p "$work" bench/results
profile=${PROFILE:-accurate}
if [ "$profile" = fast ]; then
    streams=${STREAMS:-"1 8 12 14 16 18 20 24"}
    instep_streams=${INSTEP_STREAMS-"8 12 14 16"}
else
    streams=${STREAMS:-"1 4 8 10 11 12 13 14"}
    instep_streams=${INSTEP_STREAMS-"6 8 9 10"}
fi
instep_stagger=${STAGGER:-0.3}
run_on=${RUN_ON:-3}
run_on_bytes=$(awk -v s="$run_on" 'BEGIN { printf "%d", s * 32000 }')
warm=${WARM:-1}
endpoint=0.5
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
server=
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

now() { date +%s.%N; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
tick=$(getconf CLK_TCK)

# Refusal under overload, for the overload run: --max-lag-ms and --max-load.
over_lag=${OVERLOAD_LAG_MS:-500}
over_load=${OVERLOAD_LOAD:-90}
# server_alive: while waiting for the server, ends the benchmark with a
# message if the server has stopped (a bad model stops it after it answers).
server_alive() {
    kill -0 "$server" 2>/dev/null ||
        { echo "bench/run.sh: the server stopped (see $work/server.log)" >&2; exit 1; }
}
start_server() { # [refuse]: with refusal as above (default: none)
    rm -f "$work/db.sqlite"*
    local t0 lag=0 load=0; t0=$(now)
    [ "${1:-}" = refuse ] && lag=$over_lag load=$over_load
    "$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn \
        --max-sessions 200 --profile "$profile" --max-lag-ms "$lag" --max-load "$load" \
        2>>"$work/server.log" &
    server=$!
    until curl -sf "$url/api/health" -o /dev/null; do server_alive; sleep 0.01; done
    startup=$(calc "$(now) - $t0" 3)
    # The recogniser's model loads meanwhile (streams that begin before it
    # is ready wait for it).
    until curl -sf "$url/api/health" | grep -q '"recogniser":"ready"'; do server_alive; sleep 0.01; done
    ready=$(calc "$(now) - $t0" 3)
}
stop_server() { kill "$server"; wait "$server" || true; server=; }

# ---- data ----------------------------------------------------------------
bench/flite_set.sh "$work/flite" >/dev/null
# Pauses inside an utterance, shorter than the endpoint: sentences spoken
# as two halves (a phrase cut there loses context) and pairs of sentences
# (a cut there lets the final come sooner).
pause_gap_ms=50
bench/pause_set.sh "$work/pauses" "$pause_gap_ms"
grep '(half_' "$work/pauses/ref.trn" > "$work/halves.ref"
grep '(pair_' "$work/pauses/ref.trn" > "$work/pairs.ref"
halves_files=$(ls "$work"/pauses/half_*.wav)
pairs_files=$(ls "$work"/pauses/pair_*.wav)
halves_n=$(wc -w <<<"$halves_files")
pairs_n=$(wc -w <<<"$pairs_files")
sed 's/<s> //; s/ <\/s>//' "$librivox/transcription" > "$work/libri.ref"
libri_files=$(librivox_files)
flite_files=$(ls "$work"/flite/*.wav)
audio_of() { # total seconds of 16-bit 16 kHz mono WAV files
    local bytes=0; for f in "$@"; do bytes=$((bytes + $(stat -c %s "$f") - 44)); done
    calc "$bytes / 32000" 3
}
libri_audio=$(audio_of $libri_files)
flite_audio=$(audio_of $flite_files)

# ---- engine alone, accuracy and server overhead --------------------------
# The recogniser alone over both sets (150 s of audio), and the same files
# through the server at full speed, alternated: engine, server, engine,
# server, engine.  Each server pass is set against the two engine runs
# around it, since this virtual machine's speed drifts by tens of percent
# within minutes (one pair of runs minutes apart has shown an overhead of
# -11 % from that alone).
engine_rtf_once() {
    json_field "$("$bin" bench engine --profile "$profile" $libri_files $flite_files)" rtf_cpu
}
wer_through_server() { # NAME REF FILES...
    local name=$1 ref=$2; shift 2
    : > "$work/$name.hyp"
    for f in "$@"; do
        local id; id=$(basename "$f" .wav)
        local hyp; hyp=$("$bin" stream --url "ws://127.0.0.1:$port" --title "$id" \
            --chunk-ms 100 --no-punctuate "$f" | sed 's/^\[[^]]*\] //' | tr '\n' ' ')
        echo "${hyp}($id)" >> "$work/$name.hyp"
    done
    sctk sclite -r "$ref" trn -h "$work/$name.hyp" trn -i wsj -o sum stdout |
        awk '/Sum\/Avg/ { print $(NF-2) }'
}
server_rtf_once() { # sets wer_libri, wer_flite and rtf
    local c0; c0=$(cpu_ticks "$server")
    wer_libri=$(wer_through_server libri "$work/libri.ref" $libri_files)
    wer_flite=$(wer_through_server flite "$work/flite/ref.trn" $flite_files)
    rtf=$(calc "($(cpu_ticks "$server") - $c0) / $tick / ($libri_audio + $flite_audio)")
}
e1=$(engine_rtf_once)
start_server
server_rtf_once; s1=$rtf
first_libri=$wer_libri first_flite=$wer_flite
e2=$(engine_rtf_once)
server_rtf_once; s2=$rtf
# The word error rates are the first pass's, on a fresh server.  The
# second, on decoders that have heard the first, should give the same
# words: a stream's words do not depend on what other streams said
# (bench/NOTES.md); both are printed, as a check.
second_libri=$wer_libri second_flite=$wer_flite
wer_libri=$first_libri wer_flite=$first_flite
e3=$(engine_rtf_once)
engine_rtf=$(calc "($e1 + $e2 + $e3) / 3")
server_rtf=$(calc "($s1 + $s2) / 2")
overhead=$(calc "($s1 / ($e1 + $e2) + $s2 / ($e2 + $e3) - 1) * 100" 1)
idle_rss=$(rss_kb "$server")
wer_halves=$(wer_through_server halves "$work/halves.ref" $halves_files)
wer_pairs=$(wer_through_server pairs "$work/pairs.ref" $pairs_files)
stop_server

# ---- concurrency: N streams at real-time pace ---------------------------
# One 30 s recording: the LibriVox files with 1 s of silence between them.
conc="$work/conversation.raw"
if [ ! -f "$conc" ]; then
    conversation_of $libri_files > "$conc"
fi
conc_audio=$(calc "$(stat -c %s "$conc") / 32000" 3)
# WARM=1: its first 3 s, played at real-time pace by N streams at once
# before the N measured ones, so that these find decoders built (one for
# each warm-up stream that was in an utterance at the same moment).
head -c 96000 "$conc" > "$work/warm.raw"
# The ceiling the knee is measured against: the recogniser alone on this
# recording (harder than the flite set), and how many cores' worth of it
# the machine has.
cores=$(nproc)
# conc_engine_rtf [OPTION...]: the recogniser alone on it, `bench engine`'s
# options added.
conc_engine_rtf() {
    json_field "$("$bin" bench engine "$@" --profile "$profile" "$conc" 2>/dev/null)" rtf_cpu
}
conc_rtf=$(conc_engine_rtf)
# The same with every core busy (engine_rtf_each_core in bench/lib.sh):
# the server at its knee keeps both cores busy.
conc_engine_rtf_busy() { engine_rtf_each_core "$work" --profile "$profile" "$conc"; }
conc_rtf_busy=$(conc_engine_rtf_busy)
# And at a live stream's pace: the recording handed to the recogniser
# 100 ms at a time as it would be recorded, waiting between pieces as a
# server's worker does (`bench engine --realtime`).  The server under
# real-time load has used up to 20 % more processor time per audio
# second than the recogniser back to back (bench/NOTES.md); this
# tells how much of that the pace alone costs, with no server at all.
conc_rtf_live=$(conc_engine_rtf --realtime)
# ceiling_of RTF_BEFORE RTF_AFTER: the streams the cores hold at the mean
# of the two figures.
ceiling_of() { calc "2 * $cores / ($1 + $2)" 1; }
row='%-8s %-13s %-22s %-16s %-26s %-8s %-32s %s\n' # a row of the sweep's table
printf "\n$row" streams "interim lag" "final after endpoint" \
    "after last word" "first interim after start" "RSS MiB" "server CPU" "ceiling"
printf "$row" "" "p95 / max" "p50 / p95 / max" "p50 / p95" \
    "p50 / p95 / max" "" "cores / s per audio s (workers)" "around the step"
# run_load N STAGGER REFUSE [SPREAD]: N real-time streams started STAGGER
# s apart against a server refusing under overload if REFUSE=1; with SPREAD=1,
# stream i of N plays the recording from (i - 1) / N of its length,
# wrapping round to its start (cut at a 100 ms boundary), and on for
# (i - 1) / N of RUN_ON s more, so that the streams speak, pause and end
# utterances at different moments, as independent speakers do, and also
# hang up at different moments, all N of them live for the recording's
# length.  Sets ip95 imax (interim lag), fp50 fp95 fmax (final after the
# endpoint), sp50 sp95 (final after the last word), first fw95 fwmax
# (first interim after speech starts: p50, p95, max), peak and admitted,
# and the server's processor time: cores_busy (busy cores on average over
# the load), cpu_per_audio (CPU seconds per second of admitted audio,
# decoder builds included), workers_per_audio (the same, its worker
# threads' alone) and builds_s (CPU seconds spent building decoders).
run_load() {
    local n=$1 stagger=$2 refuse=$3 spread=${4:-0}
    play_set "$conc" "$n" "$spread" "$run_on_bytes" "$work"
    start_server "$([ "$refuse" = 1 ] && echo refuse)"
    if [ "$warm" = 1 ] && [ "$refuse" = 0 ]; then
        warm_up "$bin" "$port" "$n" "$work/warm.raw"
    fi
    local c_start t_start; c_start=$(cpu_ticks "$server"); t_start=$(now)
    thread_ticks "$server" > "$work/threads.0"
    live_streams "$port" "$n" "$stagger" "$work/play.%d.raw" "$work"
    pids=("${stream_pids[@]}")
    peak=0
    while kill -0 "${pids[0]}" 2>/dev/null; do
        r=$(rss_kb "$server"); [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.5
    done
    wait "${pids[@]}" || true
    pids=()
    local used; used=$(calc "($(cpu_ticks "$server") - $c_start) / $tick" 2)
    cores_busy=$(calc "$used / ($(now) - $t_start)" 2)
    thread_ticks "$server" > "$work/threads.1"
    stop_server
    admitted=0
    local audio_bytes=0
    for i in $(seq "$n"); do
        grep -q "code 1013" "$work/stream.$i.err" && continue
        admitted=$((admitted + 1))
        audio_bytes=$((audio_bytes + $(stat -c %s "$work/play.$i.raw")))
    done
    local audio_s; audio_s=$(calc "$audio_bytes / 32000 + 0.000001" 6)
    cpu_per_audio=$(calc "$used / $audio_s" 3)
    # The workers' share (the sessions: detector, recogniser, results), to
    # set beside the recogniser alone; and the decoders built meanwhile.
    workers_per_audio=$(calc "$(ticks_of vb-worker "$work"/threads.[01]) / $tick / $audio_s" 3)
    builds_s=$(calc "$(ticks_of vb-decoders "$work"/threads.[01]) / $tick" 2)
    # Lags (lag_lines in bench/lib.sh): interims, finals after the
    # endpoint and after the last word, first interims after the start.
    lag_lines "$work"/timings.* > "$work/lags"
    read -r ip95 imax < <(percentiles i .95 1 < "$work/lags")
    read -r fp50 fp95 fmax < <(percentiles f .5 .95 1 < "$work/lags")
    read -r first fw95 fwmax < <(percentiles w .5 .95 1 < "$work/lags")
    read -r sp50 sp95 < <(percentiles s .5 .95 < "$work/lags")
    rm -f "$work"/timings.* "$work"/stream.*.err "$work"/play.*.raw "$work/lags" "$work"/threads.[01]
}

# sweep "STREAMS..." STAGGER SPREAD: a step per stream count, up to the
# first that does not keep up, then halving the gap between that count
# and the last that kept up until they are one apart, so that the knee
# is found to one stream whatever this machine's speed that hour; prints
# a row per step and sets knee (the largest count that kept up),
# knee_ceiling (the ceiling around that step) and sweep_json.  After
# each step the recogniser alone runs on the recording again (step_rtf,
# the figure before the first step being conc_rtf): this machine's speed
# moves within minutes, so each step is set against a ceiling of its
# own moment, cores ÷ the mean of the recogniser's figures just before
# and just after it.
step_rtf=
sweep() {
    local n over=0
    knee=0 knee_ceiling=null sweep_json=""
    for n in $1; do
        sweep_step "$n" "$2" "$3"
        [ "$ok" = true ] || { over=$n; break; }
    done
    while [ "$over" -gt $((knee + 1)) ]; do
        n=$(((knee + over) / 2))
        sweep_step "$n" "$2" "$3"
        [ "$ok" = true ] || over=$n
    done
}
# sweep_step N STAGGER SPREAD: one step of the sweep; sets ok, and knee
# and knee_ceiling if it kept up and is the largest yet that did.
sweep_step() {
    local n=$1 before step_ceiling
    run_load "$n" "$2" 0 "$3"
    before=$step_rtf step_rtf=$(conc_engine_rtf)
    step_ceiling=$(ceiling_of "$before" "$step_rtf")
    printf "$row" "$n" "$ip95 / $imax" "$fp50 / $fp95 / $fmax" \
        "$sp50 / $sp95" "$first / $fw95 / $fwmax" "$((peak / 1024))" \
        "$cores_busy / $cpu_per_audio ($workers_per_audio)" "$step_ceiling"
    ok=$(kept_up "$ip95" "$fmax")
    sweep_json="$sweep_json${sweep_json:+, }{\"streams\": $n, \"engine_rtf_cpu_after_step\": $step_rtf, \"ceiling_streams_around_step\": $step_ceiling, \"interim_lag_p95_s\": $ip95, \"interim_lag_max_s\": $imax, \"final_lag_p50_s\": $fp50, \"final_lag_p95_s\": $fp95, \"final_lag_max_s\": $fmax, \"final_after_last_word_p50_s\": $sp50, \"final_after_last_word_p95_s\": $sp95, \"first_interim_p50_s\": $first, \"first_interim_p95_s\": $fw95, \"first_interim_max_s\": $fwmax, \"peak_rss_mib\": $((peak / 1024)), \"server_cores_busy\": $cores_busy, \"server_cpu_per_audio_s\": $cpu_per_audio, \"server_workers_cpu_per_audio_s\": $workers_per_audio, \"decoder_builds_cpu_s\": $builds_s, \"keeps_up\": $ok}"
    if [ "$ok" = true ] && [ "$n" -gt "$knee" ]; then
        knee=$n knee_ceiling=$step_ceiling
    fi
}
echo "out of step: each stream from its own point of the recording"
step_rtf=$conc_rtf
sweep "$streams" 0 1
spread_knee=$knee spread_json=$sweep_json spread_knee_ceiling=$knee_ceiling
instep_knee=null instep_json=""
if [ -n "$instep_streams" ]; then
    echo "in step: every stream from the start, $instep_stagger s apart"
    sweep "$instep_streams" "$instep_stagger" 0
    instep_knee=$knee instep_json=$sweep_json
fi
knee=$spread_knee knee_ceiling=$spread_knee_ceiling
knee_of_ceiling=null knee_note="no step kept up"
if [ "$knee_ceiling" != null ]; then
    knee_of_ceiling=$(calc "100 * $knee / $knee_ceiling" 0)
    knee_note="at most $knee_ceiling (the knee $knee_of_ceiling % of it)"
fi

# The same measures after the sweep: this virtual machine's speed can move
# by tens of percent within a run, and then knee and ceiling disagree.
# The recogniser alone has just run after the sweep's last step.
conc_rtf_after=$step_rtf
conc_rtf_busy_after=$(conc_engine_rtf_busy)
conc_rtf_live_after=$(conc_engine_rtf --realtime)
ceiling=$(ceiling_of "$conc_rtf" "$conc_rtf_after")
ceiling_busy=$(ceiling_of "$conc_rtf_busy" "$conc_rtf_busy_after")
ceiling_live=$(ceiling_of "$conc_rtf_live" "$conc_rtf_live_after")
drift=$(calc "($conc_rtf_after - $conc_rtf) * 100 / $conc_rtf" 0)
drift_note=""
if awk -v d="$drift" 'BEGIN { exit !(d > 15 || d < -15) }'; then
    drift_note="             the machine's speed moved by $drift % during the sweep: compare with care"
fi

# ---- overload: twice the knee, out of step, arriving 1 s apart, refusal on
over_n=${OVERLOAD_STREAMS:-$(( knee > 0 ? 2 * knee : 4 ))}
run_load "$over_n" 1 1 1
over_ok=$(kept_up "$ip95" "$fmax")
printf '\noverload: %d streams offered 1 s apart, --max-lag-ms %d --max-load %d: %d admitted, ' \
    "$over_n" "$over_lag" "$over_load" "$admitted"
printf 'interim p95 %s s, final p95 %s s, final max %s s\n' "$ip95" "$fp95" "$fmax"
overload_json="{\"offered\": $over_n, \"admitted\": $admitted, \"max_lag_ms\": $over_lag, \"max_load_pct\": $over_load, \"interim_lag_p95_s\": $ip95, \"final_lag_p95_s\": $fp95, \"final_lag_max_s\": $fmax, \"admitted_keep_up\": $over_ok}"

# ---- memory per stream ---------------------------------------------------
mem=$(bash bench/stream_memory.sh 8 | tr '\n' ' ')
silent_kib=$(sed -n 's/.*silent streams: *[0-9]* MiB *(\([0-9]*\) KiB per stream).*/\1/p' <<<"$mem")
speaking_mib=$(sed -n 's/.*at once: *[0-9]* MiB *(\([0-9]*\) MiB per speaking stream).*/\1/p' <<<"$mem")
released_mib=$(sed -n 's/.*--release-decoders-after 3): *\([0-9]*\) MiB.*/\1/p' <<<"$mem")

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
result="bench/results/$stamp-$commit.json"
cat > "$result" <<JSON
{
  "commit": "$commit", "date": "$stamp", "cores": $cores, "profile": "$profile",
  "accuracy": {"librivox_wer_pct": $wer_libri, "librivox_audio_s": $libri_audio,
               "flite_wer_pct": $wer_flite, "flite_sentences": 52, "flite_audio_s": $flite_audio,
               "second_pass_librivox_wer_pct": $second_libri, "second_pass_flite_wer_pct": $second_flite,
               "pauses_added_ms": $pause_gap_ms, "pause_halves_wer_pct": $wer_halves,
               "pause_halves": $halves_n, "pause_pairs_wer_pct": $wer_pairs,
               "pause_pairs": $pairs_n},
  "speed": {"audio_s": $(calc "$libri_audio + $flite_audio" 3),
            "engine_rtf_cpu": $engine_rtf, "server_rtf_cpu": $server_rtf,
            "engine_rtf_cpu_runs": [$e1, $e2, $e3], "server_rtf_cpu_runs": [$s1, $s2],
            "server_overhead_pct": $overhead},
  "concurrency": {"audio_s": $conc_audio, "endpoint_s": $endpoint, "in_step_stagger_s": $instep_stagger,
                  "warm": $([ "$warm" = 1 ] && echo true || echo false),
                  "engine_rtf_cpu": $conc_rtf, "engine_rtf_cpu_after": $conc_rtf_after,
                  "ceiling_streams": $ceiling,
                  "engine_all_cores_rtf_cpu": $conc_rtf_busy, "engine_all_cores_rtf_cpu_after": $conc_rtf_busy_after,
                  "ceiling_all_cores_busy_streams": $ceiling_busy,
                  "engine_live_pace_rtf_cpu": $conc_rtf_live, "engine_live_pace_rtf_cpu_after": $conc_rtf_live_after,
                  "ceiling_live_pace_streams": $ceiling_live,
                  "knee_streams": $knee, "knee_ceiling_streams_around_step": $knee_ceiling,
                  "knee_pct_of_ceiling_around_step": $knee_of_ceiling, "sweep": [$spread_json],
                  "in_step_knee_streams": $instep_knee, "in_step_sweep": [$instep_json],
                  "overload": $overload_json},
  "memory": {"idle_rss_mib": $((idle_rss / 1024)), "per_silent_stream_kib": ${silent_kib:-null},
             "per_speaking_stream_mib": ${speaking_mib:-null},
             "after_release_rss_mib": ${released_mib:-null}},
  "startup_s": $startup, "recogniser_ready_s": $ready
}
JSON
cat <<TABLE

Verbatim benchmark, commit $commit, $cores cores, profile $profile
  accuracy   LibriVox (pocketsphinx-testdata, ${libri_audio} s)   WER $wer_libri % (again, decoders used: $second_libri %)
             flite set (52 sentences, 4 voices, ${flite_audio} s)  WER $wer_flite % (again: $second_flite %)
             pause set, a pause inside the utterance ($pause_gap_ms ms added to flite's own):
               $halves_n sentences spoken in two halves   WER $wer_halves %
               $pairs_n pairs of sentences              WER $wer_pairs %
  speed      both sets: recogniser alone, one thread   RTF $engine_rtf (CPU s per audio s; runs $e1 $e2 $e3)
             full server path (WS in, stored)           RTF $server_rtf (runs $s1 $s2, between them)
             server overhead, each server run against the engine runs around it: $overhead %
  streams    largest real-time load that keeps up (interim p95 < 1 s, finals < 1 s): $knee
             out of step$([ "$warm" = 1 ] && echo ", decoders built first"); $instep_knee in step ($instep_stagger s apart); the recogniser alone on that
             recording: RTF $conc_rtf before the sweep, $conc_rtf_after after, so $cores cores
             hold at most $ceiling such streams; with a copy on every core at once
             RTF $conc_rtf_busy before, $conc_rtf_busy_after after: at most $ceiling_busy;
             at a live stream's pace (100 ms pieces as recorded, one core)
             RTF $conc_rtf_live before, $conc_rtf_live_after after: at most $ceiling_live;
             measured around the knee's own step: $knee_note
${drift_note:+$drift_note
}  overload   $over_n offered, $admitted admitted (--max-lag-ms $over_lag --max-load $over_load); admitted keep up: $over_ok
  memory     idle ${idle_rss:+$((idle_rss / 1024))} MiB; +${silent_kib:-?} KiB per silent stream; +${speaking_mib:-?} MiB per speaking stream;
             ${released_mib:-?} MiB once they left and their decoders were released
  start-up   ${startup} s to the first answered request, ${ready} s until the recogniser is ready
written to $result
TABLE
