"""How the ``lanterna`` command fails: one line on stderr, exit code 2, never a traceback.

Messages speak of what the user typed and can fix: file paths and ``postgresql://`` URIs, not
driver URLs or class names.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

EXIT_ERROR = 2


class CliError(Exception):
    """A failure the command explains itself; its message is shown as is."""


class CliParser(argparse.ArgumentParser):
    """argparse, with usage mistakes answered in one line that points at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: {one_line(message)} (see: {self.prog} --help)\n")


def fail(message: str) -> int:
    print(f"lanterna: {one_line(message)}", file=sys.stderr)
    return EXIT_ERROR


def describe(exc: BaseException) -> str:
    """What went wrong, for a user: the message lanterna wrote, cleaned of internals."""
    from lanterna.exceptions import MlflowException

    if isinstance(exc, (CliError, MlflowException, ImportError)):
        return clean(str(exc))
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return clean(f"{exc.strerror}{where}")
    return clean(f"unexpected error ({type(exc).__name__}: {exc}); please report it")


_NOISE = re.compile(r"\(Background on this error at: \S+\)|\[Errno \d+\] ")
_OWN_PREFIX = re.compile(r"^(lanterna:\s*)+|^lanterna (?=could|cannot|can't)", re.IGNORECASE)


def clean(message: str) -> str:
    """One line, without SQLAlchemy's links, driver names in URLs or a second 'lanterna:'."""
    text = _NOISE.sub("", message)
    text = text.replace("postgresql+psycopg://", "postgresql://")
    return _OWN_PREFIX.sub("", one_line(text))


def one_line(text: str) -> str:
    return " ".join(text.split())
