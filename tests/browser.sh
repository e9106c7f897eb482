#!/usr/bin/env bash
# The web app in a real browser: headless Debian chromium driven by
# playwright-core (from npm, installed here on first run; it never downloads
# a browser).  Screenshots go to build/test-output/browser/.
set -euo pipefail
cd "$(dirname "$0")/browser"
if [ ! -d node_modules/playwright-core ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
node --test --test-concurrency=1 ./*.test.js
