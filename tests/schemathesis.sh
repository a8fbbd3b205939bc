#!/usr/bin/env bash
# Fuzzes Souk against its own served contract: starts a real Souk (on its own fresh private
# Postgres, demo seed), then runs schemathesis (from PyPI) against /v1/openapi.json with an
# admin token and a bounded number of examples per operation. Fails on any 5xx
# (`not_a_server_error`) or any response that breaks its documented schema
# (`response_schema_conformance`).
#
#   tests/schemathesis.sh                   # builds Souk with `cargo build`
#   SOUK_BIN=target/debug/souk tests/schemathesis.sh
#
# Knobs (environment): SOUK_BIN, SCHEMATHESIS (default: `schemathesis` on PATH), MAX_EXAMPLES
# (default 20), SEED (default 1, so a failure reproduces), KEEP_TMP=1 (keep Souk's log).
# Skips (exit 0) with a message when schemathesis is not installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
max_examples="${MAX_EXAMPLES:-20}"
seed="${SEED:-1}"
started_at=$SECONDS

say() { printf 'schemathesis.sh: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; exit 1; }
# find_souk, stop_pid, stop_private_cluster, free_port, wait_for
source "$repo/tests/harness.sh"

st="${SCHEMATHESIS:-$(command -v schemathesis || true)}"
if [[ -z "$st" ]]; then
    say "SKIP: schemathesis is not installed (pip install schemathesis, or set SCHEMATHESIS); the contract was NOT fuzzed."
    exit 0
fi
for tool in curl python3; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

find_souk "$repo" debug

tmp="$(mktemp -d "${TMPDIR:-/tmp}/souk-schemathesis.XXXXXX")"
# Souk's private Postgres runs as an unprivileged user when we are root: it must enter the dir.
chmod 755 "$tmp"
work="$tmp/souk"
mkdir -m 755 "$work"
souk_pid=""

cleanup() {
    local rc=$?
    set +e
    if [[ $rc -ne 0 && -s "$tmp/souk.log" ]]; then
        say "--- last lines of $tmp/souk.log ---"
        tail -n 25 "$tmp/souk.log" >&2
    fi
    stop_pid "$souk_pid" TERM
    stop_private_cluster "$work"
    if [[ "${KEEP_TMP:-}" == 1 ]]; then say "kept $tmp"; else rm -rf "$tmp"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(free_port)"
souk="http://127.0.0.1:$port"
# A fresh private database (no SOUK__DATABASE__URL) gets the demo seed. Rate limits are lifted:
# a fuzzer is one client sending thousands of requests, and 429s would hide what it probes.
limits=()
for class in CHECKOUT WRITES READS AUTH WEBHOOKS; do
    limits+=("SOUK__RATE_LIMITS__${class}__PER_SECOND=1000000" "SOUK__RATE_LIMITS__${class}__BURST=1000000")
done
(
    cd "$work"
    exec env -u SOUK__DATABASE__URL -u SOUK__PROFILE "${limits[@]}" \
        SOUK__HTTP__ADDR="127.0.0.1:$port" RUST_LOG="${RUST_LOG:-warn}" "$souk_bin"
) >"$tmp/souk.log" 2>&1 &
souk_pid=$!
say "Souk (pid $souk_pid) on $souk"
wait_for "Souk to be ready on $souk" 120 "$souk_pid" curl -fsS -m 2 "$souk/v1/ready"
admin_token="$(cd "$work" && "$souk_bin" token --user 1 --role admin)"

# Data behind id 1 (the fuzzer's first choice for `minimum: 1` ids), so order, return and
# promo responses are checked with real content, not only as 404s: the admin (user 1) buys
# a key (product 1) and a tote bag (product 3); order 1 is delivered and has return 1.
expect() { # status method path [json body]: fails unless the call answers that status
    local want="$1" got
    got="$(curl -sS -o "$tmp/last.json" -w '%{http_code}' -m 10 -X "$2" "$souk$3" \
        -H "Authorization: Bearer $admin_token" -H "Idempotency-Key: setup-$2-$3" \
        -H 'Content-Type: application/json' ${4:+--data "$4"})"
    [[ "$got" == "$want" ]] || die "set-up $2 $3 answered $got, not $want: $(cat "$tmp/last.json")"
}
expect 201 POST /v1/admin/users/1/wallet/credits '{"amount_minor":1000000,"reason":"fuzz set-up"}'
expect 200 PUT /v1/me/cart/items/1 '{"quantity":1}'
expect 200 PUT /v1/me/cart/items/3 '{"quantity":2}'
expect 201 POST /v1/me/checkout '{"payment":"wallet","shipping_address":{"name":"A","line1":"1 Road","city":"Town","postal_code":"12345","country":"US"}}'
expect 200 POST /v1/admin/orders/1/transitions '{"to":"delivered"}'
expect 201 POST /v1/me/orders/1/returns '{"lines":[{"product_id":3,"quantity":1}],"reason":"too big"}'
expect 201 POST /v1/admin/promos '{"code":"SAVE10","kind":"percent","value":10}'

say "schemathesis $("$st" --version 2>&1 | awk '{print $NF}'), $max_examples examples per operation, seed $seed"
# From the temp dir: schemathesis keeps a cache of past failures in ./.schemathesis, and each
# run should start clean (the fixed seed makes it reproducible) and leave the repo untouched.
(cd "$tmp" && "$st" --no-color run "$souk/v1/openapi.json" \
    --url "$souk" \
    --header "Authorization: Bearer $admin_token" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --phases examples,coverage,fuzzing \
    --workers 2) ||
    die "schemathesis found 5xx answers or responses that break their schema (above)"
grep -q 'panicked' "$tmp/souk.log" && die "Souk logged a panic during the run"
say "OK in $((SECONDS - started_at)) s"
