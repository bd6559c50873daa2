"""Streams handed back to the caller in place of ``openai.Stream``/``openai.AsyncStream``.

The traced stream *is* an ``openai.Stream`` (a subclass, so ``isinstance`` checks and type
hints still hold) that delegates to the original one through its public interface only:
``__next__``/``__anext__``, ``close()``, the context manager, and any other attribute
(``response``...) read through. It records each chunk and ends the span once, however the
stream ends:

- exhausted → the rebuilt final response;
- an error while reading → ERROR with the exception event, the error re-raised unchanged;
- ``close()``, a ``break`` out of ``for``/``async for`` (the loop's iterator is closed), or the
  stream garbage-collected unread (``weakref.finalize``) → what arrived so far, with the
  attribute ``lanterna.stream.abandoned``. MLflow leaves such spans open forever.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar

from openai import AsyncStream, Stream

from lanterna.integrations.openai.recording import StreamRecorder

_T = TypeVar("_T")
_OWN = frozenset({"_inner", "_recorder", "_finalizer"})


class TracedStream(Stream[_T]):
    """A synchronous ``openai.Stream`` that records its chunks on a span."""

    def __init__(self, inner: Stream[_T], recorder: StreamRecorder) -> None:
        # Stream.__init__ is not called on purpose: all stream state stays in ``inner``.
        self._inner = inner
        self._recorder = recorder
        self._finalizer = weakref.finalize(self, recorder.abandon)

    def __next__(self) -> _T:
        try:
            item = self._inner.__next__()
        except StopIteration:
            self._end()
            raise
        except BaseException as error:
            self._end(error)
            raise
        self._recorder.add(item)
        return item

    def __iter__(self) -> Iterator[_T]:
        try:
            while True:
                try:
                    item = self.__next__()
                except StopIteration:
                    return
                yield item
        finally:  # reached on GeneratorExit too: the caller left the loop early
            if not self._recorder.done:
                self._end(abandoned=True)

    def close(self) -> None:
        if not self._recorder.done:
            self._end(abandoned=True)
        self._inner.close()

    def _end(self, error: BaseException | None = None, abandoned: bool = False) -> None:
        self._finalizer.detach()
        self._recorder.finish(error, abandoned)

    def __getattr__(self, name: str) -> Any:
        if name in _OWN or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<traced {self._inner!r}>"


class TracedAsyncStream(AsyncStream[_T]):
    """An asynchronous ``openai.AsyncStream`` that records its chunks on a span."""

    def __init__(self, inner: AsyncStream[_T], recorder: StreamRecorder) -> None:
        self._inner = inner
        self._recorder = recorder
        self._finalizer = weakref.finalize(self, recorder.abandon)

    async def __anext__(self) -> _T:
        try:
            item = await self._inner.__anext__()
        except StopAsyncIteration:
            self._end()
            raise
        except BaseException as error:
            self._end(error)
            raise
        self._recorder.add(item)
        return item

    async def __aiter__(self) -> AsyncIterator[_T]:
        try:
            while True:
                try:
                    item = await self.__anext__()
                except StopAsyncIteration:
                    return
                yield item
        finally:  # the event loop closes an abandoned async generator
            if not self._recorder.done:
                self._end(abandoned=True)

    async def close(self) -> None:
        if not self._recorder.done:
            self._end(abandoned=True)
        await self._inner.close()

    async def aclose(self) -> None:
        await self.close()

    def _end(self, error: BaseException | None = None, abandoned: bool = False) -> None:
        self._finalizer.detach()
        self._recorder.finish(error, abandoned)

    def __getattr__(self, name: str) -> Any:
        if name in _OWN or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"<traced {self._inner!r}>"
