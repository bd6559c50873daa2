"""Find the spans of one trace whose text contains a string (the trace view's "find"): names,
inputs, outputs, attributes, events and status messages, as full-text search indexes them,
case-insensitively. One trace's spans are few enough to check directly."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from lanterna.store.search import patterns
from lanterna.store.search.compile import like_condition
from lanterna.store.sql.tables import spans

#: The most span ids one search returns (the caller is told when there are more).
MAX_FOUND = 10_000


def find_spans(connection: Connection, dialect: str, trace_id: str, text: str,
               limit: int = MAX_FOUND) -> list[str]:
    """Ids of the spans of ``trace_id`` whose text contains ``text``, in start order."""
    condition = like_condition(spans.c.search_text, patterns.contains(text), dialect,
                               ignore_case=True)
    statement = (
        select(spans.c.span_id)
        .where(spans.c.trace_id == trace_id, condition)
        .order_by(spans.c.start_time_ns, spans.c.span_id)
        .limit(limit)
    )
    return [str(row[0]) for row in connection.execute(statement)]
