"""Remote mode: the SDK pointed at ``lanterna server`` (``LANTERNA_TRACKING_URI=http://…``) writes
through OTLP and the REST API; other processes read the traces back through the server with
``get_trace``, ``search_traces`` and the ``Client``; every SDK read and write API works."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from conftest import run_python
from lanterna.exceptions import InvalidFilterError, MlflowException
from lanterna.store import uri as uris
from lanterna.testing.databases import store_uri  # noqa: F401
from lanterna.testing.server import RunningServer, running_server

WRITER = textwrap.dedent("""
    import json, lanterna

    lanterna.set_experiment("remote-writer")

    @lanterna.trace(span_type="CHAIN")
    def answer(question):
        with lanterna.start_span("retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"q": question})
            span.set_outputs(["doc-1", "doc-2"])
        lanterna.update_current_trace(tags={"team": "search"})
        return "answer to " + question

    ids = []
    for i in range(5):
        answer(f"question {i}")
        ids.append(lanterna.get_last_active_trace_id())
    print(json.dumps(ids))
""")

READER = textwrap.dedent("""
    import json, os, lanterna
    from lanterna import Client

    ids = json.loads(os.environ["TRACE_IDS"])
    experiment = lanterna.set_experiment("remote-writer")
    found = {}
    for trace_id in ids:
        trace = lanterna.get_trace(trace_id)
        root = [s for s in trace.data.spans if s.parent_id is None][0]
        found[trace_id] = [root.name, root.inputs, root.outputs, len(trace.data.spans),
                           trace.info.tags.get("team"), trace.info.state]
    listed = lanterna.search_traces(filter_string="tags.team = 'search'", return_type="list")
    client = Client()
    page = client.search_traces(experiment_ids=[experiment.experiment_id], max_results=2)
    second = client.search_traces(experiment_ids=[experiment.experiment_id], max_results=10,
                                  page_token=page.token)
    print(json.dumps({
        "found": found,
        "listed": sorted(t.info.trace_id for t in listed),
        "paged": sorted(t.info.trace_id for t in [*page, *second]),
        "client_get": client.get_trace(ids[0]).info.trace_id,
    }))
""")


@pytest.fixture(scope="module")
def server(store_uri: str) -> Iterator[RunningServer]:  # noqa: F811
    with running_server(store_uri) as running:
        yield running


def test_a_traced_script_writes_and_another_process_reads_through_the_server(
    server: RunningServer, tmp_path: Path
) -> None:
    env = {"LANTERNA_TRACKING_URI": server.url}
    written = run_python(WRITER, tmp_path, env)
    assert written.returncode == 0, written.stderr
    ids = json.loads(written.stdout.strip().splitlines()[-1])
    assert not list(tmp_path.glob("*.db")), "remote mode must not create a local database"

    read = run_python(READER, tmp_path, {**env, "TRACE_IDS": json.dumps(ids)})
    assert read.returncode == 0, read.stderr
    result = json.loads(read.stdout.strip().splitlines()[-1])
    assert result["found"] == {
        trace_id: ["answer", {"question": f"question {i}"}, f"answer to question {i}", 2,
                   "search", "OK"]
        for i, trace_id in enumerate(ids)
    }
    assert result["listed"] == sorted(ids)
    assert result["paged"] == sorted(ids)
    assert result["client_get"] == ids[0]


@pytest.fixture
def remote(server: RunningServer) -> Iterator[str]:
    lanterna.set_tracking_uri(server.url)
    try:
        yield server.url
    finally:
        lanterna.flush_trace_async_logging()
        lanterna.set_experiment(experiment_id="0")
        lanterna.set_tracking_uri(None)
        uris.dispose_all()


def test_every_sdk_api_works_through_the_server(remote: str) -> None:
    from lanterna.export import setup

    experiment = lanterna.set_experiment("remote-apis")
    assert lanterna.set_experiment(experiment_id=experiment.experiment_id) == experiment
    ids = []
    for i in range(3):
        with lanterna.start_span(f"api-{i}") as span:
            span.set_inputs({"i": i})
        ids.append(str(lanterna.get_last_active_trace_id()))
    lanterna.flush_trace_async_logging()
    setup.memory.clear()  # read what the server has, not this process's copy

    lanterna.set_trace_tag(ids[0], "env", "prod")
    assert lanterna.get_trace(ids[0]).info.tags["env"] == "prod"
    lanterna.delete_trace_tag(ids[0], "env")
    assert "env" not in lanterna.get_trace(ids[0]).info.tags
    with pytest.raises(MlflowException, match="No trace"):
        lanterna.set_trace_tag("tr-" + "0" * 32, "k", "v")

    found = lanterna.search_traces(filter_string="name = 'api-1'", return_type="list")
    assert [t.info.trace_id for t in found] == [ids[1]]
    assert found[0].data.spans[0].inputs == {"i": 1}
    with pytest.raises(InvalidFilterError) as bad:
        lanterna.search_traces(filter_string="name = 'a' AND tags.x ~ 'y'")
    assert bad.value.position == len("name = 'a' AND tags.x ")

    client = lanterna.Client()
    assert client.get_trace(ids[2]).info.trace_id == ids[2]
    client.set_trace_tag(ids[2], "by", "client")
    assert lanterna.get_trace(ids[2]).info.tags["by"] == "client"
    assert lanterna.get_trace("tr-" + "f" * 32, silent=True) is None

    assert lanterna.delete_traces(experiment.experiment_id, trace_ids=[ids[0]]) == 1
    assert lanterna.get_trace(ids[0], silent=True) is None
    assert client.delete_traces(experiment.experiment_id, max_timestamp_millis=2**62) == 2
    assert lanterna.search_traces(return_type="list") == []


def test_client_start_and_end_trace_through_the_server(remote: str) -> None:
    from lanterna.export import setup

    client = lanterna.Client()
    root = client.start_trace("client-root", inputs={"x": 1})
    child = client.start_span("child", trace_id=root.trace_id, parent_id=root.span_id)
    client.end_span(root.trace_id, child.span_id, outputs={"y": 2})
    client.end_trace(root.trace_id, outputs={"done": True})
    lanterna.flush_trace_async_logging()
    setup.memory.clear()
    trace = client.get_trace(root.trace_id)
    assert {s.name for s in trace.data.spans} == {"client-root", "child"}
    assert trace.info.state == "OK" and trace.info.request_preview == '{"x": 1}'
