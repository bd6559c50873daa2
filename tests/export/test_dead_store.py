"""A store that cannot be reached never blocks the program: calls return, the process exits."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import run_python

CODE = """
import time, lanterna

@lanterna.trace
def work(x):
    return x * 2

start = time.monotonic()
assert work(21) == 42
lanterna.flush_trace_async_logging()
assert lanterna.get_trace("tr-" + "0" * 32, silent=True) is None
print(round(time.monotonic() - start, 1))
"""


def test_dead_store_never_blocks_calls_or_exit(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_python(CODE, tmp_path, env={
        "LANTERNA_TRACKING_URI": f"sqlite:///{tmp_path}/missing-dir/sub/traces.db"})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip()) < 10  # flush gave up instead of waiting forever
    assert elapsed < 30  # and the exit did not wait on the dead store either
    assert "could not export" in result.stderr
