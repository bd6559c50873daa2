"""``@trace``: one wrapper per kind of function, chosen once at decoration time."""

from __future__ import annotations

import functools

from lanterna import _errors
from lanterna.entities._values import snapshot
from lanterna.entities.span import LiveSpan, NoOpSpan, SpanAttributeKey
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_type import SpanType
from lanterna.exceptions import MlflowException
from lanterna.settings import setting
from lanterna.tracing import runtime
from lanterna.tracing.context import current_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Generator
    from typing import Any, TypeVar, overload

    from lanterna.entities.span_link import Link

    F = TypeVar("F", bound=Callable[..., Any])
else:  # typing stays unimported at run time; the last definition below is the real one

    def overload(func: object) -> object:
        return func


CHUNK_EVENT = "mlflow.chunk.item.{}"
CHUNK_VALUE = "mlflow.chunk.value"


@overload
def trace(func: F) -> F: ...
@overload
def trace(  # noqa: F811
    func: None = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    sampling_ratio_override: float | None = None,
    links: list[Link] | None = None,
    **ignored: Any,
) -> Callable[[F], F]: ...


def trace(  # noqa: F811
    func: Any = None,
    *,
    name: str | None = None,
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    output_reducer: Callable[[list[Any]], Any] | None = None,
    sampling_ratio_override: float | None = None,
    links: list[Link] | None = None,
    **ignored: Any,
) -> Any:
    """Trace every call of a function: bare ``@trace``, ``@trace(...)`` or ``trace(fn)``."""
    if sampling_ratio_override is not None and not 0.0 <= sampling_ratio_override <= 1.0:
        raise MlflowException(
            f"sampling_ratio_override must be between 0.0 and 1.0, got {sampling_ratio_override}."
        )

    def decorate(target: Any) -> Any:
        if isinstance(target, (classmethod, staticmethod)):
            return type(target)(decorate(target.__func__))
        if getattr(target, "__lanterna_traced__", False):
            return target
        return _wrap(target, name, span_type, attributes, output_reducer, sampling_ratio_override,
                     links)

    return decorate(func) if func is not None else decorate


def _wrap(
    fn: Callable[..., Any],
    name: str | None,
    span_type: str,
    attributes: dict[str, Any] | None,
    output_reducer: Callable[[list[Any]], Any] | None,
    ratio: float | None,
    links: list[Link] | None = None,
) -> Callable[..., Any]:
    import inspect

    from lanterna.tracing.inputs import make_binder

    span_name: str = name or str(getattr(fn, "__name__", "span"))
    bind = make_binder(fn)
    base_attributes = {SpanAttributeKey.FUNCTION_NAME: getattr(fn, "__name__", span_name)}
    base_attributes.update(attributes or {})
    is_generator = inspect.isgeneratorfunction(fn)
    is_async_generator = inspect.isasyncgenfunction(fn)
    if output_reducer is not None and not (is_generator or is_async_generator):
        raise MlflowException(
            "output_reducer only applies to generator functions; "
            f"{span_name!r} is not a generator. Remove output_reducer."
        )

    # The decorator's attributes are the same on every call: snapshot them once, copy per call.
    base_snapshot = {str(k): snapshot(v) for k, v in base_attributes.items()}
    plain = not any(key.startswith("mlflow.span") and key != SpanAttributeKey.FUNCTION_NAME
                    for key in base_snapshot)

    def open_span(args: tuple[Any, ...], kwargs: dict[str, Any]) -> LiveSpan | NoOpSpan:
        try:
            span = runtime.start_span(
                span_name, span_type, current_span.get(), bind(args, kwargs),
                None if plain else base_attributes, None, ratio,
            )
            if plain and span.__class__ is LiveSpan:
                span._attributes = base_snapshot.copy()  # type: ignore[union-attr]
            if links:
                runtime.add_links(span, links)
            return span
        except Exception as exc:
            _errors.report(exc, f"starting span {span_name!r}")
            return runtime.NOOP_SPAN

    wrapper: Callable[..., Any]
    if is_generator:
        wrapper = _generator_wrapper(fn, open_span, output_reducer)
    elif is_async_generator:
        wrapper = _async_generator_wrapper(fn, open_span, output_reducer)
    elif inspect.iscoroutinefunction(fn):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not runtime.tracing_active():
                return await fn(*args, **kwargs)
            span = open_span(args, kwargs)
            token = current_span.set(span)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                current_span.reset(token)
                _end_with_error(span, exc)
                raise
            current_span.reset(token)
            _end_ok(span, result)
            return result

        wrapper = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            if not runtime.tracing_active():
                return fn(*args, **kwargs)
            span = open_span(args, kwargs)
            token = current_span.set(span)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                current_span.reset(token)
                _end_with_error(span, exc)
                raise
            current_span.reset(token)
            _end_ok(span, result)
            return result

        wrapper = sync_wrapper
    functools.update_wrapper(wrapper, fn)
    wrapper.__signature__ = inspect.signature(fn)  # type: ignore[union-attr]
    wrapper.__lanterna_traced__ = True  # type: ignore[union-attr]
    return wrapper


def _end_ok(span: LiveSpan | NoOpSpan, result: Any) -> None:
    if span.__class__ is not LiveSpan:
        return
    try:
        live: LiveSpan = span  # type: ignore[assignment]
        if live._end_ns is None:
            if not live._outputs_set:
                live.set_outputs(result)
            live._close(None)
    except Exception as exc:
        _errors.report(exc, "ending span")


def _end_with_error(span: LiveSpan | NoOpSpan, error: BaseException) -> None:
    if span.__class__ is not LiveSpan:
        return
    try:
        live: LiveSpan = span  # type: ignore[assignment]
        if live._end_ns is None:
            live.record_exception(error)
            live._close(None)
    except Exception as exc:
        _errors.report(exc, "ending span")


#: The attribute counting the items of a traced generator recorded without an event.
OMITTED_EVENTS_ATTRIBUTE = "lanterna.omittedChunkEvents"
_max_events: list[int] = []


def _max_chunk_events() -> int:
    if not _max_events:
        _max_events.append(int(setting("max_stream_events")))
    return _max_events[0]


class _Chunks:
    """What a traced generator yielded so far; the first ``LANTERNA_MAX_STREAM_EVENTS`` items
    also become span events (the rest are counted on the span; the output keeps them all)."""

    __slots__ = ("span", "items", "omitted")

    def __init__(self, span: LiveSpan | NoOpSpan) -> None:
        self.span = span
        self.items: list[Any] = []
        self.omitted = 0

    def add(self, item: Any) -> None:
        if self.span.__class__ is not LiveSpan:
            return
        try:
            if len(self.items) < _max_chunk_events():
                self.span.add_event(SpanEvent(CHUNK_EVENT.format(len(self.items)),
                                              attributes={CHUNK_VALUE: item}))
            else:
                self.omitted += 1
            self.items.append(item)
        except Exception as exc:
            _errors.report(exc, "recording a generator item")

    def finish(self, reducer: Callable[[list[Any]], Any] | None) -> None:
        span = self.span
        if span.__class__ is not LiveSpan or span._end_ns is not None:  # type: ignore[union-attr]
            return
        try:
            if self.omitted:
                span.set_attribute(OMITTED_EVENTS_ATTRIBUTE, self.omitted)
            output: Any = self.items
            if reducer is not None:
                try:
                    output = reducer(self.items)
                except Exception as exc:
                    _errors.report(exc, "output_reducer")
            _end_ok(span, output)
        except Exception as exc:
            _errors.report(exc, "ending generator span")


def _generator_wrapper(
    fn: Callable[..., Generator[Any, Any, Any]],
    open_span: Callable[[tuple[Any, ...], dict[str, Any]], LiveSpan | NoOpSpan],
    reducer: Callable[[list[Any]], Any] | None,
) -> Callable[..., Generator[Any, Any, Any]]:
    """The span covers the whole iteration and is current only while the body runs. It ends
    on exhaustion, on error, and on ``close()``/``break``/garbage collection (GeneratorExit)."""

    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        if not runtime.tracing_active():
            return (yield from fn(*args, **kwargs))
        span = open_span(args, kwargs)
        chunks = _Chunks(span)
        token = current_span.set(span)
        try:
            inner = fn(*args, **kwargs)
        finally:
            current_span.reset(token)
        sent: Any = None
        try:
            while True:
                token = current_span.set(span)
                try:
                    item = inner.send(sent)
                except StopIteration as stop:
                    chunks.finish(reducer)
                    return stop.value
                finally:
                    current_span.reset(token)
                chunks.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    inner.close()
                    raise
                except BaseException as thrown:
                    token = current_span.set(span)
                    try:
                        item = inner.throw(thrown)
                    finally:
                        current_span.reset(token)
                    chunks.add(item)
                    sent = yield item
        except GeneratorExit:
            chunks.finish(reducer)
            raise
        except BaseException as exc:
            _end_with_error(span, exc)
            raise
        finally:
            chunks.finish(reducer)

    return wrapper


def _async_generator_wrapper(
    fn: Callable[..., AsyncGenerator[Any, Any]],
    open_span: Callable[[tuple[Any, ...], dict[str, Any]], LiveSpan | NoOpSpan],
    reducer: Callable[[list[Any]], Any] | None,
) -> Callable[..., AsyncGenerator[Any, Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        if not runtime.tracing_active():
            async for item in fn(*args, **kwargs):
                yield item
            return
        span = open_span(args, kwargs)
        chunks = _Chunks(span)
        token = current_span.set(span)
        try:
            inner = fn(*args, **kwargs)
        finally:
            current_span.reset(token)
        sent: Any = None
        try:
            while True:
                token = current_span.set(span)
                try:
                    item = await inner.asend(sent)
                except StopAsyncIteration:
                    chunks.finish(reducer)
                    return
                finally:
                    current_span.reset(token)
                chunks.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    await inner.aclose()
                    raise
                except BaseException as thrown:
                    token = current_span.set(span)
                    try:
                        item = await inner.athrow(thrown)
                    finally:
                        current_span.reset(token)
                    chunks.add(item)
                    sent = yield item
        except GeneratorExit:
            chunks.finish(reducer)
            raise
        except BaseException as exc:
            # A consumer cancelled while waiting on the stream stopped early; it's no error.
            if type(exc).__name__ != "CancelledError":
                _end_with_error(span, exc)
            raise
        finally:
            chunks.finish(reducer)

    return wrapper
