"""Turning a call's arguments into span inputs, decided once per decorated function."""

from __future__ import annotations

import inspect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    InputBinder = Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]

_SIMPLE_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def make_binder(func: Callable[..., Any]) -> InputBinder:
    """A function from (args, kwargs) to the bound arguments with defaults, minus self/cls.

    Plain signatures get a fast path (a zip and a dict update); anything with ``*args``,
    ``**kwargs`` or positional-only parameters goes through ``Signature.bind``.
    """
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return _fallback_binder
    params = list(signature.parameters.values())
    skip_first = bool(params) and params[0].name in ("self", "cls")
    names = tuple(p.name for p in params)
    positional = tuple(
        p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    )
    defaults = tuple((p.name, p.default) for p in params if p.default is not p.empty)
    dropped = names[0] if skip_first else None

    if all(p.kind in _SIMPLE_KINDS for p in params):
        count = len(names)

        def bind_fast(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            if len(args) > len(positional):
                return _bind_slow(signature, args, kwargs, dropped)
            bound = dict(zip(positional, args, strict=False))
            if kwargs:
                bound.update(kwargs)
            if len(bound) < count:
                for name, default in defaults:
                    if name not in bound:
                        bound[name] = default
            if dropped is not None:
                bound.pop(dropped, None)
            return bound

        return bind_fast

    def bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        return _bind_slow(signature, args, kwargs, dropped)

    return bind


def _bind_slow(
    signature: inspect.Signature,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    dropped: str | None,
) -> dict[str, Any]:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:  # the call itself will fail the same way; record what was passed
        return _fallback_binder(args, kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    if dropped is not None:
        arguments.pop(dropped, None)
    return arguments


def _fallback_binder(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}
