#!/usr/bin/env bash
# Sentence breaks inside one utterance: the pause set (bench/pause_set.sh,
# with exactly PAUSE_MS of silence between the parts) streamed with
# punctuation.  Each pair_ file is two sentences with a short pause
# between them (one break wanted), each half_ file one sentence said in
# two halves (no break wanted).  A break is a . ? or ! inside the text,
# or the end of a final that is not the last; in a pair it counts as
# found only where the sentences meet (the word before it aligned, by
# edit distance, to within one word of the first sentence's last), any
# other break is false.  Prints, per pause, precision, recall and F1 of
# the breaks: in the pairs alone, and with the halves' breaks counted as
# false too.
#
#   bench/sentences.sh [BIN] [PAUSE_MS...]   (default: 150 250 400)
# SHOW=1 also lists each false or missed break's file and finals.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/verbatim}
shift || true
pauses=("$@")
[ ${#pauses[@]} -gt 0 ] || pauses=(150 250 400)
. bench/lib.sh
scratch_server vbsent
for pause in "${pauses[@]}"; do
echo "pause ${pause} ms:"
bench/pause_set.sh "$work/set$pause" "$pause" exact >/dev/null
: > "$work/hyp.txt"
for f in "$work/set$pause"/*.wav; do
    id=$(basename "$f" .wav)
    text=$("$bin" stream --url "ws://127.0.0.1:$port" --title "$id" "$f" 2>/dev/null |
           sed 's/^\[[^]]*\] //' | tr '\n' '|')
    echo "$id	$text" >> "$work/hyp.txt"
done
python3 - "$work/hyp.txt" bench/flite_sentences.txt <<'PY'
import os, re, sys
sentences = [l.strip() for l in open(sys.argv[2]) if l.strip()]
def words(t):
    return re.sub(r"[^a-z0-9' ]", " ", t.lower()).split()

def ref_positions(hyp, ref):
    """For each hypothesis word, the reference position it aligns to
    (Levenshtein alignment): the index of the reference word it matches
    or replaces, or the position it is inserted at."""
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1): d[i][0] = i
    for j in range(m + 1): d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i-1][j] + 1, d[i][j-1] + 1,
                          d[i-1][j-1] + (ref[i-1] != hyp[j-1]))
    pos = [0] * m
    i, j = n, m
    while j > 0:
        if i > 0 and d[i][j] == d[i-1][j-1] + (ref[i-1] != hyp[j-1]):
            pos[j-1] = i - 1; i -= 1; j -= 1
        elif d[i][j] == d[i][j-1] + 1:
            pos[j-1] = i - 1 if i > 0 else 0; j -= 1
        else:
            i -= 1
    return pos

tp = fp = fn = fp_halves = misplaced = 0
for line in open(sys.argv[1]):
    fid, text = line.rstrip("\n").split("\t", 1)
    finals = [t.strip() for t in text.split("|") if t.strip()]
    # The hypothesis's words, and after which of them a break falls: a
    # . ? or ! inside a final, or the end of a final that is not the last.
    hyp, breaks = [], []
    for k, f in enumerate(finals):
        for tok in f.split():
            w = words(tok)
            hyp += w
            if w and re.search(r"[.?!]$", tok) and hyp:
                breaks.append(len(hyp) - 1)
        if k + 1 < len(finals) and hyp and (not breaks or breaks[-1] != len(hyp) - 1):
            breaks.append(len(hyp) - 1)
    breaks = [b for b in breaks if b < len(hyp) - 1]  # not the utterance's end
    if fid.startswith("pair_"):
        i = int(fid.split("_")[1])
        first, second = words(sentences[i]), words(sentences[i + 1])
        pos = ref_positions(hyp, first + second)
        # Right if the word before the break aligns to within one word of
        # the first sentence's last.
        right = [b for b in breaks if abs(pos[b] - (len(first) - 1)) <= 1]
        hit = 1 if right else 0
        misplaced += len(breaks) - len(right) if breaks and not right else 0
        tp += hit; fn += 1 - hit; fp += len(breaks) - hit
        wrong = len(breaks) - hit or not hit
    else:
        fp_halves += len(breaks)
        wrong = breaks
    if wrong and os.environ.get("SHOW"):
        print("%s: %s" % (fid, " | ".join(finals)))
def score(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0
    r = tp / (tp + fn) if tp + fn else 0
    return p, r, 2 * p * r / (p + r) if p + r else 0
print("breaks in the pairs, at the sentence boundary (within a word): precision %.2f  "
      "recall %.2f  F1 %.2f  (TP %d, FP %d of which %d elsewhere in a pair missed, FN %d)"
      % (*score(tp, fp, fn), tp, fp, misplaced, fn))
print("with the halves' breaks as false: precision %.2f  recall %.2f  F1 %.2f  (FP %d more)"
      % (*score(tp, fp + fp_halves, fn), fp_halves))
PY
done
