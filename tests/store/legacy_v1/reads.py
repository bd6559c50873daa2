"""Turning trace rows into ``Trace`` entities: tags, metadata and spans in a few queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from lanterna.entities.trace import Trace, TraceData
from legacy_v1 import rows
from legacy_v1.tables import spans, trace_metadata, trace_tags

_CHUNK = 1000


def load_traces(connection: Connection, found: Sequence[Any], include_spans: bool) -> list[Trace]:
    ids = [row.trace_id for row in found]
    tags = _key_values(connection, trace_tags, ids)
    metadata = _key_values(connection, trace_metadata, ids)
    contents: dict[str, list[str]] = {trace_id: [] for trace_id in ids}
    if include_spans:
        for chunk in _chunks(ids):
            statement = (
                select(spans.c.trace_id, spans.c.content)
                .where(spans.c.trace_id.in_(chunk))
                .order_by(spans.c.trace_id, spans.c.start_time_ns, spans.c.span_id)
            )
            for trace_id, content in connection.execute(statement):
                contents[trace_id].append(content)
    return [
        Trace(
            info=rows.trace_info(row, tags.get(row.trace_id, {}), metadata.get(row.trace_id, {})),
            data=TraceData(spans=rows.spans_from_contents(contents[row.trace_id])),
        )
        for row in found
    ]


def _key_values(connection: Connection, table: Any, ids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for chunk in _chunks(ids):
        statement = select(table.c.trace_id, table.c.key, table.c.value).where(
            table.c.trace_id.in_(chunk)
        )
        for trace_id, key, value in connection.execute(statement):
            out.setdefault(trace_id, {})[key] = value
    return out


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
