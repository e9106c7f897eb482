#!/usr/bin/env bash
# Runs each fuzz target (build/fuzz/fuzz_*, libFuzzer) for FUZZ_SECONDS
# (default 10 in `make test`; `make fuzz` runs longer), starting from the
# audio fixtures as seeds (the API's and the chunked decoder's from inputs
# written here).  Any crash, hang (a single input over 10 s),
# leak or sanitizer report fails the run; the input that caused it is kept
# in build/fuzz/ as crash-*, leak-* or timeout-* for reproduction:
#   build/fuzz/fuzz_webm build/fuzz/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-10}
status=0
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16:malloc_context_size=10"
# fuzz_api's seeds: requests as fuzz/fuzz_api.c reads them (method and
# flags byte, path byte, "QUERY\nBODY", NUL between requests).
api_seed() { printf "$2" > "$1"; }
api_seeds() {
    api_seed "$1/create" '\001\002\n{"title": "Standup"}'
    api_seed "$1/list" '\000\002summary=true\n'
    api_seed "$1/rename" '\002\003\n{"title": "Renamed", "title": "x"}'
    api_seed "$1/speakers" '\002\007\n{"speaker_1": "Bob", "speaker_0": null, "speaker_1": "Rob"}\000\000\011'
    api_seed "$1/correct" '\002\005\n{"text": "Please close the door now."}\000\000\011\000\000\012'
    api_seed "$1/delete" '\003\003\000\000\004\000\000\013'
    api_seed "$1/own-path" '\000\377/api/transcriptions/1/segments/2/\nx=1\n'
    # keys required, scope write: sign in, then sign out by cookie
    api_seed "$1/sign-in" '\037\015\000\121\015vbs_cookie\n'
    # the credentials' parser on "Authorization" and "Sec-WebSocket-Protocol"
    api_seed "$1/headers" '\146\000\nBearer vb_abc, x\ntoken, vb_def'
}
for name in fuzz_webm fuzz_ogg fuzz_input fuzz_api fuzz_chunked fuzz_multipart; do
    target=build/fuzz/$name
    corpus=build/fuzz/corpus-$name
    mkdir -p "$corpus"
    case $name in
        fuzz_webm) seeds=(build/fixtures/*.webm) ;;
        fuzz_ogg) seeds=(build/fixtures/*.ogg) ;;
        fuzz_api) seeds=(); api_seeds "$corpus" ;;
        fuzz_chunked) # a piece size, then a body with an extension and a trailer
            seeds=(); printf '\003%b' '5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n' \
                > "$corpus/seed" ;;
        fuzz_multipart) # a Content-Type line, then a form with a field and a file
            seeds=(); printf '%b' 'multipart/form-data; boundary="x y"\n--x y\r\nContent-Disposition: form-data; name=wait\r\n\r\n60\r\n--x y\r\nContent-Disposition: form-data; name="f"; filename="a.wav"\r\n\r\nRIFF\r\n--x y--\r\n' \
                > "$corpus/seed" ;;
        *) seeds=(build/fixtures/*.webm build/fixtures/*.ogg build/fixtures/*.wav) ;;
    esac
    for s in "${seeds[@]}"; do
        # A leading byte picks the piece size the target feeds.
        for size in 0 7 255; do
            f="$corpus/seed-$size-$(basename "$s")"
            [ -f "$f" ] || { printf "\\x$(printf %02x $size)"; head -c 30000 "$s"; } > "$f"
        done
    done
    # A target's dictionary of tokens, if it has one (fuzz/api.dict).
    dict=()
    [ -f "fuzz/${name#fuzz_}.dict" ] && dict=(-dict="fuzz/${name#fuzz_}.dict")
    echo "fuzzing $name for ${seconds}s"
    if ! "$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
            -max_len=65536 -artifact_prefix=build/fuzz/ -print_final_stats=1 \
            "$corpus" 2>build/fuzz/$name.log; then
        echo "FAIL: $name found a problem:"; tail -40 build/fuzz/$name.log
        status=1
    else
        grep -E "stat::number_of_executed_units|cov:" build/fuzz/$name.log | tail -2
    fi
done
exit $status
