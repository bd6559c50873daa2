"""Context variables: the current span and the ``tracing.context(...)`` scope."""

from __future__ import annotations

from contextvars import ContextVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.entities.span import LiveSpan, NoOpSpan


current_span: ContextVar[LiveSpan | NoOpSpan | None] = ContextVar(
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
