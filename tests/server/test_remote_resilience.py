"""Remote mode under stress: the token, a store outage (503 + Retry-After, the SDK retries,
nothing lost), and two servers on one PostgreSQL fed by four processes (every trace once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from conftest import ROOT, run_python
from lanterna.store import uri as uris
from lanterna.testing.databases import require_postgres, temporary_postgres_database
from lanterna.testing.server import RunningServer, running_server

from .httpcall import call

TOKEN = "remote-token"

WRITER = textwrap.dedent("""
    import json, lanterna
    ids = []
    for i in range(3):
        with lanterna.start_span(f"tokened-{i}") as span:
            span.set_inputs({"i": i})
        ids.append(lanterna.get_last_active_trace_id())
    lanterna.flush_trace_async_logging()
    print(json.dumps(ids))
""")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path = tmp_path_factory.mktemp("remote-token") / "t.db"
    with running_server(f"sqlite:///{path}", token=TOKEN) as server:
        yield server


def test_the_sdk_sends_its_token(guarded: RunningServer, tmp_path: Path) -> None:
    env = {"LANTERNA_TRACKING_URI": guarded.url, "LANTERNA_TRACKING_TOKEN": TOKEN}
    result = run_python(WRITER, tmp_path, env)
    assert result.returncode == 0, result.stderr
    ids = json.loads(result.stdout.strip().splitlines()[-1])
    for trace_id in ids:
        reply = call("GET", f"{guarded.url}/api/v1/traces/{trace_id}", token=TOKEN)
        assert reply.status == 200, reply


def test_mlflow_tracking_token_works_too(guarded: RunningServer, tmp_path: Path) -> None:
    env = {"LANTERNA_TRACKING_URI": guarded.url, "MLFLOW_TRACKING_TOKEN": TOKEN}
    result = run_python(WRITER, tmp_path, env)
    assert result.returncode == 0, result.stderr
    trace_id = json.loads(result.stdout.strip().splitlines()[-1])[0]
    assert call("GET", f"{guarded.url}/api/v1/traces/{trace_id}", token=TOKEN).status == 200


def test_without_the_token_the_program_still_runs_and_says_why(
    guarded: RunningServer, tmp_path: Path
) -> None:
    env = {"LANTERNA_TRACKING_URI": guarded.url, "LANTERNA_TRACKING_TOKEN": "wrong"}
    result = run_python(WRITER, tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert "LANTERNA_TRACKING_TOKEN" in result.stderr
    trace_id = json.loads(result.stdout.strip().splitlines()[-1])[0]
    assert call("GET", f"{guarded.url}/api/v1/traces/{trace_id}", token=TOKEN).status == 404


@pytest.fixture
def postgres_uri() -> Iterator[str]:
    require_postgres()
    with temporary_postgres_database("lanterna_remote") as uri:
        yield uri


def _admin(sql: str) -> None:
    from lanterna.testing.databases import _admin_connect

    with _admin_connect() as admin:
        admin.execute(sql)


@pytest.mark.postgres
def test_a_store_outage_answers_503_and_the_sdk_retries_until_every_trace_is_stored(
    postgres_uri: str,
) -> None:
    from lanterna.export import setup

    database = postgres_uri.rsplit("/", 1)[1]
    with running_server(postgres_uri) as server:
        lanterna.set_tracking_uri(server.url)
        try:
            before = [_one(f"before-{i}") for i in range(10)]
            assert lanterna.flush_trace_async_logging() is None
            _admin(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
            _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   f"WHERE datname = '{database}'")
            try:
                reply = call("GET", server.url + "/api/v1/traces")
                assert reply.status == 503, reply
                assert int(reply.headers["retry-after"]) >= 1
                assert reply.json()["error"]["code"] == "STORE_UNAVAILABLE"
                assert "Traceback" not in reply.body.decode()
                during = [_one(f"during-{i}") for i in range(20)]
                assert setup.flush(timeout=1.0) is False  # the store is down: not written yet
                time.sleep(3.0)
                assert setup.pipeline().stats.batches_retried > 0
            finally:
                _admin(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
            # The worker retries in the background (honouring Retry-After); a flush waits only
            # while the store has been failing for less than 3 s, so ask until it catches up.
            deadline = time.monotonic() + 60
            while not setup.flush(timeout=5.0):
                assert time.monotonic() < deadline, "the SDK never caught up"
            setup.memory.clear()
            stored = {t.info.trace_id for t in lanterna.search_traces(
                max_results=1000, return_type="list")}
            assert stored == set(before + during)
            assert setup.pipeline().stats.spans_dropped == 0
        finally:
            lanterna.set_tracking_uri(None)
            uris.dispose_all()


def _one(name: str) -> str:
    with lanterna.start_span(name) as span:
        span.set_inputs({"name": name})
    return str(lanterna.get_last_active_trace_id())


LOAD = textwrap.dedent("""
    import json, os, lanterna
    servers = json.loads(os.environ["SERVERS"])
    index = int(os.environ["WRITER"])
    count = int(os.environ["TRACES"])
    lanterna.set_tracking_uri(servers[index % 2])
    other = lanterna.Client(tracking_uri=servers[(index + 1) % 2])
    ids = []
    for i in range(count):
        if i % 2:
            root = other.start_trace(f"w{index}-{i}", inputs={"i": i})
            child = other.start_span("step", trace_id=root.trace_id, parent_id=root.span_id)
            other.end_span(root.trace_id, child.span_id)
            other.end_trace(root.trace_id, outputs=i)
            ids.append(root.trace_id)
        else:
            with lanterna.start_span(f"w{index}-{i}") as span:
                with lanterna.start_span("step"):
                    pass
                span.set_outputs(i)
            ids.append(lanterna.get_last_active_trace_id())
    lanterna.flush_trace_async_logging()
    print(json.dumps(ids))
""")


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_store_every_trace_of_four_writers_once(
    postgres_uri: str, tmp_path: Path
) -> None:
    traces_per_writer = 2000
    with running_server(postgres_uri) as first, running_server(postgres_uri) as second:
        env = {**os.environ, "SERVERS": json.dumps([first.url, second.url]),
               "TRACES": str(traces_per_writer),
               "PYTHONPATH": str(ROOT / "src")}
        writers = [
            subprocess.Popen([sys.executable, "-c", LOAD], cwd=tmp_path,
                             env={**env, "WRITER": str(i)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for i in range(4)
        ]
        outputs = [writer.communicate(timeout=240) for writer in writers]
    for writer, (_, stderr) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, stderr
    sent = [trace_id for stdout, _ in outputs
            for trace_id in json.loads(stdout.strip().splitlines()[-1])]
    assert len(sent) == len(set(sent)) == 4 * traces_per_writer

    from sqlalchemy import text

    from lanterna.store.sql.store import SqlStore

    store = SqlStore(postgres_uri)
    try:
        with store.engine().connect() as connection:
            traces = dict(connection.execute(text(
                "SELECT trace_id, state FROM traces")).all())
            spans = dict(connection.execute(text(
                "SELECT trace_id, count(*) FROM spans GROUP BY trace_id")).all())
    finally:
        store.dispose()
    assert set(traces) == set(sent)
    assert set(traces.values()) == {"OK"}
    assert set(spans) == set(sent) and set(spans.values()) == {2}
