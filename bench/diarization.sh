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
#   spliced conversations of 2 and 3 AMI participants from different
#       meetings, cut from stretches where the reference has one person
#       speaking, taking turns of 1.5-6 s (4 conversations; with the AMI
#       folder only).
#   real-2-8k, ami-8k, spliced-8k, one-8k  the same recordings as a
#       telephone carries them: 300-3400 Hz, 8 kHz (the server resamples
#       them).
#   one     recordings of one voice, from the README's two-sentence
#       example to a minute of one reader: each must come out as one
#       speaker; scored by the count and by the share of speech given to
#       any label but the most used one.
# Each recording goes through `verbatim transcribe --json` (the session and
# diarization code the server runs; the server re-clusters stored
# segments with the same function).
# DER is scored with overlapping speech counted (as the table's "DER") and,
# separately, in the regions where one person speaks ("1-spk", md-eval -1).
# SETS="real-2 ami one" scores only the sets named.
# Prints a table and writes the figures as JSON to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
work=${WORK:-build/bench/diarization}
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
            # RANDOM read here, not inside $(...): bash reseeds it in a
            # subshell, and the set would differ from run to run.
            local line=$(( 1 + RANDOM % nsent ))
            text+=" $(sed -n "${line}p" "$sentences")"
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

der() { # REF SYS UEM [md-eval options]: the overall DER (percent)
    local ref=$1 sys=$2 uem=$3; shift 3
    local u=()
    [ -n "$uem" ] && u=(-u "$uem")
    sctk md-eval -r "$ref" -s "$sys" -c 0.25 "${u[@]}" "$@" 2>/dev/null |
        awk '/OVERALL SPEAKER DIARIZATION ERROR/ { print $6 }'
}
speakers() { awk '{ print $8 }' "$1" | sort -u | wc -l; }

json=""
printf '%-11s %5s %9s %9s %9s %9s %8s %8s\n' set files "DER live" "refined" \
    "1-spk" "1-spk r" "count" "count r"
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
    case $set in ami) uem="$ami/reference.uem" ;; ami-8k) uem="$work/ami-8k.uem" ;; esac
    local dl dr sl sr
    dl=$(der "$work/$set.ref" "$work/$set.live" "$uem")
    dr=$(der "$work/$set.ref" "$work/$set.refined" "$uem")
    sl=$(der "$work/$set.ref" "$work/$set.live" "$uem" -1)
    sr=$(der "$work/$set.ref" "$work/$set.refined" "$uem" -1)
    printf '%-11s %5d %8s%% %8s%% %8s%% %8s%% %5d/%-2d %5d/%-2d\n' "$set" $# "$dl" "$dr" \
        "$sl" "$sr" "$right_live" $# "$right_refined" $#
    json+="${json:+, }{\"set\": \"$set\", \"files\": $#, \"der_live_pct\": ${dl:-null}, \"der_refined_pct\": ${dr:-null}, \"der_single_live_pct\": ${sl:-null}, \"der_single_refined_pct\": ${sr:-null}, \"count_right_live\": $right_live, \"count_right_refined\": $right_refined}"
}

# score_one SET NAMES...: recordings of one voice; the count and the share
# of speech labelled other than the most used label, live and refined
score_one() {
    local set=$1; shift
    local right_live=0 right_refined=0 kind
    local -A other total
    for name in "$@"; do
        [ "$(speakers "$work/$name.live.rttm")" = 1 ] && right_live=$((right_live + 1))
        [ "$(speakers "$work/$name.refined.rttm")" = 1 ] && right_refined=$((right_refined + 1))
        for kind in live refined; do
            read -r o t < <(awk '{ d[$8] += $5; all += $5 }
                END { top = 0; for (k in d) if (d[k] > top) top = d[k]
                      printf "%.3f %.3f\n", all - top, all }' "$work/$name.$kind.rttm")
            other[$kind]=$(awk -v a="${other[$kind]:-0}" -v b="$o" 'BEGIN { print a + b }')
            total[$kind]=$(awk -v a="${total[$kind]:-0}" -v b="$t" 'BEGIN { print a + b }')
        done
    done
    local ol or
    ol=$(awk -v o="${other[live]}" -v t="${total[live]}" 'BEGIN { printf "%.2f", t ? 100 * o / t : 0 }')
    or=$(awk -v o="${other[refined]}" -v t="${total[refined]}" 'BEGIN { printf "%.2f", t ? 100 * o / t : 0 }')
    printf '%-11s %5d %8s%% %8s%% %9s %9s %5d/%-2d %5d/%-2d\n' "$set" $# "$ol" "$or" - - \
        "$right_live" $# "$right_refined" $#
    json+="${json:+, }{\"set\": \"$set\", \"files\": $#, \"other_label_live_pct\": $ol, \"other_label_refined_pct\": $or, \"count_right_live\": $right_live, \"count_right_refined\": $right_refined}"
}

# phone IN OUT: a telephone's band and rate
phone() {
    ffmpeg -nostdin -loglevel error -y -i "$1" -af "highpass=f=300,lowpass=f=3400" \
        -ar 8000 -ac 1 "$2"
}

# Stretches where the AMI reference has one person speaking (read off
# reference.rttm: no one else's segment overlaps them), and whose they
# are: file start end speaker.
spliced_stretches() {
    cat <<'TABLE'
trn03 1.30 29.90 MEO069
trn04 16.80 21.10 MEE075
trn05 9.35 19.10 FEE078
trn05 19.65 29.90 FEE078
trn06 13.60 21.75 FEE083
trn06 22.40 29.90 FEE083
trn07 15.60 18.40 FEE087
trn08 12.05 12.65 FEE087
trn08 19.70 23.90 FEE088
trn09 14.25 15.70 MEE094
TABLE
}

# make_spliced NAME SEED SPEAKERS...: turns of 1.5-6 s taken in order from
# each speaker's stretches, speakers alternating (never the same twice)
make_spliced() {
    local name=$1 seed=$2; shift 2
    local who=("$@")
    local raw="$work/$name.raw" ref="$work/$name.rttm"
    [ -f "$raw" ] && [ -f "$ref" ] && return
    : > "$raw"; : > "$ref"
    RANDOM=$seed
    local -A at
    local pos=0 prev=-1 t
    for t in $(seq 10); do
        local k=$(( RANDOM % ${#who[@]} ))
        [ "$k" = "$prev" ] && k=$(( (k + 1) % ${#who[@]} ))
        prev=$k
        local spk=${who[$k]} want
        local r=$RANDOM # not inside $(...) (make_flite)
        want=$(awk -v r="$r" 'BEGIN { printf "%.2f", 1.5 + 4.5 * r / 32767 }')
        # The next piece of this speaker's stretches, wrapping around.
        local piece
        piece=$(spliced_stretches | awk -v s="$spk" -v from="${at[$spk]:-0}" -v want="$want" '
            $4 == s { n++; f[n] = $1; a[n] = $2; b[n] = $3; len += $3 - $2 }
            END { off = from % len
                  for (i = 1; i <= n; i++) {
                      if (off < b[i] - a[i]) {
                          s0 = a[i] + off; e0 = s0 + want; if (e0 > b[i]) e0 = b[i]
                          printf "%s %.2f %.2f\n", f[i], s0, e0 - s0; exit }
                      off -= b[i] - a[i] } }')
        read -r file s0 d <<< "$piece"
        at[$spk]=$(awk -v a="${at[$spk]:-0}" -v d="$d" 'BEGIN { print a + d }')
        ffmpeg -nostdin -loglevel error -y -ss "$s0" -t "$d" -i "$ami/$file.wav" \
            -ar 16000 -ac 1 -f s16le "$work/turn.raw"
        add_turn "$name" "$spk" "$work/turn.raw" $(( t > 1 ? 3200 + RANDOM % 20800 : 0 ))
    done
    head -c 32000 /dev/zero >> "$raw"
}

# want SET: whether SET is to be scored (SETS="real-2 ami one", say: only
# those; all when SETS is empty)
want() { [ -z "${SETS:-}" ] || [[ " $SETS " == *" $1 "* ]]; }

# score_phone SET NAMES...: telephone copies of the recordings, scored
score_phone() {
    local set=$1 name; shift
    local copies=()
    for name in "$@"; do
        phone "$work/$name.wav" "$work/$name-8k.wav"
        sed "s/ $name / $name-8k /" "$work/$name.rttm" > "$work/$name-8k.rttm"
        run "$name-8k" "$work/$name-8k.wav"
        copies+=("$name-8k")
    done
    score_set "$set" "${copies[@]}"
}

for k in 2 3 4; do
    want "flite-$k" || continue
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
if want real-2 || want real-2-8k; then
    names=()
    for c in 1 2 3 4; do
        name="real_$c"
        make_real "$name" "$c"
        ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$work/$name.raw" "$work/$name.wav"
        want real-2 && run "$name" "$work/$name.wav"
        names+=("$name")
    done
    want real-2 && score_set real-2 "${names[@]}"
    want real-2-8k && score_phone real-2-8k "${names[@]}"
fi
if [ -d "$ami" ]; then
    names=()
    for f in "$ami"/trn*.wav; do
        name=$(basename "$f" .wav)
        cp "$f" "$work/$name.wav"
        grep " $name " "$ami/reference.rttm" > "$work/$name.rttm"
        want ami && run "$name" "$f"
        names+=("$name")
    done
    want ami && score_set ami "${names[@]}"
    # The telephone copies are scored over the same regions.
    sed 's/^\(trn[0-9]*\)/\1-8k/' "$ami/reference.uem" > "$work/ami-8k.uem"
    want ami-8k && score_phone ami-8k "${names[@]}"
    if want spliced || want spliced-8k; then
        names=()
        c=0
        for who in "MEO069 FEE078" "FEE083 MEE075" "FEE078 FEE083 MEO069" \
                   "MEE075 FEE088 FEE078"; do
            c=$((c + 1))
            name="spliced_$c"
            make_spliced "$name" "$c" $who
            ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i "$work/$name.raw" "$work/$name.wav"
            want spliced && run "$name" "$work/$name.wav"
            names+=("$name")
        done
        want spliced && score_set spliced "${names[@]}"
        want spliced-8k && score_phone spliced-8k "${names[@]}"
    fi
else
    echo "ami, ami-8k, spliced, spliced-8k: $ami is not here; not scored"
fi
if want one || want one-8k; then
    # One voice each: the README's example, each LibriVox passage, the CMU
    # speaker's three recordings one after another, the five card names.
    names=(one_hello)
    flite -voice slt -t "Please open the window. I would like a cup of coffee." -o "$work/one_hello.wav"
    i=0
    for f in $(librivox_files); do
        i=$((i + 1))
        cp "$f" "$work/one_librivox$i.wav"
        names+=("one_librivox$i")
    done
    data=/usr/share/pocketsphinx/test/data
    for f in goforward numbers something; do cat "$data/$f.raw"; head -c 32000 /dev/zero; done |
        ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i - "$work/one_cmu.wav"
    names+=(one_cmu)
    for f in "$data"/cards/00?.wav; do tail -c +45 "$f"; head -c 16000 /dev/zero; done |
        ffmpeg -nostdin -loglevel error -y -f s16le -ar 16000 -ac 1 -i - "$work/one_cards.wav"
    names+=(one_cards)
    if want one; then
        for name in "${names[@]}"; do run "$name" "$work/$name.wav"; done
        score_one one "${names[@]}"
    fi
    if want one-8k; then
        for name in "${names[@]}"; do
            phone "$work/$name.wav" "$work/$name-8k.wav"
            run "$name-8k" "$work/$name-8k.wav"
        done
        score_one one-8k "${names[@]/%/-8k}"
    fi
fi
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
out="bench/results/diarization-$(date -u +%Y%m%dT%H%M%SZ)-$commit.json"
echo "{\"benchmark\": \"diarization\", \"commit\": \"$commit\", \"collar_s\": 0.25, \"sets\": [$json]}" > "$out"
echo "wrote $out"
