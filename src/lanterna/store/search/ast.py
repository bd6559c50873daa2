"""The tree a ``search_traces`` filter parses to, and the vocabulary it may contain.

The parser (:mod:`lanterna.store.search.parser`) only ever builds nodes whose ``entity``, ``key``
and ``op`` come from the allow-lists below, with aliases already resolved, so a store compiles a
node by looking its fields up, never by pasting them into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Entity: TypeAlias = Literal["attribute", "tag", "metadata", "span", "span_attribute"]
Operator: TypeAlias = Literal[
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "IN",
    "NOT IN",
    "LIKE",
    "ILIKE",
    "RLIKE",
    "IS NULL",
    "IS NOT NULL",
]
Scalar: TypeAlias = str | int | float
Value: TypeAlias = Scalar | tuple[Scalar, ...] | None

#: Trace attribute keys (canonical spelling). ``name`` is the trace name, ``text`` full-text search
#: over span content, ``run_id`` the source run.
ATTRIBUTE_KEYS: tuple[str, ...] = (
    "request_id",
    "timestamp_ms",
    "execution_time_ms",
    "end_time_ms",
    "state",
    "name",
    "client_request_id",
    "run_id",
    "text",
)
#: Attribute keys compared as numbers; every other attribute key is a string.
NUMERIC_ATTRIBUTE_KEYS: frozenset[str] = frozenset(
    {"timestamp_ms", "execution_time_ms", "end_time_ms"}
)
#: Keys of the ``span`` entity; ``span.attributes.<k>`` becomes entity ``span_attribute``.
SPAN_KEYS: tuple[str, ...] = ("name", "type", "status", "content")
#: Values a ``state`` comparison may name (normalised to upper case).
TRACE_STATES: tuple[str, ...] = ("OK", "ERROR", "IN_PROGRESS", "STATE_UNSPECIFIED")
#: Keys ``order_by`` accepts (canonical spelling).
ORDER_BY_KEYS: tuple[str, ...] = (
    "timestamp_ms",
    "execution_time_ms",
    "end_time_ms",
    "state",
    "name",
    "request_id",
)

#: Entity prefixes as written (``trace.``, ``tags.``, ...) to the entity they name.
ENTITY_ALIASES: dict[str, Entity] = {
    "trace": "attribute",
    "attribute": "attribute",
    "attributes": "attribute",
    "tag": "tag",
    "tags": "tag",
    "metadata": "metadata",
    "request_metadata": "metadata",
    "span": "span",
}
#: Attribute and order_by key spellings to the canonical key.
KEY_ALIASES: dict[str, str] = {
    "timestamp": "timestamp_ms",
    "execution_time": "execution_time_ms",
    "end_time": "end_time_ms",
    "status": "state",
    "trace_id": "request_id",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """One ``<entity>.<key> <op> <value>`` clause.

    ``value`` is a ``str`` or number for single-value operators, a non-empty tuple of them for
    ``IN``/``NOT IN``, and ``None`` for ``IS NULL``/``IS NOT NULL``.
    """

    entity: Entity
    key: str
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Items joined by ``OR`` (two or more): a trace matches if it matches any of them."""

    items: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Items joined by ``AND`` inside ``OR``, ``NOT`` or parentheses (two or more)."""

    items: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """``NOT item``: exactly the traces ``item`` does not match (a complement, so a trace whose
    value is missing matches ``NOT name = 'x'``, unlike ``name != 'x'``)."""

    item: Expression


Expression: TypeAlias = "Comparison | AnyOf | AllOf | Not"


@dataclass(frozen=True, slots=True)
class Filter:
    """Clauses joined by ``AND``; no clauses matches every trace. A filter written without
    ``OR``, ``NOT`` and parentheses has only :class:`Comparison` clauses, as in MLflow."""

    clauses: tuple[Expression, ...] = ()

    def comparisons(self) -> list[Comparison]:
        """Every comparison of the filter, at any depth, in source order."""
        found: list[Comparison] = []
        pending: list[Expression] = list(reversed(self.clauses))
        while pending:
            node = pending.pop()
            if isinstance(node, Comparison):
                found.append(node)
            elif isinstance(node, Not):
                pending.append(node.item)
            else:
                pending.extend(reversed(node.items))
        return found


@dataclass(frozen=True, slots=True)
class OrderBy:
    """One ``order_by`` item: a key from :data:`ORDER_BY_KEYS` and its direction."""

    key: str
    ascending: bool = True


__all__ = [
    "ATTRIBUTE_KEYS",
    "ENTITY_ALIASES",
    "KEY_ALIASES",
    "NUMERIC_ATTRIBUTE_KEYS",
    "ORDER_BY_KEYS",
    "SPAN_KEYS",
    "TRACE_STATES",
    "AllOf",
    "AnyOf",
    "Comparison",
    "Entity",
    "Expression",
    "Filter",
    "Not",
    "Operator",
    "OrderBy",
    "Scalar",
    "Value",
]
