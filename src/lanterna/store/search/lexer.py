"""Tokens of the ``search_traces`` filter language, each with its position in the source text.

The lexer scans left to right with anchored, backtrack-free patterns, so its time is linear in the
input. Every failure is an :class:`~lanterna.exceptions.InvalidFilterError` naming the position.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

from lanterna.exceptions import InvalidFilterError

TokenKind: TypeAlias = Literal[
    "IDENT", "STRING", "NUMBER", "OP", "KEYWORD", "LPAREN", "RPAREN", "COMMA", "EOF"
]
KEYWORDS = frozenset({"AND", "OR", "IN", "NOT", "LIKE", "ILIKE", "RLIKE", "IS", "NULL"})

NUMBER_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME_START = re.compile(r"[^\W\d]\w*")
_NAME_PART = re.compile(r"\w+")
_WHITESPACE = re.compile(r"\s+")
_STRING_RUN = {"'": re.compile(r"[^'\\]+"), '"': re.compile(r'[^"\\]+')}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_OPERATORS = {"!=": "!=", "<>": "!=", ">=": ">=", "<=": "<=", "=": "=", ">": ">", "<": "<"}
_PUNCTUATION: dict[str, TokenKind] = {"(": "LPAREN", ")": "RPAREN", ",": "COMMA"}
_MAX_SHOWN = 200


@dataclass(frozen=True, slots=True)
class NamePart:
    """One part of a dotted name; ``quoted`` parts came in backticks and may contain dots."""

    text: str
    quoted: bool
    position: int


@dataclass(frozen=True, slots=True)
class Token:
    """``text`` is the source slice; ``value`` the decoded string, number, operator or keyword."""

    kind: TokenKind
    text: str
    position: int
    value: str | int | float | None = None
    parts: tuple[NamePart, ...] = ()


def show(text: str) -> str:
    """Quote a token or source for an error message, cut short when long."""
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + "..."
    return repr(text)


def filter_error(
    source: str,
    position: int,
    problem: str,
    expected: str | None = None,
    *,
    token: str | None = None,
    what: str = "filter",
) -> InvalidFilterError:
    """The one error shape: what was wrong, where, and what would have been accepted."""
    message = f"Invalid {what} {show(source)}: {problem} at position {position}"
    if expected:
        message += f"; expected {expected}"
    return InvalidFilterError(message, position=position, token=token)


def parse_number(text: str) -> int | float | None:
    """The value of a numeric literal matching :data:`NUMBER_RE`, or None if out of range."""
    try:
        if any(c in text for c in ".eE"):
            number = float(text)
            return number if math.isfinite(number) else None
        return int(text)
    except ValueError:  # more digits than int() converts
        return None


def tokenize(source: str, what: str = "filter") -> list[Token]:
    """Split ``source`` into tokens, ending with an ``EOF`` token at ``len(source)``."""
    tokens: list[Token] = []
    pos, end = 0, len(source)
    while True:
        space = _WHITESPACE.match(source, pos)
        if space is not None:
            pos = space.end()
        if pos >= end:
            tokens.append(Token("EOF", "", end))
            return tokens
        char = source[pos]
        if char in "'\"":
            value, stop = _lex_string(source, pos, what)
            tokens.append(Token("STRING", source[pos:stop], pos, value))
        elif char == "`" or _NAME_START.match(source, pos):
            parts, stop = _lex_name(source, pos, what)
            tokens.append(_name_token(source[pos:stop], pos, parts))
        elif number := NUMBER_RE.match(source, pos):
            stop = number.end()
            number_value = parse_number(number.group())
            glued = stop < end and (source[stop] in ".`_" or source[stop].isalnum())
            if glued or number_value is None:
                bad = source[pos : stop + 1] if glued else number.group()
                problem = "malformed number" if glued else "number out of range"
                raise filter_error(
                    source,
                    pos,
                    f"{problem} {show(bad)}",
                    "a number such as 42 or -1.5",
                    token=bad,
                    what=what,
                )
            tokens.append(Token("NUMBER", number.group(), pos, number_value))
        elif (op := source[pos : pos + 2]) in _OPERATORS or (op := char) in _OPERATORS:
            stop = pos + len(op)
            tokens.append(Token("OP", op, pos, _OPERATORS[op]))
        elif char in _PUNCTUATION:
            stop = pos + 1
            tokens.append(Token(_PUNCTUATION[char], char, pos))
        else:
            raise filter_error(
                source,
                pos,
                f"unexpected character {show(char)}",
                "a key, operator, quoted string, number, '(', ')' or ','",
                token=char,
                what=what,
            )
        pos = stop


def _name_token(text: str, position: int, parts: list[NamePart]) -> Token:
    only = parts[0]
    if len(parts) == 1 and not only.quoted and only.text.isascii():
        word = only.text.upper()
        if word in KEYWORDS:
            return Token("KEYWORD", text, position, word)
    return Token("IDENT", text, position, None, tuple(parts))


def _lex_name(source: str, pos: int, what: str) -> tuple[list[NamePart], int]:
    """A dotted name whose parts are plain words or backtick-quoted (```` `` ```` is one `)."""
    parts: list[NamePart] = []
    while True:
        if source.startswith("`", pos):
            text, stop = _lex_backticks(source, pos, what)
            parts.append(NamePart(text, True, pos))
        else:
            word = (_NAME_PART if parts else _NAME_START).match(source, pos)
            if word is None:
                shown = source[pos : pos + 1]
                found = f"unexpected {show(shown)}" if shown else "unexpected end of input"
                raise filter_error(
                    source,
                    pos,
                    f"{found} after '.'",
                    "a name or a `backtick-quoted` name",
                    token=shown,
                    what=what,
                )
            stop = word.end()
            parts.append(NamePart(word.group(), False, pos))
        if not source.startswith(".", stop):
            return parts, stop
        pos = stop + 1


def _lex_backticks(source: str, pos: int, what: str) -> tuple[str, int]:
    chunks: list[str] = []
    start = pos + 1
    while True:
        close = source.find("`", start)
        if close < 0:
            raise filter_error(
                source,
                pos,
                f"unterminated backtick-quoted name {show(source[pos:])}",
                "a closing '`'",
                token=source[pos:],
                what=what,
            )
        chunks.append(source[start:close])
        if source.startswith("`", close + 1):
            chunks.append("`")
            start = close + 2
            continue
        text = "".join(chunks)
        if not text:
            raise filter_error(
                source,
                pos,
                "empty backtick-quoted name '``'",
                "a name between the backticks",
                token="``",
                what=what,
            )
        return text, close + 1


def _lex_string(source: str, pos: int, what: str) -> tuple[str, int]:
    """A quoted string: ``\\`` escapes (unknown ones kept, e.g. ``\\%``) or a doubled quote."""
    quote = source[pos]
    run = _STRING_RUN[quote]
    chunks: list[str] = []
    i, end = pos + 1, len(source)
    while i < end:
        plain = run.match(source, i)
        if plain is not None:
            chunks.append(plain.group())
            i = plain.end()
            continue
        if source[i] == "\\" and i + 1 < end:
            escaped = source[i + 1]
            chunks.append(_ESCAPES.get(escaped, "\\" + escaped))
            i += 2
        elif source[i] == quote and source.startswith(quote, i + 1):
            chunks.append(quote)
            i += 2
        elif source[i] == quote:
            return "".join(chunks), i + 1
        else:  # a lone backslash at the very end
            break
    raise filter_error(
        source,
        pos,
        f"unterminated string {show(source[pos:])}",
        f"a closing {quote!r}",
        token=source[pos:],
        what=what,
    )
