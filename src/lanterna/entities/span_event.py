"""Timestamped events inside a span, including recorded exceptions."""

from __future__ import annotations

import time

from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class SpanEvent:
    """Something that happened at a point in a span's life. ``timestamp`` is ns since epoch."""

    __slots__ = ("name", "timestamp", "attributes")

    def __init__(
        self, name: str, timestamp: int | None = None, attributes: dict[str, Any] | None = None
    ) -> None:
        self.name = name
        self.timestamp = time.time_ns() if timestamp is None else _checked_timestamp(timestamp)
        if attributes is not None and not isinstance(attributes, dict):
            raise MlflowException(
                f"SpanEvent attributes must be a dict of names to values, got "
                f"{type(attributes).__name__}; pass attributes={{'key': value}}."
            )
        self.attributes = {} if attributes is None else attributes

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanEvent):
            return NotImplemented
        return (self.name, self.timestamp, self.attributes) == (
            other.name, other.timestamp, other.attributes)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"SpanEvent(name={self.name!r}, timestamp={self.timestamp!r}, "
                f"attributes={self.attributes!r})")

    @classmethod
    def from_exception(cls, exception: BaseException) -> SpanEvent:
        """An ``exception`` event with the message, the bare class name and the stack trace."""
        import traceback

        try:
            stacktrace = "".join(
                traceback.format_exception(type(exception), exception, exception.__traceback__)
            )
        except Exception:  # a hostile __str__ must not turn into a second error
            stacktrace = ""
        return cls(
            name="exception",
            attributes={
                "exception.message": _safe_str(exception),
                "exception.type": type(exception).__name__,
                "exception.stacktrace": stacktrace,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        from lanterna.entities._values import encode_event_attribute

        return {
            "name": self.name,
            "time_unix_nano": self.timestamp,
            "attributes": {k: encode_event_attribute(v) for k, v in self.attributes.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanEvent:
        timestamp = data.get("time_unix_nano", data.get("timestamp", 0))
        attributes = data.get("attributes") or {}
        return cls(
            name=data.get("name", ""),
            timestamp=int(timestamp),
            attributes=dict(attributes),
        )

    def to_otel_proto(self) -> Any:
        """The event as an OTLP ``Span.Event`` message (needs ``lanterna[otel]``)."""
        from lanterna.entities._otlp import event_to_otlp

        return event_to_otlp(self)

    @classmethod
    def from_otel_proto(cls, otel_proto_event: Any) -> SpanEvent:
        from lanterna.entities._otlp import event_from_otlp

        return event_from_otlp(otel_proto_event)


def _safe_str(obj: object) -> str:
    try:
        return str(obj)
    except Exception:
        return f"<{type(obj).__name__} whose __str__ failed>"


_MAX_TIMESTAMP_NS = 2**63 - 1


def _checked_timestamp(timestamp: Any) -> int:
    """Nanoseconds since the epoch as an int, or a clear error naming the fix."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)) or (
        isinstance(timestamp, float) and not timestamp.is_integer()
    ):
        raise MlflowException(
            f"SpanEvent timestamp must be an int of nanoseconds since the epoch (such as "
            f"time.time_ns()), got {timestamp!r}."
        )
    value = int(timestamp)
    if not 0 <= value <= _MAX_TIMESTAMP_NS:
        raise MlflowException(
            f"SpanEvent timestamp {value} is out of range: use nanoseconds since the epoch "
            "(such as time.time_ns())."
        )
    return value
