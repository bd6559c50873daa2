"""The exporter that sends spans to an OpenTelemetry collector over OTLP/HTTP (protobuf).

It is one more exporter of the export pipeline, so OTLP export gets the pipeline's bounded
queue, counters, retries and no-loss promise: a batch the collector cannot take now (connection
refused, timeout, 429/502/503/504) is raised back and retried with back-off, never dropped; a
``Retry-After`` the collector sends is honoured (no request goes out before it). A batch is sent
in requests of at most ``MAX_SPANS_PER_REQUEST`` spans, and a retry resumes after the last
request that succeeded, so no span is delivered twice by a retry. A request the collector
refuses for its content (other 4xx) is not retried (the OTLP rule); its spans are counted as
rejected and logged.

Spans carry lanterna's (MLflow's) attributes, as the JSON text of their values (MLflow's wire
form; also the cheapest to encode), and the OpenTelemetry GenAI ones
(``lanterna.otel.genai``). Messages come from ``opentelemetry-proto``; the OpenTelemetry SDK is
not needed. Spans captured from an OpenTelemetry provider are left to that provider's own
exporters unless ``LANTERNA_OTLP_EXPORT_CAPTURED`` is set.
"""

from __future__ import annotations

import email.utils
import http.client
import os
import threading
import time
import urllib.parse

from lanterna import _errors, _log
from lanterna.settings import setting

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from lanterna.entities.span import Span
    from lanterna.entities.trace import Trace
    from lanterna.store.batch import ExportBatch

MAX_SPANS_PER_REQUEST = 1000
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
#: The attribute marking spans captured from an OpenTelemetry provider (lanterna.otel).
CAPTURED_MARK = "otel.scope.name"
DEFAULT_SERVICE_NAME = "lanterna"


class CollectorUnavailable(ConnectionError):
    """The collector cannot take spans now; the pipeline retries the batch."""


def configured_endpoint() -> str | None:
    """The OTLP/HTTP traces URL from lanterna's setting or the standard OTel variables."""
    endpoint = setting("otlp_endpoint") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if endpoint:
        return str(endpoint).strip()
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if base:
        return base.strip().rstrip("/") + "/v1/traces"
    return None


def configured_headers() -> dict[str, str]:
    """``key=value,key2=value2`` (values URL-encoded, as the OTel variables have them)."""
    raw = (setting("otlp_headers") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
           or os.environ.get("OTEL_EXPORTER_OTLP_HEADERS") or "")
    headers = {}
    for item in str(raw).split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            headers[urllib.parse.unquote(key.strip())] = urllib.parse.unquote(value.strip())
        elif item.strip():
            _log.warning("Ignoring OTLP header %r: write it as key=value.", item.strip()[:100])
    return headers


def resource_attributes() -> dict[str, str]:
    """``OTEL_RESOURCE_ATTRIBUTES`` and ``OTEL_SERVICE_NAME`` (default service ``lanterna``)."""
    attributes = {"service.name": DEFAULT_SERVICE_NAME, "telemetry.sdk.name": "lanterna"}
    for item in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attributes[key.strip()] = urllib.parse.unquote(value.strip())
    service = os.environ.get("OTEL_SERVICE_NAME")
    if service:
        attributes["service.name"] = service
    return attributes


class OtlpCounters:
    __slots__ = ("spans_sent", "requests_sent", "requests_failed", "spans_rejected")

    def __init__(self) -> None:
        self.spans_sent = 0  # accepted by the collector
        self.requests_sent = 0
        self.requests_failed = 0  # retried later
        self.spans_rejected = 0  # refused for their content (4xx, partial success)

    def as_dict(self) -> dict[str, int]:
        return {f"otlp_{name}": getattr(self, name) for name in self.__slots__}


class OtlpExporter:
    def __init__(
        self, endpoint: str, headers: dict[str, str] | None = None, timeout: float = 10.0,
        export_captured: bool = False,
    ) -> None:
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"OTLP endpoint {endpoint!r} is not an http(s) URL; set LANTERNA_OTLP_ENDPOINT "
                "to e.g. http://localhost:4318/v1/traces.")
        self.endpoint = endpoint
        self._url = url
        self._path = (url.path or "/v1/traces") + (f"?{url.query}" if url.query else "")
        self.headers = {"Content-Type": "application/x-protobuf", **(headers or {})}
        self.timeout = timeout
        self.export_captured = export_captured
        self.counters = OtlpCounters()
        self._resource = resource_attributes()
        self._connection: http.client.HTTPConnection | None = None
        self._not_before = 0.0  # monotonic time before which the collector asked us to wait
        self._progress: tuple[ExportBatch, int] | None = None  # a batch partly delivered
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> OtlpExporter | None:
        endpoint = configured_endpoint()
        if endpoint is None:
            return None
        return cls(endpoint, configured_headers(), float(setting("otlp_timeout_seconds")),
                   bool(setting("otlp_export_captured")))

    # -- the pipeline calls these on its worker (or a flushing) thread ---------------------
    def export(self, batch: ExportBatch) -> None:
        with self._lock:
            spans = self._spans_of(batch)
            start = 0
            if self._progress is not None and self._progress[0] is batch:
                start = self._progress[1]
            roots = _roots(batch.finished)
            for offset in range(start, len(spans), MAX_SPANS_PER_REQUEST):
                chunk = spans[offset:offset + MAX_SPANS_PER_REQUEST]
                self._progress = (batch, offset)
                self._send(encode(chunk, self._resource, roots), len(chunk))
            self._progress = None

    def shutdown(self) -> None:
        with self._lock:
            self._close()

    # -- internals -------------------------------------------------------------------------
    def _spans_of(self, batch: ExportBatch) -> list[Span]:
        if self.export_captured:
            return batch.spans
        return [s for s in batch.spans if CAPTURED_MARK not in s.own_attributes]

    def _send(self, payload: bytes, count: int) -> None:
        wait = self._not_before - time.monotonic()
        if wait > 0:
            raise CollectorUnavailable(f"the collector asked to retry after {wait:.1f} s more")
        try:
            status, reason, body, retry_after = self._post(payload)
        except (OSError, http.client.HTTPException) as exc:
            self._close()
            self.counters.requests_failed += 1
            raise CollectorUnavailable(f"cannot reach {self.endpoint}: {exc}") from exc
        self.counters.requests_sent += 1
        if 200 <= status < 300:
            rejected = _rejected_spans(body)
            self.counters.spans_sent += count - rejected
            if rejected:
                self._reject(rejected, "partial success", body)
            return
        if status in RETRYABLE_STATUSES:
            self.counters.requests_failed += 1
            if retry_after is not None:
                self._not_before = time.monotonic() + retry_after
            raise CollectorUnavailable(f"{self.endpoint} answered {status} {reason}")
        self._reject(count, f"HTTP {status} {reason}", body)

    def _reject(self, count: int, why: str, body: bytes) -> None:
        from lanterna.export import setup

        self.counters.spans_rejected += count
        setup.pipeline().stats.spans_rejected += count
        detail = body[:300].decode("utf-8", "replace")
        try:  # noqa: SIM105 - raise_internal_errors must not make the pipeline retry a refusal
            _errors.report(
                ValueError(f"the OTLP collector refused {count} spans ({why}): {detail}"),
                "OTLP export")
        except Exception:
            pass

    def _post(self, payload: bytes) -> tuple[int, str, bytes, float | None]:
        connection = self._connection
        if connection is None:
            kind = (http.client.HTTPSConnection if self._url.scheme == "https"
                    else http.client.HTTPConnection)
            connection = kind(self._url.hostname or "", self._url.port, timeout=self.timeout)
            self._connection = connection
        connection.request("POST", self._path, body=payload, headers=self.headers)
        response = connection.getresponse()
        body = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self._close()
        return response.status, response.reason, body, _retry_after(
            response.getheader("Retry-After"))

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _rejected_spans(body: bytes) -> int:
    if not body:
        return 0
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    response = ExportTraceServiceResponse()
    try:
        response.ParseFromString(body)
    except Exception:  # a collector answering 200 with another body: it took the spans
        return 0
    return int(response.partial_success.rejected_spans)


def _roots(finished: Sequence[Trace]) -> dict[str, Trace]:
    """The traces that ended in this batch, by their root span id (to tag their roots)."""
    roots: dict[str, Trace] = {}
    for trace in finished:
        for span in trace.data.spans:
            if span.parent_id is None:
                roots[span.span_id] = trace
    return roots


def encode(
    spans: Sequence[Span], resource: dict[str, str], roots: dict[str, Trace] | None = None
) -> bytes:
    """A serialised ``ExportTraceServiceRequest``: each span as ``span_to_otlp`` writes it, plus
    the GenAI attributes, its links, and on a trace's root span the trace's tags
    (``mlflow.traceTag.*``), session and user."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from lanterna.entities import _otlp

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in resource.items():
        resource_spans.resource.attributes.add(key=key).value.string_value = value
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = _otlp.SCOPE_NAME
    add = scope_spans.spans.add
    for span in spans:
        message = _otlp.span_to_otlp(span, json_attributes=True, into=add())
        _add_interop(message, span, (roots or {}).get(span.span_id))
    return bytes(request.SerializeToString())


def _add_interop(message: Any, span: Span, trace: Trace | None) -> None:
    from lanterna.otel.genai import CLIENT_TYPES, genai_attributes

    try:
        extra = genai_attributes(span)
    except Exception as exc:  # odd inputs must never block the export of a span
        _errors.report(exc, "GenAI attributes")
        extra = {}
    if trace is not None:
        extra.update(_trace_attributes(trace))
    attributes = message.attributes
    for key, value in extra.items():
        target = attributes.add(key=key).value
        if isinstance(value, int):
            target.int_value = value
        elif isinstance(value, list):
            for item in value:
                target.array_value.values.add().string_value = str(item)
        else:
            target.string_value = str(value)
    if span.span_type in CLIENT_TYPES:
        message.kind = 3  # SPAN_KIND_CLIENT: a call to a model provider


def _trace_attributes(trace: Trace) -> dict[str, str]:
    from lanterna.entities.trace_info import TraceMetadataKey

    info = trace.info
    extra = {f"mlflow.traceTag.{k}": str(v) for k, v in (info.tags or {}).items()}
    metadata = info.trace_metadata or {}
    session = metadata.get(TraceMetadataKey.SESSION)
    if session:
        extra["session.id"] = extra["gen_ai.conversation.id"] = str(session)
    user = metadata.get(TraceMetadataKey.USER)
    if user:
        extra["user.id"] = str(user)
    return extra
