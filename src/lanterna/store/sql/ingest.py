"""Ingest: spans and trace infos that arrive from elsewhere (OTLP, MLflow clients), in pieces.

Unlike an export batch, which holds whole finished traces, ingest sees a trace's spans in many
requests, from many processes, in any order, and its info (from an MLflow client's StartTraceV3)
before or after them. So:

- spans are inserted once per (trace id, span id): a span sent twice is stored once;
- a trace seen without its root gets a placeholder row (``IN_PROGRESS``), so its spans are
  reachable; when the root arrives, the info is derived from it (name, state, previews,
  duration, session, user) and replaces the placeholder, never an info a client logged;
- token usage is the sum over every stored span of the trace, recomputed when a span carrying
  usage (or the root) arrives;
- ``log_trace_info`` upserts: a client's info wins over one derived from spans; fields it leaves
  empty keep what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection

from lanterna.entities._values import encode_attribute
from lanterna.entities.previews import (
    add_token_usage,
    request_preview,
    response_preview,
    truncate,
)
from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.span_status import SpanStatusCode
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey, TraceTagKey
from lanterna.entities.trace_state import TraceState
from lanterna.store.sql import reads, rows, writes
from lanterna.store.sql.tables import spans, trace_tags, traces

#: Root-span attributes ``mlflow.traceTag.<key>`` become trace tags (MLflow's convention).
TRACE_TAG_PREFIX = "mlflow.traceTag."
METADATA_IO_CHARS = 250
_CHUNK = 500
_USAGE_COLUMNS = ("input_tokens", "output_tokens", "total_tokens")


def log_spans(connection: Connection, experiment_id: str, batch: Sequence[Span]) -> None:
    postgres = connection.dialect.name == "postgresql"
    unique: dict[tuple[str, str], Span] = {}
    for span in batch:
        unique.setdefault((span._trace_id, span._span_id), span)
    by_trace: dict[str, list[Span]] = {}
    for key in sorted(unique):  # key order: concurrent writers lock rows in the same order
        by_trace.setdefault(key[0], []).append(unique[key])

    # Every trace gets its row first (a placeholder unless one exists). On PostgreSQL the rows
    # stay locked until commit, so two servers writing pieces of one trace take turns and each
    # sum of token usage below sees the other's spans (SQLite writers are serialised anyway).
    created = _insert_placeholders(connection, [
        _placeholder(t, experiment_id, found) for t, found in by_trace.items()])
    if postgres:
        _lock(connection, list(by_trace))
    span_rows = [rows.span_row(s, postgres) for found in by_trace.values() for s in found]
    writes.write_spans(connection, span_rows, postgres)

    roots = {t: r for t, r in ((t, _root(s)) for t, s in by_trace.items()) if r is not None}
    derived = [_from_root(root, experiment_id, by_trace[t]) for t, root in roots.items()]
    _write_infos(connection, derived, "placeholder")
    # Token usage: a trace this batch created has no other spans, so its sum is the batch's;
    # a trace seen before is summed over what is stored, when the root or usage arrives.
    totals: dict[str, dict[str, int]] = {}
    stored = []
    for trace_id, found in by_trace.items():
        with_usage = [s for s in found if SpanAttributeKey.CHAT_USAGE in s.own_attributes]
        if trace_id in created:
            for span in with_usage:
                add_token_usage(totals.setdefault(trace_id, {}),
                                span.own_attributes[SpanAttributeKey.CHAT_USAGE])
        elif with_usage or trace_id in roots:
            stored.append(trace_id)
    totals.update(_stored_usage(connection, stored))
    _write_usage(connection, totals)


def _insert_placeholders(connection: Connection, infos: list[TraceInfo]) -> set[str]:
    """Inserts the rows of traces not stored yet; returns the ids this call created."""
    postgres = connection.dialect.name == "postgresql"
    statements = writes._STATEMENTS[postgres]
    if postgres:  # RETURNING names the rows this statement inserted, even under concurrency
        trace_rows = [rows.trace_row(info, None, True) for info in infos]
        sql = statements.insert(traces, "skip") + " RETURNING trace_id"
        result = writes.execute_rows(connection, sql, trace_rows, True)
        created = set(result.scalars())
    else:  # writers are serialised: what is absent now is created here
        ids = [info.trace_id for info in infos]
        existing: set[str] = set()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            existing.update(connection.execute(
                select(traces.c.trace_id).where(traces.c.trace_id.in_(chunk))).scalars())
        created = set(ids) - existing
        writes._execute(connection, statements, traces, "nothing", [
            rows.trace_row(info, None, False) for info in infos if info.trace_id in created])
    fresh = [info for info in infos if info.trace_id in created]
    values = [row for info in fresh
              for row in rows.key_value_rows(info.trace_id, info.tags, postgres)]
    writes._execute(connection, statements, trace_tags, "nothing", values)
    return created


def _lock(connection: Connection, trace_ids: list[str]) -> None:
    for start in range(0, len(trace_ids), _CHUNK):
        chunk = trace_ids[start:start + _CHUNK]
        connection.execute(select(traces.c.trace_id).where(traces.c.trace_id.in_(chunk))
                           .order_by(traces.c.trace_id).with_for_update())


def log_trace_info(connection: Connection, info: TraceInfo) -> TraceInfo:
    """Upserts ``info``; fields it leaves empty keep the stored values. Returns what is stored."""
    return log_trace_infos(connection, [info])[0]


def log_trace_infos(connection: Connection, infos: Sequence[TraceInfo]) -> list[TraceInfo]:
    """``log_trace_info`` for many infos: the stored ones read in one go, all written in one
    statement per table (a server gets thousands per request from remote SDKs)."""
    stored = {i.trace_id: i for i in trace_infos(connection, [i.trace_id for i in infos])}
    merged: list[TraceInfo] = []
    for info in infos:
        merged.append(_merge(info, stored.get(info.trace_id)))
        stored[info.trace_id] = merged[-1]  # the same trace twice: the second builds on it
    _write_infos(connection, list({m.trace_id: m for m in merged}.values()), "update")
    return merged


def _merge(info: TraceInfo, stored: TraceInfo | None) -> TraceInfo:
    merged = info.copy()
    if stored is not None:
        for name in ("request_preview", "response_preview", "client_request_id",
                     "execution_duration"):
            if getattr(merged, name) is None:
                setattr(merged, name, getattr(stored, name))
        if not merged.request_time:
            merged.request_time = stored.request_time
        merged.trace_metadata = {**stored.trace_metadata, **merged.trace_metadata}
        merged.tags = {**stored.tags, **merged.tags}
        if merged.state is TraceState.STATE_UNSPECIFIED:
            merged.state = stored.state
    return merged


def _root(found: list[Span]) -> Span | None:
    for span in found:
        if span._parent_id is None:
            return span
    return None


def _placeholder(trace_id: str, experiment_id: str, found: list[Span]) -> TraceInfo:
    return TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        request_time=min(s._start_ns for s in found) // 1_000_000,
        state=TraceState.IN_PROGRESS,
        trace_metadata={TraceMetadataKey.SCHEMA_VERSION: "3"},
    )


def _from_root(root: Span, experiment_id: str, found: Iterable[Span]) -> TraceInfo:
    """The info a trace gets from its root span (and the session/user any span names)."""
    inputs_json, outputs_json = encode_attribute(root.inputs), encode_attribute(root.outputs)
    metadata = {
        TraceMetadataKey.SCHEMA_VERSION: "3",
        TraceMetadataKey.INPUTS: truncate(inputs_json, METADATA_IO_CHARS),
        TraceMetadataKey.OUTPUTS: truncate(outputs_json, METADATA_IO_CHARS),
    }
    for key in (TraceMetadataKey.SESSION, TraceMetadataKey.USER):
        value = _first_text(s.own_attributes.get(key) for s in (root, *found))
        if value is not None:
            metadata[key] = value
    tags = {TraceTagKey.TRACE_NAME: root.name}
    for key, value in root.own_attributes.items():
        if key.startswith(TRACE_TAG_PREFIX) and value is not None:
            tags[key[len(TRACE_TAG_PREFIX):]] = value if isinstance(value, str) else (
                encode_attribute(value))
    if root.end_time_ns is None:
        state, duration = TraceState.IN_PROGRESS, None
    else:
        state = TraceState.ERROR if root.status.status_code is SpanStatusCode.ERROR else (
            TraceState.OK)
        duration = max(0, root.end_time_ns - root.start_time_ns) // 1_000_000
    return TraceInfo(
        trace_id=root.trace_id,
        experiment_id=experiment_id,
        request_time=root.start_time_ns // 1_000_000,
        state=state,
        request_preview=request_preview(root.inputs, inputs_json),
        response_preview=response_preview(root.outputs, outputs_json),
        execution_duration=duration,
        trace_metadata=metadata,
        tags=tags,
    )


def _first_text(values: Iterable[Any]) -> str | None:
    for value in values:
        if isinstance(value, str) and value:
            return value
    return None


def _write_infos(connection: Connection, infos: Sequence[TraceInfo], mode: str) -> None:
    """``mode``: "nothing" (insert if absent, adding metadata keys not already set),
    "placeholder" (replace only a placeholder row; metadata keys already set stay), "update"
    (replace the row, upsert every key)."""
    if not infos:
        return
    postgres = connection.dialect.name == "postgresql"
    statements = writes._STATEMENTS[postgres]
    trace_rows = [rows.trace_row(info, None, postgres) for info in infos]
    if mode == "placeholder":
        sql = statements.insert(traces, "update", stored_metadata_wins=True) + (
            f" WHERE traces.state = '{TraceState.IN_PROGRESS.value}'"
        )
        writes.execute_rows(connection, sql, trace_rows, postgres)
    else:
        writes._execute(connection, statements, traces, mode, trace_rows)
    conflict = "update" if mode == "update" else "nothing"
    values = [row for info in infos
              for row in rows.key_value_rows(info.trace_id, info.tags, postgres)]
    writes._execute(connection, statements, trace_tags, conflict, writes._unique(values))



def _stored_usage(connection: Connection, trace_ids: list[str]) -> dict[str, dict[str, int]]:
    """Each trace's token usage summed over its stored spans."""
    postgres = connection.dialect.name == "postgresql"
    key = SpanAttributeKey.CHAT_USAGE
    totals: dict[str, dict[str, int]] = {}
    for start in range(0, len(trace_ids), _CHUNK):
        chunk = trace_ids[start:start + _CHUNK]
        usage: Any
        if postgres:
            usage = cast(spans.c.attributes, JSON).op("->")(literal(key))
        else:
            usage = func.json_extract(spans.c.attributes, f'$."{key}"')
        statement = select(spans.c.trace_id, usage).where(
            spans.c.trace_id.in_(chunk), usage.isnot(None))
        for trace_id, value in connection.execute(statement):
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    continue
            add_token_usage(totals.setdefault(trace_id, {}), value)
    return totals


def _write_usage(connection: Connection, totals: dict[str, dict[str, int]]) -> None:
    """Sets the token usage columns and metadata of each trace in ``totals``."""
    postgres = connection.dialect.name == "postgresql"
    changes = []
    for trace_id in sorted(totals):
        usage_totals = totals[trace_id]
        if not usage_totals:
            continue
        for name in _USAGE_COLUMNS:
            usage_totals.setdefault(name, 0)
        changes.append({"id": trace_id, "usage": json.dumps(usage_totals),
                        **{name: usage_totals[name] for name in _USAGE_COLUMNS}})
    if changes:
        metadata: Any
        if postgres:
            empty: Any = literal_column("'{}'::jsonb")
            metadata = func.coalesce(traces.c.metadata, empty).op("||")(
                func.jsonb_build_object(TraceMetadataKey.TOKEN_USAGE,
                                        cast(bindparam("usage"), Text)))
        else:
            metadata = func.json_set(func.coalesce(traces.c.metadata, "{}"),
                                     f'$."{TraceMetadataKey.TOKEN_USAGE}"', bindparam("usage"))
        change = update(traces).where(traces.c.trace_id == bindparam("id")).values(
            metadata=metadata, **{name: bindparam(name) for name in _USAGE_COLUMNS})
        connection.execute(change, changes)


def traces_with_spans(connection: Connection, trace_ids: Sequence[str]) -> set[str]:
    """Which of ``trace_ids`` have at least one span stored."""
    found: set[str] = set()
    ids = list(dict.fromkeys(trace_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        statement = select(spans.c.trace_id).where(spans.c.trace_id.in_(chunk)).distinct()
        found.update(connection.execute(statement).scalars())
    return found


def trace_infos(connection: Connection, trace_ids: Sequence[str]) -> list[TraceInfo]:
    """The infos of the stored traces among ``trace_ids``, in the order asked."""
    ids = list(dict.fromkeys(trace_ids))
    found: dict[str, TraceInfo] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        rows_found = list(connection.execute(select(traces).where(traces.c.trace_id.in_(chunk))))
        for trace in reads.load_traces(connection, rows_found, include_spans=False):
            found[trace.info.trace_id] = trace.info
    return [found[i] for i in ids if i in found]
