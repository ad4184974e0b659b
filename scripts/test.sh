#!/usr/bin/env bash
# The one command that runs every test of Tocsin (README: "Run the tests").
# It installs what the tests need first, so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Services the tests talk to (PostgreSQL, NATS) are started by the machine; the SQLite store is
# embedded. Python checkers (stix2-validator, taxii2-client) and xmllint join here as formats land.

cargo build --workspace --all-targets --locked
cargo test --workspace --all-targets --locked
