#!/usr/bin/env bash
# The main job, for now: start the official Temporal dev server, run a workflow through it with
# Reprise's client and a worker-less raw workflow task, and print the recorded history as JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
cargo run --locked -q -p reprise-examples --bin history-demo "$@"
