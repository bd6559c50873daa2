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
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanterna.export.pipeline import GIVE_UP_SECONDS

from .conftest import env_for, run

PROGRAM = """
import json, time, lanterna
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
stats = lanterna.tracing.export_stats()
timings["accounted"] = (stats["spans_exported"] + stats["queued"] + stats["in_flight"]
                        + stats["spans_dropped"] + stats["spans_rejected"])
print(json.dumps(timings), flush=True)
print(time.time(), flush=True)  # exit starts here
"""


def _measure(cwd: Path, url: str) -> tuple[dict[str, float], float]:
    """What the program measured, and how long its exit took."""
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=cwd, env=env_for(url),
                          capture_output=True, text=True, timeout=120, check=False)
    ended = time.time()
    assert done.returncode == 0, done.stderr
    timings, exit_started = done.stdout.strip().splitlines()
    return json.loads(timings), ended - float(exit_started)


def _check_bounded(timings: dict[str, float], exit_took: float) -> None:
    assert GIVE_UP_SECONDS - 0.5 <= timings["flush"] < GIVE_UP_SECONDS + 1.0
    assert timings["found_in_cache"] is True
    assert timings["get_trace"] < 0.5  # the cache answers: no wait on the store
    assert timings["accounted"] == 10
    assert exit_took < GIVE_UP_SECONDS + 2.5  # the bound, then the interpreter's own teardown


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
    timings, rest = _measure(tmp_path, url)
    _check_bounded(timings, rest)


def test_a_sqlite_file_locked_by_another_process_bounds_every_flush(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    created = run("import lanterna\nwith lanterna.start_span(name='first'):\n    pass\n",
                  tmp_path, url)
    assert created.returncode == 0, created.stderr
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(tmp_path / 'locked.db')!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        timings, rest = _measure(tmp_path, url)
        _check_bounded(timings, rest)
    finally:
        holder.kill()
        holder.communicate()
    # Once the lock is gone, the spans written by later processes are stored as usual.
    again = run("import lanterna\nwith lanterna.start_span(name='after'):\n    pass\n"
                "lanterna.flush_trace_async_logging()\n"
                "print(len(lanterna.search_traces(return_type='list')))", tmp_path, url)
    assert again.returncode == 0, again.stderr
    assert int(again.stdout.strip()) >= 2
