"""Sessions: the traces sharing a session id (trace metadata ``mlflow.trace.session``, kept in
``traces.session_id``), one row per session, the most recently active first, paged by keyset."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection

from lanterna.exceptions import MlflowException
from lanterna.store.sql.tables import traces


def _token(last_ms: int, session_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([last_ms, session_id]).encode()).decode()


def _position(token: str) -> tuple[int, str]:
    try:
        last_ms, session_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(last_ms, int) and isinstance(session_id, str):
            return last_ms, session_id
    except (ValueError, TypeError):
        pass
    raise MlflowException(f"Invalid page_token {token[:80]!r}: pass the next_page_token of the "
                          "previous page of sessions.")


def list_sessions(
    connection: Connection,
    experiment_ids: Sequence[str] | None,
    max_results: int,
    page_token: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    last = func.max(traces.c.timestamp_ms)
    statement = (
        select(
            traces.c.session_id,
            func.count().label("trace_count"),
            func.min(traces.c.timestamp_ms).label("first_timestamp_ms"),
            last.label("last_timestamp_ms"),
            func.max(traces.c.user_id).label("user_id"),
            func.sum(traces.c.total_tokens).label("total_tokens"),
            func.sum(case((traces.c.state == "ERROR", 1), else_=0)).label("error_count"),
        )
        .where(traces.c.session_id.is_not(None))
        .group_by(traces.c.session_id)
        .order_by(last.desc(), traces.c.session_id)
        .limit(max_results + 1)
    )
    if experiment_ids:
        statement = statement.where(traces.c.experiment_id.in_([str(e) for e in experiment_ids]))
    if page_token:
        last_ms, session_id = _position(page_token)
        statement = statement.having(
            or_(last < last_ms, and_(last == last_ms, traces.c.session_id > session_id)))
    found = [
        {"session_id": row.session_id, "trace_count": int(row.trace_count),
         "first_timestamp_ms": int(row.first_timestamp_ms),
         "last_timestamp_ms": int(row.last_timestamp_ms), "user_id": row.user_id,
         "total_tokens": None if row.total_tokens is None else int(row.total_tokens),
         "error_count": int(row.error_count or 0)}
        for row in connection.execute(statement)
    ]
    if len(found) <= max_results:
        return found, None
    found = found[:max_results]
    return found, _token(found[-1]["last_timestamp_ms"], found[-1]["session_id"])
