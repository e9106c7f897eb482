#!/usr/bin/env bash
# Finals in continuous speech: how long someone who keeps talking waits
# for settled text, and what cutting it costs in words.
#
#   bench/continuous.sh [BIN]
#
# 1. The five LibriVox recordings of pocketsphinx-testdata joined with no
#    gap (25 s of one reader): word error rate by sclite against the
#    joined transcripts, the number of finals, the longest final and the
#    longest stretch of audio between two finals' ends.
# 2. The AMI meeting excerpts in ../shared/data (when that folder exists:
#    real voices, 30 s each, no transcripts): the same timings.
# Times are audio seconds, so the machine's speed does not enter.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/verbatim}
data=/usr/share/pocketsphinx/test/data/librivox
ami=../shared/data/ami-excerpts
. bench/lib.sh
scratch_server vbcont

# Prints "finals N  longest final S  longest wait S" for the stream's
# JSON messages on stdin, and writes the finals' words to $1.
timings() {
    python3 -c '
import json, sys
finals = []
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    m = json.loads(line)
    p = m.get("payload")
    if m.get("type") == "transcript_segment" and p.get("is_final"):
        finals.append((p["start"], p["end"], p["text"]))
open(sys.argv[1], "w").write(" ".join(f[2] for f in finals))
ends = [0.0] + [f[1] for f in finals]
wait = max(b - a for a, b in zip(ends, ends[1:])) if finals else 0
longest = max((f[1] - f[0] for f in finals), default=0)
print("finals %d  longest final %.2f s  longest wait %.2f s" % (len(finals), longest, wait))
' "$1"
}

ids=$(cat "$data/fileids")
inputs=()
for id in $ids; do inputs+=(-i "$data/$id.wav"); done
n=$(echo "$ids" | wc -w)
ffmpeg -loglevel error "${inputs[@]}" -filter_complex "concat=n=$n:v=0:a=1" \
    -ar 16000 -ac 1 "$work/joined.wav"
sed 's/<s> //; s/ <\/s>//; s/ *(.*)$//' "$data/transcription" | tr '\n' ' ' |
    sed 's/ *$/ (joined)\n/' > "$work/ref.trn"
"$bin" stream --json --no-punctuate --url "ws://127.0.0.1:$port" --title joined \
    "$work/joined.wav" 2>/dev/null | timings "$work/hyp.txt" > "$work/t.txt"
echo "$(cat "$work/hyp.txt") (joined)" > "$work/hyp.trn"
wer=$(sctk sclite -r "$work/ref.trn" trn -h "$work/hyp.trn" trn -i wsj -o sum stdout |
      awk '/Sum\/Avg/ { print $(NF-2) }')
echo "LibriVox joined (25 s): WER $wer %  $(cat "$work/t.txt")"

if [ -d "$ami" ]; then
    for f in "$ami"/trn*.wav; do
        t=$("$bin" stream --json --no-punctuate --url "ws://127.0.0.1:$port" \
                --title "$(basename "$f")" "$f" 2>/dev/null | timings /dev/null)
        echo "AMI $(basename "$f" .wav): $t"
    done
else
    echo "(no $ami: the meeting excerpts are skipped)"
fi
