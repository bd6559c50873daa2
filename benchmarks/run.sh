#!/usr/bin/env bash
# Runs a benchmark in its own virtualenv holding lanterna and the peers it is compared with.
# Usage: bash benchmarks/run.sh overhead.py [args...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${LANTERNA_BENCH_VENV:-.venv-bench}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -e '.[all]' -r benchmarks/requirements.txt
script="$1"; shift
exec env -u PYTHONDONTWRITEBYTECODE "$venv/bin/python" "benchmarks/$script" "$@"
