"""``POST /v1/traces``: OTLP/HTTP trace ingest, answered as the OTLP specification says.

- Bodies: ``application/x-protobuf`` (an ``ExportTraceServiceRequest``) or ``application/json``
  (its OTLP/JSON mapping); ``Content-Encoding: gzip`` or ``deflate``. Anything else: 415.
- The experiment comes from ``x-lanterna-experiment-id`` or ``x-mlflow-experiment-id``
  (default ``"0"``).
- The answer is an ``ExportTraceServiceResponse`` in the request's encoding; spans refused one
  by one (bad ids) are counted in ``partial_success`` while the others are stored.
- 400 for a body that does not parse; 413 for a body over the size limit, a decompressed body
  over its own limit (a gzip bomb stops being inflated at the limit) or too many spans; 429
  with ``Retry-After`` when this process already has too many writes waiting; 503 with
  ``Retry-After`` when the store is unreachable. Each of those refuses the whole request and
  stores nothing of it, so the client's retry loses and duplicates nothing (span writes are
  idempotent).
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from lanterna.server import errors, metrics
from lanterna.server.app import ServerState
from lanterna.server.otlp import decode

_log = logging.getLogger("lanterna.server")

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
EXPERIMENT_HEADERS = ("x-lanterna-experiment-id", "x-mlflow-experiment-id")
#: Writes one process lets wait for the store before answering 429.
MAX_PENDING_WRITES = 16
RETRY_AFTER = str(errors.RETRY_AFTER_SECONDS)


class Refusal(Exception):
    """The request is refused whole: ``status`` with a plain message."""

    def __init__(self, status: int, message: str, retry_after: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def routes(state: ServerState) -> list[BaseRoute]:
    ingest = _Ingest(state)
    return [Route("/v1/traces", ingest.handle, methods=["POST"])]


class _Ingest:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.pending = 0
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        kind = _media_type(request.headers.get("content-type"))
        try:
            if kind is None:
                raise Refusal(415, "OTLP/HTTP takes Content-Type application/x-protobuf or "
                                   "application/json.")
            body = await self._body(request)
            decoded = decode.from_protobuf(body) if kind == PROTOBUF else decode.from_json(body)
            await self._store(request, decoded)
        except Refusal as refusal:
            return _refusal(refusal, kind or JSON)
        except decode.BadRequest as exc:
            metrics.spans_rejected(1, "malformed")
            return _refusal(Refusal(400, str(exc)), kind or JSON)
        return _answer(kind, decoded.rejected, "; ".join(decoded.errors))

    async def _body(self, request: Request) -> bytes:
        limits = self.state.limits
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_request_bytes:
                raise Refusal(413, f"The request body is over {limits.max_request_bytes} bytes; "
                                   "send smaller batches.")
            chunks.append(chunk)
        body = b"".join(chunks)
        encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
        if encoding in ("", "identity"):
            return body
        if encoding not in ("gzip", "deflate"):
            raise Refusal(415, f"Content-Encoding {encoding!r} is not supported; use gzip, "
                               "deflate or none.")
        return inflate(body, encoding, limits.max_decompressed_bytes)

    async def _store(self, request: Request, decoded: decode.Decoded) -> None:
        limits = self.state.limits
        count = len(decoded.spans)
        metrics.spans_received(count + decoded.rejected, "otlp")
        metrics.spans_rejected(decoded.rejected, "invalid")
        if count > limits.max_spans_per_request:
            metrics.spans_rejected(count, "too_many")
            raise Refusal(413, f"{count} spans in one request; this server takes at most "
                               f"{limits.max_spans_per_request}. Send smaller batches.")
        if not count:
            return
        experiment_id = experiment_from(request)
        with self.lock:
            if self.pending >= MAX_PENDING_WRITES:
                busy = True
            else:
                busy = False
                self.pending += 1
        if busy:
            metrics.spans_rejected(count, "overloaded")
            raise Refusal(429, "The server is busy; retry after the time Retry-After gives.",
                          retry_after=True)
        try:
            await run_in_threadpool(self.state.store.log_spans, experiment_id, decoded.spans)
        except Exception as exc:
            metrics.store_error("log_spans")
            if errors.is_outage(exc):
                metrics.spans_rejected(count, "store_unavailable")
                raise Refusal(503, "The trace store is unavailable; retry after the time "
                                   "Retry-After gives.", retry_after=True) from exc
            raise
        finally:
            with self.lock:
                self.pending -= 1
        metrics.spans_written(count, "otlp")


def experiment_from(request: Request) -> str:
    for header in EXPERIMENT_HEADERS:
        value = request.headers.get(header)
        if value and value.strip():
            return value.strip()
    return "0"


def _media_type(header: str | None) -> str | None:
    kind = (header or "").split(";", 1)[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf", "application/vnd.google.protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    return None


def inflate(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decompressed, refusing (413) once the output passes ``limit`` bytes: output is
    produced up to the limit and no further, so a gzip bomb never expands in memory.
    ``deflate`` accepts both the zlib format and raw deflate (clients send either)."""
    modes = (16 + zlib.MAX_WBITS,) if encoding == "gzip" else (zlib.MAX_WBITS, -zlib.MAX_WBITS)
    for wbits in modes:
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit:
            raise Refusal(413, f"The decompressed body is over {limit} bytes; send smaller "
                               "batches.")
        if not inflater.eof:
            raise Refusal(400, f"The body's {encoding} stream is truncated.")
        return out
    raise Refusal(400, f"The body is not valid {encoding} data.")


def _answer(kind: str, rejected: int, message: str) -> Response:
    """An ``ExportTraceServiceResponse``: empty when every span was accepted."""
    if kind == PROTOBUF:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        response = ExportTraceServiceResponse()
        if rejected:
            response.partial_success.rejected_spans = rejected
            response.partial_success.error_message = message
        return Response(response.SerializeToString(), media_type=PROTOBUF)
    body: dict[str, Any] = {}
    if rejected:
        body["partialSuccess"] = {"rejectedSpans": str(rejected), "errorMessage": message}
    return Response(json.dumps(body), media_type=JSON)


def _refusal(refusal: Refusal, kind: str) -> Response:
    """A ``google.rpc.Status`` in the request's encoding, as OTLP/HTTP answers errors."""
    headers = {"Retry-After": RETRY_AFTER} if refusal.retry_after else None
    code = {400: 3, 413: 8, 415: 3, 429: 8, 503: 14}.get(refusal.status, 2)
    if kind == PROTOBUF:
        return Response(_status_message(code, refusal.message), status_code=refusal.status,
                        media_type=PROTOBUF, headers=headers)
    return Response(json.dumps({"code": code, "message": refusal.message}),
                    status_code=refusal.status, media_type=JSON, headers=headers)


def _status_message(code: int, message: str) -> bytes:
    """A serialised ``google.rpc.Status`` (field 1 code, field 2 message), written by hand so
    the server needs no googleapis-common-protos for three bytes of framing."""
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
