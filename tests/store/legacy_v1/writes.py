"""Writing an export batch: one transaction, idempotent, in the order things happened.

Started traces are inserted only if absent (``IN_PROGRESS`` never overwrites a finished trace),
spans are inserted once per (trace id, span id), finished traces replace their row and upsert
their tags and metadata. Replaying a batch after a failed commit stores nothing twice.

This is the hot path of the store, so rows are tuples sent with one prepared statement per
table: ``executemany`` on SQLite, one ``INSERT … SELECT FROM unnest(arrays)`` per table on
PostgreSQL. The statements are built once from the table definitions, never from data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey
from lanterna.store.batch import ExportBatch
from legacy_v1 import rows
from legacy_v1.tables import spans, trace_metadata, trace_tags, traces

_ROW_COLUMNS = {
    "spans": rows.SPAN_COLUMNS,
    "traces": rows.TRACE_COLUMNS,
    "trace_tags": ("trace_id", "key", "value"),
    "trace_metadata": ("trace_id", "key", "value"),
}


class _Statements:
    """INSERT statements for one engine: ``insert(table, on_conflict)``."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self._cache: dict[tuple[str, str], str] = {}

    def insert(self, table: Table, conflict: str) -> str:
        key = (table.name, conflict)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(table, conflict)
        return found

    def _build(self, table: Table, conflict: str) -> str:
        names = [c.name for c in table.columns]
        expected = _ROW_COLUMNS.get(table.name)
        if expected is not None and tuple(names) != expected:
            raise RuntimeError(f"row layout of {table.name} does not match its table")
        keys = [c.name for c in table.primary_key.columns]
        listed = ", ".join(names)
        if self.postgres:
            casts = [_pg_cast(c) for c in table.columns]
            arrays = ", ".join(f"%b::{array}[]" for array, _ in casts)  # binary: fast
            selected = ", ".join(expression for _, expression in casts)
            source = f"SELECT {selected} FROM unnest({arrays}) AS u({listed})"
        else:
            source = "VALUES (" + ", ".join("?" for _ in names) + ")"
        if conflict == "update":
            updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
            action = f"DO UPDATE SET {updates}"
        else:
            action = "DO NOTHING"
        return (
            f"INSERT INTO {table.name} ({listed}) {source} "
            f"ON CONFLICT ({', '.join(keys)}) {action}"
        )


def _pg_cast(column: Any) -> tuple[str, str]:
    """(array element type, selected expression) for one column in ``unnest``."""
    impl = column.type.dialect_impl(postgresql.dialect())  # type: ignore[no-untyped-call]
    if isinstance(impl, postgresql.JSONB):
        return "text", f"{column.name}::jsonb"
    if isinstance(impl, BigInteger):
        return "bigint", column.name
    return "text", column.name


_STATEMENTS = {True: _Statements(True), False: _Statements(False)}
Row = tuple[Any, ...]
K = TypeVar("K")


def write_batch(connection: Connection, batch: ExportBatch) -> None:
    postgres = connection.dialect.name == "postgresql"
    statements = _STATEMENTS[postgres]
    if batch.started:
        _write_infos(connection, statements, [(i, None) for i in batch.started], final=False)
    sizes: dict[tuple[str, str], int] = {}
    if batch.spans:
        span_rows = []
        for span in batch.spans:
            content = rows.span_content(span)
            sizes[(span._trace_id, span._span_id)] = _utf8_length(content)
            span_rows.append(rows.span_row(span, content, postgres))
        _execute(connection, statements, spans, "nothing", span_rows)
    if batch.finished:
        # A part of a trace continued from another process (its local root has a remote parent)
        # never overwrites the info the process holding the true root writes.
        whole = [t for t in batch.finished if _holds_root(t)]
        parts = [t for t in batch.finished if not _holds_root(t)]
        for found, final in ((whole, True), (parts, False)):
            if found:
                infos = [(t.info, _size(t, sizes)) for t in found]
                _write_infos(connection, statements, infos, final=final)


def _holds_root(trace: Trace) -> bool:
    return any(span.parent_id is None for span in trace.data.spans)


def _utf8_length(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


def _size(trace: Trace, sizes: dict[tuple[str, str], int]) -> int:
    total = 0
    for span in trace.data.spans:
        size = sizes.get((span.trace_id, span.span_id))
        total += _utf8_length(rows.span_content(span)) if size is None else size
    return total


def _write_infos(
    connection: Connection,
    statements: _Statements,
    infos: Sequence[tuple[TraceInfo, int | None]],
    final: bool,
) -> None:
    postgres = statements.postgres
    trace_rows = [rows.trace_row(info, size, postgres) for info, size in infos]
    tag_rows: list[Row] = []
    metadata_rows: list[Row] = []
    for info, size in infos:
        tag_rows.extend(rows.key_value_rows(info.trace_id, info.tags, postgres))
        metadata = info.trace_metadata
        if size is not None:
            metadata = {**metadata, TraceMetadataKey.SIZE_BYTES: str(size)}
        metadata_rows.extend(rows.key_value_rows(info.trace_id, metadata, postgres))
    conflict = "update" if final else "nothing"
    _execute(connection, statements, traces, conflict, trace_rows)
    for table, values in ((trace_tags, tag_rows), (trace_metadata, metadata_rows)):
        _execute(connection, statements, table, conflict, _unique(values))


def _unique(values: list[Row]) -> list[Row]:
    """One row per (trace, key): keys cut to the same length must not meet in one upsert."""
    if all(len(row[1]) < rows.KEY_CHARS for row in values):
        return values  # keys come from dicts: already unique per trace
    seen: dict[tuple[str, str], Row] = {}
    for row in values:
        seen[(row[0], row[1])] = row
    return list(seen.values())


def _execute(
    connection: Connection, statements: _Statements, table: Table, conflict: str,
    values: list[Row],
) -> None:
    if not values:
        return
    sql = statements.insert(table, conflict)
    if statements.postgres:  # one array per column
        connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*values,
                                                                           strict=True)))
    else:
        connection.exec_driver_sql(sql, values)


def group_by_trace(batch: ExportBatch) -> list[ExportBatch]:
    """The batch split into one batch per trace, for writing around a row the store refuses."""
    return list(_split(batch, lambda trace_id: trace_id).values())


def split_by_destination(batch: ExportBatch) -> dict[str | None, ExportBatch]:
    """The batch split by tracking URI (None: the one in force), from ``batch.destinations``."""
    return _split(batch, batch.destinations.get)


def _split(batch: ExportBatch, key: Callable[[str], K]) -> dict[K, ExportBatch]:
    parts: dict[K, ExportBatch] = {}

    def part(trace_id: str) -> ExportBatch:
        name = key(trace_id)
        found = parts.get(name)
        if found is None:
            found = parts[name] = ExportBatch()
        return found

    for info in batch.started:
        part(info.trace_id).started.append(info)
    for span in batch.spans:
        part(span.trace_id).spans.append(span)
    for trace in batch.finished:
        part(trace.trace_id).finished.append(trace)
    return parts
