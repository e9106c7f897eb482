#!/usr/bin/env bash
# How well the recogniser's word confidences point at its mistakes (the
# web page underlines words under a threshold, issue 37 point 4): the
# flite set and the LibriVox recordings streamed with punctuation off,
# each final's words aligned to the reference by edit distance; for each
# threshold, the share of words marked, how many marked words are wrong
# (precision) and how many wrong words are marked (recall).
#
#   bench/confidence.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/verbatim}
. bench/lib.sh
scratch_server vbconf
bench/flite_set.sh "$work/flite" >/dev/null
{ cat "$work/flite/ref.trn"
  sed 's/<s> //; s/ <\/s>//' "$librivox/transcription"; } > "$work/ref.trn"
: > "$work/hyp.jsonl"
for f in "$work"/flite/*.wav $(librivox_files); do
    id=$(basename "$f" .wav)
    out=$("$bin" stream --url "ws://127.0.0.1:$port" --title "$id" "$f" 2>&1 >/dev/null)
    tid=$(grep -oE 'transcript [0-9]+' <<<"$out" | grep -oE '[0-9]+')
    echo "{\"id\": \"$id\", \"segments\": $(curl -s "http://127.0.0.1:$port/api/transcriptions/$tid/segments/?words=true")}" >> "$work/hyp.jsonl"
done
python3 - "$work/ref.trn" "$work/hyp.jsonl" <<'PY'
import json, re, sys
refs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(.*) \((.*)\)\s*$", line)
    if m:
        refs[m.group(2)] = m.group(1).split()
words = []  # (confidence, correct)
for line in open(sys.argv[2]):
    doc = json.loads(line)
    hyp = [w for s in doc["segments"] for w in s.get("words", [])]
    ref = refs[doc["id"]]
    h = [re.sub(r"[^a-z0-9']", "", w["word"].lower()) for w in hyp]
    n, m = len(ref), len(h)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1): d[i][0] = i
    for j in range(m + 1): d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1, d[i-1][j-1] + (ref[i-1] != h[j-1]))
    ok = [False] * m
    i, j = n, m
    while i > 0 and j > 0:
        if d[i][j] == d[i-1][j-1] + (ref[i-1] != h[j-1]):
            ok[j-1] = ref[i-1] == h[j-1]; i -= 1; j -= 1
        elif d[i][j] == d[i][j-1] + 1:
            j -= 1
        else:
            i -= 1
    words += [(w["confidence"], ok[k]) for k, w in enumerate(hyp)]
wrong = sum(1 for _, ok in words if not ok)
print(f"{len(words)} words, {wrong} wrong ({100 * wrong / len(words):.1f} %)")
print("threshold  marked  precision  recall")
for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
    marked = [ok for c, ok in words if c < t]
    bad = sum(1 for ok in marked if not ok)
    print(f"{t:9.1f}  {100 * len(marked) / len(words):5.1f} %  "
          f"{100 * bad / len(marked) if marked else 0:7.1f} %  {100 * bad / wrong if wrong else 0:5.1f} %")
PY
