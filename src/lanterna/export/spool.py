"""The export queue's overflow: finished traces waiting in a temporary file instead of memory.

A store that falls behind (slow, unreachable for a while, or a burst bigger than it takes per
second) makes finished spans wait. Kept in memory, 100,000 waiting traces weigh tens of MB, and
the OpenTelemetry SDK's answer is to drop them. lanterna keeps them, on disk: once
``LANTERNA_EXPORT_MEMORY_QUEUE`` spans wait in memory, each newly finished trace of one span (the
packed tuple of ``export.compact``, already mostly bytes) is written as one ``marshal`` record to
an unlinked temporary file, and read back in order by the export worker. Memory stays flat
however far behind the store is; ``LANTERNA_EXPORT_QUEUE_SIZE`` still bounds the whole backlog.

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
import threading

from lanterna import _log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Records are written to the file once this many bytes of them are buffered.
WRITE_BYTES = 256 * 1024
#: How much of the file one read asks for.
READ_BYTES = 1024 * 1024
_LENGTH = 4


class Spool:
    """A first-in first-out line of packed traces, kept in a temporary file. Thread-safe:
    callers' threads ``put``, the export worker ``take``s and ``decode``s."""

    def __init__(self, directory: str | None = None) -> None:
        self.count = 0  # items waiting here (read by the caller's thread without the lock)
        self._directory = directory
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._unwritable = False
        self._head = 0  # file offset of the next record to read
        self._end = 0  # file offset after the last record written
        self._tail = bytearray()  # records not written to the file yet

    # -- callers' threads ------------------------------------------------------------------
    def put(self, packed: tuple[Any, ...]) -> bool:
        """Puts a packed trace in line; False if marshal cannot write it (it then stays in
        memory, in the queue)."""
        try:
            record = marshal.dumps(packed)
        except ValueError:
            return False
        with self._lock:
            tail = self._tail
            tail += len(record).to_bytes(_LENGTH, "little")
            tail += record
            self.count += 1
            if len(tail) >= WRITE_BYTES and not self._unwritable:
                self._write_tail()
        return True

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
    def take(self, limit: int) -> list[bytes]:
        """Up to ``limit`` records, oldest first (call ``decode`` on them)."""
        records: list[bytes] = []
        with self._lock:
            while len(records) < limit and self._head < self._end:
                self._head += _split(self._read(), records, limit)
            if len(records) < limit and self._head >= self._end and self._tail:
                del self._tail[:_split(memoryview(self._tail), records, limit)]
            if self._head >= self._end and self._end:
                self._head = self._end = 0
                self._truncate()
            self.count -= len(records)
        return records

    def _read(self) -> memoryview:
        assert self._fd is not None
        chunk = os.pread(self._fd, min(READ_BYTES, self._end - self._head), self._head)
        size = int.from_bytes(chunk[:_LENGTH], "little") + _LENGTH
        if size > len(chunk):  # one record bigger than a read
            chunk = os.pread(self._fd, size, self._head)
        return memoryview(chunk)

    def _truncate(self) -> None:
        """Gives the disk space back once everything written has been read."""
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)  # type: ignore[arg-type]

    @staticmethod
    def decode(records: list[bytes]) -> list[tuple[Any, ...]]:
        return [marshal.loads(record) for record in records]

    # -- either ------------------------------------------------------------------------------
    def clear(self) -> int:
        """Forgets everything waiting (exit gave up on it); returns how many items that was."""
        with self._lock:
            lost, self.count = self.count, 0
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


def _split(data: memoryview, records: list[bytes], limit: int) -> int:
    """Appends the whole records at the start of ``data`` (up to ``limit`` in all) to
    ``records``; returns how many bytes they took."""
    offset, size = 0, len(data)
    while len(records) < limit and offset + _LENGTH <= size:
        length = int.from_bytes(data[offset:offset + _LENGTH], "little")
        end = offset + _LENGTH + length
        if end > size:
            break
        records.append(bytes(data[offset + _LENGTH:end]))
        offset = end
    return offset
