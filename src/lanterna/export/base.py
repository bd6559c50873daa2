"""The exporter interface: what the export pipeline hands to a destination."""

from __future__ import annotations

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol


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


if TYPE_CHECKING:  # a protocol for the type checker only; nothing imports typing at run time

    class Exporter(Protocol):
        def export(self, batch: ExportBatch) -> None:
            """Deliver a batch; raise to have the pipeline retry it with back-off."""

        def shutdown(self) -> None:
            """Release resources; called once at exit after the last batch."""
