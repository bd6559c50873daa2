"""MLflow's tracking-server endpoints over plain HTTP: what the TypeScript SDK and older clients
do (StartTraceV3, then traces.json PUT and GET), V2 reads, deletes, experiments, errors."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx


def b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def trace_info(trace_id: str, experiment_id: str = "0") -> dict[str, Any]:
    return {
        "trace_id": trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT",
                           "mlflow_experiment": {"experiment_id": experiment_id}},
        "request_time": "2026-01-02T03:04:05.678Z",
        "execution_duration": "1.250s",
        "state": "OK",
        "request_preview": '{"q": "hi"}',
        "response_preview": '"hello"',
        "trace_metadata": {"mlflow.trace_schema.version": "3", "mlflow.traceInputs": "{}"},
        "tags": {"mlflow.traceName": "ts-root", "team": "web"},
    }


def spans_json(trace_id: str, root: str, child: str) -> dict[str, Any]:
    hex_trace = trace_id.removeprefix("tr-")

    def span(span_id: str, parent: str | None, name: str, attributes: dict[str, Any]) -> Any:
        return {
            "trace_id": b64(hex_trace), "span_id": b64(span_id),
            "parent_span_id": b64(parent) if parent else None, "name": name,
            "start_time_unix_nano": 1_767_323_045_678_000_000,
            "end_time_unix_nano": 1_767_323_046_928_000_000, "events": [],
            "status": {"code": "STATUS_CODE_OK", "message": ""},
            "attributes": {k: json.dumps(v) for k, v in attributes.items()},
        }

    return {"spans": [
        span(root, None, "ts-root", {"mlflow.traceRequestId": trace_id,
                                     "mlflow.spanType": "CHAIN", "mlflow.spanInputs": {"q": "hi"},
                                     "mlflow.spanOutputs": "hello"}),
        span(child, root, "ts-llm", {"mlflow.traceRequestId": trace_id,
                                     "mlflow.spanType": "LLM",
                                     "mlflow.chat.tokenUsage": {"input_tokens": 2,
                                                                "output_tokens": 3,
                                                                "total_tokens": 5}}),
    ]}


def test_typescript_sdk_flow_start_trace_then_traces_json(server: Any) -> None:
    trace_id = "tr-" + uuid.uuid4().hex
    root, child = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    started = httpx.post(server.url + "/api/3.0/mlflow/traces",
                         json={"trace": {"trace_info": trace_info(trace_id)}})
    assert started.status_code == 200, started.text
    tags = started.json()["trace"]["trace_info"]["tags"]
    location = tags["mlflow.artifactLocation"]
    assert location == f"mlflow-artifacts:/0/traces/{trace_id}/artifacts"
    assert "mlflow.trace.spansLocation" not in tags  # no spans yet: the client uploads them

    path = location.removeprefix("mlflow-artifacts:/")
    artifact = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json"
    body = spans_json(trace_id, root, child)
    for _ in range(2):  # uploaded twice (or also sent over OTLP): stored once
        assert httpx.put(artifact, content=json.dumps(body)).status_code == 200
    info = httpx.get(f"{server.url}/api/3.0/mlflow/traces/{trace_id}").json()
    assert info["trace"]["trace_info"]["tags"]["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert info["trace"]["trace_info"]["execution_duration"] == "1.250s"
    assert info["trace"]["trace_info"]["tags"]["team"] == "web"

    rendered = httpx.get(artifact).json()
    by_name = {s["name"]: s for s in rendered["spans"]}
    assert sorted(by_name) == ["ts-llm", "ts-root"]
    assert json.loads(by_name["ts-root"]["attributes"]["mlflow.spanInputs"]) == {"q": "hi"}
    stored = server.store.get_trace(trace_id)
    assert len(stored.data.spans) == 2
    assert stored.info.request_preview == '{"q": "hi"}'
    assert stored.info.name == "ts-root"

    full = httpx.get(f"{server.url}/api/3.0/mlflow/traces/get",
                     params={"trace_id": trace_id}).json()["trace"]
    spans = {s["name"]: s for s in full["spans"]}
    attributes = {a["key"]: a["value"] for a in spans["ts-root"]["attributes"]}
    assert attributes["mlflow.spanInputs"] == {"kvlist_value": {"values": [
        {"key": "q", "value": {"string_value": "hi"}}]}}
    assert attributes["mlflow.spanType"] == {"string_value": "CHAIN"}
    assert spans["ts-llm"]["parent_span_id"] == b64(root)

    v2 = httpx.get(f"{server.url}/api/2.0/mlflow/traces/{trace_id}/info").json()["trace_info"]
    assert v2["request_id"] == trace_id and v2["execution_time_ms"] == 1250
    assert {"key": "team", "value": "web"} in v2["tags"]

    infos = httpx.post(f"{server.url}/api/3.0/mlflow/traces/batchGetInfos",
                       json={"trace_ids": [trace_id, "tr-" + "0" * 32]}).json()
    assert [i["trace_id"] for i in infos["trace_infos"]] == [trace_id]


def test_tags_delete_and_experiments(server: Any) -> None:
    trace_id = "tr-" + uuid.uuid4().hex
    created = httpx.post(server.url + "/api/2.0/mlflow/experiments/create",
                         json={"name": f"exp-{uuid.uuid4().hex[:8]}"})
    experiment_id = created.json()["experiment_id"]
    again = httpx.post(server.url + "/api/2.0/mlflow/experiments/create",
                       json={"name": httpx.get(
                           server.url + "/api/2.0/mlflow/experiments/get",
                           params={"experiment_id": experiment_id}).json()["experiment"]["name"]})
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    found = httpx.post(server.url + "/api/2.0/mlflow/experiments/search", json={}).json()
    assert experiment_id in [e["experiment_id"] for e in found["experiments"]]

    httpx.post(server.url + "/api/3.0/mlflow/traces",
               json={"trace": {"trace_info": trace_info(trace_id, experiment_id)}})
    tags = f"{server.url}/api/3.0/mlflow/traces/{trace_id}/tags"
    assert httpx.patch(tags, json={"key": "k", "value": "v"}).status_code == 200
    assert server.store.get_trace(trace_id).info.tags["k"] == "v"
    assert httpx.request("DELETE", tags, json={"key": "k"}).status_code == 200
    assert "k" not in server.store.get_trace(trace_id).info.tags
    deleted = httpx.post(server.url + "/api/2.0/mlflow/traces/delete-traces",
                         json={"experiment_id": experiment_id, "request_ids": [trace_id]})
    assert deleted.json() == {"traces_deleted": 1}
    assert server.store.get_trace(trace_id) is None


def test_errors_in_mlflow_shape(server: Any) -> None:
    assert httpx.get(server.url + "/version").text == "3.17.2"
    for method, path in [("GET", "/api/2.0/mlflow/runs/get"),
                         ("POST", "/api/3.0/mlflow/traces/abc/assessments"),
                         ("GET", "/ajax-api/2.0/mlflow/experiments/list")]:
        answer = httpx.request(method, server.url + path)
        assert answer.status_code == 404
        assert answer.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    missing = httpx.get(server.url + "/api/3.0/mlflow/traces/tr-" + "1" * 32)
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    unknown_name = httpx.get(server.url + "/api/2.0/mlflow/experiments/get-by-name",
                             params={"experiment_name": "nope-" + uuid.uuid4().hex})
    assert unknown_name.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    bad = httpx.post(server.url + "/api/3.0/mlflow/traces", content=b"{oops")
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    no_info = httpx.post(server.url + "/api/3.0/mlflow/traces", json={"trace": {}})
    assert no_info.status_code == 400
    bad_filter = httpx.post(server.url + "/api/3.0/mlflow/traces/search",
                            json={"locations": [], "filter": "trace.nope === 3"})
    assert bad_filter.status_code == 400
    bad_artifact = httpx.put(server.url + "/api/2.0/mlflow-artifacts/artifacts/0/traces/"
                             "tr-1/artifacts/traces.json", content=b'{"no": "spans"}')
    assert bad_artifact.status_code == 400
