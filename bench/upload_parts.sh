#!/usr/bin/env bash
# One upload on an idle server: how long it takes against what the
# recogniser allows, decoded in one part (--upload-parts 1, as before
# issue 38) and split at pauses into parts decoded on every core (the
# default).  Issue 38, point 4: within 1.2 x duration x RTF / cores, with
# the same words within 1 WER point.
#
# Recordings: the LibriVox set ten times over (5 min of read speech with
# its reference transcript, 1 s pauses), the 52 flite sentences of
# bench/flite_set.sh in four voices taking turns (3 min, 0.5 s pauses,
# with their text) and, where ../shared/data is there, the nine AMI meeting excerpts one after another (4.5 min of a
# meeting, no word reference: each way's words are compared with the
# other's).  Every round, for each recording, the recogniser's own speed
# (a copy on each core at once, CPU s per audio s, the "RTF") is measured
# before and after the two uploads, and the two ways alternate, so that
# this machine's drift reaches both alike.  The server is started afresh
# for each upload, after a 35 s warm-up upload (decoders built).
#   ROUNDS (default 2), AMI (default ../shared/data/ami-excerpts),
#   VERBATIM_BIN (bench/lib.sh)
# Prints a table; the JSON goes to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
rounds=${ROUNDS:-2}
ami=${AMI:-../shared/data/ami-excerpts}
work=build/bench/upload_parts
mkdir -p "$work" bench/results
cores=$(nproc)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# ---- the recordings --------------------------------------------------
sets=(librivox)
lib="$work/librivox.wav"
if [ ! -f "$lib" ]; then
    for i in $(seq 10); do conversation_of $(librivox_files); done |
        ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i - "$lib"
fi
for i in $(seq 10); do
    while read -r id; do
        grep "($id)" "$librivox/transcription" | sed 's/<\/*s>//g; s/([^)]*)//'
    done < "$librivox/fileids"
done | tr -s ' \n' '  ' > "$work/librivox.ref"
sets+=(flite)
if [ ! -f "$work/flite.wav" ]; then
    bench/flite_set.sh "$work/flite" >/dev/null
    for f in "$work"/flite/flite_*.wav; do
        ffmpeg -nostdin -loglevel error -i "$f" -ar 16000 -ac 1 -f s16le -
        head -c 16000 /dev/zero # 0.5 s between turns
    done | ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i - "$work/flite.wav"
fi
for f in "$work"/flite/flite_*.wav; do
    grep "($(basename "$f" .wav))" "$work/flite/ref.trn" | sed 's/([^)]*)//'
done | tr -s ' \n' '  ' > "$work/flite.ref"
if [ -d "$ami" ]; then
    sets+=(ami)
    [ -f "$work/ami.wav" ] || ffmpeg -nostdin -loglevel error -y \
        $(for f in "$ami"/trn0*.wav; do printf -- '-i %s ' "$f"; done) \
        -filter_complex "concat=n=$(ls "$ami"/trn0*.wav | wc -l):v=0:a=1" \
        -ar 16000 -ac 1 "$work/ami.wav"
else
    echo "($ami is not there: the AMI recording is left out)" >&2
fi
for s in "${sets[@]}"; do
    ffmpeg -nostdin -loglevel error -y -i "$work/$s.wav" -t 35 "$work/$s.warm.wav"
done

duration() { ffprobe -v error -show_entries format=duration -of csv=p=0 "$1"; }

# engine_rtf FILE: a copy of the recogniser on each core at once; their
# mean CPU s per audio s.
engine_rtf() {
    local c e=() sum=0 r
    for c in $(seq 0 $((cores - 1))); do
        taskset -c "$c" "$bin" bench engine "$1" > "$work/engine.$c.json" 2>/dev/null &
        e+=($!)
    done
    wait "${e[@]}"
    for c in $(seq 0 $((cores - 1))); do
        r=$(json_field "$(cat "$work/engine.$c.json")" rtf_cpu)
        sum=$(calc "$sum + $r")
    done
    calc "$sum / $cores"
}

# upload PARTS FILE OUT: a fresh server with --upload-parts PARTS; the
# warm-up, then FILE; the upload's wall seconds on stdout, its words
# (lower case, one line) in OUT, its parts in OUT.parts.
upload() {
    # (A subshell's RANDOM repeats its parent's: $BASHPID differs.)
    local port=$((20000 + (RANDOM + BASHPID) % 20000)) url id t0 t1
    url="http://127.0.0.1:$port"
    rm -f "$work/db.sqlite"*
    "$bin" serve --port "$port" --db "$work/db.sqlite" --upload-parts "$1" \
        --log-level warn 2>"$work/server.log" &
    server=$!
    until curl -sf "$url/api/health" -o /dev/null; do sleep 0.05; done
    id=$(curl -sf -X POST "$url/api/transcriptions/" -H 'content-type: application/json' \
         -d '{"title": "warm-up"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
    curl -sf -X POST --data-binary @"${2%.wav}.warm.wav" \
        "$url/api/transcriptions/$id/audio?wait=300" -o /dev/null
    id=$(curl -sf -X POST "$url/api/transcriptions/" -H 'content-type: application/json' \
         -d '{"title": "measured"}' | sed 's/.*"id":\([0-9]*\).*/\1/')
    local before; before=$(curl -sf "$url/metrics" | awk '$1 == "verbatim_upload_parts_total" { print $2 }')
    t0=$(date +%s.%N)
    if ! curl -sf -X POST --data-binary @"$2" "$url/api/transcriptions/$id/audio?wait=300" |
         grep -q '"status":"done"'; then
        echo "the upload of $2 failed; the server's log:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    t1=$(date +%s.%N)
    curl -sf "$url/metrics" | awk -v b="$before" '$1 == "verbatim_upload_parts_total" { print $2 - b }' > "$3.parts"
    curl -sf "$url/api/transcriptions/$id/segments" |
        python3 -c 'import json, sys; print(" ".join(s["text"] for s in json.load(sys.stdin)))' |
        tr 'A-Z' 'a-z' | tr -cs "a-z'" ' ' > "$3"
    kill "$server"; wait "$server" 2>/dev/null || true; server=
    calc "$t1 - $t0" 2
}

# wer REF HYP: word error rate (%) of HYP against REF.
wer() {
    python3 - "$1" "$2" <<'PY'
import sys
r = open(sys.argv[1]).read().split()
h = open(sys.argv[2]).read().split()
d = list(range(len(h) + 1))
for i, rw in enumerate(r, 1):
    prev, d[0] = d[0], i
    for j, hw in enumerate(h, 1):
        prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
print("%.2f" % (100.0 * d[len(h)] / max(1, len(r))))
PY
}

printf '%-9s %-5s %-6s %-10s %-8s %-8s %-8s %-6s %s\n' set round way "RTF b/a" "audio s" "wall s" ideal ratio "WER (%)"
rows=
for r in $(seq "$rounds"); do
    for s in "${sets[@]}"; do
        f="$work/$s.wav"
        d=$(duration "$f")
        rtf_a=$(engine_rtf "$f")
        # The two ways in turn, the first alternating between rounds.
        if [ $((r % 2)) = 1 ]; then ways="1 0"; else ways="0 1"; fi
        declare -A wall=()
        for w in $ways; do wall[$w]=$(upload "$w" "$f" "$work/$s.$w.txt"); done
        rtf_b=$(engine_rtf "$f")
        rtf=$(calc "($rtf_a + $rtf_b) / 2")
        ideal=$(calc "$d * $rtf / $cores" 2)
        for w in 1 0; do
            name=$([ "$w" = 1 ] && echo one || echo parts)
            if [ -f "$work/$s.ref" ]; then
                e=$(wer "$work/$s.ref" "$work/$s.$w.txt")
            else
                e=$(wer "$work/$s.1.txt" "$work/$s.$w.txt")
            fi
            ratio=$(calc "${wall[$w]} / $ideal" 3)
            printf '%-9s %-5s %-6s %-10s %-8s %-8s %-8s %-6s %s\n' "$s" "$r" \
                "$name($(cat "$work/$s.$w.txt.parts"))" "$rtf_a/$rtf_b" "$(calc "$d" 1)" \
                "${wall[$w]}" "$ideal" "$ratio" "$e"
            rows="$rows${rows:+, }{\"set\": \"$s\", \"round\": $r, \"way\": \"$name\", \"parts\": $(cat "$work/$s.$w.txt.parts"), \"audio_s\": $(calc "$d" 2), \"engine_rtf_cpu_before\": $rtf_a, \"engine_rtf_cpu_after\": $rtf_b, \"wall_s\": ${wall[$w]}, \"ideal_s\": $ideal, \"wall_over_ideal\": $ratio, \"wer_pct\": $e}"
        done
    done
done
echo "(ideal: audio s x the recogniser's CPU s per audio s, a copy on each of $cores cores, / $cores;"
echo " WER: librivox and flite against their text, ami against the one-part upload's words)"
out="bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD)-upload_parts.json"
printf '{"bench": "upload_parts", "cores": %d, "rows": [%s]}\n' "$cores" "$rows" > "$out"
echo "$out"
