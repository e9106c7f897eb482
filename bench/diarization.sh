#!/usr/bin/env bash
# Diarization: who spoke when, scored with NIST's md-eval (Debian sctk):
# diarization error rate (missed speech + false alarm + speaker
# confusion), 0.25 s collar, optimal mapping of labels to speakers.
# Live labels (as each final was sent) and refined labels (after the
# end-of-session re-clustering) are scored separately, and so is how often
# the number of speakers came out right.
#
# Sets:
#   flite-2, flite-3, flite-4  conversations of 2, 3 and 4 flite voices
#       (slt, rms, awb, kal16), turns of 1-15 s (1-4 sentences), pauses
#       short (0-0.3 s: the change can fall inside one utterance) or long
#       (0.6-2 s); the voices' own silence trimmed, so the reference
#       timing is exact.  8 conversations each, reproducibly.
#   real-2  the real recordings of pocketsphinx-testdata: the LibriVox
#       reader and the CMU speaker of goforward/numbers/something/tidigits,
#       alternating; 4 conversations.
#   ami     the AMI meeting excerpts in ../shared/data/ami-excerpts/, when
#       that folder exists (real meetings, overlapping speech).
# Each recording goes through `verbatim transcribe --json` (the session and
# diarization code the server runs; the server re-clusters stored
# segments with the same function).
# Prints a table and writes the figures as JSON to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
work=build/bench/diarization
mkdir -p "$work" bench/results
sentences=bench/flite_sentences.txt
nsent=$(grep -c . "$sentences")
voices=(slt rms awb kal16)
ami=../shared/data/ami-excerpts

trim() { # IN OUT: drops the leading and trailing silence of a flite file
    ffmpeg -nostdin -loglevel error -y -i "$1" -af \
        "silenceremove=start_periods=1:start_threshold=-45dB,areverse,silenceremove=start_periods=1:start_threshold=-45dB,areverse" \
        -ar 16000 -ac 1 -f s16le "$2"
}
samples() { echo $(( $(stat -c %s "$1") / 2 )); }
secs() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 16000 }'; }
# add_turn NAME SPEAKER TURN.raw PAUSE: appends PAUSE samples of silence
# and the turn to NAME.raw, and its line to NAME.rttm; $pos is the end.
add_turn() {
    head -c $(( $4 * 2 )) /dev/zero >> "$work/$1.raw"
    pos=$(( pos + $4 ))
    local len; len=$(samples "$3")
    cat "$3" >> "$work/$1.raw"
    echo "SPEAKER $1 1 $(secs $pos) $(secs "$len") <NA> <NA> $2 <NA> <NA>" >> "$work/$1.rttm"
    pos=$(( pos + len ))
}

# make_flite NAME SPEAKERS SEED: NAME.raw and NAME.rttm
make_flite() {
    local name=$1 k=$2 seed=$3
    local raw="$work/$name.raw" ref="$work/$name.rttm"
    [ -f "$raw" ] && [ -f "$ref" ] && return
    : > "$raw"; : > "$ref"
    RANDOM=$seed
    local turns=$(( 8 + RANDOM % 5 )) prev=-1 pos=0
    # Which voices: a rotation of the four, by seed.
    local first=$(( seed % 4 ))
    for t in $(seq "$turns"); do
        local who
        if [ "$t" -le "$k" ]; then who=$(( t - 1 )); else
            who=$(( RANDOM % k )); [ "$who" = "$prev" ] && who=$(( (who + 1) % k )); fi
        prev=$who
        local voice=${voices[$(( (first + who) % 4 ))]}
        local n=$(( 1 + RANDOM % 4 )) text=""
        for _ in $(seq "$n"); do
            text+=" $(sed -n "$(( 1 + RANDOM % nsent ))p" "$sentences")"
        done
        local turn="$work/turn.raw"
        flite -voice "$voice" -t "$text" -o "$work/turn.wav"
        trim "$work/turn.wav" "$turn"
        local len; len=$(samples "$turn")
        if [ "$len" -gt $(( 15 * 16000 )) ]; then # at most 15 s a turn
            head -c $(( 15 * 32000 )) "$turn" > "$turn.cut"; mv "$turn.cut" "$turn"
            len=$(( 15 * 16000 ))
        fi
        local pause=0
        if [ "$t" -gt 1 ]; then
            if [ $(( RANDOM % 2 )) = 0 ]; then pause=$(( RANDOM % 4800 )); else
                pause=$(( 9600 + RANDOM % 22400 )); fi
        fi
        add_turn "$name" "$voice" "$turn" "$pause"
    done
    head -c 32000 /dev/zero >> "$raw"
}

# make_real NAME SEED: the two real voices, taking turns
make_real() {
    local name=$1 seed=$2
    local raw="$work/$name.raw" ref="$work/$name.rttm"
    [ -f "$raw" ] && [ -f "$ref" ] && return
    local data=/usr/share/pocketsphinx/test/data
    local a=($(librivox_files))
    local b=("$data/goforward.raw" "$data/numbers.raw" "$data/something.raw"
             "$data/tidigits/dhd.2934z.raw")
    : > "$raw"; : > "$ref"
    RANDOM=$seed
    local pos=0
    for t in 0 1 2 3 4 5 6 7; do
        local file who
        if [ $(( t % 2 )) = $(( seed % 2 )) ]; then
            file=${a[$(( (t / 2 + seed) % ${#a[@]} ))]}; who=librivox
            ffmpeg -nostdin -loglevel error -y -i "$file" -t 12 -f s16le "$work/turn.s16"
        else
            file=${b[$(( (t / 2 + seed) % ${#b[@]} ))]}; who=cmu
            ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$file" \
                -f s16le "$work/turn.s16"
        fi
        ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$work/turn.s16" \
            -af "silenceremove=start_periods=1:start_threshold=-40dB,areverse,silenceremove=start_periods=1:start_threshold=-40dB,areverse" \
            -f s16le "$work/turn.raw"
        add_turn "$name" "$who" "$work/turn.raw" $(( t ? 3200 + RANDOM % 16000 : 0 ))
    done
    head -c 32000 /dev/zero >> "$raw"
}

# run NAME INPUT [transcribe options]: NAME.live.rttm and NAME.refined.rttm
run() {
    local name=$1 input=$2; shift 2
    "$bin" transcribe --json "$@" "$input" > "$work/$name.json"
    rm -f "$work/$name.live.rttm" "$work/$name.refined.rttm"
    awk -v f="$name" -v live="$work/$name.live.rttm" -v refined="$work/$name.refined.rttm" '
        /"start"/ { match($0, /"start": [0-9.]+/); s = substr($0, RSTART + 9, RLENGTH - 9) + 0
                    match($0, /"end": [0-9.]+/); e = substr($0, RSTART + 7, RLENGTH - 7) + 0
                    sp = "unknown"; if (match($0, /"speaker": "[^"]*"/)) sp = substr($0, RSTART + 12, RLENGTH - 13)
                    line = sprintf("SPEAKER %s 1 %.3f %.3f <NA> <NA> %s <NA> <NA>", f, s, e - s, sp)
                    if ($0 ~ /"refined": true/) print line > refined; else print line > live }
    ' "$work/$name.json"
    touch "$work/$name.live.rttm" "$work/$name.refined.rttm"
}

der() { # REF SYS [UEM]: the overall DER (percent)
    local uem=()
    [ -n "${3:-}" ] && uem=(-u "$3")
    sctk md-eval -r "$1" -s "$2" -c 0.25 "${uem[@]}" 2>/dev/null |
        awk '/OVERALL SPEAKER DIARIZATION ERROR/ { print $6 }'
}
speakers() { awk '{ print $8 }' "$1" | sort -u | wc -l; }

json=""
printf '%-9s %5s %12s %12s %14s %14s\n' set files "DER live" "DER refined" \
    "count live" "count refined"
score_set() { # SET NAMES... (files in $work); sets the row
    local set=$1; shift
    : > "$work/$set.ref"; : > "$work/$set.live"; : > "$work/$set.refined"
    local right_live=0 right_refined=0
    for name in "$@"; do
        cat "$work/$name.rttm" >> "$work/$set.ref"
        cat "$work/$name.live.rttm" >> "$work/$set.live"
        cat "$work/$name.refined.rttm" >> "$work/$set.refined"
        local truth; truth=$(speakers "$work/$name.rttm")
        [ "$(speakers "$work/$name.live.rttm")" = "$truth" ] && right_live=$((right_live + 1))
        [ "$(speakers "$work/$name.refined.rttm")" = "$truth" ] && right_refined=$((right_refined + 1))
    done
    local uem=""
    [ "$set" = ami ] && uem="$ami/reference.uem"
    local dl dr
    dl=$(der "$work/$set.ref" "$work/$set.live" $uem)
    dr=$(der "$work/$set.ref" "$work/$set.refined" $uem)
    printf '%-9s %5d %11s%% %11s%% %11d/%-2d %11d/%-2d\n' "$set" $# "$dl" "$dr" \
        "$right_live" $# "$right_refined" $#
    json+="${json:+, }{\"set\": \"$set\", \"files\": $#, \"der_live_pct\": ${dl:-null}, \"der_refined_pct\": ${dr:-null}, \"count_right_live\": $right_live, \"count_right_refined\": $right_refined}"
}

for k in 2 3 4; do
    names=()
    for c in 1 2 3 4 5 6 7 8; do
        name="flite${k}_$c"
        make_flite "$name" "$k" $(( k * 100 + c ))
        ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$work/$name.raw" "$work/$name.wav"
        run "$name" "$work/$name.wav"
        names+=("$name")
    done
    score_set "flite-$k" "${names[@]}"
done
names=()
for c in 1 2 3 4; do
    name="real_$c"
    make_real "$name" "$c"
    ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$work/$name.raw" "$work/$name.wav"
    run "$name" "$work/$name.wav"
    names+=("$name")
done
score_set real-2 "${names[@]}"
if [ -d "$ami" ]; then
    names=()
    for f in "$ami"/trn*.wav; do
        name=$(basename "$f" .wav)
        run "$name" "$f"
        grep " $name " "$ami/reference.rttm" > "$work/$name.rttm"
        names+=("$name")
    done
    score_set ami "${names[@]}"
else
    echo "ami: $ami is not here; not scored"
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
out="bench/results/diarization-$(date -u +%Y%m%dT%H%M%SZ)-$commit.json"
echo "{\"benchmark\": \"diarization\", \"commit\": \"$commit\", \"collar_s\": 0.25, \"sets\": [$json]}" > "$out"
echo "wrote $out"
