# tests/lib/postgres.sh - a throwaway PostgreSQL server for the tests
# (sourced).  pg_start makes a cluster in a temporary folder, listening
# on a free loopback port and a socket in that folder only, and exports:
#   VERBATIM_TEST_PG        postgresql://verbatim@127.0.0.1:PORT (no
#                           database: testutil makes one per server)
#   VERBATIM_TEST_PG_STOP   a command that stops it (fast shutdown)
#   VERBATIM_TEST_PG_START  a command that starts it again
# The caller stops and removes it with pg_cleanup (trap it on EXIT).
# Debian's server
# binaries are used; as root, they run as the postgres user (initdb
# refuses root).

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] || return 1
    echo "$dir"
}

pg_free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

pg_start() {
    local bin
    bin=$(pg_bin) || { echo "postgresql is not installed (scripts/deps.sh test installs it)" >&2; return 1; }
    PG_TMP=$(mktemp -d /tmp/vbpg-XXXXXX)
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$PG_TMP"
        as=(runuser -u postgres --)
    fi
    "${as[@]}" "$bin/initdb" -D "$PG_TMP/data" -U verbatim --auth=trust \
        -E UTF8 --locale=C.UTF-8 >"$PG_TMP/initdb.log" 2>&1 ||
        { cat "$PG_TMP/initdb.log" >&2; return 1; }
    PG_PORT=$(pg_free_port)
    local ctl="${as[*]} $bin/pg_ctl -D $PG_TMP/data -l $PG_TMP/server.log -w"
    local opts="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_TMP -c fsync=off -c max_connections=300"
    export VERBATIM_TEST_PG="postgresql://verbatim@127.0.0.1:$PG_PORT"
    export VERBATIM_TEST_PG_STOP="$ctl -m fast stop"
    export VERBATIM_TEST_PG_START="$ctl -o '$opts' start"
    eval "$VERBATIM_TEST_PG_START" >/dev/null ||
        { cat "$PG_TMP/server.log" >&2; return 1; }
    echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT ($PG_TMP)"
}

pg_cleanup() {
    [ -n "${PG_TMP:-}" ] || return 0
    eval "$VERBATIM_TEST_PG_STOP" >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
    PG_TMP=
}
