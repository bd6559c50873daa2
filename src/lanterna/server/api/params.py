"""Reading and checking request parameters; every problem is a 400 that names the parameter."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request

from lanterna.server.errors import ApiError, invalid

#: Ids are short printable strings (lanterna's are "tr-" + 32 hex; other clients' vary).
TRACE_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{16}")
_TRUE = ("true", "1", "yes")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_FALSE = ("false", "0", "no")


def trace_id(request: Request) -> str:
    value = str(request.path_params["trace_id"])
    if not TRACE_ID.fullmatch(value):
        raise invalid(
            f"Invalid trace id {value[:80]!r}: expected up to 64 letters, digits, '-', '_', "
            "'.' or ':' (lanterna's ids look like 'tr-' followed by 32 hex digits)."
        )
    return value


def span_ids(values: list[str]) -> list[str]:
    for value in values:
        if not _SPAN_ID.fullmatch(value):
            raise invalid(f"Invalid span id {value[:80]!r}: expected 16 hex digits.")
    return [value.lower() for value in values]


def boolean(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise invalid(f"{name} must be true or false, got {raw[:40]!r}.")


def integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer, got {raw[:40]!r}.") from None
    if not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high}, got {value}.")
    return value


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object (400 for anything else)."""
    body = await request.body()
    if not body:
        raise invalid("The request needs a JSON object body.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "MALFORMED_REQUEST", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise invalid(f"The body must be a JSON object, got {type(data).__name__}.")
    return data


def string_field(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"The body needs {name!r} (a string).")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise invalid(f"{name!r} must be a string, got {type(value).__name__}.")
    return _text(str(value), name)


def _text(value: str, name: str) -> str:
    """JSON may carry lone UTF-16 surrogates, which no database stores: refused up front."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid(f"{name!r} holds an unpaired UTF-16 surrogate (not valid text).") from None
    return value


def int_field(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name!r} must be an integer, got {type(value).__name__}.")
    if not INT64_MIN <= value <= INT64_MAX:
        raise invalid(f"{name!r} must fit in 64 bits, got {value}.")
    return value


def string_list_field(data: dict[str, Any], name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{name!r} must be a list of strings.")
    return [_text(v, name) for v in value]
