"""Tracing switches: enable, disable, reset, configure, context, and export statistics."""

from __future__ import annotations

from contextvars import Token

from lanterna.entities._values import safe_text
from lanterna.entities.span import LiveSpan
from lanterna.entities.trace_info import TraceMetadataKey
from lanterna.settings import check_sampling_ratio
from lanterna.tracing import runtime
from lanterna.tracing import threads as _threads  # installs on first span or context()
from lanterna.tracing.context import Scope, scope
from lanterna.tracing.mlflow_names import (
    disable_notebook_display,
    enable_notebook_display,
    get_bridged_tracer_provider,
    set_databricks_monitoring_sql_warehouse_id,
    set_destination,
    set_experiment_trace_location,
    set_span_chat_tools,
    unset_experiment_trace_location,
)
from lanterna.tracing.propagation import (
    get_tracing_context_headers_for_http_request,
    set_tracing_context_from_http_request_headers,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any


__all__ = [
    "configure",
    "context",
    "disable",
    "disable_notebook_display",
    "enable",
    "enable_notebook_display",
    "export_stats",
    "get_bridged_tracer_provider",
    "get_tracing_context_headers_for_http_request",
    "reset",
    "set_databricks_monitoring_sql_warehouse_id",
    "set_destination",
    "set_experiment_trace_location",
    "set_span_chat_tools",
    "set_tracing_context_from_http_request_headers",
    "unset_experiment_trace_location",
]



def enable() -> None:
    runtime.config.enabled = True


def disable() -> None:
    """Turn tracing off: ``@trace`` and ``start_span`` run user code untouched, with no-op spans."""
    runtime.config.enabled = False


def reset() -> None:
    """Back to a fresh state: tracing on, no processors, no live traces, no kept traces."""
    from lanterna.export import setup

    setup.flush()
    runtime.config = runtime.Config()
    runtime.reset()
    setup.memory.clear()


class _Configuration:
    """What ``configure`` returns: already applied; as a ``with`` block it is undone on exit."""

    def __init__(self, previous: runtime.Config) -> None:
        self._previous = previous

    def __enter__(self) -> _Configuration:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runtime.config = self._previous


def configure(
    span_processors: list[Callable[[LiveSpan], None]] | None = None,
    propagate_to_threads: bool | None = None,
    sampling_ratio: float | None = None,
) -> _Configuration:
    """Change how spans are recorded. ``span_processors`` run on every span just before it is
    exported (the place to redact secrets or personal data)."""
    previous = runtime.config
    updated = runtime.Config()
    for name in runtime.Config.__slots__:
        setattr(updated, name, getattr(previous, name))
    if span_processors is not None:
        updated.processors = tuple(span_processors)
    if propagate_to_threads is not None:
        updated.propagate_to_threads = propagate_to_threads
    if sampling_ratio is not None:
        updated.sampling_ratio = check_sampling_ratio(sampling_ratio)
    runtime.config = updated
    return _Configuration(previous)


class context:  # noqa: N801 - a function-like context manager, named as MLflow names it
    """``with tracing.context(metadata=..., tags=..., session_id=..., user=...)``: metadata and
    tags for every trace started inside the block (inner blocks win); ``enabled=False``
    switches tracing off inside the block only."""

    def __init__(
        self,
        metadata: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        enabled: bool | None = None,
        session_id: str | None = None,
        user: str | None = None,
    ) -> None:
        self._metadata = {safe_text(k): safe_text(v) for k, v in (metadata or {}).items()}
        if session_id is not None:
            self._metadata[TraceMetadataKey.SESSION] = str(session_id)
        if user is not None:
            self._metadata[TraceMetadataKey.USER] = str(user)
        self._tags = {safe_text(k): safe_text(v) for k, v in (tags or {}).items()}
        self._enabled = enabled
        self._tokens: list[Token[Scope | None]] = []

    def __enter__(self) -> None:
        _threads.install()  # pool threads started from inside the block see it
        outer = scope.get() or Scope({}, {}, None)
        inner = Scope(
            {**outer.metadata, **self._metadata},
            {**outer.tags, **self._tags},
            outer.enabled if self._enabled is None else self._enabled,
        )
        self._tokens.append(scope.set(inner))

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        scope.reset(self._tokens.pop())


def export_stats() -> dict[str, int]:
    """Counters of the export pipeline, read together: at every moment ``spans_exported +
    queued + in_flight + spans_dropped + spans_rejected`` is the number of spans ended."""
    from lanterna import _errors
    from lanterna.export import setup

    stats = setup.pipeline().counters()
    stats["internal_errors"] = sum(_errors.internal_error_counts().values())
    for exporter in setup.pipeline().exporters:  # an exporter's own counters (otlp_*)
        counters = getattr(exporter, "counters", None)
        if counters is not None:
            stats.update(counters.as_dict())
    return stats
