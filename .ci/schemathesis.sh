#!/usr/bin/env bash
# The live server against its own OpenAPI description (`/api/v1/openapi.json`):
# schemathesis (PyPI) generates requests from the document and checks every answer
# (no 5xx, status, content type, headers and body as described). Runs the release
# binary `cargo build --release` left in $CARGO_TARGET_DIR; fails on any finding.
# Alone: `bash .ci/schemathesis.sh` (after a release build).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shiplog-target}"
SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${SCHEMATHESIS_EXAMPLES:-50}"
venv="$HOME/.cache/shiplog-venv"
bin="$CARGO_TARGET_DIR/release/shiplog"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$bin" ] || { echo "no $bin: run cargo build --release first" >&2; exit 1; }

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
token="schemathesis-token"
server=""
stop() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server"
        wait "$server" || true
    fi
    rm -rf "$work"
}
trap stop EXIT

# One token for every route that takes one, so that a single header opens them all;
# the webhook senders with a bearer scheme (ArgoCD, CDEvents, Opsgenie, Jira) take it too.
(
    cd "$work"
    export SHIPLOG_INGEST_TOKEN="$token" SHIPLOG_READ_TOKEN="$token" \
        SHIPLOG_ADMIN_TOKEN="$token" SHIPLOG_ARGOCD_TOKEN="$token" \
        SHIPLOG_CDEVENTS_TOKEN="$token" SHIPLOG_OPSGENIE_TOKEN="$token" \
        SHIPLOG_JIRA_TOKEN="$token" RUST_LOG="${RUST_LOG:-warn}"
    exec "$bin" demo --addr "127.0.0.1:$port" --db "$work/shiplog.duckdb"
) >"$work/server.log" 2>&1 &
server=$!

for _ in $(seq 1 120); do
    if curl -fsS "$base/readyz" >/dev/null 2>&1; then
        break
    fi
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null || { echo "the server never got ready" >&2; cat "$work/server.log" >&2; exit 1; }

# The backup and git-import routes take paths on the server's file system (a backup
# writes a directory there), and the export writes the whole warehouse into its
# configured directory on each call: generated requests are no test of them, so they
# are left out (tests/backup.rs and tests/export.rs test them); replay, which touches
# only the database, is tested.
#
# Every check runs but `positive_data_acceptance`: the API refuses some requests that
# JSON Schema cannot tell from good ones (`from` not before `to`; a timestamp or a date
# that is no real one, since 2020-12's `format` only annotates), and answers them
# with the 400 or 422 the document describes for them.
status=0
export NO_COLOR=1
cd "$work"
"$venv/bin/schemathesis" run "$base/api/v1/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --max-examples "$EXAMPLES" \
    --seed 1 \
    --workers 1 \
    --exclude-path /api/v1/admin/backup \
    --exclude-path /api/v1/admin/git-import \
    --exclude-path /api/v1/admin/export \
    "$@" || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis found failures (exit $status); the server's log:" >&2
    tail -n 50 "$work/server.log" >&2
fi
exit "$status"
