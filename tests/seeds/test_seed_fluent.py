"""Seed 000 (fluent API): each example runs unchanged in a fresh interpreter; the trace it
leaves is the one the document describes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import run_python
from lanterna.entities import Trace

HERE = Path(__file__).parent
RUNNER = HERE / "run_example.py"


def run_example(name: str, tmp_path: Path) -> tuple[str, Trace]:
    result = run_python(f"import sys; sys.argv = ['x', {str(HERE / 'examples' / name)!r}]; "
                        f"exec(open({str(RUNNER)!r}).read())", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    output, _, trace_json = result.stdout.partition("=====TRACE=====\n")
    return output, Trace.from_json(trace_json)


def only_span(trace: Trace) -> Any:
    assert len(trace.data.spans) == 1
    return trace.data.spans[0]


def test_basic_span(tmp_path: Path) -> None:
    _, trace = run_example("s000_1_basic_span.py", tmp_path)
    span = only_span(trace)
    assert span.name == "my_span"
    assert span.inputs == {"x": 1, "y": 2}
    assert span.outputs == 3
    assert span.status.status_code == "OK"
    assert trace.info.state == "OK"


def test_span_events(tmp_path: Path) -> None:
    _, trace = run_example("s000_2_span_events.py", tmp_path)
    span = only_span(trace)
    assert span.span_type == "CHAIN"
    names = [event.name for event in span.events]
    assert names == ["validation_completed", "data_checkpoint", "exception"]
    assert span.events[0].attributes == {
        "records_validated": 1000, "errors_found": 3, "validation_type": "schema"}
    assert span.events[1].attributes == {"checkpoint_id": "ckpt_123"}
    assert abs(span.events[1].timestamp - span.start_time_ns) < 10**9
    exception = span.events[2].attributes
    assert exception["exception.message"] == "Invalid input format"
    assert exception["exception.type"] == "ValueError"
    assert "raise ValueError" in exception["exception.stacktrace"]
    # the exception was handled inside the block, so the span itself succeeded
    assert span.status.status_code == "OK"


def test_span_status(tmp_path: Path) -> None:
    output, trace = run_example("s000_3_span_status.py", tmp_path)
    span = only_span(trace)
    # OK set first is final: the later "ERROR" does not override it (OpenTelemetry rules)
    assert span.status.status_code == "OK"
    assert output.strip().splitlines() == ["OK"]


def test_retriever_documents(tmp_path: Path) -> None:
    output, trace = run_example("s000_4_retriever.py", tmp_path)
    span = only_span(trace)
    assert span.span_type == "RETRIEVER"
    assert span.inputs == {"query": "What is ML?"}
    assert span.outputs[0] == {
        "page_content": "The content of the document...",
        "metadata": {"doc_uri": "path/to/document.md", "chunk_id": "chunk_001",
                     "relevance_score": 0.95, "source": "knowledge_base"},
        "id": "doc_123",
    }
    assert span.outputs[1]["id"] is None
    assert output.strip().splitlines() == [
        "Document from path/to/document.md (score: 0.95)",
        "Document from path/to/other.md (score: 0.87)",
    ]
    assert json.loads(trace.info.trace_metadata["mlflow.traceInputs"]) == {"query": "What is ML?"}
