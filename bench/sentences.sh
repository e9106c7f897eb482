#!/usr/bin/env bash
# Sentence breaks inside one utterance: the pause set (bench/pause_set.sh)
# streamed with punctuation.  Each pair_ file is two sentences with a
# short pause between them (one break wanted), each half_ file one
# sentence said in two halves (no break wanted).  A break is a . ? or !
# inside the text, or the end of a final that is not the last.  Prints
# precision, recall and F1 of the breaks: in the pairs alone, and with the
# halves' breaks counted as false too.
#
#   bench/sentences.sh [BIN] [GAP_MS]   (GAP_MS added to flite's own
#                                        ~0.25 s of quiet; default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/verbatim}
gap=${2:-50}
. bench/lib.sh
scratch_server vbsent
bench/pause_set.sh "$work/set" "$gap" >/dev/null
: > "$work/hyp.txt"
for f in "$work"/set/*.wav; do
    id=$(basename "$f" .wav)
    text=$("$bin" stream --url "ws://127.0.0.1:$port" --title "$id" "$f" 2>/dev/null |
           sed 's/^\[[^]]*\] //' | tr '\n' '|')
    echo "$id	$text" >> "$work/hyp.txt"
done
python3 - "$work/hyp.txt" <<'PY'
import re, sys
tp = fp = fn = fp_halves = 0
for line in open(sys.argv[1]):
    fid, text = line.rstrip("\n").split("\t", 1)
    finals = [t.strip() for t in text.split("|") if t.strip()]
    inner = sum(len(re.findall(r"[.?!] ", f)) for f in finals) + max(len(finals) - 1, 0)
    if fid.startswith("pair_"):
        hit = min(inner, 1)
        tp += hit; fn += 1 - hit; fp += inner - hit
    else:
        fp_halves += inner
def score(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0
    r = tp / (tp + fn) if tp + fn else 0
    return p, r, 2 * p * r / (p + r) if p + r else 0
print("breaks in the pairs: precision %.2f  recall %.2f  F1 %.2f  (TP %d, FP %d, FN %d)"
      % (*score(tp, fp, fn), tp, fp, fn))
print("with the halves' breaks as false: precision %.2f  recall %.2f  F1 %.2f  (FP %d more)"
      % (*score(tp, fp + fp_halves, fn), fp_halves))
PY
