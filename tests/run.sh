#!/usr/bin/env bash
# Runs every test of `make test` and ends with one summary line
# "N passed, N failed".  Each cmocka program prints its own report.
set -u
cd "$(dirname "$0")/.."
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Test servers build no decoders ahead at start-up (by default 4 a
# worker, each a second of an ASan build's processor time, beside the
# test that started it); test_live's test_start_decoders unsets this.
export VERBATIM_START_DECODERS="${VERBATIM_START_DECODERS:-1}"
passed=0
failed=0
failures=()
tests/fixtures/make.sh || { echo "the audio fixtures could not be made"; exit 1; }
for t in build/asan/test_*; do
    case "$t" in *.d) continue ;; esac
    echo "== $t"
    if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$t"); fi
done
for t in tests/*.sh; do
    [ "$t" = tests/run.sh ] && continue
    echo "== $t"
    if bash "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$t"); fi
done
if [ "$failed" -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
