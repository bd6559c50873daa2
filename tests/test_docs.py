"""The README keeps its promises: two quick-start commands, every setting and command documented."""

from __future__ import annotations

import argparse
import re

from conftest import ROOT
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
