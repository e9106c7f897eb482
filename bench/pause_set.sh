#!/usr/bin/env bash
# Generates the pause set: speech with a short pause inside one utterance
# (shorter than the 500 ms endpoint), where the recogniser may end its
# phrase early (bench/NOTES.md, "When the final comes").  From the flite sentences:
#   half_NN_VOICE  a sentence of six words or more spoken as two halves:
#                  the pause falls inside the sentence (no cut wanted)
#   pair_NN_VOICE  two sentences one after the other: the pause falls
#                  between them (a cut is welcome)
# with GAP_MS of silence added between the two parts, on top of the
# ~0.2-0.55 s flite leaves at the end and start of what it says (slt the
# most); with `exact`, that quiet is cut off first (below -50 dBFS), so
# the pause is GAP_MS.  16 kHz WAV files and the reference transcript in
# sclite's trn format.
# Usage: bench/pause_set.sh OUTDIR [GAP_MS [exact]]   (default 50)
set -euo pipefail
out=${1:?usage: pause_set.sh OUTDIR [GAP_MS]}
gap=${2:-50}
exact=${3:-}
mkdir -p "$out"
voices=(slt rms awb kal16)
mapfile -t sentences < <(grep . "$(dirname "$0")/flite_sentences.txt")
part="$out/part.wav" raw="$out/parts.raw"
trap 'rm -f "$part" "$raw"' EXIT

words_of() { tr 'A-Z' 'a-z' <<<"$1" | tr -d '.,?!;:'; }
le() { # le VALUE BYTES: little-endian binary
    local v=$1 i
    for ((i = 0; i < $2; i++)); do
        printf "\\$(printf '%03o' $(((v >> (8 * i)) & 255)))"
    done
}
samples_of() { # VOICE TEXT [TRIM]: flite's samples; TRIM (an ffmpeg filter)
    flite -voice "$1" -t "$2" -o "$part"                 # cuts off quiet
    if [ -n "${3:-}" ]; then
        ffmpeg -v error -i "$part" -af "$3" -f s16le -ac 1 -ar 16000 -
    else
        tail -c +45 "$part" # its WAV header is 44 bytes
    fi
}
quiet=silenceremove=start_periods=1:start_threshold=-50dB
end_trim= start_trim=
[ "$exact" = exact ] && end_trim="areverse,$quiet,areverse" start_trim=$quiet
write_wav() { # FILE VOICE FIRST SECOND
    { samples_of "$2" "$3" "$end_trim"; head -c $((gap * 32)) /dev/zero
      samples_of "$2" "$4" "$start_trim"; } > "$raw"
    local bytes; bytes=$(stat -c %s "$raw")
    { printf 'RIFF'; le $((36 + bytes)) 4; printf 'WAVEfmt '; le 16 4; le 1 2; le 1 2
      le 16000 4; le 32000 4; le 2 2; le 16 2; printf 'data'; le "$bytes" 4; cat "$raw"; } > "$1"
}

: > "$out/ref.trn"
for ((i = 0; i < ${#sentences[@]}; i++)); do
    read -ra w <<<"${sentences[i]}"
    n=${#w[@]}
    [ "$n" -ge 6 ] || continue
    voice=${voices[$((i % 4))]}
    id=$(printf 'half_%02d_%s' "$i" "$voice")
    [ -f "$out/$id.wav" ] || write_wav "$out/$id.wav" "$voice" "${w[*]:0:n/2}" "${w[*]:n/2}"
    echo "$(words_of "${sentences[i]}") ($id)" >> "$out/ref.trn"
done
for ((i = 0; i + 1 < ${#sentences[@]}; i += 2)); do
    voice=${voices[$(((i / 2) % 4))]}
    id=$(printf 'pair_%02d_%s' "$i" "$voice")
    [ -f "$out/$id.wav" ] || write_wav "$out/$id.wav" "$voice" "${sentences[i]}" "${sentences[i + 1]}"
    echo "$(words_of "${sentences[i]}") $(words_of "${sentences[i + 1]}") ($id)" >> "$out/ref.trn"
done
