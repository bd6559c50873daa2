"""One store per process, where the user expects it (issue 11): the default file is fixed once,
named by the demo and ``traces list``, and ``get_tracking_uri()`` says what is in use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cli.cli_runner import lanterna

MOVING_APP = """
import os, sys, time
import lanterna

@lanterna.trace
def step(n):
    return n

step(1)
first = lanterna.get_last_active_trace_id()
time.sleep(0.005)  # the list orders by start time (ms): the second trace starts later
os.chdir(sys.argv[1])
step(2)
lanterna.flush_trace_async_logging()
print(first, lanterna.get_last_active_trace_id(), len(lanterna.search_traces(return_type="list")))
"""


def python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_later_chdir_does_not_split_traces(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = python(MOVING_APP, str(elsewhere), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second, found = result.stdout.split()
    assert found == "2"
    assert not (elsewhere / "lanterna.db").exists()
    listed = lanterna("traces", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[1:]] == [second, first]
    assert listed.stderr.strip() == f"2 traces from {tmp_path / 'lanterna.db'}"


def test_the_demo_names_the_file_it_stored_into(tmp_path: Path) -> None:
    # (On the default store: tests/cli/test_demo.py and the fresh install in test_install.py.)
    other = tmp_path / "other.db"
    demo = lanterna("demo", "--uri", f"sqlite:///{other}", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert f"stored in {other}" in demo.stdout
    assert f"lanterna traces list --uri sqlite:///{other}" in demo.stdout
    listed = lanterna("traces", "list", "--uri", f"sqlite:///{other}", cwd=tmp_path)
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2, listed.stderr


def test_an_empty_store_says_where_it_looked(tmp_path: Path) -> None:
    assert lanterna("db", "upgrade", cwd=tmp_path).returncode == 0
    listed = lanterna("traces", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == f"No traces found in {tmp_path / 'lanterna.db'}."


def test_get_tracking_uri_is_the_uri_in_use_after_a_fallback(tmp_path: Path) -> None:
    code = (
        "import lanterna\n"
        "print(lanterna.get_tracking_uri())\n"
        "lanterna.set_tracking_uri('databricks')\n"
        "with lanterna.start_span('kept'):\n"
        "    pass\n"
        "print(lanterna.get_tracking_uri())\n"
        "print(len(lanterna.search_traces(return_type='list')))\n"
    )
    result = python(code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sqlite:///lanterna.db", "sqlite:///lanterna.db", "1"]
    assert (tmp_path / "lanterna.db").is_file()
