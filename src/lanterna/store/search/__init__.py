"""The ``search_traces`` filter language: lexer, parser and the AST a store compiles to SQL."""

from __future__ import annotations

from lanterna.store.search.ast import (
    AllOf,
    AnyOf,
    Comparison,
    Entity,
    Expression,
    Filter,
    Not,
    Operator,
    OrderBy,
    Scalar,
    Value,
)
from lanterna.store.search.parser import parse_filter, parse_order_by

__all__ = [
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
    "parse_filter",
    "parse_order_by",
]
