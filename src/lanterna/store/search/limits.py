"""Bounds on a search, checked before the database sees it: a filter's length, its number of
comparisons, and values no column can hold. Each gets ``InvalidFilterError`` naming the limit,
rather than a database error or a search that runs for minutes."""

from __future__ import annotations

from typing import Any

from lanterna.exceptions import InvalidFilterError
from lanterna.store.search.ast import Filter

#: Longest filter string accepted.
MAX_FILTER_CHARS = 20_000
#: Most comparisons in one filter (each becomes a subquery; PostgreSQL plans hundreds slowly).
MAX_COMPARISONS = 64
_INT64 = 2**63


def checked_filter_text(filter_string: Any) -> str | None:
    """The filter to parse: within the length limit, NUL read as U+FFFD (as stored)."""
    if filter_string is None:
        return None
    if not isinstance(filter_string, str):
        raise InvalidFilterError(
            f"Invalid filter: filter_string must be a string, got {type(filter_string).__name__}."
        )
    if len(filter_string) > MAX_FILTER_CHARS:
        raise InvalidFilterError(
            f"Invalid filter: it is {len(filter_string)} characters long; the limit is "
            f"{MAX_FILTER_CHARS}. Split the search, or match with LIKE instead of long lists."
        )
    return filter_string.replace("\x00", "\ufffd") if "\x00" in filter_string else filter_string


def check_filter_values(parsed: Filter) -> None:
    comparisons = parsed.comparisons()
    if len(comparisons) > MAX_COMPARISONS:
        raise InvalidFilterError(
            f"Invalid filter: it has {len(comparisons)} comparisons; the limit is "
            f"{MAX_COMPARISONS}. Use IN (...) for many values of one key."
        )
    for comparison in comparisons:
        value = comparison.value
        for item in value if isinstance(value, tuple) else (value,):
            _check_value(comparison.key, item)


def _check_value(key: str, value: Any) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int) and not -_INT64 <= value < _INT64:
        raise InvalidFilterError(
            f"Invalid filter: the number {value} for {key!r} is out of range (numbers are "
            "64-bit integers)."
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidFilterError(
                f"Invalid filter: the value for {key!r} holds a lone surrogate character "
                "(not valid Unicode text); remove it."
            ) from None


def plausible_id(trace_id: Any) -> bool:
    """False for an id no stored trace can have (not text, NUL, lone surrogates, too long):
    such a lookup finds nothing, without asking the database."""
    if not isinstance(trace_id, str) or len(trace_id) > 256 or "\x00" in trace_id:
        return False
    try:
        trace_id.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
