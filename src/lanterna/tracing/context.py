"""Context variables: the current span and the ``tracing.context(...)`` scope."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lanterna.entities.span import LiveSpan, NoOpSpan


current_span: ContextVar[LiveSpan | NoOpSpan | None] = ContextVar(
    "lanterna_current_span", default=None
)


@dataclass(frozen=True)
class Scope:
    """What ``tracing.context(...)`` adds to traces created inside it (inner scopes win)."""

    metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    enabled: bool | None = None


scope: ContextVar[Scope | None] = ContextVar("lanterna_tracing_scope", default=None)
