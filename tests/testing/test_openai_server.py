"""The fake OpenAI server, exercised through the real ``openai`` client (sync and async).

Wire payloads are also validated strictly against the ``openai`` package's pydantic types (the
client itself builds its models without validation, so it would accept almost anything).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pydantic
import pytest
from openai.types import Completion, CreateEmbeddingResponse
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from lanterna.testing.openai_server import FakeOpenAIServer

HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
needs_responses = pytest.mark.skipif(not HAS_RESPONSES, reason="openai < 1.66: no Responses API")

USER = [{"role": "user", "content": "What is your favorite color?"}]
WEATHER = [{"role": "user", "content": "What's the weather in Paris?"}]
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["location"],
            },
        },
    }
]
RESPONSES_TOOLS = [{"type": "function", **CHAT_TOOLS[0]["function"]}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def client(server: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as c:
        yield c


def run_async(server: FakeOpenAIServer, body: Any) -> Any:
    """Run ``body(async_client)`` on a fresh event loop with a fresh async client."""

    async def main() -> Any:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as c:
            return await body(c)

    return asyncio.run(main())


def post_raw(server: FakeOpenAIServer, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


def responses_types() -> Any:
    import openai.types.responses as types

    return types


def chat_api(client: Any) -> Any:
    """``client.chat.completions``, or its ``beta`` twin where ``parse``/``stream`` lived
    before openai 1.92."""
    completions = client.chat.completions
    return completions if hasattr(completions, "parse") else client.beta.chat.completions


def sse_data(raw: bytes) -> list[str]:
    return [line[6:] for line in raw.decode().splitlines() if line.startswith("data: ")]


# -- chat completions --------------------------------------------------------------------------


def test_chat_completion_is_deterministic_and_valid(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    first = client.chat.completions.create(model="gpt-test", messages=USER)
    second = client.chat.completions.create(model="gpt-test", messages=USER)
    assert first.choices[0].message.content == "Fake reply to: What is your favorite color?"
    assert first.choices[0].message.content == second.choices[0].message.content
    assert first.choices[0].finish_reason == "stop"
    assert first.model == "gpt-test"
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (5, 8)
    assert first.usage.total_tokens == 13
    status, raw = post_raw(server, "/chat/completions", {"model": "m", "messages": USER})
    assert status == 200
    ChatCompletion.model_validate_json(raw)


def test_chat_counts_every_message_and_honours_max_tokens_and_n(client: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Be brief"}, *USER]
    result = client.chat.completions.create(model="m", messages=messages, max_tokens=2, n=2)
    assert [c.message.content for c in result.choices] == ["Fake reply"] * 2
    assert [c.finish_reason for c in result.choices] == ["length", "length"]
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (7, 2)


def test_chat_content_parts_are_read(client: openai.OpenAI) -> None:
    parts = [{"type": "text", "text": "hello"}, {"type": "text", "text": "world"}]
    result = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": parts}]
    )
    assert result.choices[0].message.content == "Fake reply to: hello world"


def test_chat_streaming_with_usage(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    with client.chat.completions.create(
        model="m", messages=USER, stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Fake reply to: What is your favorite color?"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 13
    body = {"model": "m", "messages": USER, "stream": True}
    status, raw = post_raw(server, "/chat/completions", body)
    data = sse_data(raw)
    assert status == 200
    assert data[-1] == "[DONE]"
    for item in data[:-1]:
        assert ChatCompletionChunk.model_validate_json(item).usage is None


def test_chat_tool_call(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model="m", messages=WEATHER, tools=CHAT_TOOLS)
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris", "unit": "celsius"}
    status, raw = post_raw(
        server, "/chat/completions", {"model": "m", "messages": WEATHER, "tools": CHAT_TOOLS}
    )
    ChatCompletion.model_validate_json(raw)

    follow_up = [
        *WEATHER,
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 degrees"},
    ]
    answer = client.chat.completions.create(model="m", messages=follow_up, tools=CHAT_TOOLS)
    assert answer.choices[0].message.content == "The tool said: 18 degrees"


def test_chat_tool_choice_rules(client: openai.OpenAI) -> None:
    no_word = client.chat.completions.create(model="m", messages=USER, tools=CHAT_TOOLS)
    assert no_word.choices[0].message.tool_calls is None
    required = client.chat.completions.create(
        model="m", messages=USER, tools=CHAT_TOOLS, tool_choice="required"
    )
    assert required.choices[0].message.tool_calls is not None
    never = client.chat.completions.create(
        model="m", messages=WEATHER, tools=CHAT_TOOLS, tool_choice="none"
    )
    assert never.choices[0].message.tool_calls is None


def test_chat_tool_call_streaming(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="m", messages=WEATHER, tools=CHAT_TOOLS, stream=True)
    )
    deltas = [c.choices[0].delta for c in chunks]
    assert deltas[0].tool_calls is not None
    assert deltas[0].tool_calls[0].function is not None
    assert deltas[0].tool_calls[0].function.name == "get_weather"
    arguments = "".join(
        d.tool_calls[0].function.arguments or ""
        for d in deltas
        if d.tool_calls and d.tool_calls[0].function
    )
    assert json.loads(arguments) == {"location": "Paris", "unit": "celsius"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_chat_parse_structured_output(client: openai.OpenAI) -> None:
    class Weather(pydantic.BaseModel):
        city: str
        degrees: int
        sunny: bool

    result = chat_api(client).parse(model="m", messages=WEATHER, response_format=Weather)
    assert result.choices[0].message.parsed == Weather(city="Paris", degrees=1, sunny=True)


def test_chat_stream_helper(client: openai.OpenAI) -> None:
    with chat_api(client).stream(model="m", messages=USER) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Fake reply to: What is your favorite color?"


def test_chat_async(server: FakeOpenAIServer) -> None:
    async def body(c: openai.AsyncOpenAI) -> tuple[str | None, str]:
        plain = await c.chat.completions.create(model="m", messages=USER)
        stream = await c.chat.completions.create(model="m", messages=USER, stream=True)
        async with stream:
            pieces = [ch.choices[0].delta.content or "" async for ch in stream if ch.choices]
        return plain.choices[0].message.content, "".join(pieces)

    plain, streamed = run_async(server, body)
    assert plain == streamed == "Fake reply to: What is your favorite color?"


# -- legacy completions ------------------------------------------------------------------------


def test_legacy_completions(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    result = client.completions.create(model="m", prompt="Say hi")
    assert result.choices[0].text == "Fake reply to: Say hi"
    assert result.usage is not None
    assert result.usage.total_tokens == 2 + 5
    several = client.completions.create(model="m", prompt=["a", "b c"], max_tokens=3)
    assert [c.text for c in several.choices] == ["Fake reply to:"] * 2
    assert [c.finish_reason for c in several.choices] == ["length"] * 2
    status, raw = post_raw(server, "/completions", {"model": "m", "prompt": "x"})
    Completion.model_validate_json(raw)


def test_legacy_completions_streaming(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    chunks = list(
        client.completions.create(
            model="m", prompt="Say hi", stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Fake reply to: Say hi"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 7

    async def body(c: openai.AsyncOpenAI) -> str:
        stream = await c.completions.create(model="m", prompt="Say hi", stream=True)
        return "".join([ch.choices[0].text async for ch in stream])

    assert run_async(server, body) == "Fake reply to: Say hi"
    _, raw = post_raw(server, "/completions", {"model": "m", "prompt": "x", "stream": True})
    for item in sse_data(raw)[:-1]:
        # Like the real API, chunks before the last carry finish_reason null, which the
        # (non-streaming) Completion type does not allow; everything else must validate.
        chunk = json.loads(item)
        for choice in chunk["choices"]:
            choice["finish_reason"] = choice["finish_reason"] or "stop"
        Completion.model_validate(chunk)


# -- embeddings --------------------------------------------------------------------------------


def test_embeddings(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    # The client asks for base64 unless told otherwise and decodes it; both must agree.
    decoded = client.embeddings.create(model="e", input=["hello world", "bye"])
    as_float = client.embeddings.create(
        model="e", input=["hello world", "bye"], encoding_format="float"
    )
    assert [d.embedding for d in decoded.data] == [d.embedding for d in as_float.data]
    assert [d.index for d in decoded.data] == [0, 1]
    assert len(decoded.data[0].embedding) == 8
    assert decoded.data[0].embedding != decoded.data[1].embedding
    assert decoded.usage.prompt_tokens == decoded.usage.total_tokens == 3
    sized = client.embeddings.create(model="e", input="x", dimensions=3)
    assert len(sized.data[0].embedding) == 3
    assert abs(sum(v * v for v in sized.data[0].embedding) - 1) < 1e-5
    tokens = client.embeddings.create(model="e", input=[1, 2, 3])
    assert tokens.usage.prompt_tokens == 3
    _, raw = post_raw(server, "/embeddings", {"model": "e", "input": "x"})
    CreateEmbeddingResponse.model_validate_json(raw)

    async def body(c: openai.AsyncOpenAI) -> list[float]:
        return (await c.embeddings.create(model="e", input="hello world")).data[0].embedding

    assert run_async(server, body) == decoded.data[0].embedding


# -- responses ---------------------------------------------------------------------------------


@needs_responses
def test_responses(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    result = client.responses.create(model="m", input="Tell me a joke", instructions="Be kind")
    assert result.output_text == "Fake reply to: Tell me a joke"
    assert result.status == "completed"
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (6, 7)
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "Tell me a joke"}]},
    ]
    assert client.responses.create(model="m", input=items).output_text == result.output_text
    _, raw = post_raw(server, "/responses", {"model": "m", "input": "x"})
    responses_types().Response.model_validate_json(raw)


@needs_responses
def test_responses_function_call_and_follow_up(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    result = client.responses.create(
        model="m", input="What's the weather in Paris?", tools=RESPONSES_TOOLS
    )
    call = result.output[0]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"location": "Paris", "unit": "celsius"}
    follow_up = [
        {"role": "user", "content": "What's the weather in Paris?"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
    ]
    answer = client.responses.create(model="m", input=follow_up, tools=RESPONSES_TOOLS)
    assert answer.output_text == "The tool said: sunny"
    _, raw = post_raw(
        server, "/responses", {"model": "m", "input": "weather?", "tools": RESPONSES_TOOLS}
    )
    responses_types().Response.model_validate_json(raw)


@needs_responses
def test_responses_streaming(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="m", input="Tell me a joke", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.done" in kinds
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Fake reply to: Tell me a joke"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == "Fake reply to: Tell me a joke"
    assert final.response.usage is not None

    for tools in ([], RESPONSES_TOOLS):
        body = {"model": "m", "input": "weather?", "tools": tools, "stream": True}
        status, raw = post_raw(server, "/responses", body)
        assert status == 200
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(
            responses_types().ResponseStreamEvent
        )
        for item in sse_data(raw):
            adapter.validate_json(item)


@needs_responses
def test_responses_function_call_streaming_and_helpers(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(
            model="m", input="weather in Rome", tools=RESPONSES_TOOLS, stream=True
        )
    )
    args = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(args)["location"] == "Rome"
    with client.responses.stream(model="m", input="Tell me a joke") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "Fake reply to: Tell me a joke"

    class Joke(pydantic.BaseModel):
        setup: str
        punchline: str

    parsed = client.responses.parse(model="m", input="Tell me a joke", text_format=Joke)
    assert parsed.output_parsed == Joke(setup="joke", punchline="joke")


@needs_responses
def test_responses_async(server: FakeOpenAIServer) -> None:
    async def body(c: openai.AsyncOpenAI) -> tuple[str, list[str]]:
        plain = await c.responses.create(model="m", input="hi")
        stream = await c.responses.create(model="m", input="hi", stream=True)
        kinds = [e.type async for e in stream]
        return plain.output_text, kinds

    text, kinds = run_async(server, body)
    assert text == "Fake reply to: hi"
    assert kinds[-1] == "response.completed"


# -- errors, delays, odd shapes, bookkeeping ---------------------------------------------------


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("error-400", openai.BadRequestError),
        ("error-401", openai.AuthenticationError),
        ("error-404", openai.NotFoundError),
        ("error-429", openai.RateLimitError),
        ("error-500", openai.InternalServerError),
        ("error-503", openai.InternalServerError),
    ],
)
def test_errors_on_demand(client: openai.OpenAI, model: str, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=model, messages=USER)
    assert isinstance(caught.value, openai.APIStatusError)
    body = caught.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}
    with pytest.raises(error):
        client.embeddings.create(model=model, input="x")
    if HAS_RESPONSES:
        with pytest.raises(error):
            client.responses.create(model=model, input="x")


def test_errors_async(server: FakeOpenAIServer) -> None:
    async def body(c: openai.AsyncOpenAI) -> None:
        await c.completions.create(model="error-500", prompt="x")

    with pytest.raises(openai.InternalServerError):
        run_async(server, body)


def test_slow_model_times_out_the_client(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="slow-2000", messages=USER, timeout=0.2)
    ok = client.chat.completions.create(model="slow-10", messages=USER, timeout=5)
    assert ok.choices[0].message.content


def test_odd_shapes_are_valid_json_the_client_accepts(
    server: FakeOpenAIServer, client: openai.OpenAI
) -> None:
    chat = client.chat.completions.create(model="odd-shape", messages=USER)
    assert chat.choices[0].message.content is None
    assert chat.usage is None
    assert chat.model_extra == {"lanterna_extra": [1]}
    chunks = list(
        client.chat.completions.create(
            model="odd-shape", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert any(c.choices == [] for c in chunks)
    assert all(c.usage is None for c in chunks)
    legacy = client.completions.create(model="odd-shape", prompt="x")
    assert legacy.choices[0].text is None
    assert legacy.usage is not None
    assert legacy.usage.prompt_tokens == "seven"  # type: ignore[comparison-overlap]
    assert len(list(client.completions.create(model="odd-shape", prompt="x", stream=True))) == 3
    emb = client.embeddings.create(model="odd-shape", input="x")
    assert emb.usage is None
    if not HAS_RESPONSES:
        return
    resp = client.responses.create(model="odd-shape", input="x")
    assert resp.usage is None
    assert resp.output_text == "Fake reply to: x"
    kinds = [e.type for e in client.responses.create(model="odd-shape", input="x", stream=True)]
    assert "response.completed" not in kinds
    assert "response.lanterna_unknown" in kinds


def test_unknown_path_and_bad_json(server: FakeOpenAIServer) -> None:
    status, raw = post_raw(server, "/nowhere", {"model": "m"})
    assert status == 404
    assert json.loads(raw)["error"]["type"] == "invalid_request_error"
    request = urllib.request.Request(server.base_url + "/chat/completions", data=b"{not json")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    with caught.value as err:
        assert err.code == 400


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["fake-model"]


def test_requests_are_recorded(server: FakeOpenAIServer, client: openai.OpenAI) -> None:
    before = len(server.requests)
    client.chat.completions.create(
        model="m", messages=USER, temperature=0.5, extra_headers={"X-Custom": "yes"}
    )
    (entry,) = server.requests[before:]
    assert entry["method"] == "POST"
    assert entry["path"] == "/v1/chat/completions"
    assert entry["json"] == {"model": "m", "messages": USER, "temperature": 0.5}
    assert entry["headers"]["x-custom"] == "yes"
    assert entry["headers"]["authorization"] == "Bearer test"


def test_start_stop_and_free_ports() -> None:
    with FakeOpenAIServer() as one, FakeOpenAIServer() as two:
        assert one.port != two.port
        assert one.base_url == f"http://127.0.0.1:{one.port}/v1"
        assert one.start() is one  # starting twice is harmless
        with openai.OpenAI(base_url=one.base_url, api_key="t", max_retries=0) as c:
            c.chat.completions.create(model="m", messages=USER)
    with (
        openai.OpenAI(base_url=one.base_url, api_key="t", max_retries=0) as c,
        pytest.raises(openai.APIConnectionError),
    ):
        c.chat.completions.create(model="m", messages=USER)
    one.stop()  # stopping twice is harmless too


def test_broken_stream_hangs_up_after_two_events(client: openai.OpenAI) -> None:
    received = []
    # openai maps the cut to APIConnectionError or lets the HTTP library's error through,
    # depending on its version.
    with pytest.raises(Exception, match=r"(?i)incomplete|connection"):  # noqa: PT012
        for chunk in client.chat.completions.create(
            model="broken-stream", messages=USER, stream=True
        ):
            received.append(chunk)
    assert len(received) == 2
    ok = client.chat.completions.create(model="m", messages=USER)  # the server is still fine
    assert ok.choices[0].message.content
