#!/usr/bin/env bash
# Records fixtures/fidelity/ on the official dev server with the official Python SDK (pinned in
# scripts/tools.sh) and checks each history with the official Python Replayer. Not run by CI: the
# recorded files are committed; CI replays them (examples/tests/fidelity.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
out="${1:-fixtures/fidelity}"   # usage: record-fidelity.sh [OUT_DIR [VERDICTS_JSON]]
mkdir -p "$out"
port=$("$REPRISE_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db="$(mktemp -d)/dev.db"
"$TEMPORAL_CLI" server start-dev --headless --ip 127.0.0.1 --port "$port" --db-filename "$db" \
  --log-level error >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  "$TEMPORAL_CLI" operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1 && break
  sleep 0.2
done
"$REPRISE_PYTHON" fixtures/record/record_fidelity.py "127.0.0.1:$port" "$TEMPORAL_CLI" "$out" \
  "${2:-fixtures/record/fidelity-verdicts.json}"
