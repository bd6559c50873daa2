"""RestStore against a misbehaving server (a stdlib HTTP server scripted per test): Retry-After
is honoured without hammering the server, and refusals become clear errors."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lanterna.entities.trace_info import TraceInfo
from lanterna.exceptions import InvalidFilterError, MlflowException
from lanterna.store.batch import ExportBatch
from lanterna.store.rest import RestStore, ServerUnavailable


class Scripted(BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, str], bytes]] = []
    seen: list[str] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).seen.append(f"{self.command} {self.path}")
        status, headers, body = type(self).answers.pop(0) if type(self).answers else (
            200, {}, b'{"trace_infos": []}')
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[RestStore, type[Scripted]]]:
    Scripted.answers, Scripted.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store = RestStore(f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield store, Scripted
    finally:
        store.dispose()
        server.shutdown()
        server.server_close()


def started_batch() -> ExportBatch:
    batch = ExportBatch()
    batch.started.append(TraceInfo(trace_id="tr-" + "a" * 32, experiment_id="0",
                                   request_time=1))
    return batch


def test_retry_after_is_honoured_without_a_request(
    scripted: tuple[RestStore, type[Scripted]],
) -> None:
    store, handler = scripted
    handler.answers = [(503, {"Retry-After": "30"}, b'{"error": {"code": "STORE_UNAVAILABLE",'
                                                      b' "message": "down"}}')]
    with pytest.raises(ServerUnavailable) as first:
        store.write_batch(started_batch())
    assert first.value.retry_after == 30 and "down" in str(first.value)
    with pytest.raises(ServerUnavailable, match="retry later"):
        store.write_batch(started_batch())
    assert len(handler.seen) == 1  # the second attempt never reached the server


def test_an_unreachable_server_is_an_outage() -> None:
    store = RestStore("http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(ServerUnavailable, match="Cannot reach"):
        store.write_batch(started_batch())


def test_refusals_are_clear_errors(scripted: tuple[RestStore, type[Scripted]]) -> None:
    store, handler = scripted
    handler.answers = [
        (401, {}, b'{"error": {"code": "UNAUTHENTICATED", "message": "needs a token"}}'),
        (400, {}, b'{"error": {"code": "INVALID_PARAMETER_VALUE", "message": "bad", '
                  b'"position": 7}}'),
        (404, {}, b'{"error": {"code": "NOT_FOUND", "message": "no"}}'),
    ]
    with pytest.raises(MlflowException, match="LANTERNA_TRACKING_TOKEN"):
        store.write_batch(started_batch())
    with pytest.raises(InvalidFilterError) as bad:
        store.search_traces(filter_string="name = x")
    assert bad.value.position == 7
    assert store.get_trace("tr-" + "b" * 32) is None
