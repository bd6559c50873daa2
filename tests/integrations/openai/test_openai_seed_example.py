"""The seed's advanced example (manual spans + ``@trace`` + OpenAI autolog) runs unchanged.

The example is copied verbatim from ``seeds/000_7464f05df1a6455a.txt`` ("Exemplo avançado") and
rewritten only as the seed README allows (``import mlflow`` → ``import lanterna as mlflow``,
``from mlflow.`` → ``from lanterna.``). It runs in a fresh interpreter whose ``databricks.sdk``
is a stand-in returning an ``openai.OpenAI`` client for the local fake server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lanterna.entities import SpanStatusCode, SpanType, Trace
from lanterna.testing.openai_server import FakeOpenAIServer

STUBS = Path(__file__).parent / "stubs"

SEED_EXAMPLE = """
from databricks.sdk import WorkspaceClient
import mlflow
from mlflow.entities import SpanEvent, SpanType
import openai
import time

# Enable auto-tracing for OpenAI
mlflow.openai.autolog()

# Create an OpenAI client that is connected to Databricks-hosted LLMs.
workspace = WorkspaceClient()
client = workspace.serving_endpoints.get_open_ai_client()

@mlflow.trace(span_type=SpanType.CHAIN)
def chat_iteration(messages, user_input):
  with mlflow.start_span(name="User", span_type=SpanType.CHAIN) as span:
    span.set_inputs({
      "messages": messages,
      "timestamp": time.time(),
    })
    # Set individual attribute
    span.set_attribute("messages_length", len(messages))

    # Set multiple attributes at once
    span.set_attributes({
      "environment": "production",
      "custom_metadata": {"key": "value"}
    })

    # Add events during execution
    span.add_event(SpanEvent(
      name="processing_started",
      attributes={
        "stage": "initialization",
        "memory_usage_mb": 256,
      }
    ))

    span.set_outputs(user_input)

  messages.append({"role": "user", "content": user_input})
  response = client.chat.completions.create(
    model="databricks-claude-sonnet-4-5",
    max_tokens=100,
    messages=messages,
  )
  answer = response.choices[0].message.content
  print(f"Assistant: {answer}")
  messages.append({"role": "assistant", "content": answer})

chat_iteration(
  messages = [{"role": "system", "content": "You are a friendly chat bot"}],
  user_input="What is your favorite color?",
)
"""

REPORT = """
print("TRACE " + mlflow.get_trace(mlflow.get_last_active_trace_id()).to_json())
"""


def as_lanterna(code: str) -> str:
    return code.replace("import mlflow", "import lanterna as mlflow").replace(
        "from mlflow.", "from lanterna."
    )


def test_seed_advanced_example(openai_server: FakeOpenAIServer, tmp_path: Path) -> None:
    script = tmp_path / "advanced_example.py"
    script.write_text(as_lanterna(SEED_EXAMPLE) + REPORT, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(STUBS), *sys.path]),
        "LANTERNA_FAKE_OPENAI_URL": openai_server.base_url,
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # where a default store may create its database
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Assistant: Fake reply to: What is your favorite color?"
    trace = Trace.from_json(lines[1].removeprefix("TRACE "))

    root, user, llm = trace.data.spans
    assert (root.name, root.span_type, root.parent_id) == ("chat_iteration", SpanType.CHAIN, None)
    assert root.inputs == {
        "messages": [{"role": "system", "content": "You are a friendly chat bot"}],
        "user_input": "What is your favorite color?",
    }

    assert (user.name, user.span_type, user.parent_id) == ("User", SpanType.CHAIN, root.span_id)
    assert user.attributes["messages_length"] == 1
    assert user.attributes["environment"] == "production"
    assert user.attributes["custom_metadata"] == {"key": "value"}
    (event,) = user.events
    assert event.name == "processing_started"
    assert event.attributes == {"stage": "initialization", "memory_usage_mb": 256}
    assert user.outputs == "What is your favorite color?"

    assert (llm.name, llm.span_type, llm.parent_id) == (
        "Completions",
        SpanType.CHAT_MODEL,
        root.span_id,
    )
    assert llm.inputs == {
        "model": "databricks-claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "system", "content": "You are a friendly chat bot"},
            {"role": "user", "content": "What is your favorite color?"},
        ],
    }
    assert llm.attributes["mlflow.llm.model"] == "databricks-claude-sonnet-4-5"
    assert llm.attributes["mlflow.message.format"] == "openai"
    usage = {"input_tokens": 11, "output_tokens": 8, "total_tokens": 19}
    assert llm.attributes["mlflow.chat.tokenUsage"] == usage
    assert llm.outputs["choices"][0]["message"]["content"] == (
        "Fake reply to: What is your favorite color?"
    )
    assert all(s.status.status_code == SpanStatusCode.OK for s in trace.data.spans)
    assert trace.info.token_usage == usage
    assert json.loads(trace.to_json())["info"]["state"] == "OK"
