"""Server security: the token on every route but /health, loopback by default and the refusal
to serve a network without a token, request size limits, no stack traces, CORS off."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lanterna.testing.server import RunningServer, running_server

from .httpcall import call

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path = tmp_path_factory.mktemp("guarded") / "t.db"
    with running_server(f"sqlite:///{path}", token=TOKEN,
                        args=["--max-request-bytes", "4096"]) as server:
        yield server


ROUTES = [
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/experiments"),
    ("POST", "/api/v1/experiments"),
    ("GET", "/api/v1/experiments/0"),
    ("GET", "/api/v1/traces"),
    ("POST", "/api/v1/traces/delete"),
    ("GET", "/api/v1/traces/tr-1"),
    ("GET", "/api/v1/traces/tr-1/skeleton"),
    ("GET", "/api/v1/traces/tr-1/spans?span_id=00000000000000aa"),
    ("PUT", "/api/v1/traces/tr-1/tags/k"),
    ("DELETE", "/api/v1/traces/tr-1/tags/k"),
    ("POST", "/v1/traces"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/traces/tr-1/find?text=x"),
    ("GET", "/anything/else"),
]


def test_the_web_page_loads_without_the_token_to_ask_for_it(guarded: RunningServer) -> None:
    """The UI's static files carry no trace data: a browser without credentials gets them (the
    page then asks for the token); a wrong token is refused, and the API stays guarded."""
    for path in ("/", "/index.html", "/assets/js/main.js"):
        assert call("GET", guarded.url + path).status == 200, path
        assert call("GET", guarded.url + path, token="wrong-token").status == 401, path
    assert call("GET", guarded.url + "/?token=nope").status == 401
    assert call("GET", guarded.url + "/assets/../api/v1/experiments").status == 401
    assert call("GET", guarded.url + "/api/v1/experiments").status == 401


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_but_health_needs_the_token(
    guarded: RunningServer, method: str, path: str
) -> None:
    body = {"name": "x"} if method in ("POST", "PUT") else None
    for token in (None, "wrong-token"):
        reply = call(method, guarded.url + path, body, token=token)
        assert reply.status == 401, (token, reply)
        assert reply.json()["error"]["code"] == "UNAUTHENTICATED"
        assert "LANTERNA_TRACKING_TOKEN" in reply.json()["error"]["message"]
        assert reply.headers["www-authenticate"].startswith("Bearer")
    assert call(method, guarded.url + path, body, token=TOKEN).status != 401


def test_health_needs_no_token(guarded: RunningServer) -> None:
    assert call("GET", guarded.url + "/health").status == 200


def test_a_browser_logs_in_once_with_the_token_in_the_address(guarded: RunningServer) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=10)
    connection.request("GET", f"/?token={TOKEN}&trace=tr-1")
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 303
    assert response.getheader("location") == "/?trace=tr-1"
    cookie = response.getheader("set-cookie") or ""
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with_cookie = call("GET", guarded.url + "/api/v1/experiments",
                       headers={"Cookie": cookie.split(";")[0]})
    assert with_cookie.status == 200
    wrong = call("GET", guarded.url + "/?token=nope")
    assert wrong.status == 401


def test_oversized_bodies_get_413(guarded: RunningServer) -> None:
    big = {"name": "x" * 10_000}
    reply = call("POST", guarded.url + "/api/v1/experiments", big, token=TOKEN)
    assert reply.status == 413
    assert reply.json()["error"]["code"] == "REQUEST_TOO_LARGE"
    assert "4096" in reply.json()["error"]["message"]
    chunked = chunked_post(guarded, "/api/v1/experiments", b"{" + b" " * 10_000 + b"}")
    assert chunked[0] == 413
    assert call("POST", guarded.url + "/api/v1/experiments", {"name": "fits"},
                token=TOKEN).status == 200


def chunked_post(server: RunningServer, path: str, body: bytes) -> tuple[int, bytes]:
    """A body without Content-Length (chunked), so only the streamed size can tell."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("POST", path)
    connection.putheader("Authorization", f"Bearer {TOKEN}")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(body), 1000):
        part = body[start : start + 1000]
        connection.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    try:
        return response.status, response.read()
    finally:
        connection.close()


def test_cors_is_off_unless_configured(guarded: RunningServer) -> None:
    reply = call("GET", guarded.url + "/api/v1/experiments", token=TOKEN,
                 headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in reply.headers


def test_cors_origins_when_configured(tmp_path: Path) -> None:
    with running_server(f"sqlite:///{tmp_path / 't.db'}",
                        args=["--cors-origin", "https://ui.example"]) as server:
        allowed = call("GET", server.url + "/api/v1/experiments",
                       headers={"Origin": "https://ui.example"})
        other = call("GET", server.url + "/api/v1/experiments",
                     headers={"Origin": "https://evil.example"})
    assert allowed.headers.get("access-control-allow-origin") == "https://ui.example"
    assert "access-control-allow-origin" not in other.headers


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = {k: v for k, v in os.environ.items() if k != "LANTERNA_SERVER_TOKEN"}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "lanterna", "server", *args],
                          capture_output=True, text=True, timeout=60, env=full, check=False)


def test_a_network_address_without_a_token_is_refused(tmp_path: Path) -> None:
    result = run_cli("--host", "0.0.0.0", "--backend-store-uri", f"sqlite:///{tmp_path}/t.db")
    assert result.returncode == 2
    assert "--token" in result.stderr and "LANTERNA_SERVER_TOKEN" in result.stderr
    assert "--host 127.0.0.1" in result.stderr
    assert not (tmp_path / "t.db").exists()


def test_the_default_host_is_loopback() -> None:
    from lanterna.cli import build_parser
    from lanterna.cli.server import check_options, is_loopback

    args = build_parser().parse_args(["server"])
    assert args.host == "127.0.0.1" and args.port == 5000
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com")
    assert check_options("0.0.0.0", "tok", 1, 5000) is None
    assert check_options("127.0.0.1", None, 0, 5000) is not None


def test_a_memory_or_http_backend_is_refused(tmp_path: Path) -> None:
    for uri in ("memory://", "http://127.0.0.1:1"):
        result = run_cli("--backend-store-uri", uri, "--port", "0")
        assert result.returncode == 2, result.stderr
        assert "sqlite:///" in result.stderr and "postgresql://" in result.stderr
