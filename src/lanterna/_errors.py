"""The one guard for lanterna's internal failures.

Internal work that fails is logged through the ``lanterna`` logger and counted, never raised
into user code, unless ``raise_internal_errors`` is switched on (the test fixture does that).
"""

from __future__ import annotations

import threading

from lanterna import _log
from lanterna.settings import setting

_lock = threading.Lock()
_counts: dict[str, int] = {}
raise_internal_errors = bool(setting("raise_internal_errors"))


def report(error: BaseException, where: str) -> None:
    """Log and count an internal failure; re-raise only when ``raise_internal_errors`` is on."""
    with _lock:
        _counts[where] = _counts.get(where, 0) + 1
    _log.warning("lanterna internal error in %s: %r (tracing continues)", where, error)
    if raise_internal_errors:
        raise error


def internal_error_counts() -> dict[str, int]:
    """How many internal failures happened, by place."""
    with _lock:
        return dict(_counts)


def reset_counts() -> None:
    with _lock:
        _counts.clear()
