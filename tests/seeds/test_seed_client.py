"""Seed 002 (low-level client): each example runs unchanged in a fresh interpreter (the harness
around it only defines what the document leaves out); the stored traces are what it describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_python
from lanterna.entities import Span, Trace

HERE = Path(__file__).parent


def run_example(name: str, tmp_path: Path, **env: str) -> tuple[str, str, list[Trace]]:
    result = run_python(
        f"import sys; sys.argv = ['x', {str(HERE / 'examples' / name)!r}]; "
        f"exec(open({str(HERE / 'run_client_example.py')!r}).read())",
        cwd=tmp_path,
        env={"LANTERNA_TRACKING_URI": f"sqlite:///{tmp_path}/seed.db", **env},
    )
    assert result.returncode == 0, result.stderr
    output, _, traces = result.stdout.partition("=====TRACES=====\n")
    return output, result.stderr, [Trace.from_json(line) for line in traces.splitlines()]


def children(trace: Trace, parent: Span) -> list[str]:
    return [s.name for s in trace.data.spans if s.parent_id == parent.span_id]


def by_name(trace: Trace) -> dict[str, Span]:
    return {s.name: s for s in trace.data.spans}


def test_lifecycle(tmp_path: Path) -> None:
    output, stderr, (trace,) = run_example("s002_1_lifecycle.py", tmp_path)
    assert f"Started trace with ID: {trace.trace_id}" in output
    # tracking_uri="databricks": one warning naming what works, and the program went on
    assert stderr.count("Tracking URI 'databricks'") == 1
    assert "sqlite:///" in stderr and "postgresql://" in stderr
    spans = by_name(trace)
    root = spans["my_application_flow"]
    assert root.inputs == {"user_id": "123", "action": "generate_report"}
    assert root.outputs == {"report_url": "https://example.com/report/123"}
    assert root.attributes["environment"] == "production"
    assert root.attributes["total_duration_ms"] == 1250  # attributes given at end are merged
    assert children(trace, root) == ["fetch_user_data", "process_data"]
    assert spans["fetch_user_data"].outputs == {"record_count": 42, "cache_hit": True}
    assert spans["fetch_user_data"].attributes["duration_ms"] == 150
    assert spans["process_data"].attributes["batch_size"] == 32
    assert {s.status.status_code for s in trace.data.spans} == {"OK"}
    assert trace.info.state == "OK"


def test_error_handling_success(tmp_path: Path) -> None:
    _, _, (trace,) = run_example("s002_2_error_handling.py", tmp_path)
    spans = by_name(trace)
    assert spans["database_query"].outputs == {"result": [{"id": 1}]}
    assert spans["risky_operation"].outputs == {"status": "completed"}
    assert trace.info.state == "OK"


def test_error_handling_failure_propagates_and_is_stored_as_error(tmp_path: Path) -> None:
    output, _, (trace,) = run_example(
        "s002_2_error_handling.py", tmp_path, SEED_QUERY_FAILS="1")
    assert "propagated: database unreachable" in output
    spans = by_name(trace)
    assert spans["database_query"].status.status_code == "ERROR"
    assert spans["database_query"].attributes["error"] == "database unreachable"
    root = spans["risky_operation"]
    assert root.status.status_code == "ERROR"
    assert root.attributes["error_type"] == "ConnectionError"
    assert trace.info.state == "ERROR"


def test_custom_trace_manager_never_ended_is_still_stored(tmp_path: Path) -> None:
    _, _, (trace,) = run_example("s002_3_custom_manager.py", tmp_path)
    root = trace.data.spans[0]
    assert root.name.startswith("user123_report_generation_")
    assert root.attributes["custom_trace_id"] == root.name
    assert root.attributes["report_type"] == "quarterly"
    assert trace.info.state == "ERROR"  # never ended: lanterna ended it at exit
    assert "exited before this span was ended" in root.status.description


def test_batch_processing(tmp_path: Path) -> None:
    output, _, (trace,) = run_example("s002_4_batch.py", tmp_path)
    assert output.strip() == "[{'id': 1, 'value': 10}, {'id': 2, 'value': 20}, " \
                             "{'id': 5, 'value': 50}]"
    spans = by_name(trace)
    root = spans["batch_processing"]
    assert root.inputs == {"batch_size": 5}
    assert root.outputs == {"processed_count": 3, "success_rate": 0.6}
    assert children(trace, root) == [f"process_item_{i}" for i in range(5)]
    assert [s.name for s in trace.data.spans if s.name == "validate"] == ["validate"] * 5
    item3 = spans["process_item_3"]  # id 4 fails in transform
    assert item3.status.status_code == "ERROR"
    assert item3.attributes["error"] == "cannot transform item 4"
    assert children(trace, item3) == ["validate", "transform"]
    # the document's example leaves that transform span open; it is stored, ended as ERROR
    transform = next(s for s in trace.data.spans
                     if s.name == "transform" and s.parent_id == item3.span_id)
    assert transform.status.status_code == "ERROR"
    assert "not ended" in transform.status.description
    assert spans["process_item_2"].status.status_code == "OK"
    assert children(trace, spans["process_item_2"]) == ["validate"]  # id 3 is not valid


@pytest.mark.parametrize("name", ["s002_5_helpers.py"])
def test_context_manager_state_manager_and_attributes(tmp_path: Path, name: str) -> None:
    _, _, traces = run_example(name, tmp_path)
    helpers, session = sorted(traces, key=lambda t: t.info.tags["mlflow.traceName"])
    spans = by_name(helpers)
    root = spans["helpers_demo"]
    assert root.outputs == {"result": 42}
    assert children(helpers, root) == ["my_operation", "llm_call", "process"]
    assert spans["my_operation"].status.status_code == "OK"
    assert spans["llm_call"].attributes["prompt_template"] == "rag_v2"
    # the document never ends llm_call/process; end_trace ended them as ERROR with a note
    assert spans["llm_call"].status.status_code == "ERROR"
    assert "not ended" in spans["process"].status.description
    session_spans = by_name(session)
    assert session_spans["session"].inputs == {"user": "u1"}
    assert session_spans["session"].outputs == {"done": True}
    assert children(session, session_spans["session"]) == ["step_one"]
    assert session_spans["step_one"].outputs == {"ok": True}
