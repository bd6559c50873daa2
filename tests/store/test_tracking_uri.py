"""Tracking URIs and stored traces across processes (issue 4, acceptance 1)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from lanterna.exceptions import MlflowException
from lanterna.store import uri as store_uri_module
from lanterna.testing.databases import database

SRC = Path(lanterna.__file__).resolve().parent.parent


def run(code: str, cwd: Path, env: dict[str, str] | None = None,
        args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    full.update(env or {})
    full["PYTHONPATH"] = str(SRC)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120, check=False)


WRITER = """
import lanterna

@lanterna.trace
def lookup(city):
    return {"city": city, "forecast": "sunny"}

@lanterna.trace(name="main")
def main(question):
    return lookup("Lisbon")["forecast"]

main("Will it rain?")
print(lanterna.get_last_active_trace_id())
"""

READER = """
import json, sys
import lanterna

trace = lanterna.get_trace(sys.argv[1])
found = lanterna.search_traces(filter_string="trace.name = 'main' AND span.name = 'lookup'",
                               return_type="list")
print(json.dumps({
    "spans": [s.name for s in trace.data.spans],
    "state": trace.info.state.value,
    "found": [t.info.trace_id for t in found],
    "uri": lanterna.get_tracking_uri(),
}))
"""


@pytest.fixture(params=[
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
])
def engine_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def test_default_store_is_lanterna_db_in_the_working_directory(tmp_path: Path) -> None:
    written = run(WRITER, tmp_path)
    assert written.returncode == 0, written.stderr
    trace_id = written.stdout.strip()
    assert (tmp_path / "lanterna.db").is_file()
    read = run(READER, tmp_path, args=(trace_id,))
    assert read.returncode == 0, read.stderr
    result = json.loads(read.stdout)
    assert result == {"spans": ["main", "lookup"], "state": "OK", "found": [trace_id],
                      "uri": "sqlite:///lanterna.db"}


def test_tracking_uri_from_the_environment(engine_database: str, tmp_path: Path) -> None:
    env = {"LANTERNA_TRACKING_URI": engine_database}
    written = run(WRITER, tmp_path, env)
    assert written.returncode == 0, written.stderr
    trace_id = written.stdout.strip()
    if engine_database.startswith("postgresql"):
        assert not (tmp_path / "lanterna.db").exists()
    read = run(READER, tmp_path, env, args=(trace_id,))
    assert read.returncode == 0, read.stderr
    result = json.loads(read.stdout)
    assert result["found"] == [trace_id] and result["spans"] == ["main", "lookup"]


def test_set_tracking_uri_in_code(engine_database: str, tmp_path: Path) -> None:
    code = f"import lanterna\nlanterna.set_tracking_uri({engine_database!r})\n" + WRITER
    written = run(code, tmp_path)
    assert written.returncode == 0, written.stderr
    read = run(f"import lanterna\nlanterna.set_tracking_uri({engine_database!r})\n" + READER,
               tmp_path, args=(written.stdout.strip(),))
    assert json.loads(read.stdout)["found"] == [written.stdout.strip()]


@pytest.mark.parametrize("wanted", ["databricks", "ftp://127.0.0.1:5000", "file:///tmp/x"])
def test_unsupported_uri_warns_once_and_uses_the_default_store(
    tmp_path: Path, wanted: str
) -> None:
    code = (
        "import lanterna, logging\n"
        f"lanterna.set_tracking_uri({wanted!r})\n"
        "for _ in range(3):\n"
        "    with lanterna.start_span('x'):\n"
        "        pass\n"
        "    lanterna.flush_trace_async_logging()\n"
        "print(len(lanterna.search_traces(return_type='list')))\n"
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3"
    assert (tmp_path / "lanterna.db").is_file()
    warnings = [line for line in result.stderr.splitlines() if wanted in line]
    assert len(warnings) == 1, result.stderr
    assert "sqlite:///" in warnings[0] and "postgresql://" in warnings[0]


def test_memory_uri_keeps_traces_in_process(tmp_path: Path) -> None:
    code = (
        "import lanterna\n"
        "lanterna.set_tracking_uri('memory://')\n"
        "exp = lanterna.set_experiment('in-memory')\n"
        "with lanterna.start_span('kept'):\n"
        "    pass\n"
        "print(len(lanterna.search_traces(return_type='list')), exp.experiment_id)\n"
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1"]
    assert list(tmp_path.iterdir()) == []


def test_get_and_set_tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTERNA_TRACKING_URI", "memory://")
    lanterna.set_tracking_uri(None)
    assert lanterna.get_tracking_uri() == "memory://"
    lanterna.set_tracking_uri(tmp_path / "x.db")
    try:
        assert lanterna.get_tracking_uri() == f"sqlite:///{tmp_path / 'x.db'}"
    finally:
        lanterna.set_tracking_uri(None)
    monkeypatch.delenv("LANTERNA_TRACKING_URI")
    assert lanterna.get_tracking_uri() == "sqlite:///lanterna.db"
    with pytest.raises(MlflowException, match="string"):
        lanterna.set_tracking_uri(42)  # type: ignore[arg-type]


def test_reading_a_missing_sqlite_file_does_not_create_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "absent.db"
    lanterna.set_tracking_uri(f"sqlite:///{target}")
    try:
        caplog.set_level(logging.WARNING, logger="lanterna")
        assert lanterna.get_trace("tr-" + "0" * 32) is None
        assert lanterna.search_traces(return_type="list") == []
        assert not target.exists()
    finally:
        lanterna.set_tracking_uri(None)
        store_uri_module.dispose_all()


def test_a_clients_traces_go_to_its_own_tracking_uri(tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'client.db'}"
    main_store = f"sqlite:///{tmp_path / 'main.db'}"
    lanterna.set_tracking_uri(main_store)
    try:
        client = lanterna.MlflowClient(tracking_uri=other)
        root = client.start_trace("from-client")
        client.end_trace(root.trace_id)
        with lanterna.start_span("from-fluent"):
            pass
        lanterna.flush_trace_async_logging()
        in_other = store_uri_module.get_store(other).search_traces()[0]
        in_main = store_uri_module.get_store(main_store).search_traces()[0]
        assert [t.info.name for t in in_other] == ["from-client"]
        assert [t.info.name for t in in_main] == ["from-fluent"]
    finally:
        lanterna.set_tracking_uri(None)
        store_uri_module.dispose_all()


def test_without_the_store_extra_tracing_goes_on_and_says_what_to_install(
    tmp_path: Path,
) -> None:
    code = (
        "import sys\n"
        "sys.modules['sqlalchemy'] = None  # as if lanterna[store] were not installed\n"
        "import lanterna\n"
        "for _ in range(3):\n"
        "    with lanterna.start_span('kept in memory'):\n"
        "        pass\n"
        "    lanterna.flush_trace_async_logging()\n"
        "print(lanterna.get_trace(lanterna.get_last_active_trace_id()) is not None)\n"
        "try:\n"
        "    lanterna.search_traces()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = run(code, tmp_path)
    assert result.returncode == 0, result.stderr
    found, error = result.stdout.splitlines()
    assert found == "True" and "pip install 'lanterna[store]'" in error
    assert result.stderr.count("cannot store traces") == 1, result.stderr
