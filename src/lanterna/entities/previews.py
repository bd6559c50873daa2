"""What a trace's info shows of its spans: request/response previews and summed token usage.

Shared by the exporter (traces recorded here) and the store's ingest (spans that arrive over
OTLP or from MLflow clients), so both derive the same info from a root span.
"""

from __future__ import annotations

from lanterna.entities._values import encode_attribute
from lanterna.entities.span import Span, SpanAttributeKey

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


PREVIEW_CHARS = 1000
_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def sum_token_usage(spans: Iterable[Span]) -> dict[str, int] | None:
    totals: dict[str, int] = {}
    key = SpanAttributeKey.CHAT_USAGE
    for span in spans:  # every exported trace's every span: no call for spans without usage
        usage = span.own_attributes.get(key)
        if usage is not None:
            add_token_usage(totals, usage)
    if not totals:
        return None
    for key in _USAGE_KEYS:
        totals.setdefault(key, 0)
    return totals


def add_token_usage(totals: dict[str, int], usage: Any) -> None:
    """Adds one span's ``mlflow.chat.tokenUsage`` (a dict of counts) to ``totals``."""
    if not isinstance(usage, dict):
        return
    for key, value in usage.items():
        if isinstance(value, int) and not isinstance(value, bool):
            totals[key] = totals.get(key, 0) + value


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def request_preview(inputs: Any, as_json: str | None = None) -> str | None:
    """The last user message when the inputs look like a chat, else the inputs as JSON."""
    if inputs is None:
        return None
    message = _last_message(inputs, roles=("user",))
    if message is None:
        message = as_json if as_json is not None else encode_attribute(inputs)
    return truncate(message, PREVIEW_CHARS)


def response_preview(outputs: Any, as_json: str | None = None) -> str | None:
    """The assistant's answer when the outputs look like a chat response, else JSON."""
    if outputs is None:
        return None
    message = outputs if isinstance(outputs, str) else _last_message(outputs, ("assistant",))
    if message is None:
        message = as_json if as_json is not None else encode_attribute(outputs)
    return truncate(message, PREVIEW_CHARS)


def _last_message(payload: Any, roles: tuple[str, ...]) -> str | None:
    messages: Any = None
    if isinstance(payload, dict):
        if isinstance(payload.get("messages"), list):
            messages = payload["messages"]
        elif isinstance(payload.get("choices"), list) and payload["choices"]:
            choice = payload["choices"][0]
            if isinstance(choice, dict):
                message = choice.get("message")
                if isinstance(message, dict):
                    return _content_text(message.get("content"))
                if isinstance(choice.get("text"), str):
                    return str(choice["text"])
        elif isinstance(payload.get("output"), list):
            messages = [m for m in payload["output"] if isinstance(m, dict)]
        elif isinstance(payload.get("input"), list):
            messages = payload["input"]
        elif isinstance(payload.get("input"), str) and "user" in roles:  # Responses API
            return str(payload["input"])
    elif isinstance(payload, list) and payload and all(isinstance(m, dict) for m in payload):
        messages = payload
    if not messages:
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in roles:
            return _content_text(message.get("content"))
    return None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return "".join(parts) if parts else None
    return None
