#!/usr/bin/env bash
# The web app in a real browser: headless Debian chromium driven by
# playwright-core (from npm, installed here on first run; it never downloads
# a browser); and /v1/listen driven by Deepgram's own JavaScript SDK (both
# of its last majors, from npm); and the deepgram engine against a second
# Verbatim's /v1/listen.  Screenshots go to build/test-output/browser/.
set -euo pipefail
cd "$(dirname "$0")/browser"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/@deepgram/sdk ] ||
   [ ! -d node_modules/deepgram-sdk-v4 ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
# instances.test.js runs two servers on a throwaway PostgreSQL.
cd ..
. lib/postgres.sh
trap pg_cleanup EXIT
pg_start
cd browser
# One file; its tests run one after another (Node 18 and later).
node --test ./*.test.js
