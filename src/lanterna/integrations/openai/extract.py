"""What a span records about an OpenAI call: inputs, attributes, outputs, token usage, tools.

Everything here reads responses defensively (``getattr`` with defaults, type checks on every
number): the ``openai`` client builds its models without validation, so a server or proxy can
hand back any shape, and none of it may break the caller's request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lanterna.entities import SpanAttributeKey, SpanType

MESSAGE_FORMAT = "openai"
_SENTINELS = frozenset({"NotGiven", "Omit"})  # openai's "argument not given" markers
_SENSITIVE_HEADER = re.compile(r"auth|api[-_]?key|cookie|secret|token", re.IGNORECASE)
_TOOL_FIELDS = ("name", "description", "parameters", "strict")


@dataclass(frozen=True)
class Kind:
    """One family of patched methods and how its spans look."""

    name: str
    span_type: str
    content_keys: frozenset[str]  # call kwargs kept out of the span's attributes
    message_format: bool = True


CHAT = Kind("chat", SpanType.CHAT_MODEL, frozenset({"messages"}))
COMPLETIONS = Kind("completions", SpanType.LLM, frozenset({"prompt"}))
EMBEDDINGS = Kind("embeddings", SpanType.EMBEDDING, frozenset({"input"}), message_format=False)
RESPONSES = Kind("responses", SpanType.CHAT_MODEL, frozenset({"input"}))


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` for dicts, ``obj.name`` otherwise; None when absent. (On the per-chunk
    path: a dict check, not an ABC ``Mapping`` check, which costs several times more.)"""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def call_inputs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keyword arguments, without openai's "not given" markers and with the values
    of credential-looking ``extra_headers`` replaced (those must never reach a trace store)."""
    inputs = {k: v for k, v in kwargs.items() if type(v).__name__ not in _SENTINELS}
    headers = inputs.get("extra_headers")
    if isinstance(headers, Mapping) and any(_SENSITIVE_HEADER.search(str(k)) for k in headers):
        inputs["extra_headers"] = {
            k: "<redacted>" if _SENSITIVE_HEADER.search(str(k)) else v for k, v in headers.items()
        }
    return inputs


def call_attributes(kind: Kind, inputs: dict[str, Any]) -> dict[str, Any]:
    """Request parameters (all inputs but the messages), model, message format and tools."""
    attributes = {k: v for k, v in inputs.items() if k not in kind.content_keys}
    model = inputs.get("model")
    if isinstance(model, str):
        attributes[SpanAttributeKey.LLM_MODEL] = model
    if kind.message_format:
        attributes[SpanAttributeKey.MESSAGE_FORMAT] = MESSAGE_FORMAT
    tools = normalise_tools(inputs.get("tools"), inputs.get("functions"))
    if tools:
        attributes[SpanAttributeKey.CHAT_TOOLS] = tools
    return attributes


def normalise_tools(tools: Any, functions: Any = None) -> list[dict[str, Any]]:
    """Tools in one shape, ``{"type": "function", "function": {name, description, ...}}``.

    Chat tools nest the function, Responses tools are flat, the deprecated ``functions``
    argument lists bare functions, and built-in tools (``web_search_preview``,
    ``file_search``...) become functions named after their type.
    """
    normalised: list[dict[str, Any]] = []
    for tool in _iterable(tools):
        tool = _plain(tool)
        if not isinstance(tool, Mapping):
            continue
        kind = tool.get("type")
        if kind == "function":
            nested = tool.get("function")
            spec = nested if isinstance(nested, Mapping) else tool
            normalised.append({"type": "function", "function": _function(spec)})
        elif isinstance(kind, str):
            spec = {"name": tool.get("name") or kind, "description": tool.get("description")}
            normalised.append({"type": "function", "function": _function(spec)})
    for function in _iterable(functions):
        function = _plain(function)
        if isinstance(function, Mapping):
            normalised.append({"type": "function", "function": _function(function)})
    return normalised


def _iterable(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return []


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return dump()
    return value


def _function(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in _TOOL_FIELDS if spec.get(k) is not None}


def token_usage(usage: Any, kind: Kind) -> dict[str, int] | None:
    """OpenAI usage (chat/legacy ``prompt_tokens``..., Responses ``input_tokens``...) as
    MLflow's ``{"input_tokens", "output_tokens", "total_tokens"}``; None if nothing usable."""
    if usage is None:
        return None
    prompt = as_int(field(usage, "input_tokens"))
    if prompt is None:
        prompt = as_int(field(usage, "prompt_tokens"))
    completion = as_int(field(usage, "output_tokens"))
    if completion is None:
        completion = as_int(field(usage, "completion_tokens"))
    if completion is None and kind is EMBEDDINGS and prompt is not None:
        completion = 0
    total = as_int(field(usage, "total_tokens"))
    if total is None and prompt is not None and completion is not None:
        total = prompt + completion
    result: dict[str, int] = {}
    for key, value in (
        ("input_tokens", prompt),
        ("output_tokens", completion),
        ("total_tokens", total),
    ):
        if value is not None:
            result[key] = value
    details = field(usage, "input_tokens_details") or field(usage, "prompt_tokens_details")
    cached = as_int(field(details, "cached_tokens")) if details is not None else None
    if cached:
        result["cache_read_input_tokens"] = cached
    return result or None


def result_attributes(kind: Kind, outputs: Any) -> dict[str, Any]:
    """Attributes known once the answer (as a dict) is in: the model that answered and the
    token usage."""
    if not isinstance(outputs, Mapping):
        return {}
    attributes: dict[str, Any] = {}
    model = outputs.get("model")
    if isinstance(model, str) and model:
        attributes[SpanAttributeKey.LLM_MODEL] = model
    tokens = token_usage(outputs.get("usage"), kind)
    if tokens is not None:
        attributes[SpanAttributeKey.CHAT_USAGE] = tokens
    return attributes


def dump(obj: Any, exclude_unset: bool = False) -> Any:
    """A pydantic response as a JSON-able dict, without serializer warnings (a response of an
    unexpected shape must not print warnings into the user's program); other values as is."""
    model_dump = getattr(obj, "model_dump", None)
    if not callable(model_dump) or isinstance(obj, type):
        return obj
    try:
        return model_dump(mode="json", by_alias=True, exclude_unset=exclude_unset, warnings=False)
    except (TypeError, ValueError):  # pydantic v1 under openai's compatibility layer
        return model_dump(by_alias=True, exclude_unset=exclude_unset)


def dump_json(obj: Any) -> str | None:
    """The JSON text of a streamed chunk as it came over the wire (fields the server sent)."""
    to_json = getattr(obj, "model_dump_json", None)
    if not callable(to_json):
        return None
    try:
        return str(to_json(by_alias=True, exclude_unset=True, warnings=False))
    except (TypeError, ValueError):
        return str(to_json(by_alias=True, exclude_unset=True))
