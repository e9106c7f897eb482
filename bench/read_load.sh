#!/usr/bin/env bash
# Do REST reads and speaker re-clustering delay live finals?  (Issue 31,
# point 2: with 20,000 transcriptions and 15 clients reading the list in a
# loop, a live stream's finals within 1 s of their endpoint, p95, and
# /api/health within 100 ms; re-clustering 1,000 segments delaying no
# live stream's results.)
#
# 1. A store seeded with TRANSCRIPTIONS (20000) transcriptions, written
#    with the sqlite3 tool into the database the server has created.  One
#    live stream at real-time pace (bench/run.sh's 30 s LibriVox
#    recording), first alone, then while READERS (15) clients read
#    the whole list in a loop, a page of 1,000 at a time
#    (GET /api/transcriptions/?limit=1000&offset=...), one request after
#    another.  Meanwhile GET /api/health is timed every 0.1 s.
# 2. For each count in SEGMENTS ("1000 2000"): a transcription holding
#    that many segments with voice statistics (the segments of one full
#    speed stream of the recording, copied over and over with sqlite3,
#    each copy later in time).  While a second live stream runs at
#    real-time pace, short streams (2 s of the recording, full speed)
#    are sent into that transcription one after another.  The end of each
#    sets off the re-clustering of all its segments, and its socket closes
#    once that is done, so the time from its last result to its close is
#    the re-clustering's time.
#
# Prints the live stream's final lag after the endpoint (p50, p95, max:
# bench/lib.sh's lag_lines), /api/health's time (p50, p95, max) and how
# many list reads were answered.  The recogniser's own speed on the
# recording is measured first (`verbatim bench engine`, alone and with a
# copy on each core), as times real time, so that a run can be set
# against another from a faster or slower hour; in part 2 the latest
# final is also given as a share of the re-clustering's time (about 1
# when finals wait for it).
#
# VERBATIM_BIN=PATH measures another build (an older commit's, built in a
# `git worktree`); the scripts and recordings are this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
transcriptions=${TRANSCRIPTIONS:-20000}
readers=${READERS:-15}
segment_counts=${SEGMENTS:-1000 2000}
work=build/bench/readload
mkdir -p "$work"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
server=
# The reading, health and trigger loops' ids are in pids (lib.sh's
# kill_pids waits for every child, the server too: only at exit).
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    kill_pids
}
# stop_loops: ends the loops in pids and waits for them alone.
stop_loops() {
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    pids=()
}
trap cleanup EXIT

live="$work/live.raw"
[ -f "$live" ] || conversation_of $(librivox_files) > "$live"
live_s=$(calc "$(stat -c %s "$live") / 32000" 1)
head -c 64000 "$live" > "$work/trigger.raw"

# The recogniser's own speed on the recording, as times real time: alone,
# and the mean of one copy on each core at once.
engine_rtf() { json_field "$("$bin" bench engine "$@" 2>/dev/null)" rtf_cpu; }
rtf_alone=$(engine_rtf "$live")
cores=$(nproc)
rtf_busy=$(engine_rtf_each_core "$work" "$live")
echo "binary $bin; load average $(cut -d' ' -f1-3 /proc/loadavg); $cores cores"
echo "recogniser on the ${live_s} s recording: $(calc "1 / $rtf_alone" 1)x real time alone" \
     "(RTF $rtf_alone), $(calc "1 / $rtf_busy" 1)x with a copy on each core (RTF $rtf_busy)"

rm -f "$work/db.sqlite"* "$work"/reader.*
"$bin" serve --port "$port" --db "$work/db.sqlite" --log-level info 2>"$work/server.log" &
server=$!
until curl -sf "$url/api/health" -o /dev/null; do sleep 0.05; done
# The server has made the schema; the titles and times are made up.
sqlite3 "$work/db.sqlite" ".timeout 5000" "
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $transcriptions)
    INSERT INTO transcriptions (title, created_at)
    SELECT 'Seeded meeting ' || i,
           strftime('%Y-%m-%dT%H:%M:%f000+00:00', '2026-01-01', '+' || i || ' minutes')
    FROM n;"
listed=$(curl -sf -D - -o /dev/null "$url/api/transcriptions/?limit=1" | tr -d '\r' |
         sed -n 's/^[Xx]-[Tt]otal-[Cc]ount: //p')
echo "seeded: the list holds ${listed:-?} transcriptions ($(curl -sf -o /dev/null -w '%{size_download}' \
      "$url/api/transcriptions/?limit=1000") bytes a page of 1,000)"

# lag_summary TIMINGS: the final lag after the endpoint, p50 / p95 / max,
# how many finals, and the interims' lag p95 / max.
lag_summary() {
    local q n
    q=$(lag_lines "$1" | percentiles f 0.5 0.95 1)
    n=$(lag_lines "$1" | grep -c '^f ' || true)
    echo "final after its endpoint p50 / p95 / max ${q// / \/ } s ($n finals);" \
         "interim lag p95 / max $(lag_lines "$1" | percentiles i 0.95 1 | sed 's| | / |') s"
}
# time_summary FILE: p50 / p95 / max of the times in FILE, one a line.
time_summary() {
    local q n
    q=$(sed 's/^/t /' "$1" | percentiles t 0.5 0.95 1)
    n=$(wc -l < "$1")
    echo "${q// / \/ } s ($n requests)"
}
# threads_busy SECONDS: the cores each kind of server thread kept busy
# between $work/ticks.before and .after, SECONDS apart.
threads_busy() {
    local name hz; hz=$(getconf CLK_TCK)
    for name in verbatim vb-worker vb-store vb-read0 vb-read1 vb-slow; do
        printf '%s %s  ' "${name/verbatim/I\/O}" \
            "$(calc "$(ticks_of "$name" "$work/ticks.before" "$work/ticks.after") / $hz / $1" 2)"
    done
}
# waits_of PID: a line per thread of PID: its id, its name and the
# nanoseconds it has spent ready to run but waiting for a core
# (/proc's schedstat), for worker_waits.
waits_of() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "${t##*/} $(cat "$t/comm" 2>/dev/null) $(cut -d' ' -f2 "$t/schedstat" 2>/dev/null)"
    done
}
# worker_waits SECONDS: the share of SECONDS the decoder workers spent
# waiting for a core (summed over them) between $work/waits.before and
# .after: the machine's other work keeping them from the audio.
worker_waits() {
    awk -v s="$1" 'FNR == NR { was[$1] = $3; next }
        $2 == "vb-worker" { sum += $3 - was[$1] } END { printf "%.2f", sum / 1e9 / s }' \
        "$work/waits.before" "$work/waits.after"
}
# live_stream NAME [ARGS...]: the recording as a live stream, its timings
# in $work/NAME.timings.
live_stream() {
    local name=$1; shift
    "$bin" stream --url "ws://127.0.0.1:$port" --realtime --timings --chunk-ms 100 \
        --sample-rate 16000 "$@" "$live" > "$work/$name.timings"
}
# health_loop FILE: /api/health timed every 0.1 s into FILE, until killed.
health_loop() {
    while :; do
        curl -s -o /dev/null -w '%{time_total}\n' --max-time 30 "$url/api/health" || echo 30
        sleep 0.1
    done > "$1"
}

health_loop "$work/health.alone" &
pids=($!)
live_stream alone --title "alone"
stop_loops
echo "live stream alone:         $(lag_summary "$work/alone.timings"); health $(time_summary "$work/health.alone")"

# A reader stopped mid-request ends its request too.
for i in $(seq "$readers"); do
    (c= offset=0
     trap '[ -n "$c" ] && kill "$c" 2>/dev/null; exit 0' TERM
     while :; do
         # The whole list, a page at a time (a build from before pages
         # answers each with all of it, as its clients read it then).
         offset=$(( (offset + 1000) % transcriptions ))
         curl -s -o /dev/null -w '%{time_total}\n' --max-time 60 \
             "$url/api/transcriptions/?limit=1000&offset=$offset" &
         c=$!
         wait "$c" || true
     done > "$work/reader.$i") &
    pids+=($!)
done
sleep 2 # every reader under way
health_loop "$work/health.reads" &
pids+=($!)
start=$(date +%s.%N)
thread_ticks "$server" > "$work/ticks.before"; waits_of "$server" > "$work/waits.before"
live_stream reads --title "beside readers"
thread_ticks "$server" > "$work/ticks.after"; waits_of "$server" > "$work/waits.after"
took=$(calc "$(date +%s.%N) - $start" 1)
stop_loops
reads=$(cat "$work"/reader.* | wc -l)
echo "live stream, $readers readers: $(lag_summary "$work/reads.timings"); health $(time_summary "$work/health.reads")"
cat "$work"/reader.* > "$work/reads.all"
echo "  server threads, cores busy: $(threads_busy "$took"); workers waiting for a core: $(worker_waits "$took")"
echo "  list reads: $reads in all, $(calc "$reads / ($took + 2)" 1) a second; each $(time_summary "$work/reads.all")"

# Part 2.  The source of the voices: one full-speed stream of the recording.
voices_id=$(curl -sf -X POST "$url/api/transcriptions/" -H 'content-type: application/json' \
            -d '{"title": "voices"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
"$bin" stream --url "ws://127.0.0.1:$port" --id "$voices_id" --sample-rate 16000 "$live" >/dev/null
have=$(sqlite3 "$work/db.sqlite" "SELECT count(*) FROM segments
    WHERE transcription_id = $voices_id AND voice IS NOT NULL")
echo "voices: $have segments with voice statistics from one stream of the recording"
for count in $segment_counts; do
    tid=$(curl -sf -X POST "$url/api/transcriptions/" -H 'content-type: application/json' \
          -d "{\"title\": \"$count segments\"}" | sed 's/.*"id":\([0-9]*\).*/\1/')
    sqlite3 "$work/db.sqlite" ".timeout 5000" "
        WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < $count)
        INSERT INTO segments (transcription_id, text, speaker, start_time, end_time,
                              is_final, words, voice)
        SELECT $tid, text, speaker, start_time + 60 * i, end_time + 60 * i, is_final, words, voice
        FROM segments, k WHERE transcription_id = $voices_id AND voice IS NOT NULL
        ORDER BY i, id LIMIT $count;"
    # trigger_loop: short streams into the transcription, one after
    # another until $work/live.done exists; a line per stream: the
    # re-clustering's time (last result to close) and the whole stream's.
    rm -f "$work/live.done"
    trigger_loop() {
        local t0 t1 last
        while [ ! -e "$work/live.done" ]; do
            t0=$(date +%s.%N)
            "$bin" stream --url "ws://127.0.0.1:$port" --id "$tid" --timings --timeout 300 \
                --sample-rate 16000 "$work/trigger.raw" > "$work/trigger.timings" || true
            t1=$(date +%s.%N)
            last=$(awk '{ t = $2 } END { print t + 0 }' "$work/trigger.timings")
            echo "$(calc "$t1 - $t0 - $last" 2) $(calc "$t1 - $t0" 2)"
        done > "$work/recluster.$count"
    }
    trigger_loop &
    pids=($!)
    health_loop "$work/health.$count" &
    health=$!
    sleep 1
    start=$(date +%s.%N)
    thread_ticks "$server" > "$work/ticks.before"; waits_of "$server" > "$work/waits.before"
    live_stream "recluster$count" --title "beside re-clustering $count"
    thread_ticks "$server" > "$work/ticks.after"; waits_of "$server" > "$work/waits.after"
    took=$(calc "$(date +%s.%N) - $start" 1)
    touch "$work/live.done"
    kill "$health"; wait "$health" 2>/dev/null || true
    wait "${pids[@]}" || true
    pids=()
    clusters=$(awk '{ printf "%s%s", sep, $1; sep = ", " }' "$work/recluster.$count")
    longest=$(sort -g "$work/recluster.$count" | tail -1 | cut -d' ' -f1)
    fmax=$(lag_lines "$work/recluster$count.timings" | percentiles f 1)
    echo "live stream, re-clustering $count segments: $(lag_summary "$work/recluster$count.timings");" \
         "health $(time_summary "$work/health.$count")"
    echo "  re-clusterings meanwhile (s from last result to close): $clusters;" \
         "latest final / longest re-clustering $(calc "$fmax / ${longest:-1}" 2)"
    echo "  server threads, cores busy: $(threads_busy "$took"); workers waiting for a core: $(worker_waits "$took")"
done
grep -c 'after re-clustering' "$work/server.log" | sed 's/^/server log: re-clusterings logged: /'
