"""A loopback OTLP/HTTP receiver for tests: decodes ``ExportTraceServiceRequest`` bodies with
``opentelemetry-proto`` and keeps every span; can refuse requests or go down and come back."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class _Server(ThreadingHTTPServer):
    """Remembers its connections, so ``stop`` hangs up on keep-alive clients too."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        super().__init__(address, handler)
        self.connections: set[socket.socket] = set()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        self.connections.add(connection)
        return connection, address

    def hang_up(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class OtlpReceiver:
    """``refuse`` holds statuses to answer before accepting (e.g. ``[(503, "1")]`` = one 503
    with ``Retry-After: 1``); ``port`` stays the same across ``stop()``/``start()``."""

    def __init__(self) -> None:
        self.port = 0
        self.spans: list[Any] = []  # (resource attributes dict, scope name, pb Span)
        self.requests = 0
        self.headers: list[dict[str, str]] = []
        self.refuse: list[tuple[int, str | None]] = []
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def start(self) -> OtlpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests += 1
                    receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                    refusal = receiver.refuse.pop(0) if receiver.refuse else None
                    if refusal is None:
                        request = ExportTraceServiceRequest()
                        request.ParseFromString(body)
                        for resource_spans in request.resource_spans:
                            resource = {a.key: a.value.string_value
                                        for a in resource_spans.resource.attributes}
                            for scope_spans in resource_spans.scope_spans:
                                for span in scope_spans.spans:
                                    receiver.spans.append(
                                        (resource, scope_spans.scope.name, span))
                if refusal is None:
                    self._answer(200, ExportTraceServiceResponse().SerializeToString())
                else:
                    self._answer(refusal[0], b"not now", refusal[1])

            def _answer(self, status: int, payload: bytes, retry_after: str | None = None
                        ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        server = _Server(("127.0.0.1", self.port), Handler)
        self.port = int(server.server_address[1])
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            server.hang_up()

    def span_ids(self) -> list[str]:
        return [bytes(span.span_id).hex() for _, _, span in self.spans]
