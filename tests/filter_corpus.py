"""A random corpus of traces and random boolean filters over it, with a plain Python evaluation
of each filter: the reference that the store (and the UI's search box) must agree with.

Filters are generated as trees here and printed to the filter language, so the reference never
goes through lanterna's parser."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

import lanterna
from lanterna.entities import SpanType

T0 = 1_700_000_000_000  # ms
NAMES = ("alpha", "beta", "Gamma", "delta_x", "a%b")
TAG_VALUES = {"env": ("prod", "dev", "staging"), "team": ("search", "ads")}
USERS = ("u1", "u2", "u3")
CHILDREN = (("retrieve", "RETRIEVER"), ("llm", "CHAT_MODEL"), ("tool", "TOOL"), ("parse", "PARSER"))


@dataclass
class Model:
    """What a trace is, in plain Python: the facts filters test."""

    trace_id: str
    name: str
    state: str
    timestamp_ms: int
    execution_time_ms: int
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    spans: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, status)


def write_corpus(experiment_id: str, count: int, seed: int) -> list[Model]:
    """``count`` random traces written through the SDK into the current tracking URI."""
    rng = random.Random(seed)
    models = []
    for i in range(count):
        name = rng.choice(NAMES)
        start, duration = T0 + i * 1000, rng.choice((5, 50, 500, 5000))
        state = "ERROR" if rng.random() < 0.3 else "OK"
        tags = {k: rng.choice(v) for k, v in TAG_VALUES.items() if rng.random() < 0.7}
        metadata = {"user": rng.choice(USERS)} if rng.random() < 0.6 else {}
        root = lanterna.start_span_no_context(
            name, span_type=SpanType.CHAIN, start_time_ns=start * 1_000_000,
            experiment_id=experiment_id, tags=tags, metadata=metadata,
        )
        spans = [(name, "CHAIN", state)]
        for offset in range(rng.randint(0, 3)):
            child, kind = rng.choice(CHILDREN)
            status = "ERROR" if rng.random() < 0.25 else "OK"
            span = lanterna.start_span_no_context(
                child, span_type=kind, parent_span=root,  # type: ignore[arg-type]
                start_time_ns=(start + offset) * 1_000_000,
            )
            span.end(status=status, end_time_ns=(start + offset + 1) * 1_000_000)
            spans.append((child, kind, status))
        root.end(status=state, end_time_ns=(start + duration) * 1_000_000)
        models.append(Model(str(root.trace_id), name, state, start, duration, tags, metadata,
                            spans))
    lanterna.flush_trace_async_logging()
    return models


# --- filters as trees: ("cmp", text, test) | ("and"|"or", [items]) | ("not", item) -------------


def _like(pattern: str, ignore_case: bool) -> Any:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return lambda v: v is not None and re.fullmatch(regex, v, flags) is not None


def _string_test(rng: random.Random, pool: tuple[str, ...]) -> tuple[str, Any]:
    op = rng.choice(("=", "!=", "IN", "NOT IN", "LIKE", "ILIKE"))
    if op in ("IN", "NOT IN"):
        values = rng.sample(pool, rng.randint(1, min(2, len(pool))))
        text = f"{op} (" + ", ".join(f"'{v}'" for v in values) + ")"
        return text, (lambda v: v in values) if op == "IN" else (
            lambda v: v is not None and v not in values)
    value = rng.choice(pool)
    if op in ("LIKE", "ILIKE"):
        pattern = rng.choice((value[:2] + "%", "%" + value[-2:], value.upper(), "_" + value[1:]))
        return f"{op} '{pattern}'", _like(pattern, op == "ILIKE")
    if op == "=":
        return f"= '{value}'", lambda v: v == value
    return f"!= '{value}'", lambda v: v is not None and v != value


def random_comparison(rng: random.Random) -> tuple[Any, ...]:
    kind = rng.choice(("name", "state", "time", "duration", "tag", "metadata", "span_name",
                       "span_type", "span_status"))
    if kind == "name":
        text, test = _string_test(rng, NAMES)
        return ("cmp", f"trace.name {text}", lambda m: test(m.name))
    if kind == "state":
        state = rng.choice(("OK", "ERROR"))
        op = rng.choice(("=", "!="))
        return ("cmp", f"trace.status {op} '{state}'",
                lambda m: (m.state == state) == (op == "="))
    if kind in ("time", "duration"):
        op = rng.choice(("<", "<=", ">", ">=", "=", "!="))
        key, pick = (("timestamp_ms", lambda m: m.timestamp_ms) if kind == "time" else
                     ("execution_time_ms", lambda m: m.execution_time_ms))
        bound = T0 + rng.randint(0, 40) * 1000 if kind == "time" else rng.choice((5, 50, 500))
        ops = {"<": int.__lt__, "<=": int.__le__, ">": int.__gt__, ">=": int.__ge__,
               "=": int.__eq__, "!=": int.__ne__}
        return ("cmp", f"trace.{key} {op} {bound}", lambda m: ops[op](pick(m), bound))
    if kind in ("tag", "metadata"):
        key = rng.choice(tuple(TAG_VALUES)) if kind == "tag" else "user"
        pool = TAG_VALUES[key] if kind == "tag" else USERS
        table = (lambda m: m.tags) if kind == "tag" else (lambda m: m.metadata)
        if rng.random() < 0.25:
            null = rng.choice(("IS NULL", "IS NOT NULL"))
            return ("cmp", f"{kind}.{key} {null}",
                    lambda m: (key in table(m)) == (null == "IS NOT NULL"))
        text, test = _string_test(rng, pool)
        return ("cmp", f"{kind}.{key} {text}",
                lambda m: key in table(m) and bool(test(table(m)[key])))
    index = {"span_name": 0, "span_type": 1, "span_status": 2}[kind]
    pool = {0: (*NAMES, *(c for c, _ in CHILDREN)), 1: ("CHAIN", *(t for _, t in CHILDREN)),
            2: ("OK", "ERROR")}[index]
    if index == 2:
        value, op = rng.choice(pool), rng.choice(("=", "!="))
        text = f"{op} '{value}'"

        def test(v: str) -> bool:
            return (v == value) == (op == "=")
    else:
        text, test = _string_test(rng, pool)
    key = ("name", "type", "status")[index]
    return ("cmp", f"span.{key} {text}", lambda m: any(test(s[index]) for s in m.spans))


def random_filter(rng: random.Random, depth: int = 0) -> tuple[Any, ...]:
    roll = rng.random()
    if depth >= 3 or roll < 0.35:
        return random_comparison(rng)
    if roll < 0.5:
        return ("not", random_filter(rng, depth + 1))
    kind = "and" if roll < 0.75 else "or"
    return (kind, [random_filter(rng, depth + 1) for _ in range(rng.randint(2, 3))])


def render(node: tuple[Any, ...], rng: random.Random, top: bool = True) -> str:
    """The filter as text; keywords in random case, parentheses where needed (and sometimes
    where not)."""
    def word(w: str) -> str:
        return w if rng.random() < 0.8 else w.lower()

    if node[0] == "cmp":
        text = node[1]
        return f"({text})" if rng.random() < 0.1 else text
    if node[0] == "not":
        return f"{word('NOT')} {render(node[1], rng, False)}"
    inner = f" {word(node[0].upper())} ".join(render(i, rng, False) for i in node[1])
    return inner if top and rng.random() < 0.5 else f"({inner})"


def evaluate(node: tuple[Any, ...], model: Model) -> bool:
    if node[0] == "cmp":
        return bool(node[2](model))
    if node[0] == "not":
        return not evaluate(node[1], model)
    results = (evaluate(i, model) for i in node[1])
    return all(results) if node[0] == "and" else any(results)


def expected(node: tuple[Any, ...], models: list[Model]) -> set[str]:
    return {m.trace_id for m in models if evaluate(node, m)}
