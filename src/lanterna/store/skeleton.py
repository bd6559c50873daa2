"""A trace's skeleton: its spans' ids, parents, names, types, statuses and times as columns.

This is what a viewer needs to draw the tree and timeline of a trace of 100,000 spans before it
fetches any span's content: one list per column (no repeated keys), times as integer offsets
from the earliest start so every number stays below 2**53 and survives JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from lanterna.entities.trace_info import TraceInfo

COLUMNS = ("span_id", "parent_span_id", "name", "span_type", "status", "start", "end")


def build(info: TraceInfo, spans: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """``spans``: rows of (span_id, parent_span_id, name, span_type, status, start_ns, end_ns),
    ordered as they should be shown (by start time).

    Each column is taken from the rows by ``itemgetter`` in C: at 100,000 spans this is several
    times faster than transposing with ``zip(*rows)``, which builds a 100,000-argument call.
    """
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    origin = info.request_time * 1_000_000
    if spans:
        span_id, parent, name, kind, status, starts, ends = (
            list(map(itemgetter(i), spans)) for i in range(len(COLUMNS))
        )
        origin = min(starts)
        columns["span_id"] = span_id
        columns["parent_span_id"] = [p or None for p in parent]
        columns["name"] = name
        columns["span_type"] = kind
        columns["status"] = status
        columns["start"] = [s - origin for s in starts]
        columns["end"] = [None if e is None else e - origin for e in ends]
    return {
        "trace_id": info.trace_id,
        "info": info.to_dict(),
        "origin_ns": str(origin),
        "span_count": len(spans),
        "columns": columns,
    }
