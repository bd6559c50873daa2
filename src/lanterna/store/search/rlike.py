"""``RLIKE`` on SQLite, bounded: SQLite has no regular expressions of its own, and Python's
``re`` can backtrack for hours on a pattern like ``(a+)+$`` while holding the GIL. The
``regex`` module guards the common catastrophic shapes and takes a timeout for the rest; a
pattern that runs out of time fails the search with ``InvalidFilterError``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

#: The longest one ``RLIKE`` match may run against one value.
RLIKE_SECONDS = 0.5
TIMED_OUT = "RLIKE pattern took too long"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    import regex

    return regex.compile(pattern, regex.DOTALL)


def regexp(pattern: object, value: object) -> int | None:
    """SQL function body (SQLite's ``REGEXP``): does ``value`` contain a match of ``pattern``?"""
    if pattern is None or value is None:
        return None
    try:
        found = _compiled(str(pattern)).search(str(value), timeout=RLIKE_SECONDS)
    except TimeoutError:
        raise ValueError(TIMED_OUT) from None
    return int(found is not None)
