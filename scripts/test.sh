#!/usr/bin/env bash
# The whole test suite: installs the pinned official tools when missing, then runs every test of
# the workspace (unit, integration against the official dev server, doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
cargo test --workspace --locked "$@"
