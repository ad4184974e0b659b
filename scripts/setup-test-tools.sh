#!/usr/bin/env bash
# Install what the test suite needs beyond cargo (docs/testing.md, "Tools"):
#   chromium   Debian's, at /usr/bin/chromium (the console's browser tests)
#   node, npm  whatever is on PATH; Debian's nodejs/npm only when neither is there
#   xmllint    Debian's libxml2-utils (CAP 1.2 alerts against the OASIS XSD)
#   fonts      Debian's fonts-dejavu-core, only when the machine has no font at all
#   curl       Debian's (the browser and schemathesis scripts wait for the server with it)
#   .venv      a Python virtualenv with the pinned scripts/test-requirements*.txt
#   tests/browser/node_modules   `npm ci` from tests/browser/package-lock.json
# Each tool is checked on its own and only a missing one is installed, with its own package: a tool
# already there is kept whatever its source (a vendor's Node.js conflicts with Debian's npm, so apt
# is never asked for nodejs or npm while either is on PATH). The stamps in .venv and node_modules
# record which pins they were built from, so a changed pin rebuilds them. When everything is there
# it prints one line, `setup: ok (...)`, and changes nothing. A failed install names the tool and
# the exact command, and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Runs a command quietly; on failure prints what the tool was, the command and its output.
run() {
  local tool=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    {
      echo "setup: installing $tool failed; the command was:"
      echo "  $(printf '%q ' "$@")"
      echo "setup: its output (last 30 lines):"
      tail -n 30 "$log" | sed 's/^/  | /'
    } >&2
    exit 1
  fi
}

apt_updated=no
# apt-get install of one tool's packages; the package lists are refreshed once per run, and only
# when something is to be installed.
apt_install() {
  local tool=$1
  shift
  if [ "$apt_updated" = no ]; then
    run "$tool" apt-get update -qq
    apt_updated=yes
  fi
  echo "setup: installing $tool (apt-get install $*)"
  run "$tool" apt-get install -y -qq "$@"
}

have() { command -v "$1" >/dev/null 2>&1; }

# Debian's tools, each with its own package.
[ -x /usr/bin/chromium ] || apt_install chromium chromium
if ! have node && ! have npm; then
  apt_install "node and npm" nodejs npm
elif ! have node || ! have npm; then
  if have node; then present=node missing=npm; else present=npm missing=node; fi
  {
    echo "setup: $missing is missing while $present is on PATH ($(command -v "$present"));"
    echo "setup: install $missing from the same source as $present (Debian's nodejs and npm must not"
    echo "setup: be mixed with another Node.js). Nothing was installed."
  } >&2
  exit 1
fi
have xmllint || apt_install xmllint libxml2-utils
have curl || apt_install curl curl
# Chromium renders with whatever fonts fontconfig finds; a machine with none gets Debian's DejaVu.
if ! { have fc-list && [ -n "$(fc-list 2>/dev/null | head -n 1)" ]; }; then
  apt_install fonts fonts-dejavu-core
fi

# The Python checkers, pinned (scripts/test-requirements.txt; the no-deps file for data-only
# packages).
stamp=.venv/.requirements.sha256
want=$(cat scripts/test-requirements.txt scripts/test-requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! have python3; then
    apt_install python3 python3 python3-venv
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    apt_install "python3 venv" python3-venv
  fi
  echo "setup: creating .venv from scripts/test-requirements.txt"
  run ".venv (python3 -m venv)" python3 -m venv --clear .venv
  run ".venv (pip)" .venv/bin/pip install -q --upgrade pip
  run ".venv (scripts/test-requirements.txt)" .venv/bin/pip install -q -r scripts/test-requirements.txt
  run ".venv (scripts/test-requirements-nodeps.txt)" \
    .venv/bin/pip install -q --no-deps -r scripts/test-requirements-nodeps.txt
  echo "$want" >"$stamp"
fi

# playwright-core for the browser tests, pinned by tests/browser/package-lock.json. It drives
# /usr/bin/chromium: no browser is ever downloaded.
bstamp=tests/browser/node_modules/.package-lock.sha256
bwant=$(sha256sum tests/browser/package-lock.json | cut -d' ' -f1)
if [ "$(cat "$bstamp" 2>/dev/null)" != "$bwant" ]; then
  echo "setup: npm ci in tests/browser"
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  run "tests/browser/node_modules (npm ci)" \
    npm ci --prefix tests/browser --no-audit --no-fund --silent
  echo "$bwant" >"$bstamp"
fi

echo "setup: ok ($(.venv/bin/python --version), xmllint $(xmllint --version 2>&1 | sed -n '1s/.*version //p')," \
  "$(/usr/bin/chromium --version 2>/dev/null | head -n 1), node $(node --version), npm $(npm --version))"
