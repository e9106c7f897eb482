#!/usr/bin/env bash
# Accuracy through the server: the five LibriVox recordings of Debian's
# pocketsphinx-testdata, streamed to a real `verbatim serve` in 100 ms
# chunks, must score (word error rate by NIST sclite) no more than 2 points
# worse than pocketsphinx_continuous on the same files with the same model.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VERBATIM_BIN:-build/asan/verbatim}
data=/usr/share/pocketsphinx/test/data/librivox
work=$(mktemp -d /tmp/vbacc-XXXXXX)
port=$((20000 + RANDOM % 20000))
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --port "$port" --db "$work/db.sqlite" --log-level warn 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break
    sleep 0.2
done

sed 's/<s> //; s/ <\/s>//' "$data/transcription" > "$work/ref.trn"
: > "$work/engine.trn"
: > "$work/server.trn"
for id in $(cat "$data/fileids"); do
    hyp=$(pocketsphinx_continuous -infile "$data/$id.wav" -logfn /dev/null | tr '\n' ' ')
    echo "${hyp}($id)" >> "$work/engine.trn"
    hyp=$("$bin" stream --url "ws://127.0.0.1:$port" --title "$id" --chunk-ms 100 \
              --no-punctuate "$data/$id.wav" | sed 's/^\[[^]]*\] //' | tr '\n' ' ')
    echo "${hyp}($id)" >> "$work/server.trn"
done

wer() {
    sctk sclite -r "$work/ref.trn" trn -h "$1" trn -i wsj -o sum stdout |
        awk '/Sum\/Avg/ { print $(NF-2) }'
}
engine=$(wer "$work/engine.trn")
server=$(wer "$work/server.trn")
echo "WER pocketsphinx_continuous: $engine%   verbatim stream (100 ms chunks): $server%"
echo "-- verbatim hypotheses:"; cat "$work/server.trn"
awk -v a="$server" -v b="$engine" 'BEGIN { exit !(a <= b + 2.0) }' || {
    echo "FAIL: streaming through the server costs more than 2 points of WER"
    cat "$work/server.log"
    exit 1
}
echo "accuracy: ok"
