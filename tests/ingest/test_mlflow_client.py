"""An unmodified ``mlflow`` client (mlflow-skinny) pointed at lanterna's server logs and reads
traces (issue 12, acceptance 3): ``@mlflow.trace``, ``mlflow.start_span``, ``MlflowClient``
start/end trace, ``get_trace``, ``search_traces``, ``set_experiment``, trace tags. Each trace is
stored once and reads the same through lanterna and through mlflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mlflow")

MLFLOW_SCRIPT = r'''
import json, sys
import mlflow
from mlflow import MlflowClient

url = sys.argv[1]
mlflow.set_tracking_uri(url)
experiment = mlflow.set_experiment("mlflow-client-test")
out = {"experiment_id": experiment.experiment_id}


@mlflow.trace(span_type="AGENT")
def answer(question: str) -> dict:
    with mlflow.start_span("retrieve", span_type="RETRIEVER") as span:
        span.set_inputs({"query": question})
        span.set_outputs([{"page_content": "Lanterns give light.", "metadata": {"doc_uri": "a"},
                           "id": "d1"}])
    with mlflow.start_span("llm", span_type="CHAT_MODEL") as span:
        span.set_inputs({"messages": [{"role": "user", "content": question}]})
        span.set_attribute("mlflow.chat.tokenUsage",
                           {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8})
        span.set_outputs({"choices": [{"message": {"role": "assistant",
                                                   "content": "They shine."}}]})
    return {"answer": "They shine."}


answer("What do lanterns do?")
out["decorated"] = mlflow.get_last_active_trace_id()

client = MlflowClient()
root = client.start_trace("client trace", inputs={"x": 1}, tags={"origin": "client"})
child = client.start_span("child", trace_id=root.trace_id, parent_id=root.span_id,
                          inputs={"y": 2})
client.end_span(trace_id=root.trace_id, span_id=child.span_id, outputs={"z": 3})
client.end_trace(root.trace_id, outputs={"done": True})
out["client"] = root.trace_id

mlflow.flush_trace_async_logging()

client.set_trace_tag(out["decorated"], "reviewed", "yes")
client.set_trace_tag(out["client"], "temporary", "1")
client.delete_trace_tag(out["client"], "temporary")

out["get"] = {tid: mlflow.get_trace(tid).to_dict() for tid in (out["decorated"], out["client"])}
found = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list")
out["search"] = [t.to_dict() for t in found]
out["search_filtered"] = [
    t.info.trace_id for t in mlflow.search_traces(
        locations=[experiment.experiment_id], filter_string="tag.reviewed = 'yes'",
        return_type="list")
]
print("RESULT " + json.dumps(out))
'''


def run_mlflow(url: str, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "mlflow_client.py"
    script.write_text(MLFLOW_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LANTERNA_"))}
    result = subprocess.run([sys.executable, str(script), url], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line.removeprefix("RESULT "))  # type: ignore[no-any-return]


def comparable(span: dict[str, Any]) -> tuple[Any, ...]:
    attributes = {k: json.loads(v) for k, v in span["attributes"].items()}
    return (span["span_id"], span["parent_span_id"] or None, span["name"],
            span["start_time_unix_nano"], span["end_time_unix_nano"], span["status"]["code"],
            attributes.get("mlflow.spanType"), attributes.get("mlflow.spanInputs"),
            attributes.get("mlflow.spanOutputs"), attributes.get("mlflow.chat.tokenUsage"))


def test_mlflow_client_logs_and_reads_traces(server: Any, tmp_path: Path) -> None:
    out = run_mlflow(server.url, tmp_path)
    store = server.store
    experiment = store.get_experiment_by_name("mlflow-client-test")
    assert experiment is not None and experiment.experiment_id == out["experiment_id"]
    decorated, client_trace = out["decorated"], out["client"]

    stored = {tid: store.get_trace(tid) for tid in (decorated, client_trace)}
    for trace_id, trace in stored.items():
        assert trace is not None, trace_id
        assert trace.info.experiment_id == out["experiment_id"]
        read = out["get"][trace_id]
        # the same spans, once each, through lanterna and through mlflow
        ours = sorted(comparable(s) for s in trace.to_dict()["data"]["spans"])
        theirs = sorted(comparable(s) for s in read["data"]["spans"])
        assert ours == theirs
        assert len({s[0] for s in ours}) == len(ours)
        assert read["info"]["trace_id"] == trace_id
        assert read["info"]["state"] == trace.info.state.value == "OK"
        assert read["info"]["request_preview"] == trace.info.request_preview
        assert read["info"]["response_preview"] == trace.info.response_preview
        assert read["info"]["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"
        for key, value in trace.info.tags.items():
            assert read["info"]["tags"][key] == value

    agent = stored[decorated]
    assert agent is not None
    assert [s.name for s in agent.data.spans] == ["answer", "retrieve", "llm"]
    assert agent.data.spans[0].span_type == "AGENT"
    assert agent.data.spans[1].outputs[0]["page_content"] == "Lanterns give light."
    assert agent.info.name == "answer"
    assert agent.info.tags["reviewed"] == "yes"
    assert agent.info.token_usage == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}
    client = stored[client_trace]
    assert client is not None
    assert [s.name for s in client.data.spans] == ["client trace", "child"]
    assert client.info.tags["origin"] == "client"
    assert "temporary" not in client.info.tags
    assert client.data.spans[1].outputs == {"z": 3}

    assert sorted(t["info"]["trace_id"] for t in out["search"]) == sorted(stored)
    assert all(len(t["data"]["spans"]) > 0 for t in out["search"])
    assert out["search_filtered"] == [decorated]
    traces, _ = store.search_traces([out["experiment_id"]])
    assert sorted(t.info.trace_id for t in traces) == sorted(stored)  # each trace once


TOKEN_SCRIPT = r'''
import sys
import mlflow

mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_span("with a token") as span:
    span.set_inputs({"a": 1})
trace_id = mlflow.get_last_active_trace_id()
mlflow.flush_trace_async_logging()
print("RESULT", trace_id, mlflow.get_trace(trace_id).data.spans[0].name)
'''


def test_mlflow_client_with_a_token(store_uri: str, tmp_path: Path) -> None:
    from lanterna.store.sql.store import SqlStore
    from lanterna.testing.server import running_server

    script = tmp_path / "mlflow_with_token.py"
    script.write_text(TOKEN_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LANTERNA_"))}
    with running_server(store_uri, token="s3cret") as server:
        refused = subprocess.run([sys.executable, str(script), server.url], cwd=tmp_path,
                                 env=env, capture_output=True, text=True, timeout=240,
                                 check=False)
        assert "RESULT" not in refused.stdout
        result = subprocess.run([sys.executable, str(script), server.url], cwd=tmp_path,
                                env={**env, "MLFLOW_TRACKING_TOKEN": "s3cret"},
                                capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    words = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")][-1].split()
    assert " ".join(words[2:]) == "with a token"  # read back through the server by mlflow
    store = SqlStore(store_uri)
    try:
        stored = store.get_trace(words[1])
    finally:
        store.dispose()
    assert stored is not None and stored.data.spans[0].name == "with a token"
