#!/usr/bin/env bash
# The one command that runs every test of Tocsin (README: "Run the tests").
# It installs what the tests need first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-tools.sh
# Tests that drive the standard checkers find them here.
export TOCSIN_TEST_PYTHON="$PWD/.venv/bin/python"

# PostgreSQL (127.0.0.1:5432) is started by the machine; the SQLite store is embedded.
# Gates before any test: the default rustfmt style, and clippy with warnings as errors (its
# incompatible_msrv lint keeps `rust-version` in Cargo.toml the real minimum).
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo build --workspace --all-targets --locked
# --no-fail-fast: one failing test binary must not hide the others' results.
cargo test --workspace --all-targets --locked --no-fail-fast
# The end-to-end suite again with every store on PostgreSQL (a fresh database per test;
# tocsin/tests/e2e/common.rs). The cluster tests (several processes, kill -9) run in both.
TOCSIN_TEST_BACKEND=postgres cargo test -p tocsin --test e2e --locked --no-fail-fast
# The web console in Debian's chromium: two people work the reference case (docs/console.md).
bash scripts/browser-tests.sh
# The HTTP API against its own OpenAPI 3.1 document: no 5xx, every response as documented.
bash scripts/schemathesis.sh
