"""The ``lanterna`` command: ``demo``, ``traces …``, ``experiments list``, ``db upgrade``,
``server``.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``; adding a command is
one more name in ``_COMMANDS``. Every failure is answered with one line on stderr and exit
code 2 (see :mod:`lanterna.cli.errors`), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lanterna import __version__
from lanterna.cli.errors import CliParser, describe, fail

# Subcommand modules, loaded only when the CLI runs.
_COMMANDS = (
    "lanterna.cli.demo",
    "lanterna.cli.traces",
    "lanterna.cli.experiments",
    "lanterna.cli.db",
    "lanterna.cli.server",
    "lanterna.cli.ui",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="lanterna", description="Tracing for LLM and agent applications.")
    parser.add_argument("--version", action="version", version=f"lanterna {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # every other failure: one line, exit 2, no traceback
        return fail(describe(exc))


if __name__ == "__main__":
    sys.exit(main())
