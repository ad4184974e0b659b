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
# Tests find the tools through these variables (and skip nothing: a missing tool is a failure).
echo "setup: ok ($(.venv/bin/python --version), $(xmllint --version 2>&1 | head -1))"
