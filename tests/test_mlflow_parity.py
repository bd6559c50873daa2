"""MLflow 3 parity of the fluent API, the client and the environment (issue 10), each test
written from MLflow's documented (and measured) behaviour, through the public API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import lanterna
from conftest import ROOT
from lanterna.entities import SpanType, Trace, TraceStatus
from lanterna.exceptions import MlflowException
from lanterna.testing.pytest_plugin import TracesRecorded


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path / 'parity.db'}"
    lanterna.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        lanterna.set_tracking_uri(None)


def search(**kwargs: object) -> list[Trace]:
    return list(lanterna.search_traces(return_type="list", **kwargs))  # type: ignore[arg-type]


# -- add_trace ---------------------------------------------------------------------------------


def remote_trace() -> Trace:
    """A finished trace as another service would return it (as a dict over the wire)."""
    with lanterna.start_span("remote_agent", span_type=SpanType.AGENT) as root:
        root.set_inputs({"q": "weather?"})
        with lanterna.start_span("remote_tool", span_type=SpanType.TOOL) as tool:
            tool.set_outputs({"temp": 21})
        root.set_outputs("sunny")
    found = lanterna.get_trace(root.trace_id)
    assert found is not None
    return Trace.from_json(found.to_json())


def test_add_trace_grafts_a_remote_trace_under_the_current_span(traces: TracesRecorded) -> None:
    remote = remote_trace()
    with lanterna.start_span("handler") as handler:
        lanterna.add_trace(remote.to_dict())
    trace = lanterna.get_trace(handler.trace_id)
    assert trace is not None
    spans = {s.name: s for s in trace.data.spans}
    assert sorted(spans) == ["handler", "remote_agent", "remote_tool"]
    assert len(trace.data.spans) == 3
    assert spans["remote_agent"].parent_id == handler.span_id
    assert spans["remote_tool"].parent_id == spans["remote_agent"].span_id
    assert {s.trace_id for s in trace.data.spans} == {handler.trace_id}
    remote_spans = {s.name: s for s in remote.data.spans}
    assert spans["remote_tool"].span_id != remote_spans["remote_tool"].span_id  # fresh ids
    assert spans["remote_tool"].outputs == {"temp": 21}
    assert spans["remote_agent"].start_time_ns == remote_spans["remote_agent"].start_time_ns


def test_add_trace_with_target_or_without_any_span(traces: TracesRecorded) -> None:
    remote = remote_trace()
    target = lanterna.start_span_no_context("target")
    lanterna.add_trace(remote, target=target)
    target.end()
    with_target = lanterna.get_trace(target.trace_id)
    assert with_target is not None
    assert sorted(s.name for s in with_target.data.spans) == [
        "remote_agent", "remote_tool", "target"]

    lanterna.add_trace(remote)  # no span: a new root "Remote Trace <...>" holds it
    holder = traces.last()
    assert [s.name for s in holder.data.spans] == [
        "Remote Trace <remote_agent>", "remote_agent", "remote_tool"]
    assert holder.data.spans[0].outputs == "sunny"


def test_add_trace_rejects_what_mlflow_rejects(traces: TracesRecorded) -> None:
    with lanterna.start_span("p"):
        with pytest.raises(MlflowException, match=r"^Invalid trace object: <class 'str'>"):
            lanterna.add_trace("not a trace")  # type: ignore[arg-type]
        unfinished = remote_trace().to_dict()
        unfinished["info"]["state"] = "IN_PROGRESS"
        with pytest.raises(MlflowException,
                           match="^The trace must be ended before adding it to another trace"):
            lanterna.add_trace(unfinished)


# -- search_sessions, extract_fields, locations ------------------------------------------------


def test_search_sessions_groups_traces_by_session(store: str) -> None:
    for turn, session in enumerate(["s1", "s1", "s2", None]):
        time.sleep(0.005)  # distinct request times (ms)
        with lanterna.start_span(f"turn{turn}") as span:
            span.set_inputs({"turn": turn})
            if session:
                lanterna.update_current_trace(session_id=session)
    sessions = lanterna.search_sessions()
    assert [s.id for s in sessions] == ["s2", "s1"]  # most recently active first
    assert [[t.data.spans[0].name for t in s] for s in sessions] == [
        ["turn2"], ["turn0", "turn1"]]  # oldest first inside a session
    assert len(sessions[1]) == 2 and sessions[1][0].info.session_id == "s1"
    assert repr(sessions[0]) == "Session(id='s2')"
    assert [s.id for s in lanterna.search_sessions(max_results=1)] == ["s2"]
    assert all(not t.data.spans
               for s in lanterna.search_sessions(include_spans=False) for t in s)


def test_search_traces_extract_fields(store: str) -> None:
    pytest.importorskip("pandas")

    @lanterna.trace
    def predict(question: str, n: int = 1) -> dict[str, str]:
        return {"answer": question * n}

    predict("hi", 2)
    with pytest.warns(FutureWarning, match="`extract_fields` parameter is deprecated"):
        frame = lanterna.search_traces(extract_fields=[
            "predict.inputs.question", "predict.outputs", "predict.outputs.answer",
            "predict.inputs.missing", "other.inputs.x"])
    row = frame.iloc[0]
    assert row["predict.inputs.question"] == "hi"
    assert row["predict.outputs"] == {"answer": "hihi"}
    assert row["predict.outputs.answer"] == "hihi"
    assert row["predict.inputs.missing"] is None and row["other.inputs.x"] is None
    with (pytest.warns(FutureWarning),
          pytest.raises(MlflowException, match=r"^Invalid field type: 'foo'\. Expected 'inputs'")):
        lanterna.search_traces(extract_fields=["predict.foo"])
    with (pytest.warns(FutureWarning),
          pytest.raises(MlflowException, match=r"^Expected dot after span name: 'bad'")):
        lanterna.search_traces(extract_fields=["bad"])
    with (pytest.warns(FutureWarning),
          pytest.raises(MlflowException, match="only supported when return type is set to")):
        lanterna.search_traces(extract_fields=["predict.inputs"], return_type="list")


def test_search_traces_validates_locations_as_mlflow_does(store: str) -> None:
    with lanterna.start_span("t"):
        pass
    with pytest.warns(FutureWarning, match="Parameter 'experiment_ids' is deprecated. Please "
                                           "use 'locations' instead."):
        assert len(search(experiment_ids=["0"])) == 1
    assert len(search(locations=["0"])) == 1
    with pytest.raises(ValueError, match=r"Cannot specify both 'experiment_ids' \(deprecated\) "
                                         "and 'locations'. Use 'locations' only."):
        search(experiment_ids=["0"], locations=["0"])
    with pytest.raises(MlflowException, match=r"^locations must be a list, got str\. Did you "
                                              r"mean to use locations=\['0'\]\?"):
        search(locations="0")
    with pytest.raises(MlflowException, match="^Locations must be a list of experiment IDs. "
                                              "Found invalid experiment IDs: cat.schema"):
        search(locations=["cat.schema"])
    with pytest.raises(MlflowException, match=r"^Invalid return type: x\. Return type must be"):
        lanterna.search_traces(return_type="x")
    assert search(max_results=0) == []


# -- trace metadata ----------------------------------------------------------------------------


def test_model_id_and_io_metadata_as_mlflow_stores_them(store: str) -> None:
    @lanterna.trace
    def fails(x: int) -> None:
        lanterna.update_current_trace(model_id="m-123")
        raise ValueError("bad")

    with pytest.raises(ValueError):
        fails(1)
    trace = lanterna.get_trace(lanterna.get_last_active_trace_id())
    assert trace is not None
    metadata = trace.info.trace_metadata
    assert metadata["mlflow.modelId"] == "m-123"
    assert metadata["mlflow.traceInputs"] == '{"x": 1}'
    assert metadata["mlflow.traceOutputs"] == ""  # the root raised: no outputs
    with lanterna.start_span("no_io"):
        pass
    plain = lanterna.get_trace(lanterna.get_last_active_trace_id())
    assert plain is not None
    assert plain.info.trace_metadata["mlflow.traceInputs"] == ""
    assert [t.trace_id for t in search(model_id="m-123")] == [trace.trace_id]


def test_get_trace_and_search_traces_return_the_same_metadata(store: str) -> None:
    with lanterna.start_span("sized") as span:
        span.set_inputs({"text": "ça va " * 50})
    fetched = lanterna.get_trace(span.trace_id)
    (found,) = search()
    assert fetched is not None
    assert fetched.info.trace_metadata == found.info.trace_metadata
    assert int(found.info.trace_metadata["mlflow.trace.sizeBytes"]) > 300
    client_copy = lanterna.MlflowClient().get_trace(span.trace_id)
    assert client_copy.info.trace_metadata == found.info.trace_metadata


# -- tracing switches and names ----------------------------------------------------------------


def test_tracing_names_of_mlflow(traces: TracesRecorded) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    with lanterna.start_span("chat", span_type=SpanType.CHAT_MODEL) as span:
        lanterna.tracing.set_span_chat_tools(span, tools)
        with pytest.raises(MlflowException, match="Invalid tool definition at index 0"):
            lanterna.tracing.set_span_chat_tools(span, [{"type": "function"}])
    assert traces.last().data.spans[0].get_attribute("mlflow.chat.tools") == tools
    lanterna.tracing.disable_notebook_display()
    from lanterna.tracing.mlflow_names import notebook_display

    assert notebook_display == [False]
    lanterna.tracing.enable_notebook_display()
    assert notebook_display == [True]
    for name in ("set_experiment_trace_location", "unset_experiment_trace_location",
                 "set_databricks_monitoring_sql_warehouse_id"):
        with pytest.raises(MlflowException, match=f"^{name} is Databricks-only"):
            getattr(lanterna.tracing, name)("main.schema")
    from lanterna.entities import MlflowExperimentLocation

    lanterna.tracing.set_destination(MlflowExperimentLocation("5"))
    with lanterna.start_span("elsewhere"):
        pass
    assert traces.last().info.experiment_id == "5"
    with pytest.raises(MlflowException, match="Unsupported trace destination"):
        lanterna.tracing.set_destination("databricks")


def test_thread_local_last_trace_id_inside_disabled_context_on_a_pool_thread(
    traces: TracesRecorded,
) -> None:
    @lanterna.trace
    def work(x: int) -> int:
        return x

    def last_after_work(x: int) -> str | None:
        work(x)
        return lanterna.get_last_active_trace_id(thread_local=True)

    with lanterna.tracing.context(enabled=False), ThreadPoolExecutor(2) as pool:
        assert list(pool.map(last_after_work, range(3))) == [None, None, None]
    with ThreadPoolExecutor(1) as pool:  # outside the block, the pool thread traces again
        assert pool.submit(last_after_work, 1).result() is not None


# -- client ------------------------------------------------------------------------------------


def test_client_search_traces_validates_as_mlflow_does(store: str) -> None:
    client = lanterna.MlflowClient()
    with lanterna.start_span("t"):
        pass
    with pytest.raises(MlflowException, match="^Invalid value 100000 for parameter "
                                              "'max_results' supplied. It must be at most 50000"):
        client.search_traces(locations=["0"], max_results=100_000)
    with pytest.raises(ValueError, match="Cannot specify both 'experiment_ids'"):
        client.search_traces(experiment_ids=["0"], locations=["0"])
    with pytest.warns(FutureWarning, match="Parameter 'experiment_ids' is deprecated"):
        assert len(client.search_traces(experiment_ids=["0"])) == 1
    page = client.search_traces(locations=["0"], include_spans=False)
    assert len(page) == 1 and page.token is None and page[0].data.spans == []


def test_experiment_methods(store: str) -> None:
    client = lanterna.MlflowClient()
    first = client.create_experiment("agents", tags={"team": "search"})
    with pytest.raises(MlflowException, match=r"^Experiment\(name=agents\) already exists") as e:
        client.create_experiment("agents")
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException, match="^Invalid experiment name: ''"):
        client.create_experiment("")
    second = lanterna.create_experiment("evals")
    experiment = client.get_experiment(first)
    assert (experiment.experiment_id, experiment.name) == (first, "agents")
    assert experiment.lifecycle_stage == "active"
    assert client.get_experiment_by_name("nope") is None
    by_name = lanterna.get_experiment_by_name("evals")
    assert by_name is not None and by_name.experiment_id == second
    with pytest.raises(MlflowException, match="^No Experiment with id=999 exists") as missing:
        client.get_experiment("999")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    names = [x.name for x in client.search_experiments()]
    assert set(names) >= {"agents", "evals"} and names.index("evals") < names.index("agents")
    assert [x.name for x in client.search_experiments(filter_string="name = 'agents'")] == [
        "agents"]
    assert [x.name for x in lanterna.search_experiments(filter_string="name LIKE 'ev%'")] == [
        "evals"]
    assert [x.name for x in client.search_experiments(
        filter_string="name != 'Default'", order_by=["name ASC"])] == ["agents", "evals"]
    page = client.search_experiments(max_results=1)
    assert len(page) == 1 and page.token
    rest = client.search_experiments(max_results=10, page_token=page.token)
    assert page[0].name not in [x.name for x in rest]


# -- environment -------------------------------------------------------------------------------


def run_clean(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Python in a fresh interpreter whose environment has no LANTERNA_*/MLFLOW_* variable
    except ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LANTERNA_", "MLFLOW_"))}
    full.update(env)
    full["PYTHONPATH"] = str(ROOT / "src")
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=full,
                          capture_output=True, text=True, timeout=120, check=False)


TRACE_ONE = """
import json, lanterna
with lanterna.start_span("job"):
    pass
lanterna.flush_trace_async_logging()
trace_id = lanterna.get_last_active_trace_id()
trace = trace_id and lanterna.get_trace(trace_id, silent=True)
print(json.dumps({"uri": lanterna.get_tracking_uri(),
                  "experiment": trace and trace.info.experiment_id}))
"""


def test_mlflow_environment_variables_are_honoured(tmp_path: Path) -> None:
    result = run_clean(TRACE_ONE, tmp_path, MLFLOW_TRACKING_URI="sqlite:///from_mlflow.db",
                       MLFLOW_EXPERIMENT_NAME="checkout")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["uri"] == "sqlite:///from_mlflow.db"
    assert data["experiment"] not in (None, "0")
    assert (tmp_path / "from_mlflow.db").exists()

    result = run_clean(TRACE_ONE, tmp_path, MLFLOW_TRACKING_URI="sqlite:///from_mlflow.db",
                       LANTERNA_TRACKING_URI="memory://", MLFLOW_EXPERIMENT_ID="7")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"uri": "memory://", "experiment": "7"}

    result = run_clean(TRACE_ONE, tmp_path, LANTERNA_TRACKING_URI="memory://",
                       MLFLOW_TRACE_SAMPLING_RATIO="0")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["experiment"] is None  # sampled out: nothing recorded


# -- across processes --------------------------------------------------------------------------

CHILD = """
import os, sys, lanterna
headers = {"traceparent": sys.argv[1]}
with lanterna.tracing.set_tracing_context_from_http_request_headers(headers):
    with lanterna.start_span("server_side", span_type="TOOL") as span:
        span.set_outputs("done")
lanterna.flush_trace_async_logging()
os._exit(0)  # a short-lived worker: no exit hooks run, the flush alone must have stored it
"""


def test_get_trace_includes_spans_stored_by_other_processes(
    store: str, tmp_path: Path
) -> None:
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    with lanterna.start_span("client_side") as root:
        headers = lanterna.tracing.get_tracing_context_headers_for_http_request()
        result = run_clean(f"import runpy, sys; sys.argv = ['x', {headers['traceparent']!r}]; "
                           f"runpy.run_path({str(child)!r})", tmp_path,
                           LANTERNA_TRACKING_URI=store)
        assert result.returncode == 0, result.stderr
    trace = lanterna.get_trace(root.trace_id)
    assert trace is not None
    assert [s.name for s in trace.data.spans] == ["client_side", "server_side"]
    assert trace.data.spans[1].parent_id == root.span_id
    assert trace.info.tags["mlflow.traceName"] == "client_side"
    assert lanterna.MlflowClient().get_trace(root.trace_id).data.spans[1].outputs == "done"


def test_trace_status_end_statuses_match_add_trace_rule() -> None:
    assert TraceStatus.end_statuses() == {TraceStatus.OK, TraceStatus.ERROR}


def test_what_lanterna_does_not_provide_gets_a_clear_answer() -> None:
    import re

    readme = (ROOT / "README.md").read_text()
    assert "## Coming from MLflow" in readme
    for name, what in (("start_run", "MLflow runs"), ("log_model", "MLflow models"),
                       ("evaluate", "MLflow evaluation")):
        with pytest.raises(AttributeError, match=re.escape(
                f"module 'lanterna' has no attribute {name!r}: {what}")) as raised:
            getattr(lanterna, name)
        assert "covers MLflow's tracing API only" in str(raised.value)
    assert not hasattr(lanterna, "start_run")
    message = ("module 'lanterna' has no attribute 'start_run': MLflow runs are not part of\n"
               "lanterna, which covers MLflow's tracing API only")
    assert message in readme


def test_messages_start_with_mlflows_wording(traces: TracesRecorded) -> None:
    """Users match MLflow's messages: lanterna's start with them, its hint follows."""
    from lanterna.entities import SpanStatus

    client = lanterna.MlflowClient()
    root = client.start_trace("r")
    cases = [
        (lambda: client.start_span("x", trace_id=root.trace_id, parent_id=None),
         "start_span() must be called with an explicit parent_id."),
        (lambda: client.start_span("x", trace_id=root.trace_id, parent_id="ab" * 8),
         f"Parent span with ID '{'ab' * 8}' not found."),
        (lambda: client.end_trace("tr-nope"), "Trace with ID 'tr-nope' not found."),
        (lambda: client.get_trace("tr-nope"), "Trace with ID 'tr-nope' not found."),
        (lambda: SpanStatus("FOO"), "FOO is not a valid SpanStatusCode value. Please use one "
                                    "of ['UNSET', 'OK', 'ERROR']"),
    ]
    client.end_trace(root.trace_id)
    with lanterna.start_span("s") as span:
        cases += [
            (lambda: lanterna.update_current_trace(state="FOO"),
             "State must be either 'OK' or 'ERROR', but got 'FOO'."),
            (lambda: lanterna.update_current_trace(request_preview=1),  # type: ignore[arg-type]
             "The `request_preview` parameter must be a string."),
            (lambda: span.record_exception(1),  # type: ignore[arg-type]
             "The `exception` parameter must be an Exception instance or a string."),
        ]
        for call, wording in cases:
            with pytest.raises(MlflowException) as raised:
                call()
            assert str(raised.value).startswith(wording), (wording, str(raised.value))
