#!/usr/bin/env bash
# What it costs PocketSphinx to come back to a decoder after a gap,
# after other decoders or with its caches flushed, or at a live stream's
# pace (bench/visits.c explains the ways), on the concurrency sweep's
# recording (the LibriVox files, 1 s of silence after each).  Not part
# of bench/run.sh: the server's own figures are there.
#
#   bench/visits.sh [PASSES [PIECE_MS [GAP_MS]]]   defaults 4 100 80
#   bench/visits.sh PASSES PIECE_MS live           the live mode (each pass
#                                                  takes the audio's length)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
scripts/deps.sh test
work=build/bench
mkdir -p "$work"
cc -O2 -o "$work/visits" bench/visits.c $(pkg-config --cflags --libs pocketsphinx sphinxbase)
conversation_of $(librivox_files) > "$work/visits.raw"
"$work/visits" /usr/share/pocketsphinx/model/en-us "$work/visits.raw" "$@"
