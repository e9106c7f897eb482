#!/usr/bin/env bash
# deploy/verbatim.service against the program it starts:
#   - ExecStart names the path `make install` puts the program at, and
#     every flag in it and every variable of Environment= is one that
#     `verbatim serve --help` lists;
#   - systemd-analyze verify accepts the unit (its ExecStart pointed at
#     this build, as /usr/local/bin may hold none);
#   - the server works under the sandbox's two limits that a program can
#     break: MemoryDenyWriteExecute (run with the kernel's equivalent,
#     prctl PR_SET_MDWE) and SystemCallFilter=@system-service /
#     RestrictAddressFamilies (every system call and socket family a
#     served stream, upload and REST use, under strace, is in them).
# A check whose tool is missing says SKIP with why; none is silent.
set -uo pipefail
cd "$(dirname "$0")/.."
unit=deploy/verbatim.service
bin=${VERBATIM_RELEASE_BIN:-build/verbatim}
work=$(mktemp -d /tmp/vbdeploy-XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && stop_server 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
check() { # check NAME CONDITION...
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $name"; fi
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# The server on $port with the database in $work, started by "$@"
# (a wrapper, or nothing), on loopback as the unit has it; waits for
# /api/health.
start_server() {
    port=$(free_port)
    "$@" "$bin" serve --host 127.0.0.1 --port "$port" --db "$work/v.db" --workers 1 \
        >"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && return 0
        sleep 0.1
    done
    echo "the server did not start:"; cat "$work/server.log"
    return 1
}
# A wrapper (strace) is stopped through the server it runs: strace told
# to stop leaves its tracee running, and waits.
stop_server() {
    local child
    child=$(pgrep -P "$server" -x verbatim)
    kill "${child:-$server}" && wait "$server"
    server=
}
# A stream, an upload and a few REST reads; true when the transcripts
# have words in them.
exercise() {
    "$bin" stream --url "ws://127.0.0.1:$port" build/fixtures/speech.wav \
        >"$work/stream.txt" 2>&1 || return 1
    curl -sf -X POST "http://127.0.0.1:$port/api/transcriptions/" \
        -H 'Content-Type: application/json' -d '{"title":"u"}' >/dev/null || return 1
    curl -sf --data-binary @build/fixtures/speech.mp3 \
        "http://127.0.0.1:$port/api/transcriptions/2/audio?wait=60" \
        >"$work/upload.json" || return 1
    curl -sf "http://127.0.0.1:$port/api/transcriptions/1/segments/" >/dev/null &&
        curl -sf "http://127.0.0.1:$port/metrics" >/dev/null &&
        grep -qi '[a-z]' "$work/stream.txt" &&
        grep -q '"status":"done"' "$work/upload.json"
}

tests/fixtures/make.sh >/dev/null || { echo "FAIL: no audio fixtures"; exit 1; }
[ -x "$bin" ] || { echo "FAIL: $bin is not built (make $bin)"; exit 1; }
[ -f build/verbatim.1 ] || make -s build/verbatim.1 || { echo "FAIL: no manual page"; exit 1; }

# ---- the unit's own lines against the program ----
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
prefix=$(sed -n 's/^PREFIX *?= *//p' Makefile)
check "ExecStart runs \$(PREFIX)/bin/verbatim from make install" \
    test "${exec_start%% *}" = "$prefix/bin/verbatim"
check "ExecStart runs serve" grep -q '^[^ ]* serve\b' <<<"$exec_start"
help=$("$bin" serve --help)
for flag in $(grep -oE -- '--[a-z][a-z-]*' <<<"$exec_start"); do
    check "ExecStart's $flag is a flag of verbatim serve" \
        grep -qE -- "^  $flag( |\$)" <<<"$help"
done
for var in $(sed -n 's/^Environment=\([A-Z_]*\)=.*/\1/p' "$unit"); do
    [ "$var" = VERBATIM_SERVE_FLAGS ] && continue # the unit's own, in ExecStart
    check "Environment's $var is a variable of verbatim serve" \
        grep -qw "$var" <<<"$help"
done
check "Environment names VERBATIM_SERVE_FLAGS that ExecStart uses" \
    grep -q '\$VERBATIM_SERVE_FLAGS' <<<"$exec_start"
check "EnvironmentFile is optional (-) /etc/verbatim/env" \
    grep -qx 'EnvironmentFile=-/etc/verbatim/env' "$unit"

# ---- systemd-analyze ----
if command -v systemd-analyze >/dev/null; then
    sed "s|^ExecStart=[^ ]*|ExecStart=$PWD/$bin|" "$unit" >"$work/verbatim.service"
    # Documentation= names the manual page `make install` installs: verify
    # looks it up, here in this build's.
    mkdir -p "$work/man/man1" && cp build/verbatim.1 "$work/man/man1/"
    if out=$(MANPATH=$work/man systemd-analyze verify "$work/verbatim.service" 2>&1); then
        passed=$((passed + 1))
    else
        failed=$((failed + 1)); echo "FAIL: systemd-analyze verify:"; echo "$out"
    fi
    check "systemd-analyze says nothing about the unit" test -z "$out"
else
    echo "SKIP: systemd-analyze verify (systemd is not installed)"
fi

# ---- MemoryDenyWriteExecute ----
mdwe() { # runs "$@" with writable+executable memory refused (Linux 6.3+)
    python3 - "$@" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
EOF
}
if mdwe /bin/true; then
    start_server mdwe && check "served with no writable and executable memory" exercise
    [ -n "$server" ] && stop_server
    rm -f "$work"/v.db*
else
    echo "SKIP: MemoryDenyWriteExecute (this kernel has no PR_SET_MDWE)"
fi

# ---- the system calls and socket families the filter allows ----
# The set's own names, its groups' recursively.
expand() {
    systemd-analyze syscall-filter "$1" | sed -n 's/^ *\([@a-z0-9_][a-z0-9_-]*\)$/\1/p' |
        while read -r name; do
            case "$name" in
            "${1}") ;;
            @*) expand "$name" ;;
            *) echo "$name" ;;
            esac
        done
}
if command -v strace >/dev/null && command -v systemd-analyze >/dev/null; then
    expand @system-service | sort -u >"$work/allowed"
    check "the filter's list is read" test "$(wc -l <"$work/allowed")" -gt 100
    start_server strace -f -qq -o "$work/strace" &&
        check "served under strace" exercise
    [ -n "$server" ] && stop_server
    sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$work/strace" | sort -u >"$work/used"
    outside=$(comm -23 "$work/used" "$work/allowed" | tr '\n' ' ')
    check "every system call is in @system-service (outside: ${outside:-none})" \
        test -z "$outside"
    families=$(grep -oE '^[0-9]+ +socket\(AF_[A-Z0-9]+' "$work/strace" |
        grep -oE 'AF_[A-Z0-9]+' | sort -u | tr '\n' ' ')
    allowed_families=$(sed -n 's/^RestrictAddressFamilies=//p' "$unit")
    for f in $families; do
        check "socket family $f is in RestrictAddressFamilies" \
            grep -qw "$f" <<<"$allowed_families"
    done
else
    echo "SKIP: the system call check (needs strace and systemd-analyze)"
fi

echo "deploy.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
