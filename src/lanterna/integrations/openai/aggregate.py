"""Rebuilding the final response from streamed chunks, one chunk at a time.

Each accumulator keeps only what the final response needs (text pieces, tool-call pieces,
finish reasons, usage), so a stream the caller abandons still yields a useful partial answer.
Chunks are read with ``field`` (never by attribute access that could raise), because a server
may stream any shape.
"""

from __future__ import annotations

from typing import Any, Protocol

from lanterna.integrations.openai.extract import (
    CHAT,
    COMPLETIONS,
    RESPONSES,
    Kind,
    as_int,
    dump,
    field,
)

_TOP_FIELDS = ("id", "created", "model", "system_fingerprint", "service_tier")
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class Accumulator(Protocol):
    def add(self, chunk: Any) -> None: ...

    def result(self) -> Any:
        """The final response as a dict (what the non-streaming call would have returned)."""


def accumulator_for(kind: Kind) -> Accumulator:
    if kind is CHAT:
        return ChatAccumulator()
    if kind is COMPLETIONS:
        return CompletionAccumulator()
    if kind is RESPONSES:
        return ResponsesAccumulator()
    return _LastChunk()


def _index(value: Any, default: int) -> int:
    index = as_int(value)
    return default if index is None else index


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class _Top:
    """Top-level fields (id, model...) and usage: the last non-null value of each wins."""

    def __init__(self) -> None:
        self.top: dict[str, Any] = {}
        self.last_usage: Any = None
        self.identified = False  # id and model seen: later chunks only repeat them

    def take(self, chunk: Any) -> None:
        if not self.identified:
            for key in _TOP_FIELDS:
                value = field(chunk, key)
                if value is not None:
                    self.top[key] = value
            self.identified = "id" in self.top and "model" in self.top
        usage = field(chunk, "usage")
        if usage is not None:
            self.last_usage = usage


class _Choice:
    __slots__ = ("role", "content", "refusal", "tool_calls", "function_call", "finish_reason")

    def __init__(self) -> None:
        self.role: Any = None
        self.content: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, dict[str, Any]] = {}
        self.function_call: dict[str, str] | None = None
        self.finish_reason: Any = None

    def add_delta(self, delta: Any) -> None:
        role = field(delta, "role")
        if role is not None:
            self.role = role
        content = field(delta, "content")
        if isinstance(content, str):
            self.content.append(content)
        elif isinstance(content, list):  # a list of content parts: keep the text ones
            self.content.extend(_text(field(part, "text")) for part in content
                                if field(part, "type") == "text")
        if isinstance(refusal := field(delta, "refusal"), str):
            self.refusal.append(refusal)
        calls = field(delta, "tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else ()):
            self._add_tool_call(call, _index(field(call, "index"), position))
        function_call = field(delta, "function_call")
        if function_call is not None:
            merged = self.function_call or {"name": "", "arguments": ""}
            merged["name"] += _text(field(function_call, "name"))
            merged["arguments"] += _text(field(function_call, "arguments"))
            self.function_call = merged

    def _add_tool_call(self, call: Any, index: int) -> None:
        entry = self.tool_calls.setdefault(
            index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if field(call, "id") is not None:
            entry["id"] = field(call, "id")
        if field(call, "type") is not None:
            entry["type"] = field(call, "type")
        function = field(call, "function")
        if function is not None:
            entry["function"]["name"] += _text(field(function, "name"))
            entry["function"]["arguments"] += _text(field(function, "arguments"))

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": self.role or "assistant",
            "content": "".join(self.content) if self.content else None,
        }
        if self.refusal:
            message["refusal"] = "".join(self.refusal)
        if self.tool_calls:
            message["tool_calls"] = [self.tool_calls[i] for i in sorted(self.tool_calls)]
        if self.function_call is not None:
            message["function_call"] = self.function_call
        return message


class ChatAccumulator(_Top):
    """``chat.completion.chunk`` events → a ``chat.completion`` dict."""

    def __init__(self) -> None:
        super().__init__()
        self.choices: dict[int, _Choice] = {}

    def add(self, chunk: Any) -> None:
        self.take(chunk)
        choices = field(chunk, "choices")
        for position, choice in enumerate(choices if isinstance(choices, list) else ()):
            index = _index(field(choice, "index"), position)
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _Choice()
            delta = field(choice, "delta")
            if delta is not None:
                state.add_delta(delta)
            finish = field(choice, "finish_reason")
            if finish is not None:
                state.finish_reason = finish

    def result(self) -> dict[str, Any]:
        choices = [
            {"index": i, "message": c.message(), "finish_reason": c.finish_reason}
            for i, c in sorted(self.choices.items())
        ]
        return {
            "id": self.top.get("id"),
            "object": "chat.completion",
            "created": self.top.get("created"),
            "model": self.top.get("model"),
            **{k: self.top[k] for k in ("system_fingerprint", "service_tier") if k in self.top},
            "choices": choices,
            "usage": dump(self.last_usage),
        }


class CompletionAccumulator(_Top):
    """Legacy ``text_completion`` chunks → one ``text_completion`` dict."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: dict[int, list[str]] = {}
        self.finish: dict[int, Any] = {}
        self.first_texts: list[str] = []  # choices[0].text of each chunk, in order

    def add(self, chunk: Any) -> None:
        self.take(chunk)
        choices = field(chunk, "choices")
        if isinstance(choices, list) and choices:
            self.first_texts.append(_text(field(choices[0], "text")))
        for position, choice in enumerate(choices if isinstance(choices, list) else ()):
            index = _index(field(choice, "index"), position)
            pieces = self.texts.setdefault(index, [])
            if isinstance(text := field(choice, "text"), str):
                pieces.append(text)
            if field(choice, "finish_reason") is not None:
                self.finish[index] = field(choice, "finish_reason")

    def result(self) -> dict[str, Any]:
        choices = [
            {"index": i, "text": "".join(p), "finish_reason": self.finish.get(i), "logprobs": None}
            for i, p in sorted(self.texts.items())
        ]
        return {
            "id": self.top.get("id"),
            "object": "text_completion",
            "created": self.top.get("created"),
            "model": self.top.get("model"),
            "choices": choices,
            "usage": dump(self.last_usage),
        }

    def outputs(self, result: dict[str, Any]) -> Any:
        """What the span records as outputs: the streamed text joined, as MLflow records a
        streamed legacy completion (model and usage still come from ``result``)."""
        return "".join(self.first_texts)


class ResponsesAccumulator:
    """Responses API stream events → the final ``response``.

    The ``response.completed`` (or ``incomplete``/``failed``) event carries the whole answer;
    without it (an abandoned or broken stream) the answer is rebuilt from the latest response
    snapshot, the finished output items, and the text and argument deltas of unfinished ones.
    """

    def __init__(self) -> None:
        self.final: Any = None
        self.snapshot: Any = None
        self.items: dict[int, Any] = {}
        self.done: set[int] = set()
        self.texts: dict[int, list[str]] = {}
        self.arguments: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        kind = field(event, "type")
        response = field(event, "response")
        if response is not None:
            if kind in _FINAL_EVENTS:
                self.final = response
            else:
                self.snapshot = response
            return
        index = _index(field(event, "output_index"), 0)
        if kind in ("response.output_item.added", "response.output_item.done"):
            self.items[index] = field(event, "item")
            if kind == "response.output_item.done":
                self.done.add(index)
        elif kind == "response.output_text.delta":
            self.texts.setdefault(index, []).append(_text(field(event, "delta")))
        elif kind == "response.function_call_arguments.delta":
            self.arguments.setdefault(index, []).append(_text(field(event, "delta")))

    def result(self) -> Any:
        if self.final is not None:
            return dump(self.final)
        base = dump(self.snapshot) if self.snapshot is not None else {}
        base = dict(base) if isinstance(base, dict) else {}
        base["output"] = [self._item(i) for i in sorted(self.items)]
        return base

    def _item(self, index: int) -> Any:
        item = dump(self.items[index])
        if index in self.done or not isinstance(item, dict):
            return item
        item = dict(item)
        if index in self.texts:
            text = "".join(self.texts[index])
            item["content"] = [{"type": "output_text", "text": text, "annotations": []}]
        if index in self.arguments:
            item["arguments"] = "".join(self.arguments[index])
        return item


class _LastChunk(_Top):
    """Fallback for streams of an unknown kind: the last chunk is the result."""

    def __init__(self) -> None:
        super().__init__()
        self.last: Any = None

    def add(self, chunk: Any) -> None:
        self.take(chunk)
        self.last = chunk

    def result(self) -> Any:
        return dump(self.last)
