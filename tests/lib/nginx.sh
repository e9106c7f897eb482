#!/usr/bin/env bash
# A throwaway nginx running deploy/nginx.conf in front of test servers.
#   tests/lib/nginx.sh start DIR PLAIN TLS REDIRECT UPSTREAM_PORT...
#   tests/lib/nginx.sh stop DIR
# The site file is deploy/nginx.conf with only what a machine's own
# values would change: the upstream servers (the test's ports), the
# listeners (loopback ports: REDIRECT for the port-80 block, TLS with a
# self-signed certificate made here, and PLAIN beside it for the tests'
# WebSocket client, which has no TLS), and the certificate's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v nginx >/dev/null || {
    echo "nginx is not installed (scripts/deps.sh test installs it)" >&2
    exit 127
}
what=$1 dir=$2
if [ "$what" = stop ]; then
    [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null
    for _ in $(seq 50); do [ -f "$dir/nginx.pid" ] || break; sleep 0.1; done
    rm -rf "$dir"
    exit 0
fi
plain=$3 tls=$4 redirect=$5
shift 5
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
servers=
for port in "$@"; do
    servers+="    server 127.0.0.1:$port max_fails=1 fail_timeout=10s;\n"
done
# The upstream block's server lines give way to the test's; the listeners
# and certificate paths to the test's.
awk -v servers="$servers" '
    /^upstream verbatim/ { inside = 1; print; printf "%s", servers; next }
    inside && /^ *server / { next }
    inside && /^}/ { inside = 0 }
    { print }' deploy/nginx.conf |
    sed -e "s|^\( *\)listen 80;|\1listen 127.0.0.1:$redirect;|" \
        -e "s|^\( *\)listen 443 ssl http2;|\1listen 127.0.0.1:$tls ssl http2;\n\1listen 127.0.0.1:$plain;|" \
        -e '/listen \[::\]/d' \
        -e "s|/etc/ssl/verbatim/fullchain.pem|$dir/cert.pem|" \
        -e "s|/etc/ssl/verbatim/privkey.pem|$dir/key.pem|" >"$dir/site.conf"
for want in "127.0.0.1:$plain" "127.0.0.1:$tls ssl" "127.0.0.1:$redirect" \
    "$dir/cert.pem"; do
    grep -q "$want" "$dir/site.conf" || {
        echo "deploy/nginx.conf changed shape: no '$want' in the test's copy" >&2
        exit 1
    }
done
# nginx as root hands its workers to nobody: they write its temporary
# folders.
user=
if [ "$(id -u)" = 0 ]; then
    user="user nobody nogroup;"
fi
mkdir -p "$dir/tmp"
[ -n "$user" ] && chown nobody "$dir/tmp"
cat >"$dir/nginx.conf" <<EOF
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 512; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    include $dir/site.conf;
}
EOF
nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -t -q
nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$redirect/" && exit 0
    sleep 0.1
done
echo "nginx did not answer on 127.0.0.1:$redirect" >&2
cat "$dir/error.log" >&2
exit 1
