"""Runs the installed ``lanterna`` executable the way a user does: a subprocess in a folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXECUTABLE = Path(sys.executable).with_name("lanterna")
if not EXECUTABLE.exists():  # an interpreter outside a virtualenv: the one on PATH
    EXECUTABLE = Path(shutil.which("lanterna") or "lanterna")


def lanterna(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    full.update(env or {})
    return subprocess.run([str(EXECUTABLE), *args], cwd=cwd, env=full, capture_output=True,
                          text=True, timeout=timeout, check=False)


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 2 and a single line on stderr, without a traceback; returns that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]
