"""``traces export`` formats and ``traces show`` (issue 11), through the ``lanterna`` executable
on a SQLite file written by a traced program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.cli_runner import assert_one_line_error, lanterna
from lanterna.entities import Trace
from lanterna.exceptions import MlflowException

APP = r"""
import json
import lanterna

ids = []
for i in range(3):
    with lanterna.start_span(f"job {i}") as root:
        root.set_inputs({"i": i})
    ids.append(lanterna.get_last_active_trace_id())

# An ERROR span with a status message and no exception event, a name over two lines and
# values holding terminal escape sequences.
with lanterna.start_span("hostile\nname \x1b[31mred\x1b[0m") as root:
    root.set_inputs({"text": "\x1b]0;pwned\x07 \x1b[2J cleared?"})
    with lanterna.start_span("validate") as child:
        child.set_status(lanterna.entities.SpanStatus("ERROR", "quota exceeded for \x1b[1mana"))
    with lanterna.start_span("call") as call:
        try:
            raise TimeoutError("upstream took too long")
        except TimeoutError as exc:
            call.record_exception(exc)
ids.append(lanterna.get_last_active_trace_id())
print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("app")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    result = subprocess.run([sys.executable, "-c", APP], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return folder, json.loads(result.stdout)


def test_jsonl_is_one_trace_document_per_line(store: tuple[Path, list[str]]) -> None:
    folder, ids = store
    result = lanterna("traces", "export", "--format", "jsonl", cwd=folder)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert sorted(Trace.from_json(line).info.trace_id for line in lines) == sorted(ids)


@pytest.mark.parametrize("count", [0, 1, 2, 4])
def test_json_has_one_shape_whatever_the_count(
    store: tuple[Path, list[str]], count: int
) -> None:
    folder, ids = store
    chosen = ids[:count]
    args = [*chosen] if count else ["--filter", "trace.name = 'nothing'"]
    result = lanterna("traces", "export", *args, cwd=folder)
    assert result.returncode == 0, result.stderr
    exported = json.loads(result.stdout)
    assert isinstance(exported, list) and len(exported) == count
    assert [Trace.from_dict(t).info.trace_id for t in exported] == chosen
    if count == 1:
        assert Trace.from_json(result.stdout).info.trace_id == chosen[0]


def test_from_json_reads_export_or_says_what_it_expected(
    store: tuple[Path, list[str]], tmp_path: Path
) -> None:
    folder, ids = store
    target = tmp_path / "two.json"
    result = lanterna("traces", "export", ids[0], ids[1], "-o", str(target), cwd=folder)
    assert result.returncode == 0, result.stderr
    with pytest.raises(MlflowException, match=r"list of 2.*Trace\.from_dict.*jsonl"):
        Trace.from_json(target.read_text())
    with pytest.raises(MlflowException, match=r"'info'.*'data'.*keys \['spans'\]"):
        Trace.from_json('{"spans": []}')
    with pytest.raises(MlflowException, match="not valid JSON"):
        Trace.from_json("{")


def test_show_escapes_control_characters_and_shows_error_messages(
    store: tuple[Path, list[str]]
) -> None:
    folder, ids = store
    result = lanterna("traces", "show", ids[-1], cwd=folder)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b" not in out and "\x07" not in out
    lines = out.splitlines()
    duration = lines[0].split("  ")[-1]
    assert lines[1] == f"└─ hostile name \\x1b[31mred\\x1b[0m  [UNKNOWN]  OK  {duration}"
    assert "pwned" in lines[2]  # the JSON of the inputs, escapes written as text
    assert "! quota exceeded for \\x1b[1mana" in out          # status message, no exception
    assert out.count("upstream took too long") == 1            # exception event, not twice
    assert "! TimeoutError: upstream took too long" in out


def test_show_durations_agree_between_trace_and_root(store: tuple[Path, list[str]]) -> None:
    folder, ids = store
    for trace_id in (ids[0], ids[-1]):
        result = lanterna("traces", "show", trace_id, cwd=folder)
        header, root = result.stdout.splitlines()[:2]
        assert header.split("  ")[-1] == root.split("  ")[-1], result.stdout


def test_show_an_unknown_trace(store: tuple[Path, list[str]]) -> None:
    folder, _ = store
    line = assert_one_line_error(lanterna("traces", "show", "tr-nope", cwd=folder))
    assert "'tr-nope'" in line and str(folder / "lanterna.db") in line
    assert "lanterna traces list" in line
