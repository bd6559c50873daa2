"""A local, deterministic OpenAI-compatible HTTP server for tests, benchmarks and ``lanterna demo``.

Standard library only (it ships with the SDK). Start it, point the real ``openai`` client at
``server.base_url``, and every answer is a pure function of the request:

- ``POST /v1/chat/completions`` (plain and ``stream=true``, ``stream_options.include_usage``),
  ``POST /v1/completions`` (legacy, plain and streaming), ``POST /v1/embeddings``,
  ``POST /v1/responses`` (plain and streaming, with the real event types), ``GET /v1/models``.
- Replies: ``"Fake reply to: <last user text>"``, cut at ``max_tokens`` words (finish reason
  ``length``). After a ``tool`` message the reply is ``"The tool said: <tool output>"``.
- Tool calls: when the request has function ``tools``, ``tool_choice`` is not ``"none"`` and
  either ``tool_choice`` forces a call (``"required"`` or a named function) or the last message
  is a user message containing the word "weather", the answer calls one tool (the forced one,
  else the first whose name contains "weather", else the first). Its arguments are sampled from
  the tool's JSON schema: strings are the last word of the user message ("… in Paris?" →
  ``"Paris"``), integers 1, numbers 1.0, booleans true, enums their first value.
- Structured output (``response_format``/``text.format`` of type ``json_schema``) is a JSON
  document sampled from the schema the same way, so ``parse()`` works.
- Usage: prompt tokens = words in all request text, completion tokens = words in the reply (or
  in the tool call's name and arguments), total = their sum.
- Special model names: ``error-<status>`` answers that HTTP status with OpenAI's error JSON;
  ``slow-<ms>`` sleeps that long first (for client timeouts); ``odd-shape`` answers valid JSON
  of a deliberately odd shape (null content, missing or mistyped usage, unknown fields and
  items, a stream with an empty-choices chunk and no final ``response.completed``);
  ``broken-stream`` streams two events, then hangs up in the middle of the response body;
  ``content-parts`` streams chat deltas whose ``content`` is a list of parts
  (``[{"type": "text", "text": ...}]``, as Databricks model serving sends them).

Run it standalone with ``python -m lanterna.testing.openai_server --port 8000``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["FakeOpenAIServer"]

JSON = dict[str, Any]
SseEvent = tuple[str | None, str]  # (SSE "event:" name or None, "data:" payload)

CREATED = 1_700_000_000  # fixed timestamps keep answers identical from run to run
EMBEDDING_DIMENSIONS = 8
ODD_MODEL = "odd-shape"
PARTS_MODEL = "content-parts"
BROKEN_MODEL = "broken-stream"
BROKEN_AFTER = 2  # events sent before a broken stream hangs up

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_value"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("requests", "rate_limit_exceeded"),
}


class FakeApiError(Exception):
    """Raised by an endpoint to answer with OpenAI's error JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> JSON:
        err_type, code = _ERROR_TYPES.get(self.status, ("server_error", "server_error"))
        return {"error": {"message": self.message, "type": err_type, "param": None, "code": code}}


# ---------------------------------------------------------------------------------------------
# Text helpers


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    """Plain text of a message ``content``: a string or a list of text parts (others ignored)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _last_word(text: str) -> str:
    words = re.findall(r"[\w'-]+", text)
    return words[-1] if words else "value"


def _reply_for(last_user: str, tool_output: str | None) -> str:
    if tool_output is not None:
        return f"The tool said: {tool_output}"
    return f"Fake reply to: {last_user}" if last_user else "Fake reply."


def _truncate(text: str, max_tokens: Any) -> tuple[str, str]:
    """Cut ``text`` at ``max_tokens`` words; returns (text, finish_reason)."""
    words = text.split(" ")
    if isinstance(max_tokens, int) and 0 < max_tokens < len(words):
        return " ".join(words[:max_tokens]), "length"
    return text, "stop"


def _pieces(text: str) -> list[str]:
    """Stream pieces of ``text``: one per word, each but the first with its leading space."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


class _SchemaSampler:
    """Builds a deterministic JSON instance of a JSON schema (enough of it for pydantic's)."""

    def __init__(self, root: JSON, text: str) -> None:
        self.defs: JSON = {**root.get("definitions", {}), **root.get("$defs", {})}
        self.text = text

    def sample(self, schema: Any, depth: int = 0) -> Any:
        if not isinstance(schema, dict) or depth > 8:
            return None
        if "$ref" in schema:
            return self.sample(self.defs.get(str(schema["$ref"]).rsplit("/", 1)[-1]), depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            options = [s for s in schema.get(key, []) if s.get("type") != "null"]
            if options:
                return self.sample(options[0], depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {name: self.sample(sub, depth + 1) for name, sub in props.items()}
        if kind == "array":
            return [self.sample(schema.get("items", {"type": "string"}), depth + 1)]
        simple = {"integer": 1, "number": 1.0, "boolean": True, "null": None}
        return simple.get(str(kind), self.text)


# ---------------------------------------------------------------------------------------------
# The conversation a request describes, common to chat completions and responses


class _Turn:
    """What the fake model needs from a request: texts, the last user words, tools."""

    def __init__(self, body: JSON, texts: list[str], last: JSON | None) -> None:
        self.body = body
        self.prompt_tokens = sum(_words(t) for t in texts)
        self.last_user = ""
        self.tool_output: str | None = None
        if last is not None and last.get("role") == "user":
            self.last_user = _text_of(last.get("content"))
        elif last is not None and last.get("type") == "function_call_output":
            self.tool_output = str(last.get("output", ""))
        elif last is not None and last.get("role") == "tool":
            self.tool_output = _text_of(last.get("content"))

    @classmethod
    def from_chat(cls, body: JSON) -> _Turn:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        texts = [_text_of(m.get("content")) for m in messages]
        return cls(body, texts, messages[-1] if messages else None)

    @classmethod
    def from_responses(cls, body: JSON) -> _Turn:
        raw = body.get("input")
        items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []
        items = [i for i in items if isinstance(i, dict)]
        texts = [_text_of(i.get("content")) or str(i.get("output", "")) for i in items]
        if isinstance(body.get("instructions"), str):
            texts.append(body["instructions"])
        return cls(body, texts, items[-1] if items else None)

    def reply(self) -> tuple[str, str]:
        limit = self.body.get("max_completion_tokens") or self.body.get("max_tokens")
        limit = limit or self.body.get("max_output_tokens")
        return _truncate(_reply_for(self.last_user, self.tool_output), limit)

    def tool_call(self) -> tuple[str, str] | None:
        """(name, JSON arguments) of the tool to call, or None to answer with text."""
        tools = [t for t in self.body.get("tools") or [] if t.get("type") == "function"]
        if not tools or self.tool_output is not None:
            return None
        specs = [t.get("function", t) for t in tools]  # chat nests under "function"
        choice = self.body.get("tool_choice", "auto")
        forced = None
        if isinstance(choice, dict):
            forced = (choice.get("function") or {}).get("name") or choice.get("name")
        if choice == "none" or (
            forced is None and choice != "required" and "weather" not in self.last_user.lower()
        ):
            return None
        chosen = next((s for s in specs if s.get("name") == forced), None)
        chosen = chosen or next((s for s in specs if "weather" in s.get("name", "")), specs[0])
        schema = chosen.get("parameters") or {"type": "object", "properties": {}}
        args = _SchemaSampler(schema, _last_word(self.last_user)).sample(schema)
        return str(chosen.get("name", "tool")), json.dumps(args)

    def structured(self, fmt: Any) -> str | None:
        """The JSON text answering a ``json_schema``/``json_object`` format, else None."""
        if not isinstance(fmt, dict):
            return None
        if fmt.get("type") == "json_object":
            return json.dumps({"reply": _reply_for(self.last_user, self.tool_output)})
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or fmt).get("schema") or {}
            return json.dumps(_SchemaSampler(schema, _last_word(self.last_user)).sample(schema))
        return None


# ---------------------------------------------------------------------------------------------
# Endpoints: each returns a JSON body or an iterator of SSE events


class _Endpoints:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()

    def new_id(self, prefix: str) -> str:
        with self._id_lock:
            return f"{prefix}{next(self._ids):08d}"

    # -- chat completions ----------------------------------------------------------------------

    def chat(self, body: JSON) -> JSON | Iterator[SseEvent]:
        turn = _Turn.from_chat(body)
        model = str(body.get("model"))
        call = turn.tool_call()
        content, finish = turn.reply()
        structured = turn.structured(body.get("response_format"))
        if structured is not None:
            content, finish = structured, "stop"
        completion = _words(f"{call[0]} {call[1]}") if call else _words(content)
        usage = _usage(turn.prompt_tokens, completion)
        cid = self.new_id("chatcmpl-fake")
        call_id = self.new_id("call_fake") if call else ""
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._chat_stream(cid, model, content, finish, call, call_id, usage, include)
        if model == ODD_MODEL:
            odd_message = {"role": "assistant", "content": None, "lanterna_unknown": [1, {}]}
            odd_choice = {"index": 0, "message": odd_message, "finish_reason": "stop", "odd": 1}
            return _envelope("chat.completion", cid, model, [odd_choice], lanterna_extra=[1])
        message: JSON = {"role": "assistant", "content": content, "refusal": None}
        if call:
            function = {"name": call[0], "arguments": call[1]}
            tool_call = {"id": call_id, "type": "function", "function": function}
            message = {"role": "assistant", "content": None, "tool_calls": [tool_call]}
            finish = "tool_calls"
        n = body.get("n")
        choices = [
            {"index": i, "message": message, "finish_reason": finish, "logprobs": None}
            for i in range(n if isinstance(n, int) and n > 1 else 1)
        ]
        return _envelope("chat.completion", cid, model, choices, usage=usage)

    def _chat_stream(
        self,
        cid: str,
        model: str,
        content: str,
        finish: str,
        call: tuple[str, str] | None,
        call_id: str,
        usage: JSON,
        include_usage: bool,
    ) -> Iterator[SseEvent]:
        def chunk(delta: JSON, finish_reason: str | None = None) -> SseEvent:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
            return None, json.dumps(_envelope("chat.completion.chunk", cid, model, [choice]))

        if model == ODD_MODEL:
            yield chunk({"role": "assistant", "content": None, "lanterna_unknown": 1})
            odd = _envelope("chat.completion.chunk", cid, model, [], lanterna_extra={"a": [1]})
            yield None, json.dumps(odd)
            yield chunk({"content": "odd"})
            yield chunk({"tool_calls": [{"index": 3}]})
            yield chunk({}, "stop")
        elif call:
            function = {"name": call[0], "arguments": ""}
            first = {"index": 0, "id": call_id, "type": "function", "function": function}
            yield chunk({"role": "assistant", "content": None, "tool_calls": [first]})
            for piece in _pieces(call[1]):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            yield chunk({}, "tool_calls")
        elif model == PARTS_MODEL:
            yield chunk({"role": "assistant", "content": []})
            for piece in _pieces(content):
                yield chunk({"content": [{"type": "text", "text": piece},
                                         {"type": "image_url", "image_url": {"url": "x"}}]})
            yield chunk({}, finish)
        else:
            yield chunk({"role": "assistant", "content": "", "refusal": None})
            for piece in _pieces(content):
                yield chunk({"content": piece})
            yield chunk({}, finish)
        if include_usage and model != ODD_MODEL:
            yield None, json.dumps(_envelope("chat.completion.chunk", cid, model, [], usage=usage))
        yield None, "[DONE]"

    # -- legacy completions ----------------------------------------------------------------------

    def completions(self, body: JSON) -> JSON | Iterator[SseEvent]:
        raw = body.get("prompt", "")
        prompts = [raw] if isinstance(raw, str) or not isinstance(raw, list) else raw
        texts = [p if isinstance(p, str) else " ".join(map(str, p)) for p in prompts or [""]]
        model = str(body.get("model"))
        replies = [_truncate(_reply_for(t, None), body.get("max_tokens")) for t in texts]
        if body.get("echo"):
            replies = [(t + text, f) for t, (text, f) in zip(texts, replies, strict=True)]
        usage = _usage(sum(map(_words, texts)), sum(_words(r) for r, _ in replies))
        cid = self.new_id("cmpl-fake")
        if body.get("stream"):
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            return self._completions_stream(cid, model, replies, usage, include)
        if model == ODD_MODEL:
            odd_choice = {"index": 0, "text": None, "finish_reason": "stop", "odd": 1}
            odd_usage = {"prompt_tokens": "seven", "total_tokens": None}  # wrong types
            return _envelope("text_completion", cid, model, [odd_choice], usage=odd_usage)
        choices = [
            {"index": i, "text": text, "finish_reason": finish, "logprobs": None}
            for i, (text, finish) in enumerate(replies)
        ]
        return _envelope("text_completion", cid, model, choices, usage=usage)

    def _completions_stream(
        self, cid: str, model: str, replies: list[tuple[str, str]], usage: JSON, include: bool
    ) -> Iterator[SseEvent]:
        def chunk(index: int, text: str | None, finish: str | None) -> SseEvent:
            choice = {"index": index, "text": text, "finish_reason": finish, "logprobs": None}
            return None, json.dumps(_envelope("text_completion", cid, model, [choice]))

        if model == ODD_MODEL:
            yield chunk(0, None, None)
            yield None, json.dumps({"id": cid, "object": "text_completion", "choices": []})
            yield chunk(0, "odd", "stop")
        else:
            for index, (text, finish) in enumerate(replies):
                for piece in _pieces(text):
                    yield chunk(index, piece, None)
                yield chunk(index, "", finish)
            if include:
                yield None, json.dumps(_envelope("text_completion", cid, model, [], usage=usage))
        yield None, "[DONE]"

    # -- embeddings ------------------------------------------------------------------------------

    def embeddings(self, body: JSON) -> JSON:
        raw = body.get("input", "")
        inputs: list[Any] = [raw] if isinstance(raw, str) or not isinstance(raw, list) else raw
        if inputs and all(isinstance(x, int) for x in inputs):
            inputs = [inputs]  # one pre-tokenised input
        dims = body.get("dimensions")
        dims = dims if isinstance(dims, int) and dims > 0 else EMBEDDING_DIMENSIONS
        data = []
        tokens = 0
        for index, item in enumerate(inputs):
            text = item if isinstance(item, str) else " ".join(map(str, item))
            tokens += _words(text) if isinstance(item, str) else len(item)
            vector = _vector(text, dims)
            value: Any = vector
            if body.get("encoding_format") == "base64":
                value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": value})
        model = str(body.get("model"))
        if model == ODD_MODEL:
            return {
                "object": "list",
                "data": data,
                "model": model,
                "usage": None,
                "lanterna_extra": {"x": 1},
            }
        return {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # -- responses -------------------------------------------------------------------------------

    def responses(self, body: JSON) -> JSON | Iterator[SseEvent]:
        turn = _Turn.from_responses(body)
        call = turn.tool_call()
        text, finish = turn.reply()
        structured = turn.structured((body.get("text") or {}).get("format"))
        text = structured if structured is not None else text
        item: JSON
        if call:
            item = {
                "id": self.new_id("fc_fake"),
                "type": "function_call",
                "status": "completed",
                "call_id": self.new_id("call_fake"),
                "name": call[0],
                "arguments": call[1],
            }
        else:
            item = {
                "id": self.new_id("msg_fake"),
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        completion = _words(f"{call[0]} {call[1]}") if call else _words(text)
        response = self._response_shell(body, self.new_id("resp_fake"))
        response.update(
            status="completed", output=[item], usage=_response_usage(turn.prompt_tokens, completion)
        )
        if finish == "length" and not call:
            response.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
        odd = response["model"] == ODD_MODEL
        if odd:
            response.update(usage=None, lanterna_extra=[1, 2])
            response["output"] = [{"type": "lanterna_unknown", "payload": {"a": 1}}, item]
        if body.get("stream"):
            return self._responses_stream(response, item, odd)
        return response

    @staticmethod
    def _response_shell(body: JSON, rid: str) -> JSON:
        return {
            "id": rid,
            "object": "response",
            "created_at": CREATED,
            "status": "in_progress",
            "model": str(body.get("model")),
            "output": [],
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata") or {},
            "parallel_tool_calls": True,
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "text": body.get("text") or {"format": {"type": "text"}},
            "usage": None,
            "max_output_tokens": body.get("max_output_tokens"),
            "previous_response_id": body.get("previous_response_id"),
        }

    def _responses_stream(self, final: JSON, item: JSON, odd: bool) -> Iterator[SseEvent]:
        seq = itertools.count()

        def event(kind: str, **fields: Any) -> SseEvent:
            return kind, json.dumps({"type": kind, "sequence_number": next(seq), **fields})

        shell = {**final, "status": "in_progress", "output": [], "usage": None}
        shell.pop("incomplete_details", None)
        yield event("response.created", response=shell)
        yield event("response.in_progress", response=shell)
        if odd:
            yield event("response.lanterna_unknown", payload={"a": 1})
        where = {"item_id": item["id"], "output_index": 0}
        if item["type"] == "function_call":
            yield event(
                "response.output_item.added",
                output_index=0,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            for piece in _pieces(item["arguments"]):
                yield event("response.function_call_arguments.delta", delta=piece, **where)
            done = {"arguments": item["arguments"], "name": item["name"]}
            yield event("response.function_call_arguments.done", **done, **where)
        else:
            text = item["content"][0]["text"]
            part = {"type": "output_text", "text": "", "annotations": []}
            yield event(
                "response.output_item.added",
                output_index=0,
                item={**item, "content": [], "status": "in_progress"},
            )
            yield event("response.content_part.added", content_index=0, part=part, **where)
            for piece in _pieces(text):
                yield event(
                    "response.output_text.delta", content_index=0, delta=piece, logprobs=[], **where
                )
            yield event(
                "response.output_text.done", content_index=0, text=text, logprobs=[], **where
            )
            yield event(
                "response.content_part.done", content_index=0, part={**part, "text": text}, **where
            )
        yield event("response.output_item.done", output_index=0, item=item)
        if not odd:  # the odd stream just stops, as a dropped connection would
            kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
            yield event(kind, response=final)


def _envelope(obj: str, cid: str, model: str, choices: list[JSON], **extra: Any) -> JSON:
    """The top level shared by chat completions, their chunks and legacy completions."""
    body = {"id": cid, "object": obj, "created": CREATED, "model": model, "choices": choices}
    if obj.startswith("chat") and model != ODD_MODEL:
        body["system_fingerprint"] = "fp_lanterna"
    return {**body, **extra}


def _usage(prompt: int, completion: int) -> JSON:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _response_usage(prompt: int, completion: int) -> JSON:
    return {
        "input_tokens": prompt,
        "output_tokens": completion,
        "total_tokens": prompt + completion,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }


def _vector(text: str, dims: int) -> list[float]:
    """A unit vector derived from the text's SHA-256 (float32-exact, so base64 round-trips)."""
    digest = b""
    counter = 0
    while len(digest) < dims * 2:
        digest += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    raw = [int.from_bytes(digest[2 * i : 2 * i + 2], "big") / 32767.5 - 1.0 for i in range(dims)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [struct.unpack("<f", struct.pack("<f", x / norm))[0] for x in raw]


# ---------------------------------------------------------------------------------------------
# HTTP plumbing


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeOpenAIServer

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self._open_lock:
            self._open.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on keep-alive connections, so no handler thread outlives ``stop()``."""
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, abandoned streams) are normal here: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """No access log on stderr."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._record(None)
        if self.path.rstrip("/") in ("/v1/models", "/health"):
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": "fake-model",
                            "object": "model",
                            "created": CREATED,
                            "owned_by": "lanterna",
                        }
                    ],
                },
            )
        else:
            self._send_json(404, FakeApiError(404, f"Unknown path {self.path}").body())

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        self._record(body)
        try:
            result = self._dispatch(body)
        except FakeApiError as err:
            self._send_json(err.status, err.body())
            return
        if isinstance(result, dict):
            self._send_json(200, result)
        elif body.get("model") == BROKEN_MODEL:
            self._send_sse(itertools.islice(result, BROKEN_AFTER), complete=False)
        else:
            self._send_sse(result)

    def _dispatch(self, body: Any) -> JSON | Iterator[SseEvent]:
        route = {
            "/v1/chat/completions": self.server.fake.endpoints.chat,
            "/v1/completions": self.server.fake.endpoints.completions,
            "/v1/embeddings": self.server.fake.endpoints.embeddings,
            "/v1/responses": self.server.fake.endpoints.responses,
        }.get(self.path.split("?", 1)[0].rstrip("/"))
        if route is None:
            raise FakeApiError(404, f"Unknown path {self.path}")
        if not isinstance(body, dict):
            raise FakeApiError(400, "The request body must be a JSON object.")
        model = str(body.get("model", ""))
        if match := re.fullmatch(r"error-(\d{3})", model):
            status = int(match.group(1))
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            raise FakeApiError(status, f"Fake error {status} {phrase} requested by model name.")
        if match := re.fullmatch(r"slow-(\d+)", model):
            time.sleep(int(match.group(1)) / 1000)
        return route(body)

    def _record(self, body: Any) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {"method": self.command, "path": self.path, "json": body, "headers": headers}
        self.server.fake.requests.append(entry)

    def _send_json(self, status: int, payload: JSON) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", "req_fake")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _send_sse(self, events: Iterator[SseEvent], complete: bool = True) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for name, data in events:
                text = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
                raw = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            if complete:
                self.wfile.write(b"0\r\n\r\n")
            else:  # hang up mid-body, as a crashed server or a cut connection would
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # the client went away mid-stream
            self.close_connection = True


class FakeOpenAIServer:
    """A deterministic OpenAI-compatible server on a loopback port (see the module docstring).

    ``requests`` lists every request received, oldest first, as dicts with ``method``, ``path``,
    ``json`` (the parsed body, or None) and ``headers`` (lower-cased names).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[dict[str, Any]] = []
        self.endpoints = _Endpoints()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The URL to give ``openai.OpenAI(base_url=...)``, e.g. ``http://127.0.0.1:5432/v1``."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        """Bind (a free port when ``port=0``) and serve on a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        httpd = _HttpServer((self.host, self.port))
        httpd.fake = self
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="lanterna-fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; requests still being answered are dropped."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            httpd.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted: ``python -m lanterna.testing.openai_server --port 8000``."""
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = FakeOpenAIServer(args.host, args.port).start()
    print(f"Fake OpenAI server at {server.base_url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
