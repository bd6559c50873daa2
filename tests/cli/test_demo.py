"""``lanterna demo``: the quick start's main job (issue 3; stored since issue 4)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LANTERNA_TRACKING_URI"}
    env["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run(
        [sys.executable, "-m", "lanterna.cli", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_demo_prints_the_trace_tree_and_stores_it(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "answer_question  [CHAIN]  OK" in out
    assert "retrieve  [RETRIEVER]  OK" in out
    assert "lookup_weather  [TOOL]  ERROR" in out
    assert "! LookupError: no weather station in Atlantis" in out
    assert "Completions  [CHAT_MODEL]  OK" in out  # a real openai client call, auto-traced
    header = next(line for line in out.splitlines() if line.startswith("Trace tr-"))
    assert "  OK  " in header and " in / " in header  # state and summed token usage
    assert (tmp_path / "lanterna.db").exists()
    assert f"stored in {tmp_path / 'lanterna.db'}:" in out
