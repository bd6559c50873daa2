"""Encoding a batch's spans on a second thread while SQLite writes the previous piece.

SQLite runs an ``INSERT`` of 2,048 rows without the GIL (about 12 ms); encoding the next 2,048
spans (``rows.span_row``, about 10 ms) needs it. Done one after the other on the export thread,
neither overlaps the other once the application stops producing spans; with the encoding of
piece k + 1 handed to a helper thread while piece k is written, they do. The helper only reads
frozen spans and builds tuples, never touches a connection, and whatever it raises is raised
on the export thread, where the piece is consumed.

One helper per process, started at the first big batch; after ``fork`` the child starts its
own (the parent's thread does not exist there). While the interpreter exits (the helper is
stopped before lanterna's last flush runs), pieces are encoded inline.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from lanterna._threads import leave_signals_to_main_thread

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_helper: list[tuple[int, ThreadPoolExecutor]] = []


def _executor() -> ThreadPoolExecutor:
    with _lock:
        if _helper and _helper[0][0] == os.getpid():
            return _helper[0][1]
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lanterna-encode",
                                      initializer=leave_signals_to_main_thread)
        _helper[:] = [(os.getpid(), executor)]
        return executor


def pieces(items: Sequence[T], size: int, encode: Callable[[Sequence[T]], R]) -> Iterator[R]:
    """``encode`` of each ``size`` items in turn, the next one computed on the helper thread
    while the caller works on the current one (a batch of one piece never starts it)."""
    following: Future[R] | None = None
    for start in range(0, len(items), size):
        current = encode(items[start:start + size]) if following is None else following.result()
        following = None
        after = start + size
        if after < len(items):
            # While the interpreter exits no thread can start: the next piece goes inline.
            with contextlib.suppress(RuntimeError):
                following = _executor().submit(encode, items[after:after + size])
        yield current
