"""The export queue's overflow: finished traces waiting in a temporary file instead of memory.

A store that falls behind (slow, unreachable for a while, or a burst bigger than it takes per
second) makes finished spans wait. Kept in memory, 100,000 waiting traces weigh tens of MB, and
the OpenTelemetry SDK's answer is to drop them. lanterna keeps them, on disk: once
``LANTERNA_EXPORT_MEMORY_QUEUE`` spans wait in memory, each newly finished trace of one span (the
packed tuple of ``export.compact``, already mostly bytes) goes to the spool. The caller's thread
only appends it to a deque; every ``CHUNK`` traces, one ``marshal`` call seals them into one
record of an unlinked temporary file (a record per trace cost the caller 1.5-2 µs per trace in
locking and buffer appends, a chunk about 0.4). The export worker reads records back in order.
Memory stays flat however far behind the store is; ``LANTERNA_EXPORT_QUEUE_SIZE`` still bounds
the whole backlog.

Only traces of one span go to the file: each is whole and independent of every other item, so
the file can be a line of its own beside the in-memory queue. Spans of bigger traces keep their
place in memory, where their trace record is shared and their order matters (children before
the root); writing and reading them back measured 3 to 7 µs per span, a third of the export
thread's time per span.

The file is written with ``os.pwrite``/``os.pread`` at explicit offsets and through a buffer of
its own, so a forked child that inherits the descriptor never writes into the parent's file
(it starts with a spool of its own). If the file cannot be created or written (no space, no
temporary directory), records stay in memory, as they would without a spool, and nothing is
lost.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import struct
import threading
from collections import deque

from lanterna import _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Traces sealed into one record.
CHUNK = 256
#: Records are written to the file once this many bytes of them are buffered.
WRITE_BYTES = 256 * 1024
#: How much of the file one read asks for at most.
READ_BYTES = 1024 * 1024
_HEADER = struct.Struct("<II")  # the record's length in bytes, how many traces it holds


class Spool:
    """A first-in first-out line of packed traces, mostly kept in a temporary file.

    Callers' threads ``put`` (and ``seal`` when ``put`` says a chunk is full); the export
    worker ``take``s and ``decode``s. ``seal`` and ``take`` run under the pipeline's state
    lock, so ``count`` read under that lock is exact."""

    def __init__(self, directory: str | None = None) -> None:
        self._directory = directory
        self._lock = threading.Lock()  # the file, the buffer, the counts below
        self._pending: deque[tuple[Any, ...]] = deque()  # put, not sealed yet
        self._sealed = 0  # traces in sealed records not taken yet
        self._fd: int | None = None
        self._unwritable = False
        self._head = 0  # file offset of the next record to read
        self._end = 0  # file offset after the last record written
        self._tail = bytearray()  # records not written to the file yet

    @property
    def count(self) -> int:
        """Traces waiting here."""
        return self._sealed + len(self._pending)

    # -- callers' threads ------------------------------------------------------------------
    def put(self, packed: tuple[Any, ...]) -> bool:
        """Puts a packed trace in line; True when a chunk is full (call ``seal``)."""
        pending = self._pending
        pending.append(packed)
        return len(pending) >= CHUNK

    def seal(self) -> None:
        """Writes the traces put so far as one record."""
        with self._lock:
            pending = self._pending
            items = [pending.popleft() for _ in range(len(pending))]
            if not items:
                return
            try:
                record = marshal.dumps(items)
            except ValueError:  # cannot happen to packed atoms; keep them in line, in memory
                pending.extendleft(reversed(items))
                return
            self._tail += _HEADER.pack(len(record), len(items))
            self._tail += record
            self._sealed += len(items)
            if len(self._tail) >= WRITE_BYTES and not self._unwritable:
                self._write_tail()

    def _write_tail(self) -> None:
        try:
            if self._fd is None:
                import tempfile  # only once a backlog builds (it imports re: not at import)

                fd, path = tempfile.mkstemp(prefix="lanterna-spool-", dir=self._directory)
                os.unlink(path)
                self._fd = fd
            written = os.pwrite(self._fd, self._tail, self._end)
        except OSError as exc:
            self._unwritable = True
            _log.warning("lanterna keeps waiting spans in memory: its spool file could not be "
                         "written (%s).", exc)
            return
        if written == len(self._tail):
            self._end += written
            self._tail.clear()
        else:  # a short write: keep the whole tail, the file region ends where it did
            self._unwritable = True

    # -- export worker -------------------------------------------------------------------------
    def take(self, limit: int) -> tuple[list[Any], int]:
        """Records and traces of about ``limit`` traces, oldest first: whole records while
        fewer than ``limit`` are taken, then traces not sealed yet. Returns what to ``decode``
        and how many traces it holds."""
        taken: list[Any] = []
        with self._lock:
            count = 0
            while count < limit and self._head < self._end:
                consumed, found = _split(self._read(limit - count), taken, limit - count)
                self._head += consumed
                count += found
            if count < limit and self._head >= self._end and self._tail:
                consumed, found = _split(memoryview(self._tail), taken, limit - count)
                del self._tail[:consumed]
                count += found
            self._sealed -= count
            if self._head >= self._end and self._end:
                self._head = self._end = 0
                self._truncate()
            if not self._sealed:
                pending = self._pending
                loose = [pending.popleft() for _ in range(min(len(pending), limit - count))]
                if loose:
                    taken.append(loose)
                    count += len(loose)
        return taken, count

    def _read(self, traces: int) -> memoryview:
        """The next bytes of the file: enough for about ``traces`` traces, at least one record."""
        assert self._fd is not None
        average = (self._end - self._head) / max(1, self._sealed)
        want = min(READ_BYTES, self._end - self._head, int(average * traces * 1.25) + 4096)
        chunk = os.pread(self._fd, want, self._head)
        length = _HEADER.unpack_from(chunk)[0] + _HEADER.size
        if length > len(chunk):  # one record bigger than the read
            chunk = os.pread(self._fd, length, self._head)
        return memoryview(chunk)

    def _truncate(self) -> None:
        """Gives the disk space back once everything written has been read."""
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)  # type: ignore[arg-type]

    @staticmethod
    def decode(taken: list[Any]) -> list[tuple[Any, ...]]:
        items: list[tuple[Any, ...]] = []
        for part in taken:
            items += marshal.loads(part) if isinstance(part, bytes) else part
        return items

    # -- either ------------------------------------------------------------------------------
    def clear(self) -> int:
        """Forgets everything waiting (exit gave up on it); returns how many traces that was."""
        with self._lock:
            lost = self.count
            self._sealed = 0
            self._pending.clear()
            self._head = self._end = 0
            self._tail.clear()
            if self._fd is not None:
                self._truncate()
        return lost

    def close(self) -> None:
        """Closes the file (at exit, or in a forked child, whose copy this is)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _split(data: memoryview, taken: list[Any], limit: int) -> tuple[int, int]:
    """Appends the whole records at the start of ``data`` to ``taken``, while they hold fewer
    than ``limit`` traces; returns the bytes and the traces they took."""
    offset = count = 0
    size = len(data)
    while count < limit and offset + _HEADER.size <= size:
        length, traces = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if end > size:
            break
        taken.append(bytes(data[offset + _HEADER.size:end]))
        offset, count = end, count + traces
    return offset, count
