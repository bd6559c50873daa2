"""Context propagation into ``ThreadPoolExecutor`` workers.

A function submitted from inside a span or a ``tracing.context(...)`` block runs in a copy of the
submitting context, so its spans become children of that span and the block's switches and
metadata hold there too (MLflow makes them separate traces). Installed when the first span
starts, which keeps ``import lanterna`` from loading ``concurrent.futures``. Switch it off with
``LANTERNA_PROPAGATE_TO_THREADS=false`` or ``tracing.configure(propagate_to_threads=False)``.
"""

from __future__ import annotations

import contextvars

from lanterna.tracing import runtime
from lanterna.tracing.context import current_span, scope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from concurrent.futures import ThreadPoolExecutor

    original = ThreadPoolExecutor.submit

    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if runtime.config.propagate_to_threads and (
            current_span.get() is not None or scope.get() is not None
        ):
            return original(self, contextvars.copy_context().run, fn, *args, **kwargs)
        return original(self, fn, *args, **kwargs)

    submit.__doc__ = original.__doc__
    submit.__wrapped__ = original  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]
    _installed = True


runtime.on_first_span(install)
