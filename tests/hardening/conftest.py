"""Helpers for the hardening tests: real processes against a real store on both engines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from lanterna.testing.databases import database

SRC = Path(lanterna.__file__).resolve().parent.parent


def env_for(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    env.update(PYTHONPATH=str(SRC), LANTERNA_TRACKING_URI=url, **extra)
    return env


def start(code: str, cwd: Path, url: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=env_for(url, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(code: str, cwd: Path, url: str, timeout: float = 120,
        **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env_for(url, **extra),
                          capture_output=True, text=True, timeout=timeout, check=False)


def slow_store(seconds: float) -> str:
    """Code that makes every store write wait ``seconds`` first (a store that falls behind)."""
    return f"""
import time
from lanterna.store.sql.store import SqlStore
_write = SqlStore.write_batch
def _slow(self, batch):
    time.sleep({seconds})
    _write(self, batch)
SqlStore.write_batch = _slow
"""


READ_BACK = """
import json, lanterna
traces = lanterna.search_traces(return_type="list", experiment_ids=["0"])
print(json.dumps([{"id": t.info.trace_id, "state": t.info.state.value,
                   "spans": sorted(s.name for s in t.data.spans),
                   "statuses": sorted(s.status.status_code.value for s in t.data.spans)}
                  for t in traces]))
"""


def read_back(cwd: Path, url: str) -> list[dict[str, object]]:
    """Every trace of experiment 0, read from a new process."""
    done = run(READ_BACK, cwd, url)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with database("sqlite", tmp_path) as found:
        yield found


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One fresh database per module and engine (tests in it share it)."""
    with database(request.param, tmp_path_factory.mktemp("store")) as found:
        yield found


@pytest.fixture
def use_store(store_url: str) -> Iterator[str]:
    """Points this process at ``store_url`` for the test (and back afterwards)."""
    lanterna.set_tracking_uri(store_url)
    try:
        yield store_url
    finally:
        lanterna.flush_trace_async_logging()
        lanterna.set_tracking_uri(None)
