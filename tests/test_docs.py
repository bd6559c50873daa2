"""The README keeps its promises: two quick-start commands, every setting and command documented."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT, run_python
from lanterna.cli import build_parser
from lanterna.settings import SETTINGS

README = (ROOT / "README.md").read_text()


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in section.strip().splitlines()]


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    run, test = quick_start_commands()
    assert "lanterna demo" in run and "pip install" in run
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci


def test_every_setting_is_documented() -> None:
    missing = [s.env for s in SETTINGS if f"`{s.env}`" not in README]
    assert missing == []


def test_every_cli_command_is_documented() -> None:
    commands: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{prefix} {name}")
                return
        commands.append(prefix)

    walk(build_parser(), "lanterna")
    assert len(commands) >= 2
    missing = [c for c in commands if c not in README]
    assert missing == []


def test_readme_mentions_no_placeholder() -> None:
    assert not re.search(r"\b[A-Z]+_(DOCS|TABLE)\b", README)


def readme_block(heading: str, language: str, index: int = 0) -> str:
    section = README.split(heading, 1)[1]
    return section.split(f"```{language}\n")[index + 1].split("```", 1)[0]


def test_every_command_line_of_the_readme_parses() -> None:
    import shlex

    lines = readme_block("### Command line", "bash").strip().splitlines()
    lines += readme_block("### Using lanterna in your own project", "bash").strip().splitlines()
    for line in lines:
        words = shlex.split(line.split("  #")[0])
        if words[0] != "lanterna":
            continue
        words = words[: next((i for i, w in enumerate(words) if w.startswith(">")), None)]
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as exc:  # --version exits 0 after printing; a usage error exits 2
            assert exc.code == 0, line


def test_settings_table_defaults_are_values_each_setting_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = README.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = {cells[1].strip("` "): cells[2].strip("` ")
            for cells in (line.split("|") for line in table.splitlines())
            if len(cells) > 3 and cells[1].strip().startswith("`LANTERNA_")}
    for item in SETTINGS:
        written = rows[item.env]
        if item.default is None:
            assert written in ("none", "sqlite:///lanterna.db"), item.env
            continue
        monkeypatch.setenv(item.env, written)
        assert item.read() == item.default, (item.env, written)


def test_the_fake_openai_server_snippet_runs(tmp_path: Path) -> None:
    code = readme_block("### A local OpenAI-compatible server for tests", "python")
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["Fake reply to: Hello there", "/v1/chat/completions"]


def test_benchmarks_speak_to_users() -> None:
    """What a benchmark prints (its strings and its --help) names no issue, branch or plan."""
    internal = re.compile(r"\bissues? \d|\bacceptance \d|\bSPEC\.md|\bPLAN\.md|\bh\d\d-[a-z]")
    for script in sorted((ROOT / "benchmarks").glob("*.py")):
        texts = [node.value for node in ast.walk(ast.parse(script.read_text()))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        assert not [t for t in texts if internal.search(t)], script.name


@pytest.mark.parametrize("value", ["0", "-1", "-0.5"])
def test_a_trace_timeout_of_zero_or_below_means_no_timeout(tmp_path: Path, value: str) -> None:
    code = (
        "import time, lanterna\n"
        "span = lanterna.start_span_no_context('slow')\n"
        "time.sleep(0.5)\n"
        "span.end()\n"
        "print(lanterna.get_trace(span.trace_id).info.state.value)\n"
    )
    result = run_python(code, tmp_path, env={"LANTERNA_TRACE_TIMEOUT_SECONDS": value})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"
