"""``order_by`` and page tokens: keyset pagination over (order keys…, trace id).

A token holds the sort values of the last trace of a page, so the next page starts right after
it whatever arrived in between: new traces never shift a page or repeat a trace. The trace id
is the last sort key, so every position is unique. Nullable keys sort as if empty (``-1`` for
times of unfinished traces, ``''`` for names) on both engines alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, tuple_

from lanterna.exceptions import MlflowException
from lanterna.store.search.ast import OrderBy
from lanterna.store.sql.tables import traces

ORDER_EXPRESSIONS: dict[str, Any] = {
    "timestamp_ms": traces.c.timestamp_ms,
    "execution_time_ms": func.coalesce(traces.c.execution_time_ms, -1),
    "end_time_ms": func.coalesce(traces.c.end_time_ms, -1),
    "state": traces.c.state,
    "name": func.coalesce(traces.c.name, ""),
    "request_id": traces.c.trace_id,
}
DEFAULT_ORDER = (OrderBy("timestamp_ms", ascending=False),)
#: The same, wrapped in SQLite's no-op ``likely()``: sorting then cannot walk an index, so a
#: query that starts from a few matching traces sorts just those.
UNINDEXED_ORDER_EXPRESSIONS: dict[str, Any] = {
    key: func.likely(expression) for key, expression in ORDER_EXPRESSIONS.items()
}


def sort_keys(order_by: Sequence[OrderBy]) -> list[OrderBy]:
    """The order asked for, then the trace id (in the direction of the last key)."""
    keys: list[OrderBy] = []
    for item in order_by or DEFAULT_ORDER:
        if all(k.key != item.key for k in keys):
            keys.append(item)
    if keys[-1].key != "request_id" and all(k.key != "request_id" for k in keys):
        keys.append(OrderBy("request_id", keys[-1].ascending))
    return keys


def order_clauses(
    keys: Sequence[OrderBy], expressions: dict[str, Any] = ORDER_EXPRESSIONS
) -> list[Any]:
    return [
        expressions[k.key].asc() if k.ascending else expressions[k.key].desc() for k in keys
    ]


def after(
    keys: Sequence[OrderBy], values: Sequence[Any],
    by: dict[str, Any] = ORDER_EXPRESSIONS,
) -> ColumnElement[bool]:
    """Rows strictly after the row with sort ``values``."""
    expressions = [by[k.key] for k in keys]
    if all(k.ascending == keys[0].ascending for k in keys):
        left, right = tuple_(*expressions), tuple_(*values)
        return left > right if keys[0].ascending else left < right
    branches = []
    for i, key in enumerate(keys):
        equal = [expressions[j] == values[j] for j in range(i)]
        step = expressions[i] > values[i] if key.ascending else expressions[i] < values[i]
        branches.append(and_(*equal, step))
    return or_(*branches)


def fingerprint(*parts: Any) -> str:
    """Ties a token to the search that made it."""
    return hashlib.sha1(json.dumps(parts, default=str).encode()).hexdigest()[:12]


def encode_token(values: Sequence[Any], query: str) -> str:
    raw = json.dumps({"after": list(values), "query": query}, ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, query: str, width: int) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        values = data["after"]
        ok = isinstance(values, list) and len(values) == width and all(
            _sort_value(v) for v in values
        )
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeError, RecursionError):
        ok = False
    if not ok:
        shown = repr(token[:40]) if isinstance(token, str) else type(token).__name__
        raise MlflowException(
            f"invalid page_token {shown}: pass the token a previous search returned "
            "(next_page_token), unchanged."
        )
    if data.get("query") != query:
        raise MlflowException(
            "This page_token came from a search with another filter, order_by or experiments; "
            "repeat the same search to continue it."
        )
    return list(values)


def _sort_value(value: Any) -> bool:
    """A value a real token holds: what a sort column stores (a forged one may hold anything)."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, str):
        return _encodable(value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text
