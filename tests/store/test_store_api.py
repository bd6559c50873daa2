"""Stored traces through the public API: tags, deletes, experiments, values that are hard to
store, a refused trace, the schema guard, and the full-text index, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

import lanterna
from lanterna.entities import Span
from lanterna.exceptions import MlflowException, SchemaTooNewError
from lanterna.export import setup
from lanterna.store import uri as uris
from lanterna.store.sql import fulltext, schema
from lanterna.testing.databases import database, store_experiment, store_uri  # noqa: F401
from lanterna.testing.pytest_plugin import TracesRecorded


def stored(trace_id: str) -> lanterna.entities.Trace:
    """The trace as the store has it (not the in-process copy)."""
    lanterna.flush_trace_async_logging()
    setup.memory.clear()
    trace = lanterna.get_trace(trace_id)
    assert trace is not None
    return trace


def one(name: str = "t", **inputs: object) -> str:
    with lanterna.start_span(name) as span:
        span.set_inputs(inputs or None)
    return str(lanterna.get_last_active_trace_id())


def test_tags_on_stored_traces(store_experiment: str) -> None:  # noqa: F811
    trace_id = one("tagged")
    stored(trace_id)
    lanterna.set_trace_tag(trace_id, "reviewed", "yes — ✓")
    lanterna.set_trace_tag(trace_id, "mlflow.traceName", "renamed")
    assert stored(trace_id).info.tags["reviewed"] == "yes — ✓"
    found = lanterna.search_traces(filter_string="trace.name = 'renamed'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]
    lanterna.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in stored(trace_id).info.tags
    with pytest.raises(MlflowException, match="No trace"):
        lanterna.set_trace_tag("tr-" + "f" * 32, "a", "b")


def test_delete_traces_by_id_and_by_time(store_experiment: str) -> None:  # noqa: F811
    ids = [one(f"d{i}") for i in range(5)]
    lanterna.flush_trace_async_logging()
    assert lanterna.delete_traces(store_experiment, trace_ids=ids[:2]) == 2
    assert lanterna.get_trace(ids[0], silent=True) is None
    infos = {t.info.trace_id: t.info for t in lanterna.search_traces(return_type="list")}
    assert set(infos) == set(ids[2:])
    newest = max(i.request_time for i in infos.values())
    assert lanterna.delete_traces(store_experiment, max_timestamp_millis=newest,
                                  max_traces=1) == 1
    assert len(lanterna.search_traces(return_type="list")) == 2
    assert lanterna.delete_traces(store_experiment, max_timestamp_millis=newest) == 2
    assert lanterna.search_traces(return_type="list") == []
    with pytest.raises(MlflowException, match="not both"):
        lanterna.delete_traces(store_experiment, max_timestamp_millis=1, trace_ids=["x"])
    with pytest.raises(MlflowException, match="needs"):
        lanterna.delete_traces(store_experiment)


def test_experiments(store_uri: str) -> None:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    try:
        first = lanterna.set_experiment("exp-a")
        assert lanterna.set_experiment("exp-a").experiment_id == first.experiment_id
        in_a = one("in-a")
        second = lanterna.set_experiment("exp-b")
        assert second.experiment_id != first.experiment_id
        one("in-b")
        assert [t.info.name for t in lanterna.search_traces(return_type="list")] == ["in-b"]
        both = lanterna.search_traces(
            experiment_ids=[first.experiment_id, second.experiment_id], return_type="list")
        assert {t.info.name for t in both} == {"in-a", "in-b"}
        assert lanterna.set_experiment(experiment_id=first.experiment_id).name == "exp-a"
        assert stored(in_a).info.experiment_id == first.experiment_id
        with pytest.raises(MlflowException, match="^No Experiment with id="):
            lanterna.set_experiment(experiment_id="999999")
        with pytest.raises(MlflowException, match="non-empty"):
            lanterna.set_experiment("  ")
    finally:
        lanterna.tracing.reset()
        lanterna.set_tracking_uri(None)


def test_hard_values_round_trip(store_experiment: str) -> None:  # noqa: F811
    values = {
        "emoji": "🔥 naïve 日本語", "quotes": "it's \"quoted\" `back`", "nul": "a\x00b",
        "percent": "100%_done\\", "nested": {"list": [1, 2.5, None, True, "x"]},
    }
    with lanterna.start_span("hard ✓ 'name'") as span:
        span.set_inputs(values)
        span.set_outputs("done")
        lanterna.update_current_trace(tags={"weird": "a'b\"c%_"})
    trace_id = str(lanterna.get_last_active_trace_id())
    trace = stored(trace_id)
    assert trace.data.spans[0].inputs == values
    assert trace.data.spans[0].name == "hard ✓ 'name'"
    assert trace.info.tags["weird"] == "a'b\"c%_"
    found = lanterna.search_traces(filter_string="tag.weird = 'a\\'b\"c%_'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]


def test_token_usage_is_summed_and_stored(store_experiment: str) -> None:  # noqa: F811
    with lanterna.start_span("agent"):
        for n in (1, 2):
            with lanterna.start_span("llm", span_type="LLM") as llm:
                usage = {"input_tokens": 10 * n, "output_tokens": n, "total_tokens": 11 * n}
                llm.set_attribute("mlflow.chat.tokenUsage", usage)
    trace = stored(str(lanterna.get_last_active_trace_id()))
    assert trace.info.token_usage == {"input_tokens": 30, "output_tokens": 3, "total_tokens": 33}
    assert int(trace.info.trace_metadata["mlflow.trace.sizeBytes"]) > 0


@pytest.mark.postgres
def test_a_trace_the_store_refuses_does_not_block_the_others(
    tmp_path: Path, lanterna_tracing: TracesRecorded
) -> None:
    from lanterna import _errors

    lanterna_tracing.expect_losses()  # the refusal is the point

    with database("postgresql", tmp_path) as url:
        lanterna.set_tracking_uri(url)
        previous = _errors.raise_internal_errors
        _errors.raise_internal_errors = False
        before = lanterna.tracing.export_stats()["spans_rejected"]
        try:
            good = one("good")
            bad = lanterna.start_span_no_context("bad", experiment_id="x" * 40)  # too long
            bad.end()
            after = one("after")
            lanterna.flush_trace_async_logging()
            names = {t.info.name for t in lanterna.search_traces(
                experiment_ids=["0"], return_type="list")}
        finally:
            _errors.raise_internal_errors = previous
            lanterna.set_tracking_uri(None)
        assert names == {"good", "after"} and good and after
        assert lanterna.tracing.export_stats()["spans_rejected"] == before + 1


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


def test_a_newer_schema_gets_a_clear_error(fresh: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lanterna.cli import main

    store = uris.get_store(fresh)
    store.upgrade()
    engine = store.engine()
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'"))
    uris.dispose_all()
    with pytest.raises(SchemaTooNewError, match="newer lanterna") as info:
        uris.get_store(fresh).search_traces()
    assert "'9999'" in str(info.value)
    assert main(["db", "upgrade", "--uri", fresh]) == 2
    assert "newer lanterna" in capsys.readouterr().err


def test_revisions_match_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(schema.MIGRATIONS))
    assert scripts.get_current_head() == schema.HEAD
    ordered = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert tuple(ordered) == schema.REVISIONS


def test_full_text_uses_the_index(fresh: str) -> None:
    lanterna.set_tracking_uri(fresh)
    try:
        ids = [one("doc", text=f"needle-{i} in a haystack") for i in range(30)]
        lanterna.flush_trace_async_logging()
        store = uris.get_store()
        query = "trace.text LIKE '%needle-7 %'"
        # found before and after the index catches up
        assert [t.info.trace_id for t in lanterna.search_traces(
            filter_string=query, experiment_ids=["0"], return_type="list")] == [ids[7]]
        store.maintain()
        assert [t.info.trace_id for t in lanterna.search_traces(
            filter_string=query, experiment_ids=["0"], return_type="list")] == [ids[7]]
        executed: list[tuple[str, Any]] = []

        def record(connection: Any, cursor: Any, statement: str, parameters: Any,
                   *rest: Any) -> None:
            executed.append((statement, parameters))

        event.listen(store.engine(), "before_cursor_execute", record)
        try:
            lanterna.search_traces(filter_string=query, experiment_ids=["0"], return_type="list")
        finally:
            event.remove(store.engine(), "before_cursor_execute", record)
        with store.engine().connect() as connection:
            # a rare word: the index lists the few candidates and the search starts from them
            statement = store.search_statement(["0"], query, None, None, 10, connection)
            sql = str(statement.compile(store.engine(), compile_kwargs={"literal_binds": True}))
            if store.dialect == "sqlite":  # the index is asked once, the page starts from ids
                probes = [s for s, _ in executed if "MATCH ? ORDER BY rowid LIMIT 1" in s]
                assert len(probes) <= fulltext.PROBED_TRIGRAMS  # which trigrams are rarest
                asked = [(s, p) for s, p in executed
                         if "spans_fts MATCH" in s and "ORDER BY rowid LIMIT 1" not in s]
                assert len(asked) == 1, executed
                plan = [r[-1] for r in connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + asked[0][0], asked[0][1])]
                assert any("spans_fts VIRTUAL TABLE INDEX" in row for row in plan), plan
                plan = [r[-1] for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
                assert any("traces USING INDEX" in row and "(trace_id=?)" in row
                           for row in plan), plan
            else:
                connection.exec_driver_sql("SET enable_seqscan = off")  # a tiny table
                connection.exec_driver_sql("SET enable_nestloop = off")
                plan = [r[0] for r in connection.exec_driver_sql("EXPLAIN " + sql)]
                assert any("ix_spans_search_text" in row for row in plan), plan
    finally:
        lanterna.set_tracking_uri(None)


def test_two_processes_write_one_sqlite_file_at_once(tmp_path: Path) -> None:
    code = (
        "import lanterna\n"
        "for i in range(1500):\n"
        "    with lanterna.start_span('w'):\n"
        "        pass\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    env.update(PYTHONPATH=str(Path(lanterna.__file__).resolve().parent.parent),
               LANTERNA_EXPORT_BATCH_SIZE="100")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    count = uris.get_store(f"sqlite:///{tmp_path / 'lanterna.db'}").count_traces()
    uris.dispose_all()
    assert count == 3000


def test_skeleton_lists_spans_by_start_time_then_id(store_uri: str) -> None:  # noqa: F811
    store = uris.get_store(store_uri)
    trace_id = f"tr-{uuid.uuid4().hex}"
    origin = 1_700_000_000_000_000_000
    root = "00000000000000a1"
    # (span id, parent, start offset, end offset): written out of order, two starting together
    written = [("00000000000000c3", root, 20, None), (root, None, 0, 90),
               ("00000000000000b2", root, 20, 30), ("00000000000000d4", root, 10, 15)]
    store.log_spans("0", [Span.from_dict({
        "trace_id": trace_id[3:], "span_id": span_id, "parent_span_id": parent or "",
        "name": f"n-{span_id[-2:]}", "start_time_unix_nano": origin + start,
        "end_time_unix_nano": None if end is None else origin + end,
        "status": {"code": "STATUS_CODE_UNSET" if end is None else "STATUS_CODE_OK",
                   "message": ""},
        "attributes": {"mlflow.traceRequestId": json.dumps(trace_id)}, "events": [],
    }) for span_id, parent, start, end in written])
    skeleton = store.get_trace_skeleton(trace_id)
    assert skeleton is not None and skeleton["span_count"] == 4
    assert skeleton["origin_ns"] == str(origin)
    assert skeleton["columns"] == {
        "span_id": [root, "00000000000000d4", "00000000000000b2", "00000000000000c3"],
        "parent_span_id": [None, root, root, root],
        "name": ["n-a1", "n-d4", "n-b2", "n-c3"],
        "span_type": ["UNKNOWN"] * 4,
        "status": ["OK", "OK", "OK", "UNSET"],
        "start": [0, 10, 20, 20],
        "end": [90, 15, 30, None],
    }
    assert store.get_trace_skeleton(f"tr-{uuid.uuid4().hex}") is None
