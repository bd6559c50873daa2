#!/usr/bin/env bash
# Installs lanterna with every extra and the test tools, then runs lint, types and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[all,test]'
python3 -m ruff check src tests benchmarks
python3 -m mypy
rm -f .coverage .coverage.*
# Coverage of the test process ([tool.coverage.run] in pyproject.toml says why not subprocesses).
python3 -m pytest -q --cov --cov-report=term:skip-covered "$@"
