"""Context variables: the current span and the ``tracing.context(...)`` scope."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from lanterna.entities.span import LiveSpan, NoOpSpan


current_span: ContextVar[LiveSpan | NoOpSpan | None] = ContextVar(
    "lanterna_current_span", default=None
)


class Scope(NamedTuple):
    """What ``tracing.context(...)`` adds to traces created inside it (inner scopes win)."""

    metadata: dict[str, str]
    tags: dict[str, str]
    enabled: bool | None


scope: ContextVar[Scope | None] = ContextVar("lanterna_tracing_scope", default=None)
