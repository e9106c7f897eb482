#!/usr/bin/env bash
# The browser microphone against the file (issue: capture parity): the
# LibriVox recordings and flite sentences, each joined into one
# recording, played as Chromium's fake microphone into the web app under
# each choice of the browser's echo cancellation, noise suppression and
# gain control, and streamed as a file.  Prints the word error rate
# (sclite) and number of finals of each, and the word error rate of the
# audio the page sent, transcribed offline.  Real time: about 2 minutes
# per choice (--quick: 1).
# Usage: bench/capture.sh [--quick] [--only page,none,...]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
build_verbatim
[ -d tests/browser/node_modules ] || (cd tests/browser && npm ci --silent)
set_dir=$(mktemp -d /tmp/vbcap-XXXXXX)
trap 'rm -rf "$set_dir"' EXIT
bench/flite_set.sh "$set_dir" >/dev/null
cd tests/browser
VERBATIM_BIN=$PWD/../../$bin VB_FLITE_SET=$set_dir node capture-bench.mjs "$@"
