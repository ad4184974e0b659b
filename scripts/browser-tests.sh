#!/usr/bin/env bash
# The web console in a real browser (docs/console.md): starts `tocsin serve` on a free loopback
# port with a fresh database holding the reference case (matched, not yet worked), creates the
# users analyst and approver, and runs tests/browser/console.test.mjs in Debian's chromium.
# Screenshots: target/browser-artifacts/. Exits non-zero when a step fails.
# Needs scripts/setup-test-tools.sh to have run (chromium, npm ci in tests/browser).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

[ -x /usr/bin/chromium ] || { echo "browser-tests: /usr/bin/chromium is missing (run scripts/setup-test-tools.sh)" >&2; exit 1; }
[ -d tests/browser/node_modules/playwright-core ] || { echo "browser-tests: playwright-core is not installed (run scripts/setup-test-tools.sh)" >&2; exit 1; }

cargo build -p tocsin --locked --quiet
bin=${CARGO_TARGET_DIR:-$root/target}/debug/tocsin

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
url="http://127.0.0.1:$port"
export TOCSIN_DB="$work/tocsin.db" TOCSIN_OUTBOX="$work/outbox" TOCSIN_PUBLIC_URL="$url"
artifacts=$root/target/browser-artifacts
rm -rf "$artifacts"
mkdir -p "$artifacts"

# Two people: password logins when this build has accounts, bearer tokens otherwise.
if "$bin" user create --help >/dev/null 2>&1; then
  export ANALYST_USER=analyst APPROVER_USER=approver
  ANALYST_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  APPROVER_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  export ANALYST_PASSWORD APPROVER_PASSWORD
  printf '%s\n' "$ANALYST_PASSWORD" | "$bin" user create --username analyst --role analyst --clearance TS --nationality USA --password-stdin >/dev/null
  printf '%s\n' "$APPROVER_PASSWORD" | "$bin" user create --username approver --role approver --clearance TS --nationality USA --password-stdin >/dev/null
else
  ANALYST_TOKEN=$("$bin" token create --role analyst --label analyst)
  APPROVER_TOKEN=$("$bin" token create --role approver --label approver)
  export ANALYST_TOKEN APPROVER_TOKEN
fi

# One CERT feed run for the console's Feeds page: an organisation without a contact, one never
# notified, one whose events are all inhibited, and a row matching nobody (nothing is sent).
printf '%s\n' 'org_id,name,prefixes,asns,domains,emails,webhooks,interval,tlp,inhibit,timezone' \
  'stumm,Stumm AG,203.0.113.0/24,,,,,,AMBER,,' \
  'ruhig,Ruhig GmbH,198.51.100.0/24,,,soc@ruhig.example,,-1,AMBER,,' \
  'gesperrt,Gesperrt KG,192.0.2.0/24,,,cert@gesperrt.example,,daily,AMBER,org,' >"$work/constituency.csv"
printf '%s\n' '"timestamp","ip","protocol","port","hostname","tag","asn","geo"' \
  '"2024-03-06 00:01:02","203.0.113.5","tcp","3389","","rdp","64503","DE"' \
  '"2024-03-06 00:01:03","198.51.100.7","tcp","3389","","rdp","64501","DE"' \
  '"2024-03-06 00:01:04","192.0.2.10","tcp","3389","","rdp","64500","DE"' \
  '"2024-03-06 00:01:05","100.99.0.1","tcp","3389","","rdp","64599","FR"' >"$work/scan_rdp.csv"
"$bin" feed import-constituency "$work/constituency.csv" >/dev/null
"$bin" feed ingest --mapping shadowserver --at 2024-03-06T07:00:00Z "$work/scan_rdp.csv" >/dev/null

# The reference case's own clock (6 March 2024, after the report came in), one scheduler pass a
# second so deliveries go out while the test waits.
"$bin" serve --listen "127.0.0.1:$port" --seed-reference --clock-start 2024-03-06T08:30:00Z --tick-secs 1 \
  >"$artifacts/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "browser-tests: tocsin serve exited:" >&2; cat "$artifacts/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$url/health" >/dev/null || { echo "browser-tests: tocsin serve did not answer on $url" >&2; exit 1; }

status=0
TOCSIN_URL="$url" TOCSIN_ARTIFACTS="$artifacts" node --test --test-reporter=spec tests/browser/console.test.mjs || status=$?
echo "browser-tests: screenshots and server log in $artifacts"
exit "$status"
