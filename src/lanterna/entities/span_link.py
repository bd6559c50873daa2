"""Span links: a span pointing at a span of another trace (OpenTelemetry links), e.g. a batch
job and the requests it serves, or a retry and the call it repeats."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Link:
    """A link from a span to the span ``span_id`` of trace ``trace_id`` (``"tr-"`` + 32 hex),
    with attributes of its own (OpenTelemetry primitives)."""

    __slots__ = ("trace_id", "span_id", "attributes")

    def __init__(
        self, trace_id: str, span_id: str, attributes: dict[str, Any] | None = None
    ) -> None:
        trace_id, span_id = str(trace_id), str(span_id)
        self.trace_id = trace_id if trace_id.startswith("tr-") else "tr-" + trace_id
        self.span_id = span_id
        self.attributes = {} if attributes is None else dict(attributes)

    def to_dict(self) -> dict[str, Any]:
        """OTLP-JSON style, as spans are written: ids as base64 of their bytes."""
        from lanterna.entities.span import _hex_to_b64

        return {
            "trace_id": _hex_to_b64(self.trace_id.removeprefix("tr-")),
            "span_id": _hex_to_b64(self.span_id),
            "attributes": self.attributes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Link:
        from lanterna.entities.span import _id_to_hex

        trace_id = str(data.get("trace_id") or "")
        if not trace_id.startswith("tr-"):
            trace_id = "tr-" + _id_to_hex(trace_id)
        return cls(trace_id, _id_to_hex(str(data.get("span_id") or "")),
                   dict(data.get("attributes") or {}))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Link):
            return NotImplemented
        return (self.trace_id, self.span_id, self.attributes) == (
            other.trace_id, other.span_id, other.attributes)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Link(trace_id={self.trace_id!r}, span_id={self.span_id!r}, "
                f"attributes={self.attributes!r})")
