"""The CLI answers like a well-made tool (issue 11): through the ``lanterna`` executable,
exit codes, one line on stderr, no traceback, no internal names."""

from __future__ import annotations

import argparse
import importlib.metadata
import re
from pathlib import Path

import pytest

from cli.cli_runner import assert_one_line_error, lanterna
from lanterna import __version__
from lanterna.cli import build_parser
from lanterna.testing.databases import postgres_url, require_postgres

INTERNAL = re.compile(r"psycopg|sqlalchemy|SqlStore|MlflowException|StoreError|lanterna: lanterna",
                      re.IGNORECASE)


def leaf_commands() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}".strip())
                return
        found[prefix] = parser

    walk(build_parser(), "")
    return found


def test_version(tmp_path: Path) -> None:
    result = lanterna("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"lanterna {__version__}"
    assert __version__ == importlib.metadata.version("lanterna")  # one version, everywhere


def test_every_store_command_takes_uri() -> None:
    commands = leaf_commands()
    assert {"demo", "traces list", "traces show", "traces export", "experiments list",
            "db upgrade"} <= set(commands)
    for name, parser in commands.items():
        options = {o for action in parser._actions for o in action.option_strings}
        assert "--uri" in options, name


@pytest.mark.parametrize("command", [
    ["traces", "list"], ["traces", "list", "--json"], ["traces", "show", "tr-" + "0" * 32],
    ["traces", "export"], ["traces", "export", "tr-" + "0" * 32], ["experiments", "list"],
])
def test_a_store_that_does_not_exist_is_named(tmp_path: Path, command: list[str]) -> None:
    default = lanterna(*command, cwd=tmp_path)
    assert assert_one_line_error(default).startswith(
        f"lanterna: no database at {tmp_path / 'lanterna.db'}")
    elsewhere = tmp_path / "sub" / "traces.db"
    given = lanterna(*command, "--uri", f"sqlite:///{elsewhere}", cwd=tmp_path)
    assert f"no database at {elsewhere}" in assert_one_line_error(given)
    assert not (tmp_path / "lanterna.db").exists() and not elsewhere.exists()


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_names_the_fix(tmp_path: Path) -> None:
    require_postgres()
    server = postgres_url().rsplit("/", 1)[0]
    for command in (["traces", "list"], ["db", "upgrade"], ["demo"]):
        result = lanterna(*command, "--uri", f"{server}/lanterna_no_such_db", cwd=tmp_path)
        line = assert_one_line_error(result)
        assert "'lanterna_no_such_db'" in line and "createdb" in line, line
        assert not INTERNAL.search(line), line


def test_an_unreachable_server_is_one_line_without_internal_names(tmp_path: Path) -> None:
    result = lanterna("traces", "list", "--uri", "postgresql://ana:secret@127.0.0.1:1/traces",
                      cwd=tmp_path)
    line = assert_one_line_error(result)
    assert "postgresql://ana:***@127.0.0.1:1/traces" in line and "secret" not in line, line
    assert not INTERNAL.search(line), line


def test_an_unreachable_lanterna_server_is_one_line(tmp_path: Path) -> None:
    for command in (["traces", "list"], ["experiments", "list"], ["db", "upgrade"]):
        line = assert_one_line_error(lanterna(*command, "--uri", "http://127.0.0.1:1",
                                              cwd=tmp_path))
        assert "http://127.0.0.1:1" in line and "Errno" not in line, line


def test_an_unsupported_uri_is_refused(tmp_path: Path) -> None:
    line = assert_one_line_error(lanterna("traces", "list", "--uri", "databricks", cwd=tmp_path))
    assert "'databricks'" in line and "sqlite:///" in line and "postgresql://" in line
    from_env = lanterna("traces", "list", cwd=tmp_path,
                        env={"LANTERNA_TRACKING_URI": "databricks"})
    line = assert_one_line_error(from_env)
    assert "LANTERNA_TRACKING_URI is 'databricks'" in line and "--uri" in line


def test_a_database_in_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "traces.db"
    for command in (["db", "upgrade"], ["demo"]):
        line = assert_one_line_error(lanterna(*command, "--uri", f"sqlite:///{target}",
                                              cwd=tmp_path))
        assert f"no folder {target.parent}" in line, line


@pytest.mark.parametrize("args", [
    [], ["traces"], ["nonsense"], ["traces", "list", "--max-results", "0"],
    ["traces", "list", "--bogus"], ["traces", "export", "--format", "xml"],
])
def test_usage_mistakes_are_one_line(tmp_path: Path, args: list[str]) -> None:
    line = assert_one_line_error(lanterna(*args, cwd=tmp_path))
    assert line.startswith("lanterna") and "--help" in line, line


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "lanterna.db").write_text("not a database\n" * 100)
    line = assert_one_line_error(lanterna("traces", "list", cwd=tmp_path))
    assert f"at {tmp_path / 'lanterna.db'}: file is not a database" in line, line
    assert not INTERNAL.search(line), line


EXPERIMENTS_APP = """
import lanterna
for name, count in (("support-bot", 2), ("tiny\\x1b[2J", 1)):
    lanterna.set_experiment(name)
    for _ in range(count):
        with lanterna.start_span("x"):
            pass
"""


def test_experiments_list_shows_id_name_and_trace_count(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    app = subprocess.run([sys.executable, "-c", EXPERIMENTS_APP], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert app.returncode == 0, app.stderr
    result = lanterna("experiments", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0][:3] == ["ID", "NAME", "TRACES"]
    assert [row[:3] for row in rows[1:]] == [
        ["0", "Default", "0"], ["1", "support-bot", "2"], ["2", "tiny\\x1b[2J", "1"]]
    assert "\x1b" not in result.stdout
    assert result.stderr.strip() == f"3 experiments in {tmp_path / 'lanterna.db'}"
    as_json = lanterna("experiments", "list", "--json", cwd=tmp_path)
    assert [(e["name"], e["trace_count"]) for e in map(json.loads, as_json.stdout.splitlines())
            ] == [("Default", 0), ("support-bot", 2), ("tiny\x1b[2J", 1)]
    unknown = lanterna("traces", "list", "--experiment-id", "42", cwd=tmp_path)
    line = assert_one_line_error(unknown)
    assert "no experiment '42'" in line and "lanterna experiments list" in line
