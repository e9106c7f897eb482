#!/usr/bin/env bash
# Accuracy by audio format: the same speech (the flite set and the LibriVox
# recordings of pocketsphinx-testdata) encoded by the ffmpeg tool as each
# format a client might send, streamed through a real server with
# `verbatim stream` in 100 ms chunks, and scored with NIST sclite.  The
# 16 kHz mono PCM WAV row is the reference; every other row prints its
# difference in points of word error rate.
# Prints a table and writes the figures as JSON to bench/results/.
#
#   bench/formats.sh            every format (about 10 minutes on 2 cores)
#   FORMATS="pcm16k webm48k" bench/formats.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
build_verbatim
work=build/bench/formats
mkdir -p "$work" bench/results
formats=${FORMATS:-"pcm16k wav8k wav22k wav44k_stereo wav48k_float ogg24k webm48k \
webm128k_stereo mp3_64k m4a_96k flac"}
port=$((20000 + RANDOM % 20000))
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

bench/flite_set.sh build/bench/flite >/dev/null
sed 's/<s> //; s/ <\/s>//' "$librivox/transcription" > "$work/libri.ref"
cat build/bench/flite/ref.trn "$work/libri.ref" > "$work/ref.trn"
sources=$(ls build/bench/flite/*.wav; librivox_files)

encode() { # FORMAT SRC DST-WITHOUT-EXTENSION -> prints the file made
    local f=$1 src=$2 dst=$3
    local ff=(ffmpeg -nostdin -loglevel error -y -i "$src")
    case $f in
        pcm16k) cp "$src" "$dst.wav"; echo "$dst.wav" ;;
        wav8k) "${ff[@]}" -ar 8000 "$dst.wav"; echo "$dst.wav" ;;
        wav22k) "${ff[@]}" -ar 22050 "$dst.wav"; echo "$dst.wav" ;;
        wav44k_stereo) "${ff[@]}" -ar 44100 -ac 2 "$dst.wav"; echo "$dst.wav" ;;
        wav48k_float) "${ff[@]}" -ar 48000 -c:a pcm_f32le "$dst.wav"; echo "$dst.wav" ;;
        ogg24k) "${ff[@]}" -c:a libopus -b:a 24k "$dst.ogg"; echo "$dst.ogg" ;;
        webm48k) "${ff[@]}" -c:a libopus -b:a 48k -f webm -live 1 "$dst.webm"; echo "$dst.webm" ;;
        webm128k_stereo) "${ff[@]}" -ac 2 -c:a libopus -b:a 128k "$dst.webm"; echo "$dst.webm" ;;
        mp3_64k) "${ff[@]}" -ar 44100 -b:a 64k "$dst.mp3"; echo "$dst.mp3" ;;
        m4a_96k) "${ff[@]}" -ar 44100 -c:a aac -b:a 96k "$dst.m4a"; echo "$dst.m4a" ;;
        flac) "${ff[@]}" -ar 44100 "$dst.flac"; echo "$dst.flac" ;;
        *) echo "unknown format $f" >&2; exit 2 ;;
    esac
}

"$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn 2>"$work/server.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/api/health" -o /dev/null; do sleep 0.05; done

wer() { # HYP-FILE: prints the WER (percent)
    sctk sclite -r "$work/ref.trn" trn -h "$1" trn -i wsj -o sum stdout |
        awk '/Sum\/Avg/ { print $(NF-2) }'
}
printf '%-18s %8s %10s\n' format "WER %" "vs PCM"
json=""
base=
for f in $formats; do
    mkdir -p "$work/$f"
    : > "$work/$f.hyp"
    for src in $sources; do
        id=$(basename "$src" .wav)
        file=$(encode "$f" "$src" "$work/$f/$id")
        hyp=$("$bin" stream --url "ws://127.0.0.1:$port" --title "$id" --chunk-ms 100 \
                  --no-punctuate "$file" | sed 's/^\[[^]]*\] //' | tr '\n' ' ')
        echo "${hyp}($id)" >> "$work/$f.hyp"
    done
    w=$(wer "$work/$f.hyp")
    [ -z "$base" ] && base=$w
    delta=$(awk -v a="$w" -v b="$base" 'BEGIN { printf "%+.1f", a - b }')
    printf '%-18s %8s %10s\n' "$f" "$w" "$delta"
    json+="${json:+, }{\"format\": \"$f\", \"wer\": $w, \"delta\": $delta}"
done
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
out="bench/results/formats-$(date -u +%Y%m%dT%H%M%SZ)-$commit.json"
cat > "$out" <<JSON
{"benchmark": "formats", "commit": "$commit", "cores": $(nproc),
 "data": "flite set (52 sentences, 4 voices) + LibriVox (5 recordings)",
 "reference_format": "$(echo $formats | cut -d' ' -f1)",
 "results": [$json]}
JSON
echo "wrote $out"
