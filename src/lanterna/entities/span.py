"""Spans: ``Span`` (finished, immutable), ``LiveSpan`` (being recorded) and ``NoOpSpan``.

A span keeps its inputs, outputs and attributes as JSON-able snapshots. The MLflow-reserved
attribute keys (``mlflow.spanType``, ``mlflow.spanInputs``...) are produced when a span is read
as a dict or exported, so the hot path only fills slots.
"""

from __future__ import annotations

import threading

from lanterna import _log
from lanterna.entities._values import (
    _ATOMS,
    decode_attribute,
    encode_attribute,
    safe_text,
    snapshot,
)
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.span_type import SpanType
from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, ClassVar


class SpanAttributeKey:
    """Reserved attribute keys, identical to MLflow's so exported traces load in either system."""

    REQUEST_ID = "mlflow.traceRequestId"
    SPAN_TYPE = "mlflow.spanType"
    INPUTS = "mlflow.spanInputs"
    OUTPUTS = "mlflow.spanOutputs"
    FUNCTION_NAME = "mlflow.spanFunctionName"
    START_TIME_NS = "mlflow.spanStartTimeNs"
    EXPERIMENT_ID = "mlflow.experimentId"
    CHAT_TOOLS = "mlflow.chat.tools"
    CHAT_USAGE = "mlflow.chat.tokenUsage"
    LLM_MODEL = "mlflow.llm.model"
    LLM_PROVIDER = "mlflow.llm.provider"
    MESSAGE_FORMAT = "mlflow.message.format"
    MODEL = LLM_MODEL
    MODEL_PROVIDER = LLM_PROVIDER
    LLM_COST = "mlflow.llm.cost"
    LOG_LEVEL = "mlflow.spanLogLevel"
    DESCRIPTION = "mlflow.spanDescription"
    INTERMEDIATE_OUTPUTS = "mlflow.trace.intermediate_outputs"


_RESERVED_SLOTS = {SpanAttributeKey.REQUEST_ID, SpanAttributeKey.SPAN_TYPE,
                   SpanAttributeKey.INPUTS, SpanAttributeKey.OUTPUTS}


_PENDING: Any = type("_Pending", (), {"__repr__": lambda self: "<not decoded yet>"})()
_decode_lock = threading.Lock()


class Span:
    """A finished span. Read-only: every property returns data, no setter exists."""

    __slots__ = (
        "_trace_id", "_span_id", "_parent_id", "_name", "_span_type", "_start_ns", "_end_ns",
        "_status", "_inputs", "_outputs", "_attributes", "_events", "_links",
    )

    _trace_id: str
    _span_id: str
    _parent_id: str | None
    _name: str
    _span_type: str
    _start_ns: int
    _end_ns: int | None
    _status: SpanStatus
    _inputs: Any
    _outputs: Any
    _attributes: dict[str, Any]
    _events: list[SpanEvent] | tuple[()]  # () until the first event (saves a list per span)
    _links: list[Link] | tuple[()]  # () until the first link

    @property
    def trace_id(self) -> str:
        return self._trace_id

    @property
    def request_id(self) -> str:
        """Older name of ``trace_id``."""
        return self._trace_id

    @property
    def span_id(self) -> str:
        return self._span_id

    @property
    def parent_id(self) -> str | None:
        return self._parent_id

    @property
    def name(self) -> str:
        return self._name

    @property
    def span_type(self) -> str:
        return self._span_type

    @property
    def start_time_ns(self) -> int:
        return self._start_ns

    @property
    def end_time_ns(self) -> int | None:
        return self._end_ns

    @property
    def status(self) -> SpanStatus:
        return self._status

    @property
    def inputs(self) -> Any:
        if self._inputs is _PENDING:
            self._decode()
        return self._inputs

    @property
    def outputs(self) -> Any:
        if self._inputs is _PENDING:
            self._decode()
        return self._outputs

    @property
    def own_attributes(self) -> dict[str, Any]:
        """The attributes set on the span, without the reserved keys kept in their own fields
        (trace id, type, inputs, outputs). Read-only by convention; do not mutate."""
        if self._inputs is _PENDING:
            self._decode()
        return self._attributes

    def _decode(self) -> None:
        """Spans read from a store keep their attributes as JSON text until first read, since
        a search page may load thousands of spans nobody looks into."""
        with _decode_lock:
            if self._inputs is not _PENDING:
                return
            raw: Any = self._attributes
            if raw.__class__ is not dict:  # a store's columns: ``decode()`` gives the values
                inputs, outputs, decoded = raw.decode()
            else:  # MLflow's exchange dict: attribute values as JSON text
                decoded = {k: decode_attribute(v) for k, v in raw.items()}
                outputs = decoded.pop(SpanAttributeKey.OUTPUTS, None)
                inputs = decoded.pop(SpanAttributeKey.INPUTS, None)
            self._attributes = decoded
            self._outputs = outputs
            self._inputs = inputs  # last: once it is set, the other fields are decoded

    @property
    def events(self) -> list[SpanEvent]:
        return list(self._events)

    @property
    def links(self) -> list[Link]:
        """Links to spans of other traces (OpenTelemetry span links)."""
        return list(self._links)

    @property
    def attributes(self) -> dict[str, Any]:
        """All attributes, reserved MLflow keys included, as decoded values."""
        merged: dict[str, Any] = {
            SpanAttributeKey.REQUEST_ID: self._trace_id,
            SpanAttributeKey.SPAN_TYPE: self._span_type,
        }
        inputs, outputs = self.inputs, self.outputs
        if inputs is not None:
            merged[SpanAttributeKey.INPUTS] = inputs
        if outputs is not None:
            merged[SpanAttributeKey.OUTPUTS] = outputs
        merged.update(self._attributes)
        return merged

    def get_attribute(self, key: str) -> Any:
        if key == SpanAttributeKey.REQUEST_ID:
            return self._trace_id
        if key == SpanAttributeKey.SPAN_TYPE:
            return self._span_type
        if key == SpanAttributeKey.INPUTS:
            return self.inputs
        if key == SpanAttributeKey.OUTPUTS:
            return self.outputs
        return self.own_attributes.get(key)

    @property
    def model_name(self) -> str | None:
        """The model the span called (``mlflow.llm.model``), for LLM and chat spans."""
        return self.get_attribute(SpanAttributeKey.LLM_MODEL)  # type: ignore[no-any-return]

    @property
    def model_provider(self) -> str | None:
        return self.get_attribute(SpanAttributeKey.LLM_PROVIDER)  # type: ignore[no-any-return]

    @property
    def llm_cost(self) -> dict[str, float] | None:
        """``{"input_cost", "output_cost", "total_cost"}`` in USD, when recorded."""
        return self.get_attribute(SpanAttributeKey.LLM_COST)  # type: ignore[no-any-return]

    @property
    def token_usage(self) -> dict[str, int] | None:
        """``{"input_tokens", "output_tokens", "total_tokens"}`` of this span, when recorded."""
        return self.get_attribute(SpanAttributeKey.CHAT_USAGE)  # type: ignore[no-any-return]

    @property
    def description(self) -> str | None:
        return self.get_attribute(SpanAttributeKey.DESCRIPTION)  # type: ignore[no-any-return]

    @property
    def log_level(self) -> int | None:
        """The span's severity (10 DEBUG ... 50 CRITICAL) when one was set."""
        return self.get_attribute(SpanAttributeKey.LOG_LEVEL)  # type: ignore[no-any-return]

    def __getitem__(self, key: object) -> Any:
        raise TypeError(
            f"Span is not subscriptable; use span.get_attribute({key!r}) or span.attributes."
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self._name!r}, span_id={self._span_id!r}, "
            f"parent_id={self._parent_id!r}, trace_id={self._trace_id!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Span):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        _fill_from_dict(self, state)

    def _encoded_attributes(self) -> dict[str, str]:
        """Every attribute, reserved keys included, as JSON text (MLflow's storage form)."""
        if self._inputs is _PENDING and self._attributes.__class__ is dict:  # reuse the JSON
            return {
                SpanAttributeKey.REQUEST_ID: encode_attribute(self._trace_id),
                SpanAttributeKey.SPAN_TYPE: encode_attribute(self._span_type),
                **self._attributes,
            }
        return {k: encode_attribute(v) for k, v in self.attributes.items()}

    def to_dict(self) -> dict[str, Any]:
        """The span as an OTLP-style dict, MLflow 3's exchange format."""
        attributes = self._encoded_attributes()
        data = {
            "trace_id": _hex_to_b64(self._trace_id.removeprefix("tr-")),
            "span_id": _hex_to_b64(self._span_id),
            "parent_span_id": _hex_to_b64(self._parent_id) if self._parent_id else None,
            "name": self._name,
            "start_time_unix_nano": self._start_ns,
            "end_time_unix_nano": self._end_ns,
            "events": [e.to_dict() for e in self._events],
            "status": self._status.to_dict(),
            "attributes": attributes,
        }
        if self._links:
            data["links"] = [link.to_dict() for link in self._links]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        span = cls.__new__(cls)
        _fill_from_dict(span, data)
        return span

    def to_immutable_span(self) -> Span:
        return self

    def to_otel_proto(self) -> Any:
        """The span as an OpenTelemetry ``opentelemetry.proto.trace.v1.trace_pb2.Span``
        (needs ``lanterna[otel]``)."""
        from lanterna.entities._otlp import span_to_otlp

        return span_to_otlp(self)

    @classmethod
    def from_otel_proto(
        cls, otel_proto_span: Any, location_id: str | None = None, *,
        preserve_request_id: bool = False,
    ) -> Span:
        """A span from an OTLP ``Span`` message. Its trace id is ``tr-`` + the OTLP trace id's
        hex, or with ``preserve_request_id=True`` the span's ``mlflow.traceRequestId``
        attribute when it has one. ``location_id`` (Databricks Unity Catalog) is ignored."""
        from lanterna.entities._otlp import span_from_otlp

        trace_id = None
        if preserve_request_id:
            for item in otel_proto_span.attributes:
                if item.key == SpanAttributeKey.REQUEST_ID:
                    trace_id = decode_attribute(item.value.string_value) or None
        return span_from_otlp(otel_proto_span, trace_id=trace_id)


def _fill_from_dict(span: Span, data: dict[str, Any]) -> None:
    context = data.get("context") or {}  # MLflow 2 layout
    attributes = dict(data.get("attributes") or {})
    trace_id = decode_attribute(attributes.pop(SpanAttributeKey.REQUEST_ID, None))
    if not trace_id:
        raw_id = data.get("trace_id") or context.get("trace_id")
        if not raw_id:
            raise MlflowException(
                "Failed to create a Span object from the given dictionary: the "
                f"{SpanAttributeKey.REQUEST_ID} attribute is empty or missing. Pass a span dict "
                "from Span.to_dict() (it carries the trace id)."
            )
        trace_id = "tr-" + _id_to_hex(raw_id)
    span._trace_id = str(trace_id)
    span._span_id = _id_to_hex(data.get("span_id") or context.get("span_id") or "")
    parent = data.get("parent_span_id", data.get("parent_id"))
    span._parent_id = _id_to_hex(parent) if parent else None
    span._name = str(data.get("name", ""))
    span_type = decode_attribute(attributes.pop(SpanAttributeKey.SPAN_TYPE, None))
    span._span_type = str(span_type or SpanType.UNKNOWN)
    span._inputs = _PENDING  # the other attributes stay JSON text until read (see _decode)
    span._outputs = None
    span._start_ns = int(data.get("start_time_unix_nano", data.get("start_time", 0)) or 0)
    end = data.get("end_time_unix_nano", data.get("end_time"))
    span._end_ns = int(end) if end is not None else None
    status = data.get("status")
    if isinstance(status, dict):
        span._status = SpanStatus.from_dict(status)
    else:
        span._status = SpanStatus(data.get("status_code") or status or "UNSET",
                                  data.get("status_message", ""))
    span._attributes = attributes
    span._events = [SpanEvent.from_dict(e) for e in data.get("events") or []]
    span._links = [Link.from_dict(link) for link in data.get("links") or []]


def _hex_to_b64(hex_id: str) -> str:
    import base64

    try:
        return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")
    except ValueError:
        return hex_id


def _id_to_hex(raw: str) -> str:
    """Accepts base64 of raw bytes (MLflow 3), plain hex, or ``0x``-prefixed hex (MLflow 2)."""
    import base64
    import binascii

    raw = str(raw)
    if raw.startswith("0x"):
        return raw[2:]
    if len(raw) in (16, 32) and all(c in "0123456789abcdef" for c in raw):
        return raw
    try:
        return base64.b64decode(raw, validate=True).hex()
    except (binascii.Error, ValueError):
        return raw


class LiveSpan(Span):
    """A span being recorded. Setters snapshot values; after ``end`` they are ignored."""

    __slots__ = ("_trace", "_outputs_set")

    # Set once by the tracing runtime; keeps this module free of runtime imports.
    _finish: ClassVar[Callable[[LiveSpan, int | None], None]]

    _trace: Any  # the runtime's per-trace record

    def set_inputs(self, inputs: Any) -> None:
        if self._end_ns is None:
            self._inputs = snapshot(inputs)

    def set_outputs(self, outputs: Any) -> None:
        if self._end_ns is None:
            self._outputs = snapshot(outputs)
            self._outputs_set = True

    def set_attribute(self, key: str, value: Any) -> None:
        if self._end_ns is not None:
            return
        if key.__class__ is not str:
            key = safe_text(key)  # never raises, even for a key whose __str__ does
        if key in _RESERVED_SLOTS:
            self._set_reserved(key, value)
        else:
            self._attributes[key] = snapshot(value)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        if not isinstance(attributes, dict):
            _log.warning(
                "set_attributes takes a dict of attribute names to values; got %s, ignored.",
                type(attributes).__name__,
            )
            return
        if self._end_ns is not None:
            return
        own = self._attributes
        for key, value in attributes.items():  # set_attribute's body, inlined: this is hot
            if key.__class__ is not str:
                key = safe_text(key)
            if key in _RESERVED_SLOTS:
                self._set_reserved(key, value)
            else:
                own[key] = value if type(value) in _ATOMS else snapshot(value)

    def _set_reserved(self, key: str, value: Any) -> None:
        if key == SpanAttributeKey.SPAN_TYPE:
            self._span_type = str(value)
        elif key == SpanAttributeKey.INPUTS:
            self._inputs = snapshot(value)
        elif key == SpanAttributeKey.OUTPUTS:
            self._outputs = snapshot(value)
            self._outputs_set = True

    def set_span_type(self, span_type: str) -> None:
        if self._end_ns is None:
            self._span_type = str(span_type)

    def set_status(self, status: SpanStatus | SpanStatusCode | str) -> None:
        """OpenTelemetry rules: OK is final; anything may replace UNSET or ERROR."""
        new = SpanStatus.coerce(status)
        if self._end_ns is None and self._status.status_code is not SpanStatusCode.OK:
            self._status = new

    def add_event(self, event: SpanEvent) -> None:
        if self._end_ns is not None:
            return
        if not isinstance(event, SpanEvent):
            raise MlflowException(
                f"add_event takes a SpanEvent, got {type(event).__name__}; "
                "build one with SpanEvent(name=..., attributes={...})."
            )
        attributes = {safe_text(k): snapshot(v) for k, v in (event.attributes or {}).items()}
        if not self._events:
            self._events = []
        self._events.append(  # type: ignore[union-attr]
            SpanEvent(safe_text(event.name), event.timestamp, attributes)
        )

    def add_link(self, link: Link) -> None:
        """Links this span to a span of another trace (``Link(trace_id, span_id, attrs)``)."""
        if self._end_ns is not None:
            return
        if not isinstance(link, Link):
            raise MlflowException(
                f"add_link takes a Link, got {type(link).__name__}; build one with "
                "Link(trace_id=..., span_id=..., attributes={...}).")
        if not self._links:
            self._links = []
        self._links.append(  # type: ignore[union-attr]
            Link(link.trace_id, link.span_id,
                 {str(k): snapshot(v) for k, v in link.attributes.items()}))

    def record_exception(self, exception: BaseException | str) -> None:
        """Adds an ``exception`` event and sets the status to ERROR."""
        if isinstance(exception, BaseException):
            self.add_event(SpanEvent.from_exception(exception))
            self.set_status(SpanStatus(SpanStatusCode.ERROR, _describe(exception)))
        elif isinstance(exception, str):
            self.add_event(SpanEvent("exception", attributes={"exception.message": exception}))
            self.set_status(SpanStatus(SpanStatusCode.ERROR, exception))
        else:
            raise MlflowException(
                "The `exception` parameter must be an Exception instance or a string. (lanterna: "
                "record_exception takes an exception or a message string, "
                f"got {type(exception).__name__}.)"
            )

    def end(
        self,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: SpanStatus | SpanStatusCode | str | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        if self._end_ns is not None:
            _log.warning(
                "Span %r (%s) in trace %s was already ended; end() it once.",
                self._name, self._span_id, self._trace_id,
            )
            return
        if outputs is not None:
            self.set_outputs(outputs)
        if attributes:
            self.set_attributes(attributes)
        if status is not None:
            self.set_status(status)
        self._close(end_time_ns)

    def _close(self, end_time_ns: int | None) -> None:
        """Ends the span: UNSET becomes OK, then the runtime exports it."""
        if self._status.status_code is SpanStatusCode.UNSET:
            self._status = STATUS_OK
        LiveSpan._finish(self, end_time_ns)

    @property
    def is_ended(self) -> bool:
        return self._end_ns is not None

    def to_immutable_span(self) -> Span:
        """A frozen copy (the export thread calls this once per span, so it is spelled out)."""
        span = Span.__new__(Span)
        span._trace_id = self._trace_id
        span._span_id = self._span_id
        span._parent_id = self._parent_id
        span._name = self._name
        span._span_type = self._span_type
        span._start_ns = self._start_ns
        span._end_ns = self._end_ns
        span._status = self._status
        span._inputs = self._inputs
        span._outputs = self._outputs
        span._attributes = self._attributes.copy()
        span._events = list(self._events) if self._events else ()
        span._links = list(self._links) if self._links else ()
        return span

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("A LiveSpan cannot be pickled; pickle span.to_immutable_span() instead.")


#: The status every span that ends without an error shares (compared by identity on hot paths).
STATUS_OK = SpanStatus(SpanStatusCode.OK)


def _describe(exception: BaseException) -> str:
    try:
        return f"{type(exception).__name__}: {exception}"
    except Exception:
        return type(exception).__name__


class NoOpSpan:
    """Stands in for a span when tracing is off or the trace was sampled out."""

    trace_id = "MLFLOW_NO_OP_SPAN_TRACE_ID"
    request_id = trace_id
    span_id = None
    parent_id = None
    name = None
    status = None
    span_type = None
    start_time_ns = None
    end_time_ns = None
    inputs = None
    outputs = None
    attributes: dict[str, Any] = {}
    events: list[SpanEvent] = []
    links: list[Link] = []
    is_ended = False

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    set_inputs = set_outputs = set_attribute = set_attributes = set_status = _ignore
    add_event = add_link = record_exception = set_span_type = end = _ignore

    def get_attribute(self, key: str) -> None:
        return None

    def __bool__(self) -> bool:
        return True
