"""LIKE patterns, read once and rewritten for each engine, so both give the same answers.

A pattern is what users know from SQL: ``%`` matches any run of characters, ``_`` exactly one,
and a backslash makes the next character literal (``\\%`` is a percent sign). Everything else,
quotes and non-ASCII included, stands for itself. SQLite gets a GLOB (case-sensitive, like
PostgreSQL's LIKE) or a regular expression (for ILIKE, with Unicode case folding); PostgreSQL gets
LIKE/ILIKE with its default backslash escape. Full-text search uses the literal runs of at least
three characters to ask the trigram index for candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ANY = "%"
ONE = "_"


@dataclass(frozen=True, slots=True)
class Pattern:
    """Parts of a LIKE pattern: ``ANY``/``ONE`` wildcards (as the sentinels ``None``) and text."""

    parts: tuple[str | None, ...]
    wildcards: tuple[str, ...]  # "%" or "_" for each None in parts, in order

    def literal_runs(self) -> list[str]:
        """The stretches of plain text between wildcards."""
        runs: list[str] = []
        current: list[str] = []
        for part in self.parts:
            if part is None:
                if current:
                    runs.append("".join(current))
                current = []
            else:
                current.append(part)
        if current:
            runs.append("".join(current))
        return runs

    def unanchored(self) -> Pattern:
        """The pattern allowed to match anywhere: ``%`` added at either end where missing."""
        parts, wildcards = list(self.parts), list(self.wildcards)
        if not parts or parts[0] is not None or wildcards[0] != ANY:
            parts.insert(0, None)
            wildcards.insert(0, ANY)
        if parts[-1] is not None or wildcards[-1] != ANY:
            parts.append(None)
            wildcards.append(ANY)
        return Pattern(tuple(parts), tuple(wildcards))

    def _pieces(self) -> list[tuple[bool, str]]:
        """(is_wildcard, text) in order; a wildcard's text is ``%`` or ``_``."""
        out: list[tuple[bool, str]] = []
        wild = iter(self.wildcards)
        for part in self.parts:
            out.append((True, next(wild)) if part is None else (False, part))
        return out

    def to_glob(self) -> str:
        """A SQLite GLOB pattern with the same meaning (GLOB is case-sensitive)."""
        out: list[str] = []
        for is_wild, text in self._pieces():
            if is_wild:
                out.append("*" if text == ANY else "?")
            else:
                out.append("".join(_GLOB_ESCAPES.get(c, c) for c in text))
        return "".join(out)

    def to_like(self) -> str:
        """A LIKE pattern for PostgreSQL (backslash is its default escape character)."""
        out: list[str] = []
        for is_wild, text in self._pieces():
            if is_wild:
                out.append(text)
            else:
                out.append("".join("\\" + c if c in "%_\\" else c for c in text))
        return "".join(out)

    def to_regex(self) -> str:
        out: list[str] = []
        for is_wild, text in self._pieces():
            out.append((".*" if text == ANY else ".") if is_wild else re.escape(text))
        return "".join(out)


_GLOB_ESCAPES = {"*": "[*]", "?": "[?]", "[": "[[]"}


def parse(pattern: str) -> Pattern:
    parts: list[str | None] = []
    wildcards: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\" and i + 1 < n:
            parts.append(pattern[i + 1])
            i += 2
            continue
        if char in (ANY, ONE):
            if char == ANY and wildcards and wildcards[-1] == ANY and parts[-1] is None:
                i += 1  # "%%" means the same as "%"
                continue
            parts.append(None)
            wildcards.append(char)
        else:
            parts.append(char)
        i += 1
    return Pattern(tuple(parts), tuple(wildcards))


def contains(text: str) -> Pattern:
    """The pattern matching any text that contains ``text`` literally."""
    return Pattern((*text,), ()).unanchored()


@lru_cache(maxsize=256)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(parse(pattern).to_regex(), flags)


def like_match(value: object, pattern: object, ignore_case: object = 1) -> int | None:
    """SQL function body (registered on SQLite): does ``value`` match the LIKE ``pattern``?"""
    if value is None or pattern is None:
        return None
    return int(_compiled(str(pattern), bool(ignore_case)).fullmatch(str(value)) is not None)


def fts_phrase_query(runs: list[str]) -> str | None:
    """An FTS5 query ANDing each literal run of 3+ characters as a phrase; None if there is none
    (the trigram index cannot narrow down shorter text)."""
    phrases = ['"' + run.replace('"', '""') + '"' for run in runs if len(run) >= 3]
    return " AND ".join(phrases) if phrases else None
