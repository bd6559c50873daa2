"""Filters on what the store keeps in JSON columns and full-text indexes (metadata, span
attributes, the words of spans), on a random corpus, against a plain Python evaluation: both
engines, both query plans, the full-text index complete and partly behind."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import lanterna
from lanterna.testing.databases import store_uri  # noqa: F401  (fixture)

WORDS = ("alpha", "beta", "Gamma", "delta", "épsilon", "zeta_x", "eta%", "ünï")
ATTRIBUTE_VALUES: tuple[Any, ...] = (
    "gpt-4o", "gpt-4o-mini", "Claude", "a%b", "ünï", "", 0, 1, 2.5, -3, True, False, None,
)
METADATA_KEYS = ("user", "app.version", "team-name")
METADATA_VALUES = ("u1", "u2", "U1", "v1.2", "v1.10", "a_b", "ünï")


@dataclass
class SpanModel:
    name: str
    inputs: str
    attributes: dict[str, Any]

    def words(self) -> str:
        """What full-text search reads for this span (its name, then its values)."""
        parts = [self.name, self.inputs]
        for value in self.attributes.values():
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                parts.append(repr(value))
        return "\n".join(parts)


@dataclass
class TraceModel:
    trace_id: str
    metadata: dict[str, str]
    spans: list[SpanModel] = field(default_factory=list)


def _write(experiment_id: str, count: int, seed: int) -> list[TraceModel]:
    rng = random.Random(seed)
    models = []
    for _ in range(count):
        metadata = {k: rng.choice(METADATA_VALUES) for k in METADATA_KEYS if rng.random() < 0.6}
        root = lanterna.start_span_no_context(
            rng.choice(WORDS), experiment_id=experiment_id, metadata=metadata,
        )
        model = TraceModel(str(root.trace_id), metadata)
        for index in range(rng.randint(1, 3)):
            span = root if index == 0 else lanterna.start_span_no_context(
                rng.choice(WORDS), parent_span=root)  # type: ignore[arg-type]
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
            attributes = {k: rng.choice(ATTRIBUTE_VALUES) for k in ("model", "score", "flag")
                          if rng.random() < 0.7}
            span.set_inputs(text)
            span.set_attributes(attributes)
            model.spans.append(SpanModel(span.name, text, attributes))
            if index:
                span.end()
        root.end()
        models.append(model)
    lanterna.flush_trace_async_logging()
    return models


# -- random comparisons and their meaning --------------------------------------------------------
def _like(pattern: str, ignore_case: bool) -> Callable[[str | None], bool]:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return lambda v: v is not None and re.fullmatch(regex, v, flags) is not None


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _attribute_text(value: Any) -> str | None:
    """A span attribute as the filter language sees it: strings as they are, numbers and
    booleans as JSON prints them, null as missing."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def _attribute_comparison(rng: random.Random) -> tuple[str, Callable[[TraceModel], bool]]:
    key = rng.choice(("model", "score", "flag"))
    op = rng.choice(("=", "!=", "IN", "NOT IN", "LIKE", "ILIKE"))
    strings = [v for v in ATTRIBUTE_VALUES if isinstance(v, str)]
    numbers = [v for v in ATTRIBUTE_VALUES if type(v) in (int, float)]

    def equals(stored: Any, wanted: Any) -> bool:
        if isinstance(wanted, str):
            return _attribute_text(stored) == wanted
        return type(stored) in (int, float) and stored == wanted

    def literal(value: Any) -> str:
        return _quote(value) if isinstance(value, str) else repr(value)

    if op in ("LIKE", "ILIKE"):
        value = rng.choice([*strings, "true", "2.5"])
        pattern = rng.choice((value[:2] + "%", "%" + value[-2:], value.upper(), "_" + value[1:]))
        test = _like(pattern, op == "ILIKE")
        predicate: Callable[[Any], bool] = lambda v: test(_attribute_text(v))  # noqa: E731
        text = f"span.attributes.{key} {op} {_quote(pattern)}"
    else:
        listed = [rng.choice([*strings, *numbers, "true"]) for _ in range(rng.randint(1, 2))]
        hit = lambda v: any(equals(v, w) for w in listed)  # noqa: E731
        if op in ("=", "!="):
            listed = listed[:1]
            text = f"span.attributes.{key} {op} {literal(listed[0])}"
        else:
            text = f"span.attributes.{key} {op} (" + ", ".join(map(literal, listed)) + ")"
        positive = op in ("=", "IN")

        def predicate(v: Any) -> bool:
            return hit(v) if positive else (v is not None and not hit(v))
    return text, lambda m: any(
        key in s.attributes and predicate(s.attributes[key]) for s in m.spans
    )


def _metadata_comparison(rng: random.Random) -> tuple[str, Callable[[TraceModel], bool]]:
    key = rng.choice(METADATA_KEYS)
    name = f"metadata.`{key}`"
    op = rng.choice(("=", "!=", "IN", "NOT IN", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"))
    if op in ("IS NULL", "IS NOT NULL"):
        return f"{name} {op}", lambda m: (key in m.metadata) == (op == "IS NOT NULL")
    if op in ("LIKE", "ILIKE"):
        value = rng.choice(METADATA_VALUES)
        pattern = rng.choice((value[:2] + "%", "%" + value[-2:], value.upper(), "_" + value[1:]))
        test = _like(pattern, op == "ILIKE")
        return f"{name} {op} {_quote(pattern)}", lambda m: test(m.metadata.get(key))
    listed = rng.sample(METADATA_VALUES, 1 if op in ("=", "!=") else 2)
    if op in ("=", "!="):
        text = f"{name} {op} {_quote(listed[0])}"
    else:
        text = f"{name} {op} (" + ", ".join(map(_quote, listed)) + ")"
    positive = op in ("=", "IN")
    return text, lambda m: key in m.metadata and (m.metadata[key] in listed) == positive


def _text_comparison(rng: random.Random) -> tuple[str, Callable[[TraceModel], bool]]:
    op = rng.choice(("LIKE", "ILIKE", "="))
    word = rng.choice(WORDS)
    if op == "=":  # the value as a literal substring
        piece = word[1:4]
        return (f"trace.text = {_quote(piece)}",
                lambda m: any(piece in s.words() for s in m.spans))
    second = rng.choice(WORDS)
    pattern = rng.choice((f"%{word}%", f"%{word[:3]}%{second[-2:]}%", f"%{word.upper()}%"))
    test = _like(pattern, op == "ILIKE")
    return (f"trace.text {op} {_quote(pattern)}", lambda m: any(test(s.words()) for s in m.spans))


def _random_filter(rng: random.Random) -> tuple[str, Callable[[TraceModel], bool]]:
    make = rng.choice((_attribute_comparison, _metadata_comparison, _text_comparison))
    text, test = make(rng)
    if rng.random() < 0.25:
        other_text, other = rng.choice((_attribute_comparison, _metadata_comparison))(rng)
        return f"{text} AND {other_text}", lambda m: test(m) and other(m)
    return text, test


@pytest.fixture(scope="module")
def corpus(store_uri: str) -> Iterator[tuple[str, list[TraceModel]]]:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    experiment = lanterna.set_experiment(f"columns-{uuid.uuid4().hex[:8]}").experiment_id
    models = _write(experiment, 40, seed=15)
    from lanterna.store import uri

    uri.get_store(store_uri).maintain(budget=30)  # index the first part for full-text search
    models += _write(experiment, 20, seed=16)  # and leave the rest behind the index's mark
    yield experiment, models
    lanterna.set_tracking_uri(None)


@pytest.mark.parametrize("plan", ["from-index", "walk"])
def test_column_filters_match_a_python_evaluation(
    corpus: tuple[str, list[TraceModel]], store_uri: str, plan: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lanterna.store.sql import searching

    monkeypatch.setattr(searching, "DRIVE_BELOW", 10**9 if plan == "from-index" else 0)
    if plan == "from-index":  # however little walking would cost
        monkeypatch.setattr(searching, "WALK_RATIO", 1e-9)
    experiment, models = corpus
    rng = random.Random(1500)
    sizes = set()
    lanterna.set_tracking_uri(store_uri)
    for _ in range(150):
        text, test = _random_filter(rng)
        want = {m.trace_id for m in models if test(m)}
        sizes.add(len(want))
        found = lanterna.search_traces(experiment_ids=[experiment], filter_string=text,
                                       return_type="list", include_spans=False,
                                       max_results=1000)
        assert {t.info.trace_id for t in found} == want, text
    assert len(sizes) > 10
