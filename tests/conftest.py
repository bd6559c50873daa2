"""Shared test setup: every test starts from a fresh tracing state (see lanterna's plugin)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests keep traces in process unless a test points lanterna at a store on purpose.
os.environ.setdefault("LANTERNA_TRACKING_URI", "memory://")

from lanterna.testing.pytest_plugin import TracesRecorded  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_tracing(lanterna_tracing: TracesRecorded) -> Iterator[None]:
    yield


@pytest.fixture
def traces(lanterna_tracing: TracesRecorded) -> TracesRecorded:
    return lanterna_tracing


def run_python(
    code_or_path: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs Python code (or a file) in a fresh interpreter with lanterna importable."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), full_env.get("PYTHONPATH", "")) if p
    )
    args = [sys.executable, str(code_or_path)] if isinstance(code_or_path, Path) else [
        sys.executable, "-c", code_or_path]
    return subprocess.run(
        args, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
    )
