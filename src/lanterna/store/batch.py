"""What the export pipeline hands a store: one batch of trace events, and ways to split it.

It lives beside the ``Store`` protocol so a store never imports the export package (the
dependency runs one way: ``export`` → ``store``). It stays light: ``import lanterna`` loads it.
"""

from __future__ import annotations

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo

TYPE_CHECKING = False
if TYPE_CHECKING:  # nothing here imports typing at run time (``import lanterna`` stays light)
    from collections.abc import Callable
    from typing import TypeVar

    K = TypeVar("K")


class ExportBatch:
    """One unit of export work, in the order things happened.

    ``started``: traces seen for the first time while still running (state IN_PROGRESS), so a
    crash leaves them visible. ``spans``: spans that ended. ``finished``: traces whose root ended,
    with their final info and every span exported so far. ``destinations``: trace id to
    tracking URI, for the traces that go elsewhere than the process-wide store (a Client's).
    """

    __slots__ = ("started", "spans", "finished", "destinations")

    def __init__(self) -> None:
        self.started: list[TraceInfo] = []
        self.spans: list[Span] = []
        self.finished: list[Trace] = []
        self.destinations: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.started or self.spans or self.finished)


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
