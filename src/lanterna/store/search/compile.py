"""Filters to SQL: each clause of the AST becomes a bound SQLAlchemy expression.

Column names come from the allow-lists below, values are always bound parameters, and engine
differences stay here: SQLite gets GLOB for LIKE and a Unicode-aware function for ILIKE,
PostgreSQL its own LIKE, ILIKE and ``~``. Full-text clauses (``trace.text``, ``span.content``)
ask the engine's index first (SQLite FTS5 trigram, PostgreSQL pg_trgm), then check exactly; they
are searches, so a pattern may match anywhere in a span's text (``LIKE 'a%b'`` finds "xa-by")
and ``=`` finds the value as a literal substring.

Tag, metadata and span clauses follow SQL's rules for missing values: ``tag.k != 'v'`` matches
traces that have the tag ``k`` with another value, and ``tag.k IS NULL`` the ones without it.
Each span clause is tested on its own: ``span.name = 'a' AND span.type = 'LLM'`` matches a
trace with a span named ``a`` and an LLM span, not necessarily the same one.

``OR`` and ``AND`` map to SQL's; ``NOT x`` is the complement of ``x`` (a comparison that SQL
finds unknown, such as ``name = 'a'`` on a trace without a name, counts as false first), so
``NOT x`` and ``x`` always split the traces in two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy import Table as SqlTable
from sqlalchemy import cast as sql_cast
from sqlalchemy.types import JSON, Numeric, Text

from lanterna.exceptions import InvalidFilterError
from lanterna.store.search import patterns
from lanterna.store.search.ast import AllOf, AnyOf, Comparison, Expression, Filter, Not, Scalar
from lanterna.store.sql import fulltext
from lanterna.store.sql.tables import spans, trace_tags, traces

Condition = ColumnElement[bool]

#: Trace attribute keys that are columns of ``traces`` (``run_id``/``text`` are handled apart).
ATTRIBUTE_COLUMNS = {
    "request_id": traces.c.trace_id,
    "timestamp_ms": traces.c.timestamp_ms,
    "execution_time_ms": traces.c.execution_time_ms,
    "end_time_ms": traces.c.end_time_ms,
    "state": traces.c.state,
    "name": traces.c.name,
    "client_request_id": traces.c.client_request_id,
}
SPAN_COLUMNS = {"name": spans.c.name, "type": spans.c.type, "status": spans.c.status}
RUN_ID_METADATA_KEY = "mlflow.sourceRun"
# SQLite's full-text index (see the migrations): rowid = spans.rowid.
_spans_fts = table("spans_fts", column("rowid"))
_spans_rowid: Any = literal_column("spans.rowid")


#: PostgreSQL indexes span names by their first characters (a btree refuses long rows).
NAME_PREFIX = 256


@dataclass
class Clause:
    """A compiled clause: ``condition`` on the ``traces`` table, and, when an index can list
    the matching traces directly, ``members`` (a SELECT of their trace ids). A store uses
    ``members`` to start from the few matching traces instead of walking all of them."""

    condition: Condition
    members: Any = None
    #: A cheaper SELECT whose row count bounds the members' (a full-text index's candidates).
    estimate: Any = None
    #: The members given a SELECT of the rows ``estimate`` lists: a store that fetched those
    #: rows to count them need not ask the index for them again.
    members_of: Callable[[Any], Any] | None = None
    #: SQLite full text: the literal runs searched for; ``estimate`` then takes the FTS5 query
    #: as the parameter ``FTS_QUERY``.
    runs: tuple[str, ...] = ()


#: The bound parameter of the full-text index query in ``Clause.estimate`` (SQLite).
FTS_QUERY = "fts_query"


def like_condition(column: Any, pattern: patterns.Pattern, dialect: str,
                   ignore_case: bool = False) -> Condition:
    """``column`` LIKE (or ILIKE) ``pattern`` with the same meaning on both engines."""
    return _Compiler(dialect).like(column, pattern, ignore_case)


def compile_filter(parsed: Filter, dialect: str) -> list[Clause]:
    """One compiled clause per clause of the filter (to be joined with AND)."""
    compiler = _Compiler(dialect)
    return [compiler.expression(c) for c in parsed.clauses]


class _Compiler:
    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def expression(self, node: Expression) -> Clause:
        if isinstance(node, Comparison):
            return self.compiled(node)
        if isinstance(node, Not):
            inner = self.expression(node.item).condition
            return Clause(not_(case((inner, true()), else_=false())))
        parts = [self.expression(item) for item in node.items]
        if isinstance(node, AllOf):
            return Clause(and_(*(p.condition for p in parts)))
        assert isinstance(node, AnyOf)
        condition = or_(*(p.condition for p in parts))
        if all(p.members is not None for p in parts):  # every branch listed by an index
            members = union_all(*(select(p.members.subquery()) for p in parts))
            estimates = [p.members if p.estimate is None else p.estimate for p in parts]
            return Clause(condition, members, union_all(*(select(e.subquery()) for e in estimates)))
        return Clause(condition)

    def compiled(self, c: Comparison) -> Clause:
        if (c.entity, c.key) in (("attribute", "text"), ("span", "content")):
            return self.full_text(c)
        return Clause(self.clause(c), self.members(c))

    def members(self, c: Comparison) -> Any:
        """The SELECT of matching trace ids, for clauses an index answers; else None."""
        if c.op not in ("=", "IN"):
            return None
        if c.entity == "tag":
            return select(trace_tags.c.trace_id).where(
                trace_tags.c.key == c.key, self.compare(trace_tags.c.value, c)
            )
        if c.entity == "span" and c.key == "name":
            return select(spans.c.trace_id).where(self.span_name(c))
        return None

    def span_name(self, c: Comparison) -> Condition:
        if not self.postgres:
            return self.compare(spans.c.name, c)
        values = c.value if isinstance(c.value, tuple) else (c.value,)
        prefix = func.left(spans.c.name, NAME_PREFIX)
        tests = []
        for value in (str(v) for v in values):
            if len(value) < NAME_PREFIX:  # a short prefix match is the whole name
                tests.append(prefix == value)
            else:
                tests.append(and_(prefix == value[:NAME_PREFIX], spans.c.name == value))
        return or_(*tests)

    def clause(self, c: Comparison) -> Condition:
        if c.entity == "attribute":
            if c.key == "run_id":
                return self.metadata(RUN_ID_METADATA_KEY, c)
            return self.compare(ATTRIBUTE_COLUMNS[c.key], c)
        if c.entity == "tag":
            return self.key_value(trace_tags, c.key, c)
        if c.entity == "metadata":
            return self.metadata(c.key, c)
        if c.entity == "span":
            if c.key == "status":
                c = _normalise_span_status(c)
            if c.key == "name" and c.op in ("=", "IN"):
                return self.in_some_span(self.span_name(c))
            return self.in_some_span(self.compare(SPAN_COLUMNS[c.key], c))
        return self.in_some_span(self.span_attribute(c))

    # -- strings and numbers ---------------------------------------------------------------
    def compare(self, column: Any, c: Comparison) -> Condition:
        op, value = c.op, c.value
        if op in ("IN", "NOT IN"):
            listed = column.in_(list(value) if isinstance(value, tuple) else [value])
            return listed if op == "IN" else and_(column.is_not(None), not_(listed))
        if op in ("LIKE", "ILIKE"):
            return self.like(column, patterns.parse(str(value)), op == "ILIKE")
        if op == "RLIKE":
            return column.regexp_match(str(value))  # type: ignore[no-any-return]
        return _COMPARISONS[op](column, value)

    def like(self, column: Any, pattern: patterns.Pattern, ignore_case: bool) -> Condition:
        if self.postgres:
            method = column.ilike if ignore_case else column.like
            return method(pattern.to_like())  # type: ignore[no-any-return]
        if ignore_case:
            return func.lanterna_like(column, pattern.to_like(), 1) == 1
        return column.op("GLOB")(pattern.to_glob())  # type: ignore[no-any-return]

    # -- tags, metadata ----------------------------------------------------------------------
    def key_value(self, table: SqlTable, key: str, c: Comparison) -> Condition:
        same_trace = and_(table.c.trace_id == traces.c.trace_id, table.c.key == key)
        if c.op == "IS NULL":
            return ~exists().where(same_trace)
        if c.op == "IS NOT NULL":
            return exists().where(same_trace)
        return exists().where(same_trace, self.compare(table.c.value, c))

    def metadata(self, key: str, c: Comparison) -> Condition:
        """Metadata is one JSON object of strings per trace (``traces.metadata``)."""
        value = self.metadata_value(key)
        if c.op == "IS NULL":
            return value.is_(None)  # type: ignore[no-any-return]
        if c.op == "IS NOT NULL":
            return value.is_not(None)  # type: ignore[no-any-return]
        return self.compare(value, c)

    def metadata_value(self, key: str) -> Any:
        if self.postgres:
            return traces.c.metadata.op("->>", return_type=Text)(literal(key, type_=Text))
        if '"' in key or "\\" in key:  # not expressible as a JSON path: look the key up
            each = func.json_each(traces.c.metadata).table_valued("key", "value")
            return select(each.c.value).where(each.c.key == key).scalar_subquery()
        return func.json_extract(traces.c.metadata, f'$."{key}"')

    # -- spans --------------------------------------------------------------------------------
    @staticmethod
    def in_some_span(condition: Condition) -> Condition:
        return exists().where(spans.c.trace_id == traces.c.trace_id, condition)

    def span_attribute(self, c: Comparison) -> Condition:
        text, number = self.attribute_accessors(c.key)
        values = c.value if isinstance(c.value, tuple) else (c.value,)

        def equals(value: Scalar | None) -> Condition:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return number(value)
            return text == str(value)  # type: ignore[no-any-return]

        if c.op in ("=", "IN"):
            return or_(*(equals(v) for v in values))
        if c.op in ("!=", "NOT IN"):
            return and_(text.is_not(None), not_(or_(*(equals(v) for v in values))))
        return self.compare(text, c)

    def attribute_accessors(
        self, key: str
    ) -> tuple[Any, Callable[[int | float], Condition]]:
        """(the attribute as text, a test for equality with a number) for a span attribute:
        strings as they are, numbers and booleans as JSON prints them, JSON null as NULL."""
        if self.postgres:
            # JSON text (stored exactly); a NUL cannot become text in PostgreSQL, so it reads
            # as U+FFFD here, as it always has in filters.
            name = literal(key, type_=Text)
            document = sql_cast(func.replace(spans.c.attributes, "\\u0000", "\\ufffd"), JSON)
            as_text = document.op("->>", return_type=Text)(name)
            json_type = func.json_typeof(document.op("->")(name))

            def number_pg(value: int | float) -> Condition:
                return and_(json_type == "number", sql_cast(as_text, Numeric) == value)

            return as_text, number_pg
        if '"' in key:
            raise InvalidFilterError(
                f"Invalid filter: span attribute key {key!r} contains '\"', which SQLite's "
                "JSON paths cannot express; rename the attribute.",
                token=key,
            )
        path = f'$."{key}"'
        extracted = func.json_extract(spans.c.attributes, path)
        kind = func.json_type(spans.c.attributes, path)
        text = case(
            (kind == "true", "true"),
            (kind == "false", "false"),
            (kind == "null", None),
            else_=sql_cast(extracted, Text),
        )

        def number_sqlite(value: int | float) -> Condition:
            return and_(kind.in_(("integer", "real")), extracted == value)

        return text, number_sqlite

    # -- full text ----------------------------------------------------------------------------
    def full_text(self, c: Comparison) -> Clause:
        """Full text. PostgreSQL: the trigram index lists the matching spans (and the spans
        waiting to be indexed are scanned, see ``fulltext``). SQLite: walking
        traces in order and checking their spans finds common words fast; for rare ones the
        FTS index lists candidates (up to its high-water mark; newer spans are scanned)."""
        value = str(c.value)
        pattern = patterns.contains(value) if c.op == "=" else patterns.parse(value).unanchored()
        if not pattern.literal_runs():  # '%' alone: any trace with a span
            return Clause(exists().where(spans.c.trace_id == traces.c.trace_id))
        ignore_case = c.op == "ILIKE"
        matching = self.like(spans.c.search_text, pattern, ignore_case)
        scan = select(spans.c.trace_id).where(matching)
        if self.postgres:  # the index's table, and the few spans not copied into it yet
            texts, pending = fulltext.SPAN_TEXTS, fulltext.PENDING
            # Each listed span is looked up by its key (LATERAL, kept apart by OFFSET 0): the
            # list is short, but its statistics lag behind its churn, and a planner that
            # believes it long scans every span's text instead (measured: 70 ms at 500,000).
            hit = scan.where(spans.c.trace_id == pending.c.trace_id,
                             spans.c.span_id == pending.c.span_id).offset(0).lateral()
            listed = union_all(
                select(texts.c.trace_id).where(self.like(texts.c.search_text, pattern,
                                                         ignore_case)),
                select(hit.c.trace_id).select_from(pending.join(hit, true())),
            )
            return Clause(traces.c.trace_id.in_(listed), listed)
        walk = exists().where(spans.c.trace_id == traces.c.trace_id, matching)
        runs = pattern.literal_runs()
        phrases = patterns.fts_phrase_query(runs)
        if phrases is None:  # under 3 characters: the index cannot help
            return Clause(walk)
        # The store replaces the query by the runs' rarest trigrams (fulltext.trigram_query).
        candidates = select(_spans_fts.c.rowid).where(
            literal_column("spans_fts").op("MATCH")(bindparam(FTS_QUERY, phrases))
        )
        recent = scan.where(_spans_rowid > fulltext.mark_subquery())  # not indexed yet

        def members_of(listed: Any) -> Any:
            return union_all(scan.where(_spans_rowid.in_(listed)), recent)

        return Clause(walk, members_of(candidates), candidates, members_of, tuple(runs))


def _normalise_span_status(c: Comparison) -> Comparison:
    if c.op not in ("=", "!=", "IN", "NOT IN"):
        return c

    def norm(value: Scalar) -> str:
        text = str(value).upper()
        return text.removeprefix("STATUS_CODE_")

    value = c.value
    new: Any = tuple(norm(v) for v in value) if isinstance(value, tuple) else norm(value or "")
    return Comparison(c.entity, c.key, c.op, new)


_COMPARISONS: dict[str, Callable[[Any, Any], Condition]] = {
    "=": lambda col, v: col == v,
    "!=": lambda col, v: col != v,
    ">": lambda col, v: col > v,
    ">=": lambda col, v: col >= v,
    "<": lambda col, v: col < v,
    "<=": lambda col, v: col <= v,
}
