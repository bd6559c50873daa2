"""The SELECT of one page of ``search_traces``.

``prepare`` checks and compiles the filter, order and page token once (errors surface before
any connection is opened); ``statement`` turns that into the bound SELECT of a page. With a
connection, a clause whose index lists few matching traces (fewer than ``DRIVE_BELOW``) drives
the query: those traces are fetched and sorted, instead of walking every trace in order until
enough match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from lanterna.store.search import limits, paging
from lanterna.store.search.ast import OrderBy
from lanterna.store.search.compile import Clause, compile_filter
from lanterna.store.search.parser import parse_filter, parse_order_by
from lanterna.store.sql.tables import traces

#: A clause whose index lists fewer matching traces than this starts the search from them.
DRIVE_BELOW = 5_000


@dataclass
class Search:
    """A checked, compiled search: what every page of it shares."""

    dialect: str
    keys: list[OrderBy]
    clauses: list[Clause]
    experiment_ids: list[str]
    #: The fingerprint page tokens carry (a token only continues the search it came from).
    query: str
    #: The sort values the page starts after (from the page token), if any.
    after: list[Any] | None


def prepare(
    dialect: str,
    experiment_ids: Sequence[str] | None,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> Search:
    keys = paging.sort_keys(parse_order_by(order_by))
    parsed = parse_filter(limits.checked_filter_text(filter_string))
    limits.check_filter_values(parsed)
    clauses = compile_filter(parsed, dialect)
    ids = sorted({str(e) for e in experiment_ids}) if experiment_ids else []
    query = paging.fingerprint(filter_string or "", [(k.key, k.ascending) for k in keys], ids)
    after = paging.decode_token(page_token, query, len(keys)) if page_token else None
    return Search(dialect, keys, clauses, ids, query, None if after is None else list(after))


def statement(search: Search, limit: int, connection: Connection | None = None) -> Any:
    """The SELECT of a page of ``limit`` traces (their rows, then ``sort_<i>`` columns)."""
    keys = search.keys
    driver = None if connection is None else _driver(connection, search.clauses)
    unindexed = driver is not None and search.dialect == "sqlite"
    by = paging.UNINDEXED_ORDER_EXPRESSIONS if unindexed else paging.ORDER_EXPRESSIONS
    conditions: list[Any] = []
    if search.experiment_ids:
        experiment = func.likely(traces.c.experiment_id) if unindexed else (
            traces.c.experiment_id
        )
        conditions.append(experiment.in_(search.experiment_ids))
    for clause in search.clauses:
        if clause is driver:
            conditions.append(_one_of(search.dialect, clause.members))
        else:
            conditions.append(clause.condition)
    if search.after is not None:
        conditions.append(paging.after(keys, search.after, by))
    sort_columns = [
        paging.ORDER_EXPRESSIONS[k.key].label(f"sort_{i}") for i, k in enumerate(keys)
    ]
    return (
        select(traces, *sort_columns)
        .where(*conditions)
        .order_by(*paging.order_clauses(keys, by))
        .limit(limit)
    )


def _one_of(dialect: str, members: Any) -> Any:
    """``trace_id`` among the ids ``members`` lists, evaluated once, first. (PostgreSQL
    would otherwise walk every trace in order, probing each, to fill a LIMIT.)"""
    if dialect != "postgresql":
        return traces.c.trace_id.in_(members)
    listed = members.subquery()
    ids = cast(select(func.array_agg(listed.c.trace_id)).scalar_subquery(), ARRAY(String))
    return traces.c.trace_id == func.any(ids)


def _driver(connection: Connection, clauses: list[Clause]) -> Clause | None:
    """The clause matching the fewest traces, if an index lists fewer than DRIVE_BELOW."""
    best: tuple[int, Clause] | None = None
    for clause in clauses:
        if clause.members is None:
            continue
        listed = clause.members if clause.estimate is None else clause.estimate
        probe = select(func.count()).select_from(listed.limit(DRIVE_BELOW).subquery())
        count = int(connection.execute(probe).scalar_one())
        if count < DRIVE_BELOW and (best is None or count < best[0]):
            best = (count, clause)
    return None if best is None else best[1]
