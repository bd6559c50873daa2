"""The record of a trace while its spans are being recorded."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.entities.span import LiveSpan, Span

class LiveTrace:
    """Shared by every live span of one trace; filled on the caller's thread, read on export.

    ``open`` maps span ids to spans not yet ended; ``finished`` holds the immutable spans the
    exporter has taken in so far.
    """

    # No __slots__: the rarely set fields live as class-level defaults, so starting a trace
    # (on the caller's thread, once per trace) assigns only what every trace needs.
    state: str | None = None
    client_request_id: str | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    announced = False
    ended = False
    # Set when a span other than the root starts (a trace of one span waits for export packed).
    children = False
    # The tracking URI this trace goes to when it is not the process-wide one (a Client's).
    destination: str | None = None

    def __init__(self, trace_id: str, experiment_id: str) -> None:
        self.trace_id = trace_id
        self.root: LiveSpan | None = None
        self.experiment_id = experiment_id
        self.tags: dict[str, str] = {}
        self.metadata: dict[str, str] = {}
        self.open: dict[str, LiveSpan] = {}
        self.finished: list[Span] = []

    def __repr__(self) -> str:
        return f"LiveTrace({self.trace_id!r}, open={len(self.open)}, ended={self.ended})"

