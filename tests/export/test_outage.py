"""A store outage mid-run (issue 4, acceptance 4): the database is unreachable for a while and
comes back. Every trace that fit in the queue is stored; past the bound the dropped count is
exact, readable, and reported in one warning; memory stays bounded.

SQLite "goes down" by another connection holding its write lock; PostgreSQL by a TCP proxy on
loopback that stops (refusing connections, cutting open ones) and starts again.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import lanterna
from lanterna.testing.databases import database

SRC = Path(lanterna.__file__).resolve().parent.parent
QUEUE = 500
BEFORE, DURING, MORE = 100, 3_000, 20_000
OUTAGE_SECONDS = 3.0

CHILD = f"""
import json, logging, sys, time
import lanterna

logging.basicConfig(stream=sys.stderr, format="LOG %(levelname)s %(message)s")
PAYLOAD = "x" * 2000

def burst(prefix, n):
    for i in range(n):
        with lanterna.start_span(f"{{prefix}}-{{i}}") as span:
            span.set_inputs({{"blob": PAYLOAD, "i": i}})

def rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

def say(**fields):
    print(json.dumps({{**fields, **lanterna.tracing.export_stats()}}), flush=True)

burst("before", {BEFORE})
lanterna.flush_trace_async_logging()
say(phase="ready")
sys.stdin.readline()                      # the store is down now
burst("during", {DURING})
deadline = time.monotonic() + 30
while lanterna.tracing.export_stats()["export_failures"] < 1 and time.monotonic() < deadline:
    time.sleep(0.01)
full = rss_kb()
burst("more", {MORE})                     # far past the bound: all dropped, memory flat
say(phase="down", rss_full=full, rss_after=rss_kb())
sys.stdin.readline()                      # the store is back
lanterna.flush_trace_async_logging()
say(phase="back")
"""


class Proxy:
    """A TCP proxy on 127.0.0.1 that can be stopped (refuse and cut) and started again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close alone would not
            listener.close()
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for conn in (source, sink):
                with contextlib.suppress(OSError):
                    conn.close()


@contextmanager
def outage_controls(engine: str, url: str) -> Iterator[tuple[str, object, object]]:
    """(the URI the child uses, take the store down, bring it back)."""
    if engine == "sqlite":
        path = url.removeprefix("sqlite:///")
        holder: dict[str, sqlite3.Connection] = {}

        def down() -> None:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN EXCLUSIVE")  # every other writer now times out
            holder["conn"] = conn

        def up() -> None:
            conn = holder.pop("conn")
            conn.execute("COMMIT")
            conn.close()

        yield url + "?timeout=0.2", down, up
        return
    parts = urlsplit(url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    proxy.start()
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    try:
        yield urlunsplit(parts._replace(netloc=netloc)), proxy.stop, proxy.start
    finally:
        proxy.stop()


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql",
                                                           marks=pytest.mark.postgres)])
def test_store_outage_keeps_what_fits_and_counts_what_is_dropped(
    engine: str, tmp_path: Path
) -> None:
    with database(engine, tmp_path) as url, outage_controls(engine, url) as (child_url, down, up):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
        env.update(PYTHONPATH=str(SRC), LANTERNA_TRACKING_URI=child_url,
                   LANTERNA_EXPORT_QUEUE_SIZE=str(QUEUE), LANTERNA_EXPORT_BATCH_SIZE="100")
        child = subprocess.Popen([sys.executable, "-c", CHILD], cwd=tmp_path, env=env,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        assert child.stdin is not None and child.stdout is not None
        try:
            ready = json.loads(child.stdout.readline())
            assert ready["spans_exported"] == BEFORE
            down()  # type: ignore[operator]
            child.stdin.write("\n")
            child.stdin.flush()
            during = json.loads(child.stdout.readline())
            time.sleep(OUTAGE_SECONDS)  # the outage lasts a while: retries back off meanwhile
            up()  # type: ignore[operator]
            child.stdin.write("\n")
            child.stdin.flush()
            back = json.loads(child.stdout.readline())
            _, stderr = child.communicate(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        assert child.returncode == 0, stderr
        produced = BEFORE + DURING + MORE
        dropped = back["spans_dropped"]
        # While down: the queue holds its bound and no more, everything else is counted.
        assert during["queued"] <= QUEUE
        assert dropped >= DURING + MORE - QUEUE - 100
        assert during["rss_after"] - during["rss_full"] < 15_000  # kB: 20,000 spans not kept
        # Back up: everything that was accepted is stored; the count of the rest is exact.
        assert back["queued"] == 0 and back["export_failures"] >= 1
        assert back["spans_exported"] == produced - dropped
        drop_warnings = [line for line in stderr.splitlines() if "dropped spans" in line]
        assert len(drop_warnings) == 1, stderr
        failure_warnings = [line for line in stderr.splitlines() if "could not export" in line]
        assert len(failure_warnings) == 1, stderr  # retries are many, the warning is one
        assert back["batches_retried"] >= 3
        lanterna.set_tracking_uri(url)
        try:
            stored = lanterna.search_traces(return_type="list", include_spans=False,
                                            experiment_ids=["0"])
        finally:
            lanterna.set_tracking_uri(None)
        assert len(stored) == produced - dropped
        assert sum(t.info.name.startswith("before") for t in stored) == BEFORE  # type: ignore[union-attr]
