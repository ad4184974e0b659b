#!/usr/bin/env bash
# The one command that runs every test of Tocsin (docs/testing.md). It installs what the tests
# need first (scripts/setup-test-tools.sh), so it works on a fresh machine. Every step runs even
# when an earlier one failed, so that one failure does not hide the others; the summary at the end
# names the failed steps and the exit status is non-zero if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-tools.sh
# Tests that drive the standard checkers find them here.
export TOCSIN_TEST_PYTHON="$PWD/.venv/bin/python"

failed=()
summary=()
step() {
  local name=$1 start=$SECONDS status=0
  shift
  echo "test.sh: == $name"
  "$@" || status=$?
  local took=$((SECONDS - start))
  if [ "$status" -eq 0 ]; then
    summary+=("  ok      ${took}s  $name")
  else
    summary+=("  FAILED  ${took}s  $name (exit $status)")
    failed+=("$name")
  fi
}

# Gates before any test: the default rustfmt style, and clippy with warnings as errors (its
# incompatible_msrv lint keeps `rust-version` in Cargo.toml the real minimum).
step "cargo fmt --all --check" cargo fmt --all --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings
# PostgreSQL (127.0.0.1:5432) is started by the machine; the SQLite store is embedded.
# --no-fail-fast: one failing test binary must not hide the others' results.
step "cargo test (SQLite)" cargo test --workspace --all-targets --locked --no-fail-fast
# The end-to-end suite again with every store on PostgreSQL (a fresh database per test;
# tocsin/tests/e2e/common.rs). The cluster tests (several processes, kill -9) run in both.
step "cargo test e2e (PostgreSQL)" env TOCSIN_TEST_BACKEND=postgres \
  cargo test -p tocsin --test e2e --locked --no-fail-fast
# The need-to-know crawl (every GET route × every kind of principal) on PostgreSQL too
# (crates/tocsin-server/tests/api/crawl.rs; docs/security.md).
step "need-to-know crawl (PostgreSQL)" env TOCSIN_TEST_BACKEND=postgres \
  cargo test -p tocsin-server --test api --locked -- crawl::
# The web console in Debian's chromium: two people work the reference case (docs/console.md).
step "browser tests" bash scripts/browser-tests.sh
# The HTTP API against its own OpenAPI 3.1 document: no 5xx, every response as documented.
step "schemathesis" bash scripts/schemathesis.sh

echo "test.sh: summary (${SECONDS}s in all)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "test.sh: ${#failed[@]} step(s) failed: $(printf '%s; ' "${failed[@]}" | sed 's/; $//')" >&2
  exit 1
fi
echo "test.sh: all steps passed"
