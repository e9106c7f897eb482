# Shell functions the benchmark scripts share (sourced, not run).

# calc EXPR [DECIMALS]: EXPR worked out by awk, DECIMALS (4) places.
calc() { awk "BEGIN { printf \"%.${2:-4}f\", $1 }"; }

# json_field JSON NAME: the number NAME holds in JSON (one line of
# `verbatim bench engine`'s output, say).
json_field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" <<<"$1"; }

# build_verbatim [DEPS]: installs the Debian packages the benchmarks need
# (scripts/deps.sh DEPS, "test" unless given), builds the release server
# and sets bin to it.  VERBATIM_BIN=PATH sets bin to PATH instead and
# builds nothing: another checkout's build, say an older commit's for a
# "before" figure (`git worktree add`, `make build/verbatim` there).
build_verbatim() {
    scripts/deps.sh "${1:-test}"
    if [ -n "${VERBATIM_BIN:-}" ]; then
        bin=$VERBATIM_BIN
        [ -x "$bin" ] || { echo "VERBATIM_BIN: $bin is not a program" >&2; exit 1; }
        return 0
    fi
    make --no-print-directory build/verbatim >/dev/null
    bin=build/verbatim
}

# engine_rtf_each_core DIR ARG...: the recogniser's CPU s per audio s
# (`$bin bench engine ARG...`, ARG the options and files), one copy on
# each core at once, their mean; DIR holds their outputs meanwhile.  The
# ceiling a server's figures are set against: the cores share caches and
# memory, and on this VM two copies at once ran 7 % slower on average
# than one alone.
engine_rtf_each_core() {
    local dir=$1 i engines=() sum=0 cores; shift
    cores=$(nproc)
    for i in $(seq "$cores"); do
        "$bin" bench engine "$@" > "$dir/engine.$i.json" 2>/dev/null &
        engines+=($!)
    done
    wait "${engines[@]}"
    for i in $(seq "$cores"); do
        sum=$(calc "$sum + $(json_field "$(cat "$dir/engine.$i.json")" rtf_cpu)")
    done
    rm -f "$dir"/engine.*.json
    calc "$sum / $cores"
}

# live_streams PORT N STAGGER PLAY DIR: N clients (`verbatim stream
# --realtime --timings`, 16 kHz raw in 100 ms chunks, as a microphone
# sends) on PORT, started STAGGER s apart; client I plays PLAY with any
# "%d" in it replaced by I, and writes DIR/timings.I and DIR/stream.I.err.
# Their process ids are left in the array stream_pids.
stream_pids=()
live_streams() {
    local port=$1 n=$2 stagger=$3 play=$4 dir=$5 i
    stream_pids=()
    for i in $(seq "$n"); do
        # shellcheck disable=SC2059
        "$bin" stream --url "ws://127.0.0.1:$port" --realtime --timings \
            --chunk-ms 100 --sample-rate 16000 "$(printf "$play" "$i")" \
            > "$dir/timings.$i" 2> "$dir/stream.$i.err" &
        stream_pids+=($!)
        sleep "$stagger"
    done
}

# scratch_server PREFIX: $bin serving on a loopback port with a database in
# a fresh folder; sets work (the folder), port and server, and on exit
# stops it and removes the folder.  Its log is $work/server.log.
scratch_server() {
    work=$(mktemp -d "/tmp/$1-XXXXXX")
    port=$((20000 + RANDOM % 20000))
    "$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn \
        2>"$work/server.log" &
    server=$!
    trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break
        sleep 0.2
    done
}

# cpu_ticks PID: the processor time (user + system) PID has used, in
# clock ticks (getconf CLK_TCK a second).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# kill_pids: kills the processes whose ids the array pids holds and waits
# for every child (a script's `trap kill_pids EXIT`).
pids=()
kill_pids() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}

# trade_cores FILE_A CORE_A FILE_B CORE_B SECONDS: every SECONDS the
# processes listed in FILE_A (every thread) go from CORE_A to the other
# of cores 0 and 1, those in FILE_B from CORE_B, and back; until killed.
# Two loads measured at once, one on each core, so meet both cores'
# speeds (bench/ab.sh, bench/beside.sh).
trade_cores() {
    local flip=0 p
    while sleep "$5"; do
        flip=$((1 - flip))
        while read -r p; do
            taskset -a -p -c $(( ($2 + flip) % 2 )) "$p" >/dev/null 2>&1 || true
        done 2>/dev/null < "$1" || true
        while read -r p; do
            taskset -a -p -c $(( ($4 + flip) % 2 )) "$p" >/dev/null 2>&1 || true
        done 2>/dev/null < "$3" || true
    done
}

# thread_ticks PID: a line per thread of PID: its id, its name and the
# processor time it has used, in clock ticks.
thread_ticks() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "${t##*/} $(cat "$t/comm" 2>/dev/null) $(cpu_ticks "${t#/proc/}" 2>/dev/null)"
    done
}

# ticks_of NAME BEFORE AFTER: the clock ticks the threads called NAME
# used between two thread_ticks snapshots (one born since: all of its).
ticks_of() {
    awk -v name="$1" 'FNR == NR { was[$1] = $3; next }
        $2 == name { sum += $3 - was[$1] } END { print sum + 0 }' "$2" "$3"
}

# warm_up BIN PORT N FILE [CORE]: plays FILE (16 kHz raw) on N streams at
# once at real-time pace, on CORE if given (their ids in the array
# warm_pids meanwhile), and again until the server on PORT has N decoders
# built, so that N measured streams find theirs ready, as on a server
# that has had N speakers before: one round leaves fewer when the last
# streams to arrive get the decoders the first ones have finished with
# (fast profile, 12 streams: 9 built, and 2.3 s of processor time went on
# building the other 3 during the measured streams).  At most 4 rounds.
warm_pids=()
warm_up() {
    local bin=$1 port=$2 n=$3 file=$4 pin=() round i built
    [ -n "${5:-}" ] && pin=(taskset -c "$5")
    for round in 1 2 3 4; do
        warm_pids=()
        for i in $(seq "$n"); do
            "${pin[@]}" "$bin" stream --url "ws://127.0.0.1:$port" --realtime \
                --sample-rate 16000 "$file" >/dev/null 2>&1 &
            warm_pids+=($!)
        done
        wait "${warm_pids[@]}" || true
        warm_pids=()
        built=$(curl -sf "http://127.0.0.1:$port/api/health" |
                sed -n 's/.*"decoders":\([0-9]*\).*/\1/p')
        [ "${built:-0}" -ge "$n" ] && return 0
    done
    echo "warm-up: ${built:-no} decoders built for $n streams after $round rounds" >&2
}

# The LibriVox recordings of pocketsphinx-testdata (5 utterances, 24.7 s,
# read speech with reference transcripts in $librivox/transcription).
librivox=/usr/share/pocketsphinx/test/data/librivox
# librivox_files: their paths, one a line, in the order of their fileids.
librivox_files() { sed "s|^|$librivox/|; s|\$|.wav|" "$librivox/fileids"; }

# conversation_of FILES...: the concurrency recording on standard output,
# 16 kHz 16-bit mono: the WAV files' audio with 1 s of silence after each.
conversation_of() {
    local f
    for f in "$@"; do tail -c +45 "$f"; head -c 32000 /dev/zero; done
}

# loop_of FILE FROM COUNT: COUNT bytes of FILE played in a loop from byte FROM.
loop_of() {
    local size from=$2 left=$3 take; size=$(stat -c %s "$1")
    while [ "$left" -gt 0 ]; do
        take=$(( size - from < left ? size - from : left ))
        dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$from" count="$take" status=none
        left=$((left - take)) from=0
    done
}

# play_set FILE N SPREAD RUN_ON_BYTES DIR: what N streams play, as
# DIR/play.I.raw.  SPREAD=0: FILE each.  SPREAD=1: stream I plays FILE
# from (I - 1) / N of its length (at a 100 ms boundary), wrapping round to
# its start, and on for (I - 1) / N of RUN_ON_BYTES more.
play_set() {
    local file=$1 n=$2 spread=$3 run_on_bytes=$4 dir=$5 i bytes
    bytes=$(stat -c %s "$file")
    for i in $(seq "$n"); do
        local skip=0 more=0
        if [ "$spread" = 1 ]; then
            skip=$(( (i - 1) * bytes / n / 3200 * 3200 ))
            more=$(( (i - 1) * run_on_bytes / n / 3200 * 3200 ))
        fi
        loop_of "$file" "$skip" $((bytes + more)) > "$dir/play.$i.raw"
    done
}

# lag_lines TIMINGS...: a line for each lag in the output of
# `verbatim stream --timings`, on the client's clock (audio is sent as a
# microphone would: each 100 ms chunk when its last sample is recorded):
#   i LAG  an interim, late by (arrival - end of its audio)
#   w S    an utterance's first interim, after the utterance's start
#          (the 300 ms pre-roll included)
#   f LAG  the final that closes an utterance (speech_final), late by
#          (arrival - the endpoint), the endpoint being where the server
#          heard the pause reach the endpoint setting (the utterance_end
#          event's "end" that follows it; finals cut off earlier in the
#          same utterance, at a change of speaker, come with it and would
#          count their wait twice)
#   s S    the same final after the end of the utterance's last word, as
#          a speaker feels it (endpoint setting and the detector's
#          hangover included)
lag_lines() {
    awk 'FNR == 1 { pend = 0 }
         $1 == "T" && $4 == 0 { lag = $2 - $6; print "i", (lag < 0 ? 0 : lag)
                                if ($5 != laststart) { print "w", $2 - $5; laststart = $5 } }
         $1 == "T" && $4 == 1 && $7 == 1 { pend = 1; arr = $2; lastword = $6 }
         $1 == "E" && pend { lag = arr - $3; print "f", (lag < 0 ? 0 : lag)
                             print "s", arr - lastword; pend = 0 }' "$@"
}

# kept_up IP95 FMAX: true if a load kept up, as the issue counts it
# (interim lag p95 IP95 and the latest final after its endpoint FMAX
# both under 1 s), else false.
kept_up() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < 1.0 && b < 1.0) ? "true" : "false" }'; }

# percentiles KIND Q...: the quantiles Q (0-1) of the lag lines of KIND
# on standard input, %.3f each on one line (0 where there are none).
percentiles() {
    local kind=$1; shift
    awk -v k="$kind" '$1 == k { print $2 }' | sort -g |
        awk -v qs="$*" '{ a[NR] = $1 }
             END { n = split(qs, q, " ")
                   for (i = 1; i <= n; i++)
                       printf "%.3f%s", NR ? a[int((NR - 1) * q[i]) + 1] : 0, i < n ? " " : "\n" }'
}
