"""``search_experiments``: filter, order and page a list of experiments (there are few)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence

from lanterna.exceptions import MlflowException
from lanterna.store.base import Experiment, PagedList

_CLAUSE = re.compile(
    r"\s*(?:attribute\.|attributes\.)?(?P<key>name|experiment_id|creation_time)\s*"
    r"(?P<op>=|!=|LIKE|ILIKE|>=|<=|>|<)\s*(?P<value>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\d+)"
    r"\s*",
    re.IGNORECASE,
)
_ORDER_KEYS = {"name", "experiment_id", "creation_time", "last_update_time"}


def select_experiments(
    experiments: list[Experiment],
    filter_string: str | None,
    order_by: Sequence[str] | None,
    max_results: int | None,
    page_token: str | None,
) -> PagedList[Experiment]:
    found = [e for e in experiments if _matches(e, filter_string)]
    found.sort(key=lambda e: int(e.experiment_id) if e.experiment_id.isdigit() else 0,
               reverse=True)
    found.sort(key=lambda e: e.creation_time, reverse=True)
    for clause in reversed(list(order_by or [])):
        key, _, direction = str(clause).strip().partition(" ")
        key = key.removeprefix("attribute.")
        if key not in _ORDER_KEYS:
            raise MlflowException(
                f"Invalid order_by entity: {clause!r}. Order experiments by one of "
                f"{', '.join(sorted(_ORDER_KEYS))}, optionally followed by ASC or DESC."
            )
        attribute = "creation_time" if key == "last_update_time" else key
        found.sort(key=lambda e, a=attribute: _sort_key(getattr(e, a)),  # type: ignore[misc]
                   reverse=direction.strip().upper() == "DESC")
    offset = _offset(page_token)
    if max_results is None:
        return PagedList(found[offset:], None)
    end = offset + max_results
    token = base64.b64encode(json.dumps({"offset": end}).encode()).decode() \
        if end < len(found) else None
    return PagedList(found[offset:end], token)


def _sort_key(value: object) -> tuple[int, object]:
    if isinstance(value, str) and value.isdigit():
        return 0, int(value)
    return (0, value) if isinstance(value, int) else (1, value)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.b64decode(token))["offset"])
    except (ValueError, KeyError, TypeError) as exc:
        raise MlflowException(f"Invalid page token {token!r}; pass the token of a previous "
                              "search_experiments result.") from exc


def _matches(experiment: Experiment, filter_string: str | None) -> bool:
    if not filter_string or not filter_string.strip():
        return True
    for part in re.split(r"\s+AND\s+", filter_string.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise MlflowException(
                f"Invalid filter string {filter_string!r}: lanterna filters experiments with "
                "clauses such as name = 'x', name LIKE 'a%' or creation_time > 0, joined by AND."
            )
        key, op, raw = match["key"].lower(), match["op"].upper(), match["value"]
        value: object = raw[1:-1] if raw[0] in "'\"" else int(raw)
        actual: object = getattr(experiment, key)
        if key == "creation_time":
            value = int(str(value))
        if not _compare(actual, op, value):
            return False
    return True


def _compare(actual: object, op: str, value: object) -> bool:
    if op in ("LIKE", "ILIKE"):
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                          for c in str(value))
        flags = re.IGNORECASE | re.DOTALL if op == "ILIKE" else re.DOTALL
        return re.fullmatch(pattern, str(actual), flags) is not None
    if op == "=":
        return str(actual) == str(value)
    if op == "!=":
        return str(actual) != str(value)
    left, right = int(str(actual)), int(str(value))
    return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
