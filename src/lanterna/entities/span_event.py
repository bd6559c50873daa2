"""Timestamped events inside a span, including recorded exceptions."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SpanEvent:
    """Something that happened at a point in a span's life. ``timestamp`` is ns since epoch."""

    name: str
    timestamp: int = field(default_factory=time.time_ns)
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_exception(cls, exception: BaseException) -> SpanEvent:
        """An ``exception`` event with the message, the bare class name and the stack trace."""
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


def _safe_str(obj: object) -> str:
    try:
        return str(obj)
    except Exception:
        return f"<{type(obj).__name__} whose __str__ failed>"
