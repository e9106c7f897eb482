#!/usr/bin/env bash
# Generates the flite accuracy set: 52 sentences, each spoken by one of four
# voices in turn (slt, rms, awb, kal16), as 16 kHz WAV files, with the
# reference transcript in sclite's trn format.  Same input, same files.
# Usage: bench/flite_set.sh OUTDIR
set -euo pipefail
out=${1:?usage: flite_set.sh OUTDIR}
mkdir -p "$out"
voices=(slt rms awb kal16)
: > "$out/ref.trn"
i=0
while IFS= read -r sentence; do
    [ -z "$sentence" ] && continue
    voice=${voices[$((i % 4))]}
    id=$(printf 'flite_%02d_%s' "$i" "$voice")
    [ -f "$out/$id.wav" ] || flite -voice "$voice" -t "$sentence" -o "$out/$id.wav"
    ref=$(tr 'A-Z' 'a-z' <<<"$sentence" | tr -d '.,?!;:' )
    echo "$ref ($id)" >> "$out/ref.trn"
    i=$((i + 1))
done < "$(dirname "$0")/flite_sentences.txt"
