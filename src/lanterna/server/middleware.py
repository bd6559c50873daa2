"""What every request goes through, as plain ASGI middleware (outermost first):
``Timing`` (request latency metric), ``SecurityHeaders`` (CSP and friends on every response),
``BearerAuth`` (the token, when the server has one) and ``BodyLimit`` (request size)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lanterna.server import metrics
from lanterna.server.errors import ApiError, error_response

#: The web UI's policy: its own scripts, styles and API only; no inline script, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self' http://localhost:* http://127.0.0.1:*"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
#: Routes answered without a token (load balancers' health checks).
PUBLIC_PATHS = frozenset({"/health"})
#: The browser UI keeps the token in this cookie (set by opening ``/?token=…`` once).
TOKEN_COOKIE = "lanterna_token"


class Timing:
    """Observes each request's latency under its route template (``/api/v1/traces/{trace_id}``),
    never its raw path, so the number of series stays bounded."""

    def __init__(self, app: ASGIApp, route_names: Callable[[Any], str]) -> None:
        self.app = app
        self.route_names = route_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = self.route_names(scope.get("endpoint"))
            metrics.observe_request(route, scope["method"], status,
                                    time.perf_counter() - started)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class BearerAuth:
    """Every route but ``/health`` needs ``Authorization: Bearer <token>`` (or, for the web UI in
    a browser, the ``lanterna_token`` cookie that ``GET /?token=<token>`` sets)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self._valid(_bearer(headers.get(b"authorization", b""))):
            await self.app(scope, receive, send)
            return
        if self._valid(_cookie(headers.get(b"cookie", b""))):
            await self.app(scope, receive, send)
            return
        login = _query_token(scope)
        if scope["method"] == "GET" and login is not None and self._valid(login.encode()):
            await _login_redirect(scope, send, login)
            return
        if login is None and b"authorization" not in headers and _ui_shell(scope):
            # The page holds no trace data; without any credentials it loads and asks for the
            # token (a wrong token, in the header or the address, is still refused).
            await self.app(scope, receive, send)
            return
        response = error_response(
            401, "UNAUTHENTICATED",
            "This server needs a token: send the header 'Authorization: Bearer <token>' "
            "(the lanterna SDK sends LANTERNA_TRACKING_TOKEN, MLflow clients "
            "MLFLOW_TRACKING_TOKEN; in a browser open /?token=<token> once).",
            headers={"WWW-Authenticate": 'Bearer realm="lanterna"'},
        )
        await response(scope, receive, send)

    def _valid(self, given: bytes | None) -> bool:
        return given is not None and hmac.compare_digest(given, self.token)


def _ui_shell(scope: Scope) -> bool:
    """The web UI's static files (``/``, ``/index.html``, ``/assets/...``), which carry no trace
    data: served without the token so the page can ask for it."""
    path = str(scope["path"])
    return scope["method"] in ("GET", "HEAD") and (
        path in ("/", "/index.html") or (path.startswith("/assets/") and ".." not in path))


def _bearer(value: bytes) -> bytes | None:
    scheme, _, credentials = value.strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return credentials.strip() or None


def _cookie(value: bytes) -> bytes | None:
    if not value:
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(value.decode("latin-1"))
    except Exception:  # a malformed Cookie header is simply not a token
        return None
    morsel = cookies.get(TOKEN_COOKIE)
    return morsel.value.encode() if morsel is not None and morsel.value else None


def _query_token(scope: Scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


async def _login_redirect(scope: Scope, send: Send, token: str) -> None:
    """Keeps the token in an HttpOnly, same-site cookie and drops it from the address bar."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    query.pop("token", None)
    location = scope["path"] + ("?" + urlencode(query, doseq=True) if query else "")
    cookie = f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    await send({
        "type": "http.response.start",
        "status": 303,
        "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                    (b"content-length", b"0")],
    })
    await send({"type": "http.response.body", "body": b""})


class BodyLimit:
    """Request bodies over ``max_bytes`` (as sent, before any decompression) answer 413: at once
    when ``Content-Length`` says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0:
                await error_response(400, "BAD_REQUEST", "Content-Length is not a number.")(
                    scope, receive, send)
                return
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
        received = 0

        async def receiving() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ApiError(413, "REQUEST_TOO_LARGE", self._message())
            return message

        await self.app(scope, receiving, send)

    def _message(self) -> str:
        return (f"The request body is larger than this server's limit of {self.max_bytes} "
                "bytes; send smaller batches (or start the server with a larger "
                "--max-request-bytes).")

    def _too_large(self) -> Any:
        return error_response(413, "REQUEST_TOO_LARGE", self._message())
