"""The SELECT of one page of ``search_traces``.

``prepare`` checks and compiles the filter, order and page token once (errors surface before
any connection is opened); ``statement`` turns that into the bound SELECT of a page. With a
connection, a clause whose index lists few matching traces (fewer than ``DRIVE_BELOW``) drives
the query: those traces are fetched and sorted, instead of walking every trace in order until
enough match.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from lanterna.store.search import limits, paging
from lanterna.store.search.ast import OrderBy
from lanterna.store.search.compile import FTS_QUERY, Clause, compile_filter
from lanterna.store.search.parser import parse_filter, parse_order_by
from lanterna.store.sql import fulltext
from lanterna.store.sql.tables import traces

#: A clause whose index lists fewer matching traces than this starts the search from them.
DRIVE_BELOW = 5_000
#: SQLite, newest first: fetching and sorting one listed trace costs about this many times
#: what passing over one trace in time order costs (with its clause tested by an index):
#: measured 2.4 µs and 0.55 µs at 100,000 traces. Listing ``n`` of ``total`` traces for a
#: page of ``limit``, the walk passes over about ``limit * total / n``, so starting from the
#: listed ones pays only while ``n * n * WALK_RATIO < limit * total``.
WALK_RATIO = 4.0


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
    driver = None if connection is None else _driver(connection, search, limit)
    unindexed = driver is not None and search.dialect == "sqlite"
    by = paging.UNINDEXED_ORDER_EXPRESSIONS if unindexed else paging.ORDER_EXPRESSIONS
    conditions: list[Any] = []
    if search.experiment_ids:
        experiment = func.likely(traces.c.experiment_id) if unindexed else (
            traces.c.experiment_id
        )
        conditions.append(experiment.in_(search.experiment_ids))
    for clause in search.clauses:
        if driver is not None and clause is driver.clause:
            conditions.append(_one_of(search.dialect, driver.members()))
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


@dataclass
class _Driver:
    clause: Clause
    #: The rows the clause's estimate listed, when they were fetched (see ``_driver``).
    candidates: list[Any] | None

    def members(self) -> Any:
        """The SELECT of the clause's trace ids, from the candidates already fetched if any:
        the full-text index's answer costs more than the rest of the search."""
        if self.candidates is None or self.clause.members_of is None:
            return self.clause.members
        values = func.json_each(json.dumps(self.candidates)).table_valued("value")
        return self.clause.members_of(select(values.c.value))


def _one_of(dialect: str, members: Any) -> Any:
    """``trace_id`` among the ids ``members`` lists, evaluated once, first. (PostgreSQL
    would otherwise walk every trace in order, probing each, to fill a LIMIT.)"""
    if dialect != "postgresql":
        return traces.c.trace_id.in_(members)
    listed = members.subquery()
    ids = cast(select(func.array_agg(listed.c.trace_id)).scalar_subquery(), ARRAY(String))
    return traces.c.trace_id == func.any(ids)


def _driver(connection: Connection, search: Search, limit: int) -> _Driver | None:
    """The clause matching the fewest traces, if an index lists fewer than DRIVE_BELOW (and,
    on SQLite, when walking would test every clause through an index too, so few that
    walking the traces in time order would not be cheaper: see ``WALK_RATIO``; the index is
    not asked past that many). Full text is always cheaper from its index's candidates:
    walking it reads every span's text.

    Candidates that the statement can take back (``Clause.members_of``: SQLite's full-text
    index) are fetched rather than counted, so the index is asked once. Trace ids are only
    counted: listing them again inside the statement costs less than carrying them over."""
    walk_below: int | None = None
    best: tuple[int, _Driver] | None = None
    for clause in search.clauses:
        if clause.members is None:
            continue
        below = DRIVE_BELOW
        if _walks_in_time_order(search):
            if walk_below is None:
                total = _total(connection)
                walk_below = min(DRIVE_BELOW, math.isqrt(int(limit * total / WALK_RATIO)) + 1)
            below = walk_below
        listed = clause.members if clause.estimate is None else clause.estimate
        listed = listed.limit(below)
        if clause.runs:
            query = fulltext.trigram_query(connection, clause.runs)
            if query is not None:
                listed = listed.params({FTS_QUERY: query})
        candidates: list[Any] | None = None
        if clause.members_of is not None:
            candidates = [row[0] for row in connection.execute(listed)]
            count = len(candidates)
        else:
            probe = select(func.count()).select_from(listed.subquery())
            count = int(connection.execute(probe).scalar_one())
        if count < below and (best is None or count < best[0]):
            best = (count, _Driver(clause, candidates))
    return None if best is None else best[1]


def _walks_in_time_order(search: Search) -> bool:
    """True when SQLite would walk one experiment's traces in time order (its index) testing
    each clause through an index (the clauses an index lists: tags, span names)."""
    return (
        search.dialect == "sqlite"
        and len(search.experiment_ids) == 1
        and search.keys[0].key == "timestamp_ms"
        and all(c.members is not None and c.estimate is None for c in search.clauses)
    )


def _total(connection: Connection) -> int:
    """About how many traces are stored, at once: SQLite's largest rowid (never fewer)."""
    return int(connection.execute(select(func.max(literal_column("rowid")))
                                  .select_from(traces)).scalar() or 0)
