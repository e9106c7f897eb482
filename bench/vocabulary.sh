#!/usr/bin/env bash
# Custom vocabulary: how much taught words (`transcribe --keywords`) help
# with names the recogniser's dictionary lacks, and what they cost.
#
# 30 business sentences, each with one or two invented product or people
# names (24 names, none in cmudict-en-us.dict), said by flite's voices
# slt, rms, awb and kal16 (when `flite -lv` lists it), 16 kHz WAV in a
# scratch folder.  Each file is transcribed twice with
# `verbatim transcribe --no-diarize --no-punctuate`: without keywords,
# and with --keywords listing all 24 names (the same list for every file,
# default boost), the two runs side by side on the two cores so that
# both meet the same machine.  Prints:
#   - recall of the names: their occurrences found in the hypothesis (a
#     case-insensitive whole-word match, at most as many as were said in
#     the utterance), before and after; and false insertions (a name
#     heard more often than it was said in an utterance, or where it was
#     not said at all)
#   - word error rate by NIST sclite of the other words (every name
#     removed from the reference and from the hypothesis) and overall.
#     The other words' figure still counts as insertions the words a
#     missed name is heard as ("zentrix" -> "and tricks")
#   - processor time (user + system) of the transcriptions without and
#     with keywords, and their ratio; also net of start-up (model
#     loading), measured on a second of silence without keywords
# A run that fails (a crash, say) is listed by file and cause, and that
# file is left out of every figure, both of its runs.
#
#   bench/vocabulary.sh [--profile fast|accurate] [--quick]
#       --profile  passed to transcribe (default accurate)
#       --quick    the first 10 sentences only (the keyword list is still
#                  all 24 names)
#   VERBATIM=PATH  the binary to measure (default build/verbatim)
#   NICE=N         niceness of flite and transcribe (default 10)
#   KEEP=1         keep the scratch folder (WAVs, trn files, outputs)
#
# About 2.5 minutes on 2 cores for the full set (120 files, 240 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

profile=accurate
quick=0
while [ $# -gt 0 ]; do
    case $1 in
        --profile) profile=${2:?--profile needs fast or accurate}; shift 2 ;;
        --profile=*) profile=${1#*=}; shift ;;
        --quick) quick=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "vocabulary.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $profile in
    fast|accurate) ;;
    *) echo "vocabulary.sh: --profile must be fast or accurate" >&2; exit 2 ;;
esac

bin=${VERBATIM:-build/verbatim}
if [ ! -x "$bin" ]; then
    if [ -n "${VERBATIM:-}" ]; then
        echo "VERBATIM: $bin is not a program" >&2; exit 1
    fi
    nice make --no-print-directory build/verbatim >/dev/null
fi
for tool in flite sctk python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "vocabulary.sh: needs $tool" >&2; exit 1; }
done
nice=(nice -n "${NICE:-10}")

work=$(mktemp -d "${TMPDIR:-/tmp}/vbvocab-XXXXXX")
if [ -n "${KEEP:-}" ]; then
    trap 'echo "vocabulary.sh: files kept in $work" >&2' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi

# The names (as taught: this spelling) and the sentences that say them.
names=(Zentrix Talvani Qorvex Brixley Nubira Veltrax Dravnik Quellan Morvaine
       Lumetra Sorvik Kestrani Fennwick Halvoran Trivexa Plexora Marquelle
       Vantorel Celdric Yanoski Ardexa Brennagh Tolvane Kivorra)
mapfile -t sentences <<'EOF'
Please send the quarterly report to Zentrix by Friday morning.
Maria Talvani will lead the design review on Tuesday.
The Qorvex launch has moved to the second week of March.
Can you ask Brixley to join the budget meeting this afternoon?
Our contract with Nubira ends at the close of the year.
The Veltrax team needs two more engineers before the summer.
Dravnik and Quellan will share the travel costs for the conference.
We should compare the Morvaine proposal with the old supplier offer.
The new Lumetra dashboard shows sales for every region.
Please book a room for Sorvik and his guests on Thursday.
Kestrani asked whether the invoice from Zentrix has been paid.
Fennwick will present the marketing plan at the next board meeting.
The Halvoran servers were restarted after the network failure.
Trivexa has agreed to lower the price if we order in bulk.
Send a copy of the minutes to Plexora and to the legal team.
Marquelle from finance wants the numbers before lunch.
The Vantorel pilot went well, so we will extend it to three stores.
Celdric is out of the office until the end of the month.
Ask Yanoski to update the schedule for the Qorvex rollout.
The customers liked the Ardexa demo more than we expected.
Brennagh will call the bank about the loan on Monday.
We lost the Tolvane account because our delivery was late.
Kivorra wants a short summary of the survey results.
The training for the Nubira staff starts next week.
Talvani and Fennwick disagree about the hiring plan.
Our Veltrax sensors passed the safety test yesterday.
Please remind Dravnik that the Lumetra license expires soon.
The Ardexa team will visit our office in April.
Morvaine signed the agreement after a long discussion.
Kestrani and Celdric will handle the customer complaints this quarter.
EOF
[ "$quick" = 1 ] && sentences=("${sentences[@]:0:10}")

# A name the dictionary knows would measure nothing: say so.
dict=/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict
if [ -f "$dict" ]; then
    for n in "${names[@]}"; do
        if grep -qi "^$n[ (]" "$dict"; then
            echo "vocabulary.sh: warning: $n is in $dict" >&2
        fi
    done
fi
# Nor would one that flite spells out letter by letter ("Vantorq": "vee ay
# en tee ..."): more phones than letters says so.
for n in "${names[@]}"; do
    phones=$(flite -ps -t "$n" -o /dev/null | tr ' ' '\n' | grep -cv '^pau$\|^$' || true)
    if [ "$phones" -gt $(( ${#n} + 1 )) ]; then
        echo "vocabulary.sh: warning: flite seems to spell out $n ($phones phones)" >&2
    fi
done
printf '%s\n' "${names[@]}" > "$work/names.txt"
keywords=$(IFS=,; echo "${names[*]}")

voices=(slt rms awb)
flite -lv | grep -qw kal16 && voices+=(kal16)

# The set: every sentence in every voice, and the reference (trn format).
mkdir "$work/set" "$work/ref"
words_of() { tr 'A-Z' 'a-z' <<<"$1" | tr -d '.,?!;:'; }
for ((i = 0; i < ${#sentences[@]}; i++)); do
    for v in "${voices[@]}"; do
        id=$(printf 'voc_%02d_%s' "$i" "$v")
        "${nice[@]}" flite -voice "$v" -t "${sentences[i]}" -o "$work/set/$id.wav"
        words_of "${sentences[i]}" > "$work/ref/$id.txt"
    done
done
files=("$work"/set/*.wav)

# transcribe OUT ARGS...: OUT.txt its words (one line, lower case),
# OUT.time its processor time ("user sys"), OUT.err its messages.
transcribe() {
    local out=$1; shift
    /usr/bin/time -f '%U %S' -o "$out.time" "${nice[@]}" "$bin" transcribe \
        --no-diarize --no-punctuate --profile "$profile" "$@" > "$out.raw" 2> "$out.err" || return 1
    sed 's/^\[[^]]*\] //' "$out.raw" | tr '\n' ' ' | tr 'A-Z' 'a-z' |
        sed 's/  */ /g; s/^ //; s/ $//' > "$out.txt"
}
# ran_ok PID OUT ID: waits for PID; if it failed, notes ID and why in
# $work/failed (the file is then left out of every figure).
ran_ok() {
    wait "$1" && return 0
    local why
    why=$(grep -h -m1 -E 'signal|status' "$2.time" 2>/dev/null || echo "failed")
    echo "$3 ${2%/*}: $why" | sed "s|$work/||" >> "$work/failed"
}

# Start-up: a second of silence without keywords, three times.
head -c 32000 /dev/zero > "$work/silence.raw"
for k in 1 2 3; do
    /usr/bin/time -f '%U %S' -o "$work/startup.$k" "${nice[@]}" "$bin" transcribe \
        --no-diarize --no-punctuate --profile "$profile" --sample-rate 16000 \
        "$work/silence.raw" > /dev/null 2>&1
done
startup=$(awk '{ print $1 + $2 }' "$work"/startup.? | sort -g | sed -n 2p)

mkdir "$work/plain" "$work/taught"
: > "$work/failed"
t0=$SECONDS
for f in "${files[@]}"; do
    id=$(basename "$f" .wav)
    transcribe "$work/plain/$id" "$f" & a=$!
    transcribe "$work/taught/$id" --keywords "$keywords" "$f" & b=$!
    ran_ok "$a" "$work/plain/$id" "$id"
    ran_ok "$b" "$work/taught/$id" "$id"
done
elapsed=$((SECONDS - t0))
# The files both runs transcribed: the ones every figure is about.
kept=()
for f in "${files[@]}"; do
    id=$(basename "$f" .wav)
    grep -q "^$id " "$work/failed" || kept+=("$id")
done
[ ${#kept[@]} -gt 0 ] || { echo "vocabulary.sh: every run failed" >&2; cat "$work/failed" >&2; exit 1; }
: > "$work/ref.trn"
for id in "${kept[@]}"; do echo "$(cat "$work/ref/$id.txt") ($id)" >> "$work/ref.trn"; done
for kind in plain taught; do
    : > "$work/$kind.trn"
    for id in "${kept[@]}"; do
        echo "$(cat "$work/$kind/$id.txt") ($id)" >> "$work/$kind.trn"
    done
done

# Recall and false insertions of the names; the trn files without them.
python3 - "$work" <<'PY' > "$work/names.out"
import collections, re, sys
work = sys.argv[1]
names = [n.strip().lower() for n in open(f"{work}/names.txt") if n.strip()]
nameset = set(names)

def trn(path):
    out = {}
    for line in open(path):
        m = re.match(r"^(.*)\((\S+)\)\s*$", line)
        out[m.group(2)] = m.group(1).split()
    return out

ref = trn(f"{work}/ref.trn")
hyps = {k: trn(f"{work}/{k}.trn") for k in ("plain", "taught")}
total = 0
found = collections.Counter()            # (kind) -> hits
by_name = collections.defaultdict(collections.Counter)   # name -> kind -> hits
said = collections.Counter()             # name -> occurrences
by_voice = collections.defaultdict(collections.Counter)  # voice -> kind -> hits
voice_said = collections.Counter()
false = collections.defaultdict(list)    # kind -> [(id, name)]
for uid, words in ref.items():
    voice = uid.rsplit("_", 1)[1]
    rc = collections.Counter(w for w in words if w in nameset)
    for n, c in rc.items():
        said[n] += c
        voice_said[voice] += c
        total += c
    for kind, hyp in hyps.items():
        hc = collections.Counter(w for w in hyp.get(uid, []) if w in nameset)
        for n in nameset:
            hit = min(rc[n], hc[n])
            found[kind] += hit
            by_name[n][kind] += hit
            by_voice[voice][kind] += hit
            for _ in range(hc[n] - hit):
                false[kind].append((uid, n))
for kind in ("ref",) + tuple(hyps):
    src = ref if kind == "ref" else hyps[kind]
    with open(f"{work}/{kind}.other.trn", "w") as f:
        for uid in ref:
            f.write(" ".join(w for w in src.get(uid, []) if w not in nameset) + f" ({uid})\n")
print("counts", len(ref), total, found["plain"], found["taught"],
      len(false["plain"]), len(false["taught"]))
print("by voice (recall before -> after):  " + "  ".join(
    "%s %.0f%% -> %.0f%%" % (v, 100 * by_voice[v]["plain"] / voice_said[v],
                             100 * by_voice[v]["taught"] / voice_said[v])
    for v in sorted(voice_said, key=lambda v: ["slt", "rms", "awb", "kal16"].index(v)
                    if v in ("slt", "rms", "awb", "kal16") else 9)))
print("by name (found before/after of said):")
line = []
for n in names:
    if said[n]:
        line.append("%s %d/%d/%d" % (n, by_name[n]["plain"], by_name[n]["taught"], said[n]))
for i in range(0, len(line), 6):
    print("   " + "  ".join(line[i:i + 6]))
never = [n for n in names if said[n] and by_name[n]["taught"] == 0]
print("names never recognised with keywords: " + (", ".join(never) or "none"))
unsaid = [n for n in names if not said[n]]
if unsaid:
    print("names taught but not said in the files scored: " + ", ".join(unsaid))
for kind, label in (("plain", "without"), ("taught", "with")):
    if false[kind]:
        print("false insertions %s keywords: " % label
              + ", ".join("%s in %s" % (n, uid) for uid, n in false[kind]))
PY

wer() { # REF HYP: sclite's word error rate (percent)
    sctk sclite -r "$1" trn -h "$2" trn -i wsj -o sum stdout |
        awk '/Sum\/Avg/ { print $(NF-2) }'
}
other_before=$(wer "$work/ref.other.trn" "$work/plain.other.trn")
other_after=$(wer "$work/ref.other.trn" "$work/taught.other.trn")
all_before=$(wer "$work/ref.trn" "$work/plain.trn")
all_after=$(wer "$work/ref.trn" "$work/taught.trn")

read -r _ n_utt n_names hit_before hit_after false_before false_after \
    < <(grep '^counts ' "$work/names.out")
cpu_sum() { # KIND: the kept files' user + system seconds
    local id
    for id in "${kept[@]}"; do tail -n 1 "$work/$1/$id.time"; done |
        awk '{ s += $1 + $2 } END { printf "%.2f", s }'
}
cpu_plain=$(cpu_sum plain)
cpu_taught=$(cpu_sum taught)
audio=$(for id in "${kept[@]}"; do stat -c %s "$work/set/$id.wav"; done |
        awk '{ s += ($1 - 44) / 32000 } END { printf "%.1f", s }')
net_plain=$(calc "$cpu_plain - ${#kept[@]} * $startup" 2)
net_taught=$(calc "$cpu_taught - ${#kept[@]} * $startup" 2)

grep -v '^counts ' "$work/names.out"
if [ -s "$work/failed" ]; then
    echo "FAILED RUNS: $(wc -l < "$work/failed") (their files, ${#files[@]} - ${#kept[@]}" \
         "= $(( ${#files[@]} - ${#kept[@]} )), are left out of every figure):"
    sed 's/^/   /' "$work/failed"
fi
echo
echo "vocabulary: $n_utt utterances (${#sentences[@]} sentences x ${#voices[@]} voices," \
     "$audio s of audio), $n_names name occurrences, ${#names[@]} taught words," \
     "$profile profile"
echo "recall of taught words: before $(calc "100 * $hit_before / $n_names" 1)%" \
     "after $(calc "100 * $hit_after / $n_names" 1)%  ($hit_before -> $hit_after of $n_names)"
echo "false insertions of taught words: before $false_before after $false_after"
echo "WER of the other words: before $other_before% after $other_after%"
echo "WER overall: before $all_before% after $all_after%"
echo "CPU s (user+sys): without keywords $cpu_plain, with $cpu_taught," \
     "ratio $(calc "$cpu_taught / $cpu_plain" 2)"
echo "  net of start-up ($startup s a run, ${#kept[@]} runs): without $net_plain," \
     "with $net_taught, ratio $(calc "$net_taught / $net_plain" 2);" \
     "$(calc "$net_plain / $audio" 3) and $(calc "$net_taught / $audio" 3) CPU s per audio s"
echo "  (transcriptions took ${elapsed} s, the two runs of each file side by side)"
