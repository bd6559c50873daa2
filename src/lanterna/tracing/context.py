"""Context variables: the current span and the ``tracing.context(...)`` scope."""

from __future__ import annotations

from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.entities.span import LiveSpan, NoOpSpan


class RemoteParent:
    """The span of another process that spans started here continue (W3C ``traceparent``)."""

    __slots__ = ("trace_id", "span_id", "sampled")

    def __init__(self, trace_id: str, span_id: str, sampled: bool) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.sampled = sampled


current_span: ContextVar[LiveSpan | NoOpSpan | RemoteParent | None] = ContextVar(
    "lanterna_current_span", default=None
)


class Scope:
    """What ``tracing.context(...)`` adds to traces created inside it (inner scopes win)."""

    __slots__ = ("metadata", "tags", "enabled")

    def __init__(
        self, metadata: dict[str, str], tags: dict[str, str], enabled: bool | None
    ) -> None:
        self.metadata = metadata
        self.tags = tags
        self.enabled = enabled


scope: ContextVar[Scope | None] = ContextVar("lanterna_tracing_scope", default=None)
