"""Attribute conventions of other tracers, mapped to lanterna's span fields.

Spans that arrive over OTLP (or from OpenTelemetry instrumentation running in-process) describe
LLM calls in one of several vocabularies: OpenInference (Arize Phoenix), the OpenTelemetry GenAI
semantic conventions (current ``gen_ai.input.messages`` parts, the older indexed
``gen_ai.prompt.{i}`` keys and the legacy ``gen_ai.*.message`` events), OpenLLMetry
(``traceloop.*``) and Logfire. ``normalize_attributes`` reads them all and answers what lanterna
stores in its own fields: span type, inputs, outputs (chat messages in OpenAI's format,
retrieved documents), token usage, model, provider, session and user.

For every field the first source that has it wins, in this order: lanterna's (MLflow's) own
keys, OpenInference, GenAI, OpenLLMetry, Logfire. The raw attributes are always kept as they
came; the mapped values are added under MLflow's keys only where absent. The span type is set
only when the span has none (or ``UNKNOWN``).

Pure Python on plain values (attribute values already decoded from OTLP: str, int, float, bool,
lists, dicts; JSON text is parsed where a convention stores JSON), so the server's ingest and
the in-process SpanProcessor share it without importing OpenTelemetry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lanterna.entities.span import SpanAttributeKey
from lanterna.entities.span_type import SpanType
from lanterna.entities.trace_info import TraceMetadataKey


class _Missing:
    """Marks a field no convention provided (``None`` is a real input or output)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

#: Where a trace tag may be set from a span (MLflow's convention, root spans only).
TRACE_TAG_PREFIX = "mlflow.traceTag."


@dataclass
class Normalized:
    """What the conventions say about one span.

    ``inputs``/``outputs`` are ``MISSING`` when no convention provides them. ``attributes``
    holds every raw attribute plus the mapped MLflow keys (token usage, model, provider, message
    format, and the trace's session and user under ``mlflow.trace.session``/``.user``, from
    which the store fills the trace's info) where they were absent; the reserved
    type/inputs/outputs keys are left out, since they live in their own fields. ``pending``
    marks a Logfire start marker, which is not a real span. ``trace_tags`` come from
    ``mlflow.traceTag.*`` keys (applied from root spans).
    """

    name: str
    span_type: str | None = None
    inputs: Any = MISSING
    outputs: Any = MISSING
    token_usage: dict[str, int] | None = None
    model: str | None = None
    provider: str | None = None
    session_id: str | None = None
    user_id: str | None = None
    pending: bool = False
    tags: list[str] = field(default_factory=list)
    trace_tags: dict[str, str] = field(default_factory=dict)
    conventions: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)


#: Event = (name, attributes); legacy GenAI instrumentations put messages in span events.
Event = tuple[str, Mapping[str, Any]]


def normalize_attributes(
    attrs: Mapping[str, Any],
    name: str,
    events: Iterable[Event] = (),
    span_type: str | None = None,
) -> Normalized:
    """Map ``attrs`` (a span's attributes, values decoded) to lanterna's fields.

    ``span_type`` is the type the span already has, if any; ``events`` the span's events as
    (name, attributes) pairs, for the legacy GenAI message events. Never raises on odd values:
    a value of an unexpected shape is skipped and stays among the raw attributes."""
    attrs = attrs if type(attrs) is dict else dict(attrs)
    events = list(events)
    result = Normalized(name=name)
    # Only the conventions whose keys appear are read: most spans carry one or none.
    heads = {key.partition(".")[0] for key in attrs}
    sources: list[tuple[str, _Source]] = []
    if "mlflow" in heads:
        sources.append(("mlflow", _Explicit(attrs)))
    if not heads.isdisjoint(_OPENINFERENCE_HEADS):
        sources.append(("openinference", _OpenInference(attrs)))
    if "gen_ai" in heads or any(e[0] in _GENAI_EVENTS for e in events):
        sources.append(("gen_ai", _GenAI(attrs, events)))
    if "traceloop" in heads or "llm.request.type" in attrs:
        sources.append(("traceloop", _Traceloop(attrs)))
    logfire = _Logfire(attrs) if "logfire" in heads else None
    if logfire is not None:
        sources.append(("logfire", logfire))
    sources = [(label, source) for label, source in sources if source.present()]
    result.conventions = [label for label, _ in sources]

    given_type = span_type if span_type and span_type != SpanType.UNKNOWN else None
    result.span_type = given_type or _first(s.span_type for _, s in sources)
    result.inputs = _first_value(s.inputs for _, s in sources)
    result.outputs = _first_value(s.outputs for _, s in sources)
    if result.span_type == SpanType.RETRIEVER or (
        result.span_type is None and result.outputs is MISSING
    ):
        documents = _first_value(s.documents for _, s in sources)
        if documents is not MISSING:
            result.outputs = documents
            result.span_type = result.span_type or SpanType.RETRIEVER
    result.token_usage = _first(s.token_usage for _, s in sources)
    result.model = _first(s.model for _, s in sources)
    result.provider = _first(s.provider for _, s in sources)
    result.session_id = _first(s.session for _, s in sources)
    result.user_id = _first(s.user for _, s in sources)

    if logfire is not None:
        result.pending = logfire.pending()
        result.tags = logfire.tags()
        message = _text(attrs.get("logfire.msg"))
        if message:
            result.name = message
    if "mlflow" in heads:
        result.trace_tags = {
            key[len(TRACE_TAG_PREFIX):]: _as_tag(value)
            for key, value in attrs.items()
            if key.startswith(TRACE_TAG_PREFIX) and value is not None
        }

    kept = {k: v for k, v in attrs.items() if k not in _RESERVED}
    if result.token_usage is not None:
        kept.setdefault(SpanAttributeKey.CHAT_USAGE, result.token_usage)
    if result.model is not None:
        kept.setdefault(SpanAttributeKey.LLM_MODEL, result.model)
    if result.provider is not None:
        kept.setdefault(SpanAttributeKey.LLM_PROVIDER, result.provider)
    if result.session_id is not None:
        kept.setdefault(TraceMetadataKey.SESSION, result.session_id)
    if result.user_id is not None:
        kept.setdefault(TraceMetadataKey.USER, result.user_id)
    message_format = _first(label for label, s in sources if s.has_messages())
    if message_format is not None:
        kept.setdefault(SpanAttributeKey.MESSAGE_FORMAT, message_format)
    result.attributes = kept
    return result


_OPENINFERENCE_HEADS = frozenset({
    "openinference", "llm", "input", "output", "retrieval", "reranker", "session", "user",
})
_GENAI_EVENTS = frozenset({
    "gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message",
    "gen_ai.tool.message", "gen_ai.choice",
})
_RESERVED = frozenset({
    SpanAttributeKey.SPAN_TYPE, SpanAttributeKey.INPUTS, SpanAttributeKey.OUTPUTS,
    SpanAttributeKey.REQUEST_ID,
})


# -- helpers on values ------------------------------------------------------------------------
def _first(values: Iterable[Any]) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def _first_value(values: Iterable[Any]) -> Any:
    for value in values:
        if value is not MISSING:
            return value
    return MISSING


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _as_tag(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _json(value: Any) -> Any:
    """JSON text parsed; anything else (or text that is not JSON) as it is."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "[", '"') or stripped in ("true", "false", "null"):
            try:
                return json.loads(value)
            except (ValueError, RecursionError):
                return value
    return value


def _usage(
    input_tokens: Any, output_tokens: Any, total: Any = None, **extra: Any
) -> dict[str, int] | None:
    """MLflow's token usage dict (``input_tokens``, ``output_tokens``, ``total_tokens``),
    the total computed when absent; None when no count is known."""
    counts = {"input_tokens": _int(input_tokens), "output_tokens": _int(output_tokens)}
    total_tokens = _int(total)
    if counts["input_tokens"] is None and counts["output_tokens"] is None and total_tokens is None:
        return None
    usage = {k: v for k, v in counts.items() if v is not None}
    if total_tokens is None:
        total_tokens = sum(usage.values())
    usage.setdefault("input_tokens", 0)
    usage.setdefault("output_tokens", 0)
    usage["total_tokens"] = total_tokens
    for key, value in extra.items():
        number = _int(value)
        if number is not None:
            usage[key] = number
    return usage


def _indexed(attrs: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.{i}.rest`` keys as a list of nested dicts, in index order:
    ``{"p.0.a": 1, "p.0.b.0.c": 2}`` -> ``[{"a": 1, "b": [{"c": 2}]}]``."""
    found: dict[int, dict[str, Any]] = {}
    dotted = prefix + "."
    for key, value in attrs.items():
        if not key.startswith(dotted):
            continue
        index, _, rest = key[len(dotted):].partition(".")
        if not index.isdigit() or not rest:
            continue
        found.setdefault(int(index), {})[rest] = value
    return [_nest(found[i]) for i in sorted(found)]


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys to nested dicts; numeric segments become lists."""
    tree: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _lists(tree)  # type: ignore[no-any-return]


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def _tool_call(call: Mapping[str, Any], index: int) -> dict[str, Any]:
    """A tool call in OpenAI's chat format."""
    arguments = call.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, default=str)
    out: dict[str, Any] = {
        "id": _text(call.get("id")) or f"call_{index}",
        "type": "function",
        "function": {"name": _text(call.get("name")) or "", "arguments": arguments},
    }
    return out


def _chat_inputs(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"messages": messages}


def _chat_outputs(
    messages: list[dict[str, Any]], finish_reasons: list[Any] | None = None
) -> dict[str, Any]:
    """Output messages as an OpenAI chat completion's ``choices``."""
    choices = []
    for index, message in enumerate(messages):
        choice: dict[str, Any] = {"index": index, "message": message}
        reason = finish_reasons[index] if finish_reasons and index < len(finish_reasons) else None
        choice["finish_reason"] = reason
        choices.append(choice)
    return {"choices": choices}


def _document(
    content: Any, doc_id: Any = None, score: Any = None, metadata: Any = None
) -> dict[str, Any]:
    meta = _json(metadata)
    meta = dict(meta) if isinstance(meta, dict) else {}
    if score is not None:
        meta.setdefault("score", score)
    return {
        "page_content": content if isinstance(content, str) else json.dumps(content, default=str),
        "metadata": meta,
        "id": _text(doc_id),
    }


# -- sources ----------------------------------------------------------------------------------
class _Source:
    """One convention's reading of the attributes; each property is None/MISSING when the
    convention does not say."""

    span_type: str | None = None
    inputs: Any = MISSING
    outputs: Any = MISSING
    documents: Any = MISSING
    token_usage: dict[str, int] | None = None
    model: str | None = None
    provider: str | None = None
    session: str | None = None
    user: str | None = None

    def present(self) -> bool:
        return False

    def has_messages(self) -> bool:
        return False


class _Explicit(_Source):
    """lanterna's own keys, which are MLflow's."""

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        kind = _text(attrs.get(SpanAttributeKey.SPAN_TYPE))
        self.span_type = kind if kind and kind != SpanType.UNKNOWN else None
        if SpanAttributeKey.INPUTS in attrs:
            self.inputs = _json(attrs[SpanAttributeKey.INPUTS])
        if SpanAttributeKey.OUTPUTS in attrs:
            self.outputs = _json(attrs[SpanAttributeKey.OUTPUTS])
        usage = _json(attrs.get(SpanAttributeKey.CHAT_USAGE))
        if isinstance(usage, dict):
            self.token_usage = _usage(
                usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens"),
                **{k: v for k, v in usage.items()
                   if k not in ("input_tokens", "output_tokens", "total_tokens")},
            )
        self.model = _text(_json(attrs.get(SpanAttributeKey.LLM_MODEL)))
        self.provider = _text(_json(attrs.get(SpanAttributeKey.LLM_PROVIDER)))
        self.session = _text(_json(attrs.get(TraceMetadataKey.SESSION)))
        self.user = _text(_json(attrs.get(TraceMetadataKey.USER)))

    def present(self) -> bool:
        return True  # made only for spans with ``mlflow.*`` keys


_OPENINFERENCE_KINDS = {
    "LLM": SpanType.LLM, "CHAIN": SpanType.CHAIN, "TOOL": SpanType.TOOL,
    "RETRIEVER": SpanType.RETRIEVER, "EMBEDDING": SpanType.EMBEDDING, "AGENT": SpanType.AGENT,
    "RERANKER": SpanType.RERANKER, "GUARDRAIL": SpanType.GUARDRAIL,
    "EVALUATOR": SpanType.EVALUATOR,
}


class _OpenInference(_Source):
    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self.attrs = attrs
        kind = _text(attrs.get("openinference.span.kind"))
        self.kind = kind
        self.span_type = _OPENINFERENCE_KINDS.get(kind.upper()) if kind else None
        self.input_messages = [
            _openinference_message(m) for m in _indexed(attrs, "llm.input_messages")
        ]
        self.output_messages = [
            _openinference_message(m) for m in _indexed(attrs, "llm.output_messages")
        ]
        if self.input_messages:
            self.inputs = _chat_inputs(self.input_messages)
        elif "input.value" in attrs:
            self.inputs = _value(attrs["input.value"], attrs.get("input.mime_type"))
        if self.output_messages:
            self.outputs = _chat_outputs(self.output_messages)
        elif "output.value" in attrs:
            self.outputs = _value(attrs["output.value"], attrs.get("output.mime_type"))
        documents = _indexed(attrs, "retrieval.documents") or _indexed(
            attrs, "reranker.output_documents"
        )
        if documents:
            self.documents = [
                _document(d.get("content"), d.get("id"), d.get("score"), d.get("metadata"))
                for d in (item.get("document", item) for item in documents)
                if isinstance(d, dict)
            ]
        self.token_usage = _usage(
            attrs.get("llm.token_count.prompt"), attrs.get("llm.token_count.completion"),
            attrs.get("llm.token_count.total"),
            cache_read_input_tokens=attrs.get("llm.token_count.prompt_details.cache_read"),
            cache_creation_input_tokens=attrs.get("llm.token_count.prompt_details.cache_write"),
            reasoning_tokens=attrs.get("llm.token_count.completion_details.reasoning"),
        )
        self.model = (
            _text(attrs.get("llm.response.model_name"))
            or _text(attrs.get("llm.model_name"))
            or _text(attrs.get("llm.request.model_name"))
        )
        self.provider = _text(attrs.get("llm.provider")) or _text(attrs.get("llm.system"))
        self.session = _text(attrs.get("session.id"))
        self.user = _text(attrs.get("user.id"))

    def present(self) -> bool:
        return self.kind is not None or any(
            k.startswith(("llm.", "input.", "output.", "retrieval.")) for k in self.attrs
        )

    def has_messages(self) -> bool:
        return bool(self.input_messages or self.output_messages)


def _value(value: Any, mime_type: Any) -> Any:
    """OpenInference ``input.value``: JSON when its mime type says so (or when it parses as a
    JSON object or list), else the text."""
    if isinstance(mime_type, str) and "json" in mime_type:
        return _json(value)
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        return _json(value)
    return value


def _openinference_message(item: dict[str, Any]) -> dict[str, Any]:
    message = item.get("message", item)
    if not isinstance(message, dict):
        return {"role": "user", "content": _as_tag(message)}
    out: dict[str, Any] = {"role": _text(message.get("role")) or "user"}
    content = message.get("content")
    if content is None and isinstance(message.get("contents"), list):
        texts = [
            c.get("message_content", c).get("text")
            for c in message["contents"]
            if isinstance(c, dict) and isinstance(c.get("message_content", c), dict)
        ]
        content = "".join(t for t in texts if isinstance(t, str))
    out["content"] = content
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [
            _tool_call(
                {
                    "id": (call.get("tool_call") or {}).get("id"),
                    **((call.get("tool_call") or {}).get("function") or {}),
                },
                i,
            )
            for i, call in enumerate(calls)
            if isinstance(call, dict)
        ]
    if message.get("tool_call_id") is not None:
        out["tool_call_id"] = _text(message.get("tool_call_id"))
    if message.get("name") is not None:
        out["name"] = _text(message.get("name"))
    return out


_GENAI_OPERATIONS = {
    "chat": SpanType.CHAT_MODEL,
    "text_completion": SpanType.LLM,
    "generate_content": SpanType.LLM,
    "embeddings": SpanType.EMBEDDING,
    "embedding": SpanType.EMBEDDING,
    "execute_tool": SpanType.TOOL,
    "invoke_agent": SpanType.AGENT,
    "create_agent": SpanType.AGENT,
    "retrieval": SpanType.RETRIEVER,
    "invoke_workflow": SpanType.CHAIN,
    "plan": SpanType.CHAIN,
}

_LEGACY_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


class _GenAI(_Source):
    """OpenTelemetry GenAI conventions: current message parts, the older indexed
    ``gen_ai.prompt.{i}``/``gen_ai.completion.{i}`` keys, and the legacy message events."""

    def __init__(self, attrs: Mapping[str, Any], events: list[Event]) -> None:
        self.attrs = attrs
        operation = _text(attrs.get("gen_ai.operation.name"))
        self.operation = operation
        if operation:
            self.span_type = _GENAI_OPERATIONS.get(operation) or (
                SpanType.MEMORY if operation.endswith("_memory") else None
            )
        self.messages_seen = False
        inputs = self._current_inputs() or self._indexed_inputs() or self._event_inputs(events)
        if inputs:
            self.messages_seen = True
            self.inputs = _chat_inputs(inputs)
        elif "gen_ai.tool.call.arguments" in attrs:
            self.inputs = _json(attrs["gen_ai.tool.call.arguments"])
        outputs = self._current_outputs() or self._indexed_outputs() or self._event_outputs(events)
        if outputs:
            self.messages_seen = True
            self.outputs = _chat_outputs(*outputs)
        elif "gen_ai.tool.call.result" in attrs:
            self.outputs = _json(attrs["gen_ai.tool.call.result"])
        documents = _json(attrs.get("gen_ai.retrieval.documents"))
        if isinstance(documents, list):
            self.documents = [
                _document(d.get("content"), d.get("id"), d.get("score"), d.get("metadata"))
                if isinstance(d, dict) else _document(d)
                for d in documents
            ]
        self.token_usage = _usage(
            _pick(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
            _pick(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
            _pick(attrs, "gen_ai.usage.total_tokens", "llm.usage.total_tokens"),
            cache_read_input_tokens=_pick(
                attrs, "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_read_input_tokens",
            ),
            cache_creation_input_tokens=_pick(
                attrs, "gen_ai.usage.cache_creation.input_tokens",
                "gen_ai.usage.cache_creation_input_tokens",
            ),
            reasoning_tokens=attrs.get("gen_ai.usage.reasoning.output_tokens"),
        )
        self.model = _text(attrs.get("gen_ai.response.model")) or _text(
            attrs.get("gen_ai.request.model")
        )
        self.provider = _text(attrs.get("gen_ai.provider.name")) or _text(
            attrs.get("gen_ai.system")
        )
        self.session = _text(attrs.get("gen_ai.conversation.id"))

    def present(self) -> bool:
        return True  # made only for spans with ``gen_ai.*`` keys or legacy message events

    def has_messages(self) -> bool:
        return self.messages_seen

    def _current_inputs(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        system = _json(self.attrs.get("gen_ai.system_instructions"))
        if system is not None:
            messages.append({"role": "system", "content": _parts_text(system)})
        found = _json(self.attrs.get("gen_ai.input.messages"))
        if isinstance(found, list):
            for item in found:
                messages.extend(_genai_message(item))
        return messages

    def _current_outputs(self) -> tuple[list[dict[str, Any]], list[Any]] | None:
        found = _json(self.attrs.get("gen_ai.output.messages"))
        if not isinstance(found, list) or not found:
            return None
        messages, reasons = [], []
        for item in found:
            converted = _genai_message(item)
            if converted:
                messages.append(converted[0])
                reasons.append(item.get("finish_reason") if isinstance(item, dict) else None)
        return (messages, reasons) if messages else None

    def _indexed_inputs(self) -> list[dict[str, Any]]:
        return [_legacy_message(m) for m in _indexed(self.attrs, "gen_ai.prompt")]

    def _indexed_outputs(self) -> tuple[list[dict[str, Any]], list[Any]] | None:
        found = _indexed(self.attrs, "gen_ai.completion")
        if not found:
            return None
        return [_legacy_message(m, "assistant") for m in found], [
            m.get("finish_reason") for m in found
        ]

    def _event_inputs(self, events: list[Event]) -> list[dict[str, Any]]:
        messages = []
        for name, attributes in events:
            role = _LEGACY_ROLES.get(name)
            if role is not None:
                messages.append(_legacy_message(dict(attributes), role))
        return messages

    def _event_outputs(
        self, events: list[Event]
    ) -> tuple[list[dict[str, Any]], list[Any]] | None:
        messages, reasons = [], []
        for name, attributes in events:
            if name != "gen_ai.choice":
                continue
            body = dict(attributes)
            message = _json(body.get("message"))
            if isinstance(message, dict):
                body = {**body, **message}
            messages.append(_legacy_message(body, "assistant"))
            reasons.append(body.get("finish_reason"))
        return (messages, reasons) if messages else None


def _pick(attrs: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    return None


def _parts_text(value: Any) -> Any:
    """System instructions (or a message's parts) as text when they are all text parts."""
    if isinstance(value, list):
        texts = [p.get("content") for p in value if isinstance(p, dict)]
        if texts and all(isinstance(t, str) for t in texts):
            return "".join(str(t) for t in texts)
    return value


def _genai_message(item: Any) -> list[dict[str, Any]]:
    """A GenAI message (role + parts) in OpenAI's chat format; tool results become one
    ``tool`` message each."""
    if not isinstance(item, dict):
        return []
    role = _text(item.get("role")) or "user"
    parts = item.get("parts")
    if not isinstance(parts, list):
        return [{"role": role, "content": item.get("content")}]
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    others: list[Any] = []
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("content", "")))
        elif kind == "tool_call":
            calls.append(_tool_call(part, len(calls)))
        elif kind == "tool_call_response":
            result = part.get("result", part.get("response"))
            results.append({
                "role": "tool",
                "tool_call_id": _text(part.get("id")),
                "content": result if isinstance(result, str) else json.dumps(result, default=str),
            })
        else:
            others.append(part)
    if results and not texts and not calls:
        return results
    message: dict[str, Any] = {"role": role, "content": "".join(texts) if texts else None}
    if others and not texts:
        message["content"] = others
    if calls:
        message["tool_calls"] = calls
    name = _text(item.get("name"))
    if name:
        message["name"] = name
    return [message, *results]


def _legacy_message(item: dict[str, Any], default_role: str = "user") -> dict[str, Any]:
    """An indexed ``gen_ai.prompt.{i}``/``completion.{i}`` entry or a legacy event body."""
    message: dict[str, Any] = {
        "role": _text(item.get("role")) or default_role,
        "content": _json(item.get("content")) if item.get("content") is not None else None,
    }
    if isinstance(message["content"], (dict, list)) and not isinstance(
        item.get("content"), (dict, list)
    ):
        message["content"] = item.get("content")  # keep text that merely looked like JSON
    calls = _json(item.get("tool_calls"))
    if isinstance(calls, list) and calls:
        message["tool_calls"] = [
            _tool_call({"id": c.get("id"), **(c.get("function") or c)}, i)
            for i, c in enumerate(calls)
            if isinstance(c, dict)
        ]
    call_id = _text(item.get("tool_call_id")) or _text(item.get("id"))
    if message["role"] == "tool" and call_id:
        message["tool_call_id"] = call_id
    return message


_TRACELOOP_KINDS = {
    "workflow": SpanType.WORKFLOW,
    "task": SpanType.TASK,
    "agent": SpanType.AGENT,
    "tool": SpanType.TOOL,
}
_TRACELOOP_REQUESTS = {
    "chat": SpanType.CHAT_MODEL,
    "completion": SpanType.LLM,
    "embedding": SpanType.EMBEDDING,
    "rerank": SpanType.RERANKER,
}


class _Traceloop(_Source):
    """OpenLLMetry: ``traceloop.*`` keys (its LLM spans also carry the indexed GenAI keys,
    read by ``_GenAI``)."""

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self.attrs = attrs
        kind = _text(attrs.get("traceloop.span.kind"))
        request = _text(attrs.get("llm.request.type"))
        self.span_type = (_TRACELOOP_KINDS.get(kind) if kind else None) or (
            _TRACELOOP_REQUESTS.get(request) if request else None
        )
        if "traceloop.entity.input" in attrs:
            self.inputs = _unwrap_entity(_json(attrs["traceloop.entity.input"]), "inputs")
        if "traceloop.entity.output" in attrs:
            self.outputs = _unwrap_entity(_json(attrs["traceloop.entity.output"]), "outputs")
        prefix = "traceloop.association.properties."
        self.session = _text(attrs.get(prefix + "session_id")) or _text(
            attrs.get(prefix + "conversation_id")
        ) or _text(attrs.get(prefix + "thread_id"))
        self.user = _text(attrs.get(prefix + "user_id"))

    def present(self) -> bool:
        return True  # made only for spans with ``traceloop.*`` keys or ``llm.request.type``


def _unwrap_entity(value: Any, key: str) -> Any:
    """OpenLLMetry wraps a task's inputs as ``{"args": [...], "kwargs": {...}}`` and outputs
    sometimes as ``{"outputs": ...}``; keep the kwargs when there are no positional args."""
    if isinstance(value, dict):
        if set(value) == {key}:
            return value[key]
        if set(value) <= {"args", "kwargs"}:
            args, kwargs = value.get("args"), value.get("kwargs")
            if not args and isinstance(kwargs, dict):
                return kwargs
    return value


class _Logfire(_Source):
    """Logfire: ``logfire.*`` keys; its LLM spans carry ``request_data``/``response_data``
    (an OpenAI request and response) beside the GenAI keys."""

    def __init__(self, attrs: Mapping[str, Any]) -> None:
        self.attrs = attrs
        if "request_data" in attrs:
            self.inputs = _json(attrs["request_data"])
        if "response_data" in attrs:
            response = _json(attrs["response_data"])
            if isinstance(response, dict) and isinstance(response.get("message"), dict):
                response = _chat_outputs([response["message"]])
            self.outputs = response
        if "LLM" in self.tags():
            self.span_type = SpanType.LLM
            usage = _json(attrs.get("response_data"))
            usage = usage.get("usage") if isinstance(usage, dict) else None
            if isinstance(usage, dict):
                self.token_usage = _usage(
                    usage.get("prompt_tokens", usage.get("input_tokens")),
                    usage.get("completion_tokens", usage.get("output_tokens")),
                    usage.get("total_tokens"),
                )
            request = _json(attrs.get("request_data"))
            if isinstance(request, dict):
                self.model = _text(request.get("model"))

    def present(self) -> bool:
        return True  # made only for spans with ``logfire.*`` keys

    def pending(self) -> bool:
        return self.attrs.get("logfire.span_type") == "pending_span"

    def tags(self) -> list[str]:
        tags = _json(self.attrs.get("logfire.tags"))
        if isinstance(tags, str):
            return [tags]
        if isinstance(tags, (list, tuple)):
            return [str(t) for t in tags]
        return []
