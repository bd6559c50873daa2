"""A whole trace: its info and its spans."""

from __future__ import annotations

from lanterna.entities._values import encode_attribute
from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.trace_info import TraceInfo
from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from typing import Any


class TraceData:
    """The spans of a trace, in start order."""

    __slots__ = ("spans",)

    def __init__(self, spans: list[Span] | None = None) -> None:
        self.spans: list[Span] = [] if spans is None else spans

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceData):
            return NotImplemented
        return self.spans == other.spans

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TraceData(spans={self.spans!r})"

    def _root(self) -> Span | None:
        return next((s for s in self.spans if s.parent_id is None), None)

    @property
    def request(self) -> str | None:
        """Root inputs as JSON text (MLflow 2 name)."""
        root = self._root()
        return encode_attribute(root.inputs) if root and root.inputs is not None else None

    @property
    def response(self) -> str | None:
        """Root outputs as JSON text (MLflow 2 name)."""
        root = self._root()
        return encode_attribute(root.outputs) if root and root.outputs is not None else None

    @property
    def intermediate_outputs(self) -> dict[str, Any] | None:
        """What the trace produced on the way: the root's ``mlflow.trace.intermediate_outputs``
        attribute (``log_trace`` sets it), else the outputs of the non-root spans by span name
        (repeated names numbered ``name_1``, ``name_2``); ``None`` when there are none."""
        root = self._root()
        if root is not None:
            recorded = root.get_attribute(SpanAttributeKey.INTERMEDIATE_OUTPUTS)
            if recorded:
                return recorded  # type: ignore[no-any-return]
        counts: dict[str, int] = {}
        for span in self.spans:
            counts[span.name] = counts.get(span.name, 0) + 1
        seen: dict[str, int] = {}
        result: dict[str, Any] = {}
        for span in self.spans:
            name = span.name
            if counts[name] > 1:
                seen[name] = seen.get(name, 0) + 1
                name = f"{name}_{seen[name]}"
            if span.parent_id is not None and span.outputs is not None:
                result[name] = span.outputs
        return result or None

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [span.to_dict() for span in self.spans]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceData:
        return cls(spans=[Span.from_dict(s) for s in data.get("spans") or []])


class Trace:
    """A trace: its ``info`` and its ``data`` (the spans)."""

    __slots__ = ("info", "data")

    def __init__(self, info: TraceInfo, data: TraceData) -> None:
        self.info = info
        self.data = data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return self.info == other.info and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Trace(trace_id={self.info.trace_id!r}, spans={len(self.data.spans)})"

    def _repr_html_(self) -> str:
        """Jupyter's display: a compact span tree, linked to the web UI when one is known."""
        from lanterna.entities._html import trace_html

        return trace_html(self)

    @property
    def trace_id(self) -> str:
        return self.info.trace_id

    @property
    def request_id(self) -> str:
        return self.info.trace_id

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    def to_json(self, pretty: bool = False) -> str:
        import json

        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2 if pretty else None)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        if not isinstance(data, dict) or "info" not in data:
            raise MlflowException("Trace.from_dict needs a dict with 'info' and 'data' keys.")
        return cls(TraceInfo.from_dict(data["info"]), TraceData.from_dict(data.get("data") or {}))

    def to_proto(self) -> Any:
        """MLflow's ``Trace`` protobuf message: the ``TraceInfoV3`` and the spans as OTLP
        ``Span`` messages (needs ``lanterna[otel]``)."""
        from lanterna.entities._mlflow_proto import trace_to_proto

        return trace_to_proto(self)

    @classmethod
    def from_proto(cls, proto: Any) -> Trace:
        from lanterna.entities._mlflow_proto import trace_from_proto

        return trace_from_proto(proto)

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """One trace from ``to_json()`` text, a line of ``lanterna traces export --format
        jsonl``, or a ``lanterna traces export`` list holding one trace."""
        import json

        try:
            data = json.loads(text)
        except ValueError as exc:
            raise MlflowException(
                f"Trace.from_json expects the JSON of one trace, as Trace.to_json() writes; "
                f"this is not valid JSON ({exc})."
            ) from exc
        if isinstance(data, list):
            if len(data) == 1:
                data = data[0]
            else:
                raise MlflowException(
                    f"Trace.from_json reads one trace, and this JSON is a list of {len(data)}: "
                    "read each with Trace.from_dict(item) for item in json.loads(text), or "
                    "export one trace per line with --format jsonl."
                )
        if not isinstance(data, dict) or not isinstance(data.get("info"), dict):
            found = (f"an object with keys {sorted(data)[:8]}" if isinstance(data, dict)
                     else f"the JSON value {text[:40]!r}")
            raise MlflowException(
                "Trace.from_json expects an object with 'info' (the trace info) and 'data' "
                f"({{'spans': [...]}}), as Trace.to_json() writes; got {found}."
            )
        return cls.from_dict(data)

    def search_spans(
        self,
        span_type: str | None = None,
        name: str | re.Pattern[str] | None = None,
        span_id: str | None = None,
    ) -> list[Span]:
        """Spans matching every given criterion, in start order.

        ``name`` is an exact name or a compiled regex (matched with ``search``).
        """
        import re

        if span_type is not None and not isinstance(span_type, str):
            raise MlflowException(
                f"span_type must be a string such as SpanType.LLM, got {type(span_type).__name__}."
            )
        if name is not None and not isinstance(name, (str, re.Pattern)):
            raise MlflowException(
                f"name must be a string or a re.Pattern, got {type(name).__name__}."
            )
        if span_id is not None and not isinstance(span_id, str):
            raise MlflowException(f"span_id must be a string, got {type(span_id).__name__}.")

        def matches(span: Span) -> bool:
            if span_type is not None and span.span_type != span_type:
                return False
            if isinstance(name, str) and span.name != name:
                return False
            if isinstance(name, re.Pattern) and not name.search(span.name):
                return False
            return span_id is None or span.span_id == span_id

        return [span for span in self.data.spans if matches(span)]

