#!/usr/bin/env bash
# Fuzz the HTTP API against its own OpenAPI 3.1 document with schemathesis (PyPI): every operation
# of /api/v1/openapi.json is called with generated valid and invalid input, and every response must
# be no 5xx, have a documented status code, content type, headers and a body that conforms to the
# documented schema (`--checks all`). Starts `tocsin serve --demo` on a free loopback port with a
# fresh database and an admin token, and stops it at the end.
#
# Usage: scripts/schemathesis.sh [extra schemathesis args]   (MAX_EXAMPLES=N to change the budget)
set -euo pipefail
cd "$(dirname "$0")/.."

py=${TOCSIN_TEST_PYTHON:-$PWD/.venv/bin/python}
st="$(dirname "$py")/schemathesis"
[ -x "$st" ] || { echo "schemathesis.sh: $st not found; run scripts/setup-test-tools.sh" >&2; exit 1; }

cargo build -p tocsin --locked -q
bin=target/debug/tocsin

work=$(mktemp -d)
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
token="tcn_schemathesis_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# The reference case matched but not yet worked (--seed-reference), then worked up to three draft
# warnings here, so the operations on ids (schemathesis.toml fixes which) meet real records in
# every state the run can drive them through, not only 404s.
TOCSIN_ADMIN_TOKEN="$token" "$bin" --db "$work/tocsin.db" --outbox "$work/outbox" serve --seed-reference --clock-start 2024-03-06T09:00:00Z \
  --listen "127.0.0.1:$port" --tick-secs 3600 >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/server.log" >&2; echo "schemathesis.sh: the server exited" >&2; exit 1; fi
  sleep 0.1
done

# Two-person rule: a second approver approves what the admin token proposed.
second=$("$bin" --db "$work/tocsin.db" token create --role approver --label schemathesis-second-approver | grep -o 'tcn_[0-9a-f]*')
api() { curl -sS --fail-with-body -X POST -H "Authorization: Bearer $1" "http://127.0.0.1:$port/api/v1/threats/moscow-2024-03/$2" >/dev/null; }
api "$token" determinations
api "$second" determinations/approve
api "$token" warnings

# Every operation is fuzzed, the accounts routes included. The run cannot lock itself out: the
# server refuses `DELETE /api/v1/tokens/{id}` for the token making the request (409, documented),
# and the run's token belongs to no user, so `PATCH /api/v1/users/{id}` cannot disable or demote
# it. The second approver's token may be revoked by the run; it is only needed above.
# schemathesis.toml (repository root) says which answers count for schema-valid input.
"$st" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --max-examples "${MAX_EXAMPLES:-25}" \
  --workers 2 \
  --no-color \
  "$@"
