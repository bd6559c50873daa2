"""Turning arbitrary user objects into JSON-able snapshots, and attributes into JSON text.

``snapshot`` runs on the caller's thread whenever a value is set on a span, so it has a fast path
for primitives and never raises: whatever the user passes (cycles, hostile ``__repr__``, huge
ints, deep nesting, bytes) becomes something JSON can encode. Encoding to text happens later,
off the caller's thread, in ``encode_attribute``.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


MAX_DEPTH = 64
# CPython refuses to print ints with more than 4,300 digits; stay well below that.
_MAX_INT_BITS = 13_000


# Ints are atoms on the hot path; the rare int too long for JSON is caught when encoding.
_ATOMS = frozenset({str, int, float, bool, type(None)})


def snapshot(value: Any) -> Any:
    """A deep, JSON-able copy of ``value``; later mutation of the original changes nothing."""
    cls = type(value)
    if cls in _ATOMS:
        return value
    if cls is dict:  # the most common input: a flat dict of text and numbers
        atoms = _ATOMS
        for key, item in value.items():
            if type(key) is not str or type(item) not in atoms:
                break
        else:
            return value.copy()
        flat = _flat_copy(value)
        if flat is not None:
            return flat
    try:
        return _snap(value, 0, set())
    except Exception:  # RecursionError, MemoryError-adjacent oddities, hostile objects
        return safe_text(value)


def _flat_copy(value: dict[Any, Any]) -> dict[str, Any] | None:
    """The next most common: text keys, atoms and lists of atoms (``{"answer": ..., "sources":
    [...]}``), copied in about a quarter of ``_snap``'s time; None for anything else."""
    atoms = _ATOMS
    copied = {}
    for key, item in value.items():
        if type(key) is not str:
            return None
        kind = type(item)
        if kind in atoms:
            copied[key] = item
        elif kind is list or kind is tuple:
            for element in item:
                if type(element) not in atoms:
                    return None
            copied[key] = list(item)
        else:
            return None
    return copied


def _snap(value: Any, depth: int, path: set[int]) -> Any:
    """Copies containers, inlining the common case of atoms inside them (this is hot)."""
    cls = type(value)
    if cls in _ATOMS:
        return value
    if cls is dict or cls is list or cls is tuple:
        if depth >= MAX_DEPTH:
            return "<nested too deeply>"
        marker = id(value)
        if marker in path:
            return "<circular reference>"
        path.add(marker)
        depth += 1
        atoms = _ATOMS
        if cls is dict:
            copied: Any = {
                (k if type(k) is str else _key(k)): (
                    v if type(v) in atoms else _snap(v, depth, path)
                )
                for k, v in value.items()
            }
        else:
            copied = [v if type(v) in atoms else _snap(v, depth, path) for v in value]
        path.discard(marker)
        return copied
    return _snap_object(value, depth, path)


def _snap_object(value: Any, depth: int, path: set[int]) -> Any:
    cls = type(value)
    if isinstance(value, str):
        return value[:]  # str subclasses such as str-valued enums become plain text
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return _snap(int(value), depth, path)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (dict, list, tuple)):
        return _snap(dict(value) if isinstance(value, dict) else list(value), depth, path)
    if depth >= MAX_DEPTH:
        return "<nested too deeply>"
    own = getattr(cls, "__lanterna_snapshot__", None)
    if own is not None:
        return _snap(own(value), depth + 1, path)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return _snap(dump(), depth + 1, path)
        except Exception:
            return safe_text(value)
    if hasattr(cls, "__dataclass_fields__") and not isinstance(value, type):
        import dataclasses

        marker = id(value)
        if marker in path:
            return "<circular reference>"
        path.add(marker)
        fields = {
            f.name: _snap(getattr(value, f.name, None), depth + 1, path)
            for f in dataclasses.fields(value)
        }
        path.discard(marker)
        return fields
    return safe_text(value)


def _key(key: Any) -> str:
    if type(key) is str:
        return key
    return safe_text(key)


def _describe_int(value: int) -> str:
    return f"<int of {value.bit_length()} bits>"


def safe_text(value: Any) -> str:
    """``str(value)``, falling back to ``repr`` and then to a description; never raises."""
    for render in (str, repr):
        try:
            text = render(value)
            if isinstance(text, str):
                return text[:]
        except Exception:
            continue
    try:
        name = type(value).__name__
    except Exception:
        name = "object"
    return f"<unrepresentable {name}>"


_encode: Any = None  # a JSONEncoder's encode, made once on first use (import json is lazy)


def encode_attribute(value: Any) -> str:
    """JSON text of a snapshotted value (non-ASCII kept readable)."""
    import json

    global _encode
    encode = _encode
    if encode is None:
        encode = _encode = json.JSONEncoder(ensure_ascii=False, default=safe_text).encode
    try:
        return str(encode(value))
    except (ValueError, TypeError, RecursionError):
        pass
    try:  # an int too long to print: describe such ints and keep the rest
        return json.dumps(_without_huge_ints(value), ensure_ascii=False, default=safe_text)
    except (ValueError, TypeError, RecursionError):
        return json.dumps(safe_text(value), ensure_ascii=False)


def _without_huge_ints(value: Any) -> Any:
    if type(value) is int and value.bit_length() >= _MAX_INT_BITS:
        return _describe_int(value)
    if type(value) is dict:
        return {k: _without_huge_ints(v) for k, v in value.items()}
    if type(value) is list:
        return [_without_huge_ints(v) for v in value]
    return value


def decode_attribute(raw: Any) -> Any:
    """The value behind JSON text; text that is not JSON comes back as it is."""
    if not isinstance(raw, str):
        return raw
    import json

    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


def encode_event_attribute(value: Any) -> Any:
    """Event attributes keep OTel primitives as they are and JSON-encode the rest."""
    cls = type(value)
    if cls is str or cls is bool or cls is int:
        return value
    if cls is float and math.isfinite(value):
        return value
    return encode_attribute(value)
