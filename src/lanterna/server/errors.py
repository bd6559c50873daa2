"""The one error shape of lanterna's REST API, and how failures become responses.

``{"error": {"code": "INVALID_PARAMETER_VALUE", "message": "...", "position": 12}}`` with
``position`` only for a filter that does not parse. Store outages answer 503 with
``Retry-After`` so clients retry; anything unexpected answers 500 with a short message (the
traceback goes to the server log, never to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lanterna.exceptions import InvalidFilterError, MlflowException, StoreError
from lanterna.server import metrics

_log = logging.getLogger("lanterna.server")

#: Seconds a client should wait before retrying while the store is unavailable.
RETRY_AFTER_SECONDS = 2

_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    503: "STORE_UNAVAILABLE",
}


class ApiError(Exception):
    """Raise from a route to answer ``status`` with lanterna's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        position: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.position = position
        self.headers = headers


def invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    position: int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if position is not None:
        error["position"] = position
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def unavailable(message: str) -> JSONResponse:
    return error_response(
        503, "STORE_UNAVAILABLE", message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def is_outage(exc: BaseException) -> bool:
    """True for errors that mean "the store is unreachable or busy: try again later"."""
    if isinstance(exc, StoreError):
        return True
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        from sqlalchemy import exc as sa_exc
    except ImportError:  # pragma: no cover - the server always has SQLAlchemy
        return False
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError,
                        sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def to_response(exc: BaseException) -> Response:
    """The response for an exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, position=exc.position,
                              headers=exc.headers)
    if isinstance(exc, InvalidFilterError):
        return error_response(400, "INVALID_PARAMETER_VALUE", exc.message,
                              position=exc.position)
    if is_outage(exc):
        metrics.store_error("request")
        _log.warning("store unavailable: %s", exc)
        return unavailable(
            f"The trace store is unavailable; retry in a few seconds. ({_first_line(exc)})"
        )
    if isinstance(exc, MlflowException):
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            return error_response(404, "NOT_FOUND", exc.message)
        return error_response(400, "INVALID_PARAMETER_VALUE", exc.message)
    if isinstance(exc, (OverflowError, UnicodeError)):  # a value no database column takes
        return error_response(400, "INVALID_PARAMETER_VALUE",
                              f"A value cannot be stored: {_first_line_of(exc)}")
    if isinstance(exc, HTTPException):
        code = _STATUS_CODES.get(exc.status_code, "HTTP_ERROR")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)
    _log.error("internal error while serving a request", exc_info=exc)
    return error_response(500, "INTERNAL_ERROR",
                          "Internal server error; the server log has the details.")


async def handle(request: Request, exc: Exception) -> Response:
    return to_response(exc)


def handlers() -> dict[Any, Any]:
    """Starlette exception handlers: expected failures answer without a log entry; anything
    else (``Exception``) answers 500 and is logged with its traceback by the server."""
    from sqlalchemy.exc import SQLAlchemyError

    expected = (ApiError, MlflowException, HTTPException, SQLAlchemyError, ConnectionError,
                TimeoutError, OverflowError, UnicodeError, Exception)
    return {kind: handle for kind in expected}


def _first_line_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    """A store error's own message (it names the store without its password); for a driver's
    error only its type, which cannot leak connection details."""
    if not isinstance(exc, StoreError):
        return type(exc).__name__
    text = exc.message.strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
