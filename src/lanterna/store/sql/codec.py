"""JSON for the store's columns: ``orjson`` when it can say the value exactly, else the
standard library (which the rest of lanterna also reads).

Measured on the write path (``benchmarks/store.py``): orjson encodes a span's values about ten
times faster than ``json``. It cannot express what the standard library can (NaN and infinities,
which it turns into null; ints over 64 bits, which it reads back as floats; lone surrogates; a
nesting deeper than 254), so those values take the standard library's path both ways: their
text starts with a space (JSON allows it; SQL's JSON functions do not mind), which tells
``loads`` to use the standard library too. They read back exactly as before.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from lanterna.entities._values import safe_text

try:
    import orjson
except ImportError:  # the plain install: the standard library does it all, only slower
    orjson = None  # type: ignore[assignment]


def dumps(value: Any) -> str:
    """JSON text of a snapshotted value: readable non-ASCII, lone surrogates escaped."""
    if orjson is None:
        return _stdlib_dumps(value)[1:]
    try:
        raw = orjson.dumps(value, default=safe_text)
    except (TypeError, ValueError, RecursionError):
        return _stdlib_dumps(value)
    if b"null" in raw and _has_non_finite(value, 0):  # orjson wrote NaN/inf as null
        return _stdlib_dumps(value)
    return raw.decode()


def dumps_rows(values: Sequence[tuple[Any, ...]]) -> str:
    """One JSON array of the rows (cells: text, integers, None), for PostgreSQL's
    ``jsonb_array_elements``; the cells are already what the database takes (``storable``)."""
    if orjson is None:
        return json.dumps(values, ensure_ascii=False)
    return orjson.dumps(values).decode()


def _stdlib_dumps(value: Any) -> str:
    from lanterna.entities._values import encode_attribute

    text = encode_attribute(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: no database takes them as UTF-8
            text = json.dumps(json.loads(text))
    return STDLIB_MARK + text


#: The first character of JSON text written by the standard library (see the module's doc).
STDLIB_MARK = " "


def loads(text: str) -> Any:
    if text[:1] == STDLIB_MARK or orjson is None:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # text from elsewhere (NaN, Infinity, a deep nesting)
        return json.loads(text)


def _has_non_finite(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if depth > 300:
        return False
    if kind is dict:
        return any(_has_non_finite(v, depth + 1) for v in value.values())
    if kind is list or kind is tuple:
        return any(_has_non_finite(v, depth + 1) for v in value)
    return False
