"""Parse ``search_traces`` filters and ``order_by`` items into the AST of :mod:`.ast`.

Grammar (``NOT`` binds tightest, then ``AND``, then ``OR``; keywords in any case)::

    filter  := or EOF
    or      := and (OR and)*
    and     := unary (AND unary)*
    unary   := NOT unary | '(' or ')' | clause
    clause  := name ( cmp value | [NOT] IN '(' value (',' value)* ')'
                    | (LIKE | ILIKE | RLIKE) string | IS [NOT] NULL )
    value   := string | number

Chains of ``AND``/``OR`` are read in loops; only parentheses and ``NOT`` nest, at most
:data:`MAX_DEPTH` deep, so no input can exhaust the stack. A filter without ``OR``, ``NOT`` and
parentheses parses to a flat list of comparisons, as in MLflow.

Names resolve through entity and key aliases to the allow-lists in :mod:`.ast`; each key has its
own operators and value type. Every failure is an ``InvalidFilterError`` naming the token.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Sequence

from lanterna.exceptions import InvalidFilterError
from lanterna.store.search.ast import (
    ATTRIBUTE_KEYS,
    ENTITY_ALIASES,
    KEY_ALIASES,
    NUMERIC_ATTRIBUTE_KEYS,
    ORDER_BY_KEYS,
    SPAN_KEYS,
    TRACE_STATES,
    AllOf,
    AnyOf,
    Comparison,
    Entity,
    Expression,
    Filter,
    Not,
    Operator,
    OrderBy,
    Scalar,
    Value,
)
from lanterna.store.search.lexer import (
    NUMBER_RE,
    NamePart,
    Token,
    filter_error,
    parse_number,
    show,
    tokenize,
)

#: How deep parentheses and NOT may nest (SQL engines refuse much deeper expressions).
MAX_DEPTH = 32
_REGEX_CHECK = threading.Lock()  # warnings.catch_warnings is not thread-safe
_ENTITY_NAMES = "trace, attributes, tag, metadata, span"
_COMPARE: dict[str, Operator] = {"=": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_PATTERN: dict[str, Operator] = {"LIKE": "LIKE", "ILIKE": "ILIKE", "RLIKE": "RLIKE"}
_NUMERIC_OPS: tuple[Operator, ...] = ("=", "!=", ">", ">=", "<", "<=")
_STRING_OPS: tuple[Operator, ...] = ("=", "!=", "IN", "NOT IN", "LIKE", "ILIKE", "RLIKE")
_TEXT_OPS: tuple[Operator, ...] = ("=", "LIKE", "ILIKE")
_TAG_OPS: tuple[Operator, ...] = (*_STRING_OPS, "IS NULL", "IS NOT NULL")


def parse_filter(text: str | None) -> Filter:
    """Parse a filter string; ``None``, empty or blank means no filter."""
    if text is None:
        return Filter()
    if not isinstance(text, str):
        raise InvalidFilterError(f"Invalid filter {text!r}: expected a string, not {type(text)}")
    return _Parser(text, tokenize(text)).filter()


def parse_order_by(items: Sequence[str] | None) -> tuple[OrderBy, ...]:
    """Parse ``order_by`` items such as ``"timestamp_ms DESC"`` (default direction ASC)."""
    if items is None:
        return ()
    if isinstance(items, str):
        items = [items]
    for item in items:
        if not isinstance(item, str):
            raise InvalidFilterError(f"Invalid order_by {item!r}: expected a string")
    return tuple(_Parser(item, tokenize(item, "order_by"), "order_by").order_by() for item in items)


class _Parser:
    def __init__(self, source: str, tokens: list[Token], what: str = "filter") -> None:
        self.source = source
        self.tokens = tokens
        self.what = what
        self.index = 0

    def next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "EOF":
            self.index += 1
        return token

    def peek_keyword(self, word: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "KEYWORD" and token.value == word

    def expect(self, kind: str, word: str, description: str) -> Token:
        token = self.next()
        if token.kind != kind or (kind == "KEYWORD" and token.value != word):
            raise self.unexpected(token, description)
        return token

    def error(self, token: Token | NamePart, problem: str, expected: str) -> InvalidFilterError:
        return filter_error(
            self.source, token.position, problem, expected, token=token.text, what=self.what
        )

    def unexpected(self, token: Token, expected: str) -> InvalidFilterError:
        found = (
            f"unexpected {show(token.text)}" if token.kind != "EOF" else "unexpected end of input"
        )
        return self.error(token, found, expected)

    def order_by(self) -> OrderBy:
        expected = "one of: " + ", ".join(ORDER_BY_KEYS) + " (then ASC or DESC)"
        name = self.next()
        if name.kind != "IDENT":
            raise self.unexpected(name, "a key, " + expected)
        parts = [p.text for p in name.parts]
        if len(parts) > 1 and ENTITY_ALIASES.get(parts[0].lower()) == "attribute":
            parts = parts[1:]
        key = KEY_ALIASES.get(".".join(parts), ".".join(parts))
        if key not in ORDER_BY_KEYS:
            raise self.error(name, f"unknown order_by key {show(name.text)}", expected)
        direction = self.next()
        ascending = direction.text.upper() != "DESC"
        if direction.kind == "IDENT" and direction.text.upper() in ("ASC", "DESC"):
            direction = self.next()
        if direction.kind != "EOF":
            raise self.unexpected(direction, "ASC, DESC or the end of the item")
        return OrderBy(key, ascending)

    def filter(self) -> Filter:
        if self.tokens[0].kind == "EOF":
            return Filter()
        expression = self.any_of(0)
        token = self.next()
        if token.kind != "EOF":
            raise self.unexpected(token, "AND, OR or the end of the filter")
        if isinstance(expression, AllOf):  # top-level AND: a flat list, as MLflow reads it
            return Filter(expression.items)
        return Filter((expression,))

    def any_of(self, depth: int) -> Expression:
        items = [self.all_of(depth)]
        while self.peek_keyword("OR"):
            self.next()
            items.append(self.all_of(depth))
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def all_of(self, depth: int) -> Expression:
        items: list[Expression] = []
        while True:
            item = self.unary(depth)
            # (a AND b) AND c is a AND b AND c: keep conjunctions flat.
            items.extend(item.items if isinstance(item, AllOf) else (item,))
            if not self.peek_keyword("AND"):
                return items[0] if len(items) == 1 else AllOf(tuple(items))
            self.next()

    def unary(self, depth: int) -> Expression:
        token = self.tokens[self.index]
        nests = token.kind == "LPAREN" or (token.kind == "KEYWORD" and token.value == "NOT")
        if nests and depth >= MAX_DEPTH:
            raise self.error(
                token, f"parentheses and NOT nested more than {MAX_DEPTH} deep", "a simpler filter"
            )
        if token.kind == "KEYWORD" and token.value == "NOT":
            self.next()
            return Not(self.unary(depth + 1))
        if token.kind == "LPAREN":
            self.next()
            inner = self.any_of(depth + 1)
            self.expect("RPAREN", "", "')' to close the '(' at position " + str(token.position))
            return inner
        return self.clause()

    def clause(self) -> Comparison:
        name = self.next()
        if name.kind != "IDENT":
            raise self.unexpected(name, "a key such as trace.status or tag.<name>, NOT or '('")
        entity, key = self.resolve(name.parts)
        op, op_token = self.operator()
        allowed = _allowed_ops(entity, key)
        if op not in allowed:
            raise self.error(
                op_token,
                f"operator {show(op)} is not supported for {show(name.text)}",
                "one of: " + ", ".join(allowed),
            )
        value: Value
        if op in ("IS NULL", "IS NOT NULL"):
            value = None
        elif op in ("IN", "NOT IN"):
            self.expect("LPAREN", "", "'(' to start the list of values")
            items = [self.value(entity, key, op)]
            while (separator := self.next()).kind != "RPAREN":
                if separator.kind != "COMMA":
                    raise self.unexpected(separator, "',' or ')' in the list of values")
                items.append(self.value(entity, key, op))
            value = tuple(items)
        else:
            value = self.value(entity, key, op)
        return Comparison(entity, key, op, value)

    def resolve(self, parts: tuple[NamePart, ...]) -> tuple[Entity, str]:
        head = parts[0]
        if head.quoted and head.text.lower() not in ENTITY_ALIASES:
            entity_text, _, rest = head.text.partition(".")
            if rest and entity_text.lower() in ENTITY_ALIASES:  # `span.attributes`.x, `tag.a.b`
                tail = NamePart(rest, True, head.position + len(entity_text) + 2)
                parts = (NamePart(entity_text, True, head.position + 1), tail, *parts[1:])
                head = parts[0]
        if len(parts) == 1:
            entity: Entity = "attribute"
            key_part = head
        elif head.text.lower() in ENTITY_ALIASES:  # entity prefixes ignore case, keys don't
            entity = ENTITY_ALIASES[head.text.lower()]
            key_part = parts[1]
        else:
            raise self.error(head, f"unknown entity {show(head.text)}", "one of: " + _ENTITY_NAMES)
        key = ".".join(p.text for p in (parts[1:] if len(parts) > 1 else parts))
        if entity == "attribute":
            key = KEY_ALIASES.get(key, key)
            if key not in ATTRIBUTE_KEYS:
                keys = ", ".join(ATTRIBUTE_KEYS)
                raise self.error(key_part, f"unknown key {show(key)}", "one of: " + keys)
        elif entity == "span":
            if key.startswith("attributes.") and len(key) > len("attributes."):
                return "span_attribute", key[len("attributes.") :]
            if key not in SPAN_KEYS:
                keys = ", ".join((*SPAN_KEYS, "attributes.<key>"))
                raise self.error(key_part, f"unknown span key {show(key)}", "one of: " + keys)
        return entity, key

    def operator(self) -> tuple[Operator, Token]:
        token = self.next()
        if token.kind == "OP":
            return _COMPARE[str(token.value)], token
        word = token.value if token.kind == "KEYWORD" else None
        if word == "IN":
            return "IN", token
        if isinstance(word, str) and word in _PATTERN:
            return _PATTERN[word], token
        if word == "NOT":
            self.expect("KEYWORD", "IN", "IN after NOT (NOT IN)")
            return "NOT IN", token
        if word == "IS":
            negated = self.peek_keyword("NOT")
            if negated:
                self.next()
            self.expect("KEYWORD", "NULL", "NULL after IS" + (" NOT" if negated else ""))
            return ("IS NOT NULL" if negated else "IS NULL"), token
        expected = "an operator: =, !=, >, >=, <, <=, IN, NOT IN, LIKE, ILIKE, RLIKE, IS [NOT] NULL"
        raise self.unexpected(token, expected)

    def value(self, entity: Entity, key: str, op: Operator) -> Scalar:
        token = self.next()
        value = token.value
        if token.kind not in ("STRING", "NUMBER") or value is None:
            raise self.unexpected(token, "a quoted string or a number")
        if entity == "attribute" and key in NUMERIC_ATTRIBUTE_KEYS:
            if isinstance(value, str):  # a numeric string literal is a number too
                value = parse_number(value) if NUMBER_RE.fullmatch(value) else None
            if value is None:
                raise self.error(
                    token, f"{show(token.text)} is not a number", f"a number for {key}"
                )
            return value
        if not isinstance(value, str):
            if entity == "span_attribute" and op in ("=", "!=", "IN", "NOT IN"):
                return value
            raise self.error(token, f"{show(token.text)} is not a string", "a quoted string")
        if op == "RLIKE":
            self.check_regex(token)
        elif entity == "attribute" and key == "state" and op not in _PATTERN:
            value = value.upper()
            if value not in TRACE_STATES:
                states = ", ".join(TRACE_STATES)
                raise self.error(token, f"unknown state {show(token.text)}", "one of: " + states)
        return value

    def check_regex(self, token: Token) -> None:
        try:
            with _REGEX_CHECK, warnings.catch_warnings():
                # A pattern Python warns about ("possible nested set") changes meaning in a later
                # Python, so it is refused. re.UNICODE (the default for str) only gives our check
                # its own cache entries, so a pattern cached earlier cannot skip the warning.
                warnings.simplefilter("error")
                re.compile(str(token.value), re.UNICODE)
        except (re.error, Warning, OverflowError, RecursionError, ValueError) as exc:
            reason = exc.msg if isinstance(exc, re.error) else str(exc) or type(exc).__name__
            problem = f"invalid regular expression {show(token.text)} ({reason})"
            raise self.error(token, problem, "a valid regular expression") from None


def _allowed_ops(entity: Entity, key: str) -> tuple[Operator, ...]:
    if entity in ("tag", "metadata"):
        return _TAG_OPS
    if entity == "attribute" and key in NUMERIC_ATTRIBUTE_KEYS:
        return _NUMERIC_OPS
    if (entity, key) in (("attribute", "text"), ("span", "content")):
        return _TEXT_OPS
    return _STRING_OPS
