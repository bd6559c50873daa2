"""Bounded waits (issue 9): every flush gives up once the store has made no progress for
``GIVE_UP_SECONDS`` since the flush started, whatever the store does: a PostgreSQL that accepts
connections and never answers, a SQLite file another process holds with ``BEGIN IMMEDIATE``.
Reads of a trace the process holds never wait on the store. Real processes, real sockets."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lanterna.export.pipeline import GIVE_UP_SECONDS

from .conftest import env_for, run

#: How late a waiting thread may be scheduled on a loaded 2-core machine.
LATE = 2.0

PROGRAM = """
import json, sys, time, lanterna
# Load the store first (imports count as progress), then wait for the test's go.
import alembic.command, psycopg, sqlalchemy.dialects.postgresql.psycopg
from lanterna.store.sql import schema, store
from lanterna.store import uri
if uri.get_tracking_uri().startswith("sqlite"):
    with lanterna.start_span(name="warm-up"):
        pass
    lanterna.flush_trace_async_logging()
def accounted():
    stats = lanterna.tracing.export_stats()
    return (stats["spans_exported"] + stats["queued"] + stats["in_flight"]
            + stats["spans_dropped"] + stats["spans_rejected"])
base = accounted()
print("warm", flush=True)
sys.stdin.readline()
for i in range(10):
    with lanterna.start_span(name="s") as span:
        span.set_inputs(i)
trace_id = lanterna.get_last_active_trace_id()
timings = {}
started = time.monotonic()
timings["flush_ok"] = lanterna.flush_trace_async_logging() is None
timings["flush"] = time.monotonic() - started
started = time.monotonic()
timings["found_in_cache"] = lanterna.get_trace(trace_id) is not None
timings["get_trace"] = time.monotonic() - started
timings["accounted"] = accounted() - base
print(json.dumps(timings), flush=True)
print(time.time(), flush=True)  # exit starts here
"""


def _measure(cwd: Path, url: str, before: Callable[[], None] = lambda: None,
             ) -> tuple[dict[str, float], float]:
    """What the program measured, and how long its exit took. ``before`` runs once the
    program has loaded the store."""
    program = subprocess.Popen([sys.executable, "-c", PROGRAM], cwd=cwd, env=env_for(url),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert program.stdout is not None and program.stdin is not None
    assert program.stdout.readline().strip() == "warm"
    before()
    out, err = program.communicate("go\n", timeout=120)
    ended = time.time()
    assert program.returncode == 0, err
    timings, exit_started = out.strip().splitlines()
    return json.loads(timings), ended - float(exit_started)


def _check_bounded(timings: dict[str, float], exit_took: float) -> None:
    assert GIVE_UP_SECONDS - 0.5 <= timings["flush"] < GIVE_UP_SECONDS + LATE
    assert timings["found_in_cache"] is True
    assert timings["get_trace"] < 0.5  # the cache answers: no wait on the store
    assert timings["accounted"] == 10
    assert exit_took < GIVE_UP_SECONDS + LATE + 3.0  # the bound, then the teardown


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


def test_a_database_that_never_answers_bounds_every_flush(
    tmp_path: Path, silent_server: int
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/never"
    timings, exit_took = _measure(tmp_path, url)
    _check_bounded(timings, exit_took)


def test_a_sqlite_file_locked_by_another_process_bounds_every_flush(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    created = run("import lanterna\nwith lanterna.start_span(name='first'):\n    pass\n",
                  tmp_path, url)
    assert created.returncode == 0, created.stderr
    holders: list[subprocess.Popen[str]] = []

    def lock() -> None:  # another process takes the write lock and keeps it
        holder = subprocess.Popen(
            [sys.executable, "-c",
             "import sqlite3, sys, time\n"
             f"c = sqlite3.connect({str(tmp_path / 'locked.db')!r}, isolation_level=None)\n"
             "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(120)\n"],
            stdout=subprocess.PIPE, text=True,
        )
        holders.append(holder)
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"

    try:
        timings, exit_took = _measure(tmp_path, url, lock)
        _check_bounded(timings, exit_took)
    finally:
        for holder in holders:
            holder.kill()
            holder.communicate()
    # Once the lock is gone, the spans written by later processes are stored as usual.
    again = run("import lanterna\nwith lanterna.start_span(name='after'):\n    pass\n"
                "lanterna.flush_trace_async_logging()\n"
                "print(len(lanterna.search_traces(return_type='list')))", tmp_path, url)
    assert again.returncode == 0, again.stderr
    assert int(again.stdout.strip()) >= 2
