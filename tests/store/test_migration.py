"""A database of the previous release (schema 0001, written by its own writer, frozen in
``legacy_v1``) is upgraded to the current schema, and every trace reads back identical
through ``get_trace`` and ``search_traces`` on both engines."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from legacy_v1 import reads as legacy_reads
from legacy_v1 import writes as legacy_writes
from legacy_v1.tables import traces as legacy_traces
from sqlalchemy import select
from sqlalchemy.engine import Connection

import lanterna
from lanterna.entities import SpanEvent, SpanStatus, SpanStatusCode, Trace, TraceInfo, TraceState
from lanterna.store.batch import ExportBatch
from lanterna.store.sql import engine as engines
from lanterna.store.sql import schema
from lanterna.store.sql.store import SqlStore
from lanterna.testing.databases import database

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def _writing(uri: str) -> Iterator[Connection]:
    engine = engines.create(engines.sqlalchemy_url(uri))
    try:
        options = {engines.WRITE_OPTION: True}
        with engine.connect().execution_options(**options) as connection, connection.begin():
            yield connection
    finally:
        engine.dispose()


def _at_revision(uri: str, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    with _writing(uri) as connection:
        config = Config()
        config.set_main_option("script_location", str(schema.MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _record_traces() -> list[Trace]:
    """Traces with every kind of value the previous release stored (kept in memory)."""
    ids = []
    with lanterna.tracing.context(metadata={"team": "search", "ünï": "vâl"},
                                  tags={"env": "prod"}, session_id="s-1", user="u-1"):
        with lanterna.start_span("agent", span_type="AGENT") as root:
            root.set_inputs({"question": "Quelle est la capitale? 🎉", "k": 3,
                             "odd": [float("nan"), float("inf"), 2**70, None, True]})
            root.set_attributes({"model": "gpt-4o", "temperature": 0.2, "nested": {"a": [1]},
                                 "nul": "a\x00b", "big": 2**70})
            with lanterna.start_span("llm", span_type="CHAT_MODEL") as llm:
                llm.set_inputs([{"role": "user", "content": "hi\nthere \"quoted\""}])
                llm.set_attribute("mlflow.chat.tokenUsage",
                                  {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8})
                llm.add_event(SpanEvent("token", attributes={"i": 1, "text": "tok",
                                                             "list": [1, 2]}))
                llm.set_outputs({"choices": [{"message": {"role": "assistant",
                                                          "content": "Paris"}}]})
            try:
                with lanterna.start_span("tool", span_type="TOOL") as tool:
                    tool.set_inputs("lone \ud800 surrogate")
                    raise ValueError("tool broke")
            except ValueError:
                pass
            root.set_outputs("Paris")
        ids.append(root.trace_id)
    for i in range(30):
        with lanterna.start_span(f"plain-{i % 3}") as span:
            span.set_inputs({"i": i, "text": f"word-{i}"})
            span.set_outputs(None if i % 2 else [i, "x"])
            if i % 5 == 0:
                span.set_status(SpanStatus(SpanStatusCode.ERROR, f"failed {i}"))
        ids.append(span.trace_id)
    lanterna.set_trace_tag(ids[1], "reviewed", "yes")
    found = [lanterna.get_trace(trace_id) for trace_id in ids]
    assert all(t is not None for t in found)
    return [t for t in found if t is not None]


def _legacy_write(uri: str, recorded: list[Trace]) -> None:
    with _writing(uri) as connection:
        batch = ExportBatch()
        for trace in recorded:
            batch.spans.extend(trace.data.spans)
            batch.finished.append(trace)
        legacy_writes.write_batch(connection, batch)
        running = ExportBatch()  # a trace still running when the database was copied
        running.started.append(TraceInfo(
            trace_id="tr-" + "ab" * 16, experiment_id="0", request_time=1_700_000_000_000,
            state=TraceState.IN_PROGRESS, trace_metadata={"mlflow.trace_schema.version": "3"},
            tags={"mlflow.traceName": "still running"},
        ))
        legacy_writes.write_batch(connection, running)


def _legacy_read(uri: str) -> dict[str, dict[str, Any]]:
    engine = engines.create(engines.sqlalchemy_url(uri))
    try:
        with engine.connect() as connection, connection.begin():
            found = list(connection.execute(select(legacy_traces)))
            loaded = legacy_reads.load_traces(connection, found, include_spans=True)
    finally:
        engine.dispose()
    return {t.info.trace_id: t.to_dict() for t in loaded}


@pytest.mark.parametrize("engine", ENGINES)
def test_previous_release_database_upgrades_and_reads_back_identical(
    engine: str, tmp_path: Path
) -> None:
    recorded = _record_traces()
    with database(engine, tmp_path) as uri:
        _at_revision(uri, "0001")
        _legacy_write(uri, recorded)
        before = _legacy_read(uri)
        assert len(before) == len(recorded) + 1

        store = SqlStore(uri)
        assert store.upgrade() == schema.HEAD
        for trace_id, expected in before.items():
            trace = store.get_trace(trace_id)
            assert trace is not None
            assert trace.to_dict() == expected
        page, token = store.search_traces(["0"], max_results=1000)
        assert token is None
        assert {t.info.trace_id: t.to_dict() for t in page} == before

        rich = store.get_trace(recorded[0].info.trace_id)
        assert rich is not None
        inputs = rich.data.spans[0].inputs
        assert math.isnan(inputs["odd"][0]) and inputs["odd"][1:] == [math.inf, 2**70, None, True]
        assert rich.info.trace_metadata["team"] == "search"

        def ids(filter_string: str) -> set[str]:
            return {t.info.trace_id for t in store.search_traces(
                ["0"], filter_string, max_results=1000, include_spans=False)[0]}

        rich_id = recorded[0].info.trace_id
        assert ids("metadata.team = 'search'") == {rich_id}
        assert ids("metadata.`ünï` = 'vâl'") == {rich_id}
        assert ids("tag.env = 'prod'") == {rich_id}
        assert ids("span.attributes.model = 'gpt-4o'") == {rich_id}
        assert ids("trace.text LIKE '%capitale%'") == {rich_id}
        assert ids("span.name = 'plain-1'") == {
            t.info.trace_id for t in recorded if t.data.spans[0].name == "plain-1"
        }
        store.maintain(budget=10)  # the full-text index goes on from where it was
        assert ids("trace.text LIKE '%word-17%'") == {recorded[18].info.trace_id}

        # The upgraded database takes new traces as any other.
        lanterna.set_tracking_uri(uri)
        try:
            with lanterna.start_span("after upgrade") as span:
                span.set_inputs({"q": "new words"})
            lanterna.flush_trace_async_logging()
            new = store.get_trace(span.trace_id)
            assert new is not None and new.data.spans[0].inputs == {"q": "new words"}
            store.maintain(budget=10)
            assert ids("trace.text LIKE '%new words%'") == {span.trace_id}
        finally:
            lanterna.set_tracking_uri(None)
        store.dispose()
