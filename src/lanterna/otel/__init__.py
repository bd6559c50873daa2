"""Interop with OpenTelemetry: attribute conventions, and (loaded only when used, needing the
OpenTelemetry SDK) the span processor and context bridge.

``lanterna.otel.capture()`` stores the spans of the global ``TracerProvider`` in lanterna;
``lanterna.otel.SpanProcessor()`` does the same for a provider the application configures;
``lanterna.otel.bridge()`` only makes OTel and lanterna spans nest in one trace.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SpanProcessor", "bridge", "capture"]


def bridge() -> None:
    """Makes OpenTelemetry and lanterna share the current span (idempotent)."""
    try:
        from lanterna.otel import context_bridge
    except ImportError as exc:
        raise ImportError(
            "lanterna.otel.bridge needs the OpenTelemetry API: pip install opentelemetry-api"
        ) from exc
    context_bridge.install()


def __getattr__(name: str) -> Any:
    """``SpanProcessor`` and ``capture`` import the OpenTelemetry SDK on first use only."""
    if name in ("SpanProcessor", "capture"):
        try:
            from lanterna.otel import processor
        except ImportError as exc:
            raise ImportError(
                f"lanterna.otel.{name} needs the OpenTelemetry SDK: "
                "pip install opentelemetry-sdk") from exc

        value = getattr(processor, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lanterna.otel' has no attribute {name!r}")
