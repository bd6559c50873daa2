"""A store that cannot be reached never blocks the program: calls return, the process exits."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import run_python
from lanterna.export.pipeline import GIVE_UP_SECONDS

#: How late a waiting thread may be scheduled on a loaded 2-core machine.
LATE = 2.0

CODE = """
import time, lanterna
# The store's code loaded first (the first import of it counts as progress, not the bound).
import alembic.command, alembic.runtime.migration, lanterna.store.sql.store, sqlalchemy
sqlalchemy.create_engine("sqlite://").connect().close()

@lanterna.trace
def work(x):
    return x * 2

assert work(21) == 42
start = time.monotonic()
lanterna.flush_trace_async_logging()
flushed = time.monotonic()
assert lanterna.get_trace("tr-" + "0" * 32, silent=True) is None  # flushes first, bounded
print(round(flushed - start, 2), round(time.monotonic() - flushed, 2))
print(time.time())  # the exit starts here
"""


def test_dead_store_never_blocks_calls_or_exit(tmp_path: Path) -> None:
    result = run_python(CODE, tmp_path, env={
        "LANTERNA_TRACKING_URI": f"sqlite:///{tmp_path}/missing-dir/sub/traces.db"})
    ended = time.time()
    assert result.returncode == 0, result.stderr
    flushes, exit_started = result.stdout.strip().splitlines()
    # Each flush (explicit, before a read) gave up at the bound, instead of waiting forever...
    for took in map(float, flushes.split()):
        assert GIVE_UP_SECONDS - 0.5 <= took < GIVE_UP_SECONDS + LATE
    # ...and so did the exit (plus the interpreter's own teardown).
    assert ended - float(exit_started) < GIVE_UP_SECONDS + LATE + 3.0
    assert "could not export" in result.stderr
