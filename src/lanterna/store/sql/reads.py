"""Turning rows into entities: trace infos with their tags, and spans from their columns.

Spans are built from columns without decoding their inputs, outputs or attributes (they decode
on first read), so a page of traces with spans, or a trace of 10,000 spans, costs little more
than fetching the rows. The skeleton of a trace (ids, names, types, status, times) reads only
those columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace, TraceData
from lanterna.store.sql import rows
from lanterna.store.sql.tables import spans, trace_tags

_CHUNK = 1000


#: The columns ``rows.span_from_row`` takes, in its order.
SPAN_COLUMNS = [
    spans.c.trace_id, spans.c.span_id, spans.c.parent_span_id, spans.c.name, spans.c.type,
    spans.c.status, spans.c.status_message, spans.c.start_time_ns, spans.c.end_time_ns,
    spans.c.inputs, spans.c.outputs, spans.c.attributes, spans.c.events, spans.c.links,
]


def load_traces(connection: Connection, found: Sequence[Any], include_spans: bool) -> list[Trace]:
    ids = [row.trace_id for row in found]
    tags = _tags(connection, ids)
    by_trace: dict[str, list[Span]] = {trace_id: [] for trace_id in ids}
    if include_spans:
        columns = SPAN_COLUMNS
        make = rows.span_from_row
        for chunk in _chunks(ids):
            statement = (
                select(*columns)
                .where(among(connection, spans.c.trace_id, chunk))
                .order_by(spans.c.trace_id, spans.c.start_time_ns, spans.c.span_id)
            )
            for row in driver_rows(connection, connection.execute(statement)):
                by_trace[row[0]].append(make(*row))
    return [
        Trace(
            info=rows.trace_info(row, tags.get(row.trace_id, {})),
            data=TraceData(spans=by_trace[row.trace_id]),
        )
        for row in found
    ]


def skeleton_rows(connection: Connection, trace_id: str) -> list[tuple[Any, ...]]:
    """The rows ``skeleton.build`` takes for one trace, in start order.

    SQLite: the primary key lists a trace's spans by span id, which is random in time, so
    reading the rows in that order jumps all over the table. Fetching them by ``seq`` (the
    rowid, in order of writing) reads each page once: a 100,000-span trace reads in 60 ms
    instead of 170. (PostgreSQL's bitmap heap scan already reads in table order.) An index on
    (trace_id, start_time_ns) would also do it, but costs every span written about a third.
    """
    if connection.dialect.name == "postgresql":
        where = "trace_id = %s"
    else:
        where = "seq IN (SELECT seq FROM spans WHERE trace_id = ?)"
    result = connection.exec_driver_sql(
        "SELECT span_id, parent_span_id, name, type, status, start_time_ns, end_time_ns "
        f"FROM spans WHERE {where} ORDER BY start_time_ns, span_id",
        (trace_id,),
    )
    return driver_rows(connection, result)


def driver_rows(connection: Connection, result: CursorResult[Any]) -> list[tuple[Any, ...]]:
    """All of ``result``'s rows as the driver's own tuples, for columns it already returns as
    Python values (text, integers). At 100,000 rows, SQLAlchemy's Row objects cost more than
    the query; errors while fetching are still SQLAlchemy's."""
    error = connection.dialect.loaded_dbapi.Error
    with result:
        try:
            return list(result.cursor.fetchall())
        except error as exc:
            raise DBAPIError.instance(None, None, exc, error) from exc


def load_spans(connection: Connection, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
    """The spans of one trace with these ids (in start order); unknown ids are skipped."""
    found: list[Span] = []
    for chunk in _chunks(list(dict.fromkeys(span_ids))):
        statement = select(*SPAN_COLUMNS).where(
            spans.c.trace_id == trace_id, spans.c.span_id.in_(chunk)
        )
        found.extend(
            rows.span_from_row(*row)
            for row in driver_rows(connection, connection.execute(statement))
        )
    found.sort(key=lambda s: (s.start_time_ns, s.span_id))
    return found


def _tags(connection: Connection, ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for chunk in _chunks(ids):
        statement = select(trace_tags.c.trace_id, trace_tags.c.key, trace_tags.c.value).where(
            among(connection, trace_tags.c.trace_id, chunk)
        )
        for trace_id, key, value in driver_rows(connection, connection.execute(statement)):
            out.setdefault(trace_id, {})[key] = value
    return out


def among(connection: Connection, column: Any, values: list[str]) -> Any:
    """``column`` among ``values``; on PostgreSQL bound as one array: an IN of 100 values
    costs SQLAlchemy and psycopg more to render for each page than the server takes to
    answer it (SQLite's IN costs nothing to render)."""
    if connection.dialect.name == "postgresql":
        return column == func.any(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
