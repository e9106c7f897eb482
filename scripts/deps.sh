#!/usr/bin/env bash
# Installs the Debian packages Verbatim needs, only those that are missing.
#   scripts/deps.sh build   what building and running the server needs
#   scripts/deps.sh test    that, plus what the test suite needs
#   scripts/deps.sh bench   that, plus what bench/overhead.sh needs (valgrind)
set -euo pipefail

build_pkgs=(gcc make pkg-config libwebsockets-dev libpocketsphinx-dev
            pocketsphinx-en-us libsqlite3-dev libcjson-dev libsoxr-dev
            libopus-dev libavformat-dev libavcodec-dev libavutil-dev
            libswresample-dev libsodium-dev wamerican flite1-dev libpq-dev
            libhiredis-dev)
test_pkgs=(libcmocka-dev pocketsphinx pocketsphinx-testdata sctk flite curl
           sqlite3 chromium ffmpeg clang libclang-rt-14-dev nginx openssl
           postgresql redis-server strace systemd)
bench_pkgs=(valgrind)

want=("${build_pkgs[@]}")
case "${1:-build}" in
    test) want+=("${test_pkgs[@]}") ;;
    bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# Node.js runs the browser tests; any install of it will do.
if [ "${1:-build}" = test ] && ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
$sudo apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
