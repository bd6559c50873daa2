"""The first hour (issue 11, acceptance 1): ``pip install lanterna`` with no extras, into a fresh
virtual environment, keeps traces in the default SQLite file and ``lanterna traces list`` shows
them. The install is real (dependencies from PyPI or pip's cache); it takes some seconds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

APP = """
import lanterna

@lanterna.trace
def lookup(city):
    return {"city": city, "forecast": "sunny"}

@lanterna.trace(name="first-hour")
def main(question):
    return lookup("Lisbon")["forecast"]

main("Will it rain?")
print(lanterna.get_last_active_trace_id())
print(lanterna.get_tracking_uri())
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("LANTERNA_", "PYTHON", "VIRTUAL_ENV"))}


def run(
    args: list[str | Path], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=clean_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.install
def test_plain_install_keeps_traces_and_the_cli_lists_them(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    created = run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    python, cli = venv / "bin" / "python", venv / "bin" / "lanterna"
    # This interpreter's pip installs into the new environment: no extras, real dependencies.
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
                     "--disable-pip-version-check", ROOT], cwd=tmp_path, timeout=600)
    assert installed.returncode == 0, installed.stderr
    extras = run([python, "-c", "import importlib.util as u; print([m for m in "
                  "('openai', 'pandas', 'psycopg', 'pytest') if u.find_spec(m)])"], cwd=tmp_path)
    assert extras.stdout.strip() == "[]", extras.stdout + extras.stderr

    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text(APP)
    traced = run([python, "app.py"], cwd=app)
    assert traced.returncode == 0, traced.stderr
    trace_id, tracking_uri = traced.stdout.split()
    assert tracking_uri == "sqlite:///lanterna.db" and (app / "lanterna.db").is_file()
    assert traced.stderr == ""

    listed = run([cli, "traces", "list"], cwd=app)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:2] == ["TRACE", "ID"]
    assert row.split()[0] == trace_id and "first-hour" in row and "OK" in row
    assert str(app / "lanterna.db") in listed.stderr

    shown = run([cli, "traces", "show", trace_id], cwd=app)
    assert shown.returncode == 0, shown.stderr
    assert "first-hour  [UNKNOWN]  OK" in shown.stdout and "lookup  [UNKNOWN]  OK" in shown.stdout

    # The quick start's demo works too, without the openai package (the call is simulated).
    demo = run([python, "-m", "lanterna", "demo"], cwd=app)
    assert demo.returncode == 0, demo.stderr
    assert "openai is not installed" in demo.stdout
    assert f"stored in {app / 'lanterna.db'}" in demo.stdout
    assert len(run([cli, "traces", "list"], cwd=app).stdout.splitlines()) == 3
