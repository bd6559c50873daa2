"""Value safety for databases: every value the write path sends is one the database takes.

The write path calls ``storable_rows`` on every batch of rows it sends and ``storable_json``
for the JSON it builds, so no value a user can record loses a span or a trace:

- text with lone surrogates (no database stores them as UTF-8): each becomes U+FFFD;
- NUL characters (PostgreSQL refuses them, SQLite's LIKE stops at them): U+FFFD;
- NaN and ±Infinity: kept as JSON's ``NaN``/``Infinity`` tokens in span content (as MLflow
  writes them; Python reads them back), and as the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"`` in JSON columns PostgreSQL parses (``jsonb`` refuses the tokens);
- integers too long to print (over 4,300 digits) become a short description; integers outside
  64 bits in integer columns are clamped to the nearest 64-bit value.

``degraded_span`` is the last resort for a span the database still refuses: its values as
escaped text, with a note saying why, so it is stored readable rather than lost.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from lanterna.entities._values import safe_text
from lanterna.entities.span import Span

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: The attribute a degraded span carries: why its values are stored as escaped text.
DEGRADED_ATTRIBUTE = "lanterna.degraded"
_MAX_INT_DIGITS_BITS = 13_000  # well under CPython's 4,300-digit printing limit
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=safe_text).encode
_NON_FINITE = {"NaN", "Infinity", "-Infinity"}


_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _without_lone_surrogate_escapes(text: str) -> str:
    """JSON text escaping a lone surrogate (``\\ud800``), which PostgreSQL's json refuses."""
    if "\\u" not in text:
        return text
    return _LONE_SURROGATE_ESCAPE.sub("\\\\ufffd", text)


def storable_text(text: str, postgres: bool) -> str:
    """``text`` without what a database refuses or mishandles: lone surrogates, and NUL
    (PostgreSQL refuses it; SQLite's LIKE and GLOB stop at it), each becoming U+FFFD. Both
    engines store the same text, and a filter's NUL is read the same way."""
    if text.isascii():
        if "\x00" in text:
            text = text.replace("\x00", "\ufffd")
        return _without_lone_surrogate_escapes(text) if postgres else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _replace_surrogates(text)
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return _without_lone_surrogate_escapes(text) if postgres else text


def _replace_surrogates(text: str) -> str:
    return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)


def storable_int(value: int) -> int:
    return INT64_MIN if value < INT64_MIN else INT64_MAX if value > INT64_MAX else value


def storable_rows(values: Iterable[tuple[Any, ...]], postgres: bool) -> list[tuple[Any, ...]]:
    """Rows whose every text and integer cell the database takes (see the module's doc)."""
    out = []
    for row in values:
        for cell in row:
            kind = type(cell)
            if kind is str:
                if not cell.isascii() or "\x00" in cell or (postgres and "\\ud" in cell):
                    break
            elif kind is int and not INT64_MIN <= cell <= INT64_MAX:
                break
        else:
            out.append(row)
            continue
        out.append(tuple(_storable_cell(cell, postgres) for cell in row))
    return out


def _storable_cell(cell: Any, postgres: bool) -> Any:
    kind = type(cell)
    if kind is str:
        return storable_text(cell, postgres)
    if kind is int:
        return storable_int(cell)
    return cell


def storable_json(value: Any, postgres: bool, allow_nan: bool = True) -> str:
    """JSON text of ``value`` the database takes; ``allow_nan=False`` for JSON the database
    parses (PostgreSQL's ``jsonb``), where NaN and ±Infinity become strings."""
    try:
        text: str | None = _ENCODE(value)
    except (ValueError, TypeError, RecursionError):  # an int too long to print, a cycle
        text = None
    if text is None or (not allow_nan and _may_hold_non_finite(text)):
        text = _encode_cleaned(value, postgres, allow_nan)
    elif not text.isascii():
        text = storable_text(text, postgres)
    if postgres and "\\u0000" in text:  # jsonb refuses NUL characters, even escaped
        text = text.replace("\\u0000", "\\ufffd")
    return text


def _encode_cleaned(value: Any, postgres: bool, allow_nan: bool) -> str:
    cleaned = _clean(value, postgres, allow_nan, 0)
    try:
        text = _ENCODE(cleaned)
    except (ValueError, TypeError, RecursionError):
        text = json.dumps(safe_text(value))
    return storable_text(text, postgres)


def _may_hold_non_finite(text: str) -> bool:
    return "NaN" in text or "Infinity" in text


def _clean(value: Any, postgres: bool, allow_nan: bool, depth: int) -> Any:
    kind = type(value)
    if kind is str:
        return storable_text(value, postgres)
    if kind is float:
        if math.isfinite(value) or allow_nan:
            return value
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if kind is int:
        return value if value.bit_length() < _MAX_INT_DIGITS_BITS else (
            f"<int of {value.bit_length()} bits>"
        )
    if depth > 200:
        return safe_text(value)
    if kind is dict:
        return {storable_text(k if type(k) is str else safe_text(k), postgres):
                _clean(v, postgres, allow_nan, depth + 1) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_clean(v, postgres, allow_nan, depth + 1) for v in value]
    if kind is bool or value is None:
        return value
    return storable_text(safe_text(value), postgres)


def degraded_span(span: Span, reason: str) -> Span:
    """A copy of ``span`` the database takes: every value as escaped ASCII JSON text, and a
    note saying why (``lanterna.degraded``)."""
    copy = Span.__new__(Span)
    copy._trace_id = span._trace_id
    copy._span_id = span._span_id
    copy._parent_id = span._parent_id
    copy._name = _ascii(span._name)
    copy._span_type = _ascii(span._span_type)
    copy._start_ns = storable_int(span._start_ns)
    copy._end_ns = None if span._end_ns is None else storable_int(span._end_ns)
    copy._status = span._status.__class__(span._status.status_code,
                                          _ascii(span._status.description or ""))
    copy._inputs = _escaped(span.inputs)
    copy._outputs = _escaped(span.outputs)
    attributes = {_ascii(str(k)): _escaped(v) for k, v in span.own_attributes.items()}
    attributes[DEGRADED_ATTRIBUTE] = (
        "the store refused this span's values, so they are kept as escaped text: "
        + _ascii(reason)[:500]
    )
    copy._attributes = attributes
    copy._events = ()
    for slot in Span.__slots__:  # slots added since (links...): kept as they are
        if not hasattr(copy, slot) and hasattr(span, slot):
            setattr(copy, slot, getattr(span, slot))
    return copy


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00")


def _escaped(value: Any) -> str | None:
    if value is None:
        return None
    try:
        text = json.dumps(_clean(value, False, False, 0), ensure_ascii=True)
    except Exception:
        text = safe_text(value)
    return _ascii(text)
