"""Libraries instrumented for OpenTelemetry become lanterna integrations: the OpenAI
instrumentors of OpenInference and of OpenTelemetry (GenAI conventions), with the real ``openai``
package against the local fake server (issue 14, acceptance 2)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")
openai = pytest.importorskip("openai")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

import lanterna  # noqa: E402
import lanterna.otel  # noqa: E402
from lanterna.testing.openai_server import FakeOpenAIServer  # noqa: E402
from lanterna.testing.pytest_plugin import TracesRecorded  # noqa: E402


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


def openinference() -> Any:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    return OpenAIInstrumentor()


def otel_genai() -> Any:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    return OpenAIInstrumentor()


@pytest.mark.parametrize(
    ("make_instrumentor", "expected_type", "message_format"),
    [(openinference, "LLM", "openinference"), (otel_genai, "CHAT_MODEL", "gen_ai")],
    ids=["openinference", "opentelemetry-genai"],
)
def test_an_instrumented_openai_call_is_stored_under_the_traced_function(
    make_instrumentor: Any, expected_type: str, message_format: str,
    openai_server: FakeOpenAIServer, traces: TracesRecorded, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The GenAI instrumentation records message content on the span only when asked to; OTel
    # reads the switches once, at the first instrumentation of the process, so read them again.
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability

    monkeypatch.setattr(_OpenTelemetrySemanticConventionStability, "_initialized", False)
    provider = TracerProvider()
    provider.add_span_processor(lanterna.otel.SpanProcessor())
    instrumentor = make_instrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0)

        @lanterna.trace(span_type="AGENT")
        def answer(question: str) -> str:
            response = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
            return str(response.choices[0].message.content)

        assert answer("what is lanterna") == "Fake reply to: what is lanterna"
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    trace = traces.last()
    assert len(traces.all()) == 1
    root, llm = trace.data.spans
    assert root.name == "answer" and llm.parent_id == root.span_id
    assert llm.trace_id == root.trace_id
    assert llm.span_type == expected_type
    assert llm.inputs["messages"] == [{"role": "user", "content": "what is lanterna"}]
    assert llm.outputs["choices"][0]["message"] == {
        "role": "assistant", "content": "Fake reply to: what is lanterna"}
    assert llm.get_attribute("mlflow.llm.model") == "gpt-4o-mini"
    assert llm.get_attribute("mlflow.chat.tokenUsage") == {
        "input_tokens": 3, "output_tokens": 6, "total_tokens": 9}
    assert llm.get_attribute("mlflow.message.format") == message_format
    assert llm.status.status_code == "OK"
