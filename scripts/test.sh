#!/usr/bin/env bash
# The one command that runs every test of Tocsin (README: "Run the tests").
# It installs what the tests need first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-tools.sh
# Tests that drive the standard checkers find them here.
export TOCSIN_TEST_PYTHON="$PWD/.venv/bin/python"

# PostgreSQL (127.0.0.1:5432) and NATS (127.0.0.1:4222) are started by the machine; the SQLite
# store is embedded.
cargo build --workspace --all-targets --locked
cargo test --workspace --all-targets --locked
