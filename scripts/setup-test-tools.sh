#!/usr/bin/env bash
# Install what the test suite needs beyond cargo: a Python virtualenv with the standard checkers
# (scripts/test-requirements.txt) and Debian tools (xmllint). Idempotent and quiet when done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v xmllint >/dev/null 2>&1; then
  echo "setup: installing libxml2-utils (xmllint)"
  (apt-get update -qq && apt-get install -y -qq libxml2-utils >/dev/null) || { echo "setup: could not install xmllint" >&2; exit 1; }
fi

stamp=.venv/.requirements.sha256
want=$(cat scripts/test-requirements.txt scripts/test-requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with scripts/test-requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -r scripts/test-requirements.txt
  .venv/bin/pip install -q --no-deps -r scripts/test-requirements-nodeps.txt
  echo "$want" > "$stamp"
fi

# The console's browser tests (scripts/browser-tests.sh): Debian's chromium, Node and npm, and
# playwright-core pinned by tests/browser/package-lock.json. No browser is ever downloaded.
if [ ! -x /usr/bin/chromium ] || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing chromium, nodejs and npm"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nodejs npm fonts-dejavu-core >/dev/null) \
    || { echo "setup: could not install chromium/nodejs/npm" >&2; exit 1; }
fi
bstamp=tests/browser/node_modules/.package-lock.sha256
bwant=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$bstamp" 2>/dev/null)" != "$bwant" ]; then
  echo "setup: npm ci in tests/browser"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent) || { echo "setup: npm ci failed in tests/browser" >&2; exit 1; }
  echo "$bwant" > "$bstamp"
fi
# Tests find the tools through these variables (and skip nothing: a missing tool is a failure).
echo "setup: ok ($(.venv/bin/python --version), $(xmllint --version 2>&1 | head -1))"
