"""A session: the traces that share a session id (a multi-turn conversation)."""

from __future__ import annotations

from lanterna.entities.trace_info import TraceMetadataKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from lanterna.entities.trace import Trace


class Session:
    """The traces of one session, oldest first; iterate it, index it, ``len`` it."""

    __slots__ = ("_traces",)

    def __init__(self, traces: list[Trace]) -> None:
        self._traces = traces

    @property
    def id(self) -> str | None:
        if not self._traces:
            return None
        return self._traces[0].info.trace_metadata.get(TraceMetadataKey.SESSION)

    @property
    def traces(self) -> list[Trace]:
        return self._traces

    def __iter__(self) -> Iterator[Trace]:
        return iter(self._traces)

    def __len__(self) -> int:
        return len(self._traces)

    def __getitem__(self, index: int) -> Trace:
        return self._traces[index]

    def __repr__(self) -> str:
        return f"Session(id={self.id!r})"
