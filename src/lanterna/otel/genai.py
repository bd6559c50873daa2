"""OpenTelemetry GenAI attributes for lanterna spans, so other OTLP backends render them.

lanterna spans keep MLflow's attributes (``mlflow.spanType``, ``mlflow.spanInputs``...); on
OTLP export they also carry the GenAI semantic conventions for the span kinds those cover:
LLM, chat, embedding, tool, agent and retriever spans. Messages are written in the GenAI
"parts" shape (``[{"role", "parts": [{"type": "text", "content"}...]}]``) as JSON text, which is
how the conventions put structured values on span attributes. Pure Python, no OTel import.
"""

from __future__ import annotations

import contextlib
import json

from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.span_type import SpanType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_OPERATIONS = {
    SpanType.CHAT_MODEL: "chat",
    SpanType.EMBEDDING: "embeddings",
    SpanType.TOOL: "execute_tool",
    SpanType.AGENT: "invoke_agent",
    SpanType.RETRIEVER: "retrieval",
}

#: Span types whose OTLP span kind is CLIENT (a call to a model provider).
CLIENT_TYPES = frozenset({SpanType.LLM, SpanType.CHAT_MODEL, SpanType.EMBEDDING})


def genai_attributes(span: Span) -> dict[str, str | int | list[str]]:
    """The GenAI attributes of ``span`` (empty for span types the conventions do not cover).
    Never raises on odd inputs or outputs: what cannot be mapped is left out."""
    span_type = span.span_type
    inputs, outputs = span.inputs, span.outputs
    attributes = span.own_attributes
    if span_type == SpanType.LLM:
        operation = "chat" if _messages_in(inputs) is not None else "text_completion"
    else:
        operation = _OPERATIONS.get(span_type, "")
    if not operation:
        return {}
    result: dict[str, Any] = {"gen_ai.operation.name": operation}
    if span_type in CLIENT_TYPES:
        _model_fields(result, inputs, outputs, attributes)
    if operation in ("chat", "text_completion"):
        _chat_fields(result, inputs, outputs)
    elif span_type == SpanType.TOOL:
        result["gen_ai.tool.name"] = span.name
        if inputs is not None:
            result["gen_ai.tool.call.arguments"] = _json(inputs)
        if outputs is not None:
            result["gen_ai.tool.call.result"] = _json(outputs)
    elif span_type == SpanType.AGENT:
        result["gen_ai.agent.name"] = span.name
    elif span_type == SpanType.RETRIEVER:
        query = _retrieval_query(inputs)
        if query is not None:
            result["gen_ai.retrieval.query.text"] = query
        if outputs is not None:
            result["gen_ai.retrieval.documents"] = _json(_documents(outputs))
    return result


def _model_fields(
    result: dict[str, Any], inputs: Any, outputs: Any, attributes: dict[str, Any]
) -> None:
    model = attributes.get(SpanAttributeKey.LLM_MODEL)
    requested = inputs.get("model") if isinstance(inputs, dict) else None
    responded = outputs.get("model") if isinstance(outputs, dict) else None
    if requested or model:
        result["gen_ai.request.model"] = str(requested or model)
    if responded or model:
        result["gen_ai.response.model"] = str(responded or model)
    provider = attributes.get(SpanAttributeKey.LLM_PROVIDER)
    if provider:
        result["gen_ai.provider.name"] = str(provider)
    usage = attributes.get(SpanAttributeKey.CHAT_USAGE)
    if not isinstance(usage, dict) and isinstance(outputs, dict):
        usage = _usage_from_response(outputs.get("usage"))
    if isinstance(usage, dict):
        for source, target in (("input_tokens", "gen_ai.usage.input_tokens"),
                               ("output_tokens", "gen_ai.usage.output_tokens")):
            value = usage.get(source)
            if isinstance(value, int) and not isinstance(value, bool):
                result[target] = value
    if isinstance(outputs, dict):
        if isinstance(outputs.get("id"), str):
            result["gen_ai.response.id"] = outputs["id"]
        reasons = [c.get("finish_reason") for c in _choices(outputs)]
        if any(isinstance(r, str) for r in reasons):
            result["gen_ai.response.finish_reasons"] = [str(r) for r in reasons if r]


def _usage_from_response(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    return {
        "input_tokens": usage.get("input_tokens", usage.get("prompt_tokens")),
        "output_tokens": usage.get("output_tokens", usage.get("completion_tokens")),
    }


def _chat_fields(result: dict[str, Any], inputs: Any, outputs: Any) -> None:
    messages = _messages_in(inputs)
    if messages is not None:
        system = [_text(m.get("content")) for m in messages if m.get("role") == "system"]
        if system:
            result["gen_ai.system_instructions"] = _json(
                [{"type": "text", "content": text} for text in system])
        result["gen_ai.input.messages"] = _json(
            [_message(m) for m in messages if m.get("role") != "system"])
    elif isinstance(inputs, dict) and isinstance(inputs.get("prompt"), str):
        result["gen_ai.input.messages"] = _json(
            [{"role": "user", "parts": [{"type": "text", "content": inputs["prompt"]}]}])
    output_messages = _output_messages(outputs)
    if output_messages:
        result["gen_ai.output.messages"] = _json(output_messages)


def _messages_in(inputs: Any) -> list[dict[str, Any]] | None:
    messages = inputs.get("messages") if isinstance(inputs, dict) else inputs
    if isinstance(messages, list) and messages and all(
            isinstance(m, dict) and "role" in m for m in messages):
        return messages
    return None


def _message(message: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-style chat message in GenAI's parts shape."""
    role = str(message.get("role"))
    parts: list[dict[str, Any]] = []
    if role == "tool":
        parts.append({"type": "tool_call_response", "id": message.get("tool_call_id"),
                      "result": _text(message.get("content"))})
    else:
        content = message.get("content")
        if content not in (None, ""):
            parts.append({"type": "text", "content": _text(content)})
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = call.get("function") or {}
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            with contextlib.suppress(ValueError):
                arguments = json.loads(arguments)
        parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                      "arguments": arguments})
    return {"role": role, "parts": parts}


def _choices(outputs: dict[str, Any]) -> list[dict[str, Any]]:
    choices = outputs.get("choices")
    if isinstance(choices, list):
        return [c for c in choices if isinstance(c, dict)]
    return []


def _output_messages(outputs: Any) -> list[dict[str, Any]]:
    if isinstance(outputs, str):
        return [{"role": "assistant", "parts": [{"type": "text", "content": outputs}],
                 "finish_reason": "stop"}]
    if not isinstance(outputs, dict):
        return []
    messages = []
    for choice in _choices(outputs):
        message = choice.get("message")
        if isinstance(message, dict):
            shaped = _message({"role": "assistant", **message})
        elif isinstance(choice.get("text"), str):  # completions API
            shaped = {"role": "assistant", "parts": [{"type": "text", "content": choice["text"]}]}
        else:
            continue
        shaped["finish_reason"] = choice.get("finish_reason") or "stop"
        messages.append(shaped)
    if not messages and isinstance(outputs.get("output_text"), str):  # responses API
        messages.append({"role": "assistant", "finish_reason": "stop",
                         "parts": [{"type": "text", "content": outputs["output_text"]}]})
    return messages


def _retrieval_query(inputs: Any) -> str | None:
    if isinstance(inputs, str):
        return inputs
    if isinstance(inputs, dict):
        for key in ("query", "question", "input"):
            if isinstance(inputs.get(key), str):
                return str(inputs[key])
    return None


def _documents(outputs: Any) -> Any:
    if not isinstance(outputs, list):
        return outputs
    documents = []
    for item in outputs:
        if isinstance(item, dict) and "page_content" in item:
            document = {"id": item.get("id"), "content": item.get("page_content")}
            metadata = item.get("metadata") or {}
            if isinstance(metadata, dict) and "score" in metadata:
                document["score"] = metadata["score"]
            if metadata:
                document["metadata"] = metadata
            documents.append(document)
        else:
            documents.append(item)
    return documents


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)  # type: ignore[arg-type]
    return _json(content)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
