#!/usr/bin/env bash
# What it costs PocketSphinx to come back to a decoder after a gap or
# after other decoders (bench/visits.c explains the three ways), on the
# concurrency sweep's recording (the LibriVox files, 1 s of silence after
# each).  Not part of bench/run.sh: the server's own figures are there.
#
#   bench/visits.sh [PASSES [PIECE_MS [GAP_MS]]]   defaults 4 100 80
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
scripts/deps.sh test
work=build/bench
mkdir -p "$work"
cc -O2 -o "$work/visits" bench/visits.c $(pkg-config --cflags --libs pocketsphinx sphinxbase)
conversation_of $(librivox_files) > "$work/visits.raw"
"$work/visits" /usr/share/pocketsphinx/model/en-us "$work/visits.raw" "$@"
