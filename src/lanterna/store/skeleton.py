"""A trace's skeleton: its spans' ids, parents, names, types, statuses and times as columns.

This is what a viewer needs to draw the tree and timeline of a trace of 100,000 spans before it
fetches any span's content: one list per column (no repeated keys), times as integer offsets
from the earliest start so every number stays below 2**53 and survives JavaScript.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from lanterna.entities.trace_info import TraceInfo

COLUMNS = ("span_id", "parent_span_id", "name", "span_type", "status", "start", "end")


def build(info: TraceInfo, spans: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """``spans``: rows of (span_id, parent_span_id, name, span_type, status, start_ns, end_ns),
    ordered as they should be shown (by start time)."""
    found = list(spans)
    origin = min((int(row[5]) for row in found), default=info.request_time * 1_000_000)
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    span_id, parent, name, kind = (columns["span_id"], columns["parent_span_id"],
                                   columns["name"], columns["span_type"])
    status, start, end = columns["status"], columns["start"], columns["end"]
    for row in found:
        span_id.append(row[0])
        parent.append(row[1] or None)
        name.append(row[2])
        kind.append(row[3])
        status.append(row[4])
        start.append(int(row[5]) - origin)
        end.append(None if row[6] is None else int(row[6]) - origin)
    return {
        "trace_id": info.trace_id,
        "info": info.to_dict(),
        "origin_ns": str(origin),
        "span_count": len(found),
        "columns": columns,
    }
