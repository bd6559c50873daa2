"""Bad OTLP input gets a clear 4xx and loses nothing already accepted (issue 12, acceptance 5):
malformed protobuf and JSON, wrong content type or encoding, oversized, too many spans, a gzip
bomb; overload answers 429 and a store outage 503, both with Retry-After."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lanterna.server.app import Limits
from lanterna.server.otlp import routes as otlp_routes

from .servers import ServerThread

LIMITS = Limits(max_request_bytes=200_000, max_decompressed_bytes=1_000_000,
                max_spans_per_request=50)


@pytest.fixture(scope="module")
def small(store_uri: str) -> Iterator[ServerThread]:
    with ServerThread(store_uri, limits=LIMITS) as running:
        yield running


def body(trace_hex: str, count: int = 1, name: str = "s") -> bytes:
    spans = [{"traceId": trace_hex, "spanId": uuid.uuid4().hex[:16], "name": f"{name}{i}",
              "startTimeUnixNano": "1", "endTimeUnixNano": "2"} for i in range(count)]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).encode()


def post(server: ServerThread, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(server.url + "/v1/traces", content=content,
                      headers={"Content-Type": "application/json", **headers})


def test_refusals_keep_what_was_accepted(small: ServerThread) -> None:
    kept = uuid.uuid4().hex
    assert post(small, body(kept, 3)).status_code == 200

    malformed_pb = httpx.post(small.url + "/v1/traces", content=b"\x0a\xff\xff\xff garbage",
                              headers={"Content-Type": "application/x-protobuf"})
    assert malformed_pb.status_code == 400
    assert malformed_pb.headers["content-type"] == "application/x-protobuf"
    assert b"ExportTraceServiceRequest" in malformed_pb.content  # google.rpc.Status message

    for content, fragment in [(b"{not json", "not valid JSON"),
                              (b"[1, 2]", "object"),
                              (b'{"resourceSpans": 5}', "resourceSpans"),
                              (b'{"resourceSpans": [{"scopeSpans": [{"spans": 3}]}]}', "spans")]:
        answer = post(small, content)
        assert answer.status_code == 400, content
        assert fragment in answer.json()["message"]

    wrong_type = post(small, body(kept), **{"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert "application/x-protobuf" in wrong_type.json()["message"]
    wrong_encoding = post(small, body(kept), **{"Content-Encoding": "br"})
    assert wrong_encoding.status_code == 415
    not_gzip = post(small, b"plain", **{"Content-Encoding": "gzip"})
    assert not_gzip.status_code == 400
    truncated = post(small, gzip.compress(body(kept))[:-12], **{"Content-Encoding": "gzip"})
    assert truncated.status_code == 400

    too_big = post(small, b" " * 300_000)
    assert too_big.status_code == 413
    bomb = gzip.compress(b"\x00" * 50_000_000, compresslevel=9)  # ~50 KB on the wire
    assert len(bomb) < LIMITS.max_request_bytes
    bombed = post(small, bomb, **{"Content-Encoding": "gzip"})
    assert bombed.status_code == 413
    assert "decompressed" in bombed.json()["message"]
    many = post(small, body(uuid.uuid4().hex, 51))
    assert many.status_code == 413
    assert "at most 50" in many.json()["message"]

    stored = small.store.get_trace("tr-" + kept)
    assert stored is not None and len(stored.data.spans) == 3
    later = uuid.uuid4().hex
    assert post(small, body(later, 2)).status_code == 200
    assert len(small.store.get_trace("tr-" + later).data.spans) == 2


def test_overload_answers_429_with_retry_after(
    small: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(otlp_routes, "MAX_PENDING_WRITES", 0)
    answer = post(small, body(uuid.uuid4().hex))
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 0


def test_store_outage_answers_503_with_retry_after(tmp_path: Path) -> None:
    missing = tmp_path / "no such folder" / "traces.db"
    with ServerThread(f"sqlite:///{missing}") as down:
        answer = httpx.post(down.url + "/v1/traces", content=body(uuid.uuid4().hex),
                            headers={"Content-Type": "application/json"})
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) > 0
        pb = httpx.post(down.url + "/v1/traces", content=b"",
                        headers={"Content-Type": "application/x-protobuf"})
        assert pb.status_code == 200  # nothing to store: nothing to refuse


def test_empty_requests_are_fine(small: ServerThread) -> None:
    assert post(small, b'{"resourceSpans": []}').json() == {}
    assert post(small, b"{}").status_code == 200


