"""``lanterna traces list|show|export`` and ``lanterna db upgrade``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import lanterna
from lanterna.cli import main
from lanterna.entities import Trace
from lanterna.testing.databases import store_experiment, store_uri  # noqa: F401  (fixtures)


@pytest.fixture
def traced(store_experiment: str, store_uri: str) -> dict[str, str]:  # noqa: F811
    ids = {}
    for city, fails in (("Lisbon", False), ("Zürich", True), ("Porto", False)):
        started = time.time_ns() // 1_000_000
        while time.time_ns() // 1_000_000 <= started + 1:  # distinct start times, in order
            pass
        try:
            with lanterna.start_span(f"ask {city}", span_type="AGENT") as root:
                root.set_inputs({"question": f"Weather in {city}?"})
                with lanterna.start_span("lookup", span_type="TOOL") as tool:
                    tool.set_inputs({"city": city})
                    if fails:
                        raise LookupError(f"no station in {city}")
                    tool.set_outputs({"forecast": "sunny"})
                root.set_outputs("sunny")
        except LookupError:
            pass
        ids[city] = str(lanterna.get_last_active_trace_id())
    lanterna.flush_trace_async_logging()
    return ids


def test_list_shows_newest_first(
    traced: dict[str, str], store_uri: str, store_experiment: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["traces", "list", "--uri", store_uri, "--experiment-id", store_experiment])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["TRACE", "ID", "STARTED", "(UTC)"]
    assert [line.split()[0] for line in lines[1:]] == [
        traced["Porto"], traced["Zürich"], traced["Lisbon"]
    ]
    assert "ERROR" in lines[2] and "ask Zürich" in lines[2]


def test_list_with_filter_and_json(
    traced: dict[str, str], store_uri: str, store_experiment: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["traces", "list", "--uri", store_uri, "--experiment-id", store_experiment,
                 "--filter", "trace.status = 'ERROR' AND span.type = 'TOOL'", "--json"])
    assert code == 0
    infos = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [i["trace_id"] for i in infos] == [traced["Zürich"]]
    assert infos[0]["state"] == "ERROR"


def test_list_with_or_not_and_parentheses(
    traced: dict[str, str], store_uri: str, store_experiment: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["traces", "list", "--uri", store_uri, "--experiment-id", store_experiment,
                 "--filter", "NOT (trace.status = 'ERROR' OR trace.name = 'ask Porto')", "--json"])
    assert code == 0
    infos = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [i["trace_id"] for i in infos] == [traced["Lisbon"]]


def test_list_bad_filter_names_the_token(
    store_uri: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    code = main(["traces", "list", "--uri", store_uri, "--filter", "trace.colour = 'red'"])
    assert code == 2
    assert "'colour'" in capsys.readouterr().err


def test_list_with_max_results_and_order(
    traced: dict[str, str], store_uri: str, store_experiment: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["traces", "list", "--uri", store_uri, "--experiment-id", store_experiment,
          "--max-results", "1", "--order-by", "timestamp_ms ASC"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith(traced["Lisbon"])


def test_show_prints_the_tree(
    traced: dict[str, str], store_uri: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    code = main(["traces", "show", traced["Zürich"], "--uri", store_uri])
    out = capsys.readouterr().out
    assert code == 0
    assert traced["Zürich"] in out and "ask Zürich" in out and "lookup" in out
    assert "no station in Zürich" in out


def test_show_unknown_id_fails_clearly(
    store_uri: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    assert main(["traces", "show", "tr-" + "0" * 32, "--uri", store_uri]) == 2
    assert "traces list" in capsys.readouterr().err


def test_export_one_trace_as_json(
    traced: dict[str, str], store_uri: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    assert main(["traces", "export", traced["Lisbon"], "--uri", store_uri]) == 0
    trace = Trace.from_json(capsys.readouterr().out)
    assert trace.info.trace_id == traced["Lisbon"]
    assert [s.name for s in trace.data.spans] == ["ask Lisbon", "lookup"]
    assert trace.data.spans[1].outputs == {"forecast": "sunny"}


def test_export_by_filter_as_jsonl_to_a_file(
    traced: dict[str, str], store_uri: str, store_experiment: str,  # noqa: F811
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "out.jsonl"
    code = main(["traces", "export", "--uri", store_uri, "--experiment-id", store_experiment,
                 "--filter", "trace.status = 'OK'", "--format", "jsonl", "-o", str(target)])
    assert code == 0
    traces = [Trace.from_json(line) for line in target.read_text("utf-8").splitlines()]
    assert {t.info.trace_id for t in traces} == {traced["Lisbon"], traced["Porto"]}
    assert "Exported 2 trace(s)" in capsys.readouterr().err


def test_export_by_filter_as_a_json_list(
    traced: dict[str, str], store_uri: str, store_experiment: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["traces", "export", "--uri", store_uri, "--experiment-id", store_experiment,
          "--filter", "trace.text LIKE '%Zürich%'"])
    data = json.loads(capsys.readouterr().out)
    assert [d["info"]["trace_id"] for d in data] == [traced["Zürich"]]


def test_export_ids_and_filter_together_is_refused(
    store_uri: str, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    assert main(["traces", "export", "tr-1", "--filter", "x = 1", "--uri", store_uri]) == 2


def test_db_upgrade_creates_and_is_idempotent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert main(["db", "upgrade", "--uri", target]) == 0
    assert main(["db", "upgrade", "--uri", target]) == 0
    out = capsys.readouterr().out
    from lanterna.store.sql.schema import HEAD

    assert out.count(f"schema at revision {HEAD}") == 2
    assert (tmp_path / "fresh.db").is_file()
