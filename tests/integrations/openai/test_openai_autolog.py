"""Turning autolog on and off: what gets patched, idempotence, undo, missing ``openai``."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import openai
import openai.resources.chat.completions as chat
import pytest

import lanterna
from lanterna.entities import Trace
from lanterna.integrations.openai.autolog import patched_methods
from lanterna.testing.openai_server import FakeOpenAIServer

MESSAGES = [{"role": "user", "content": "hi"}]
CANDIDATES = [
    ("openai.resources.chat.completions", "Completions", "create"),
    ("openai.resources.chat.completions", "Completions", "parse"),  # openai >= 1.92
    ("openai.resources.chat.completions", "AsyncCompletions", "create"),
    ("openai.resources.chat.completions", "AsyncCompletions", "parse"),
    ("openai.resources.beta.chat.completions", "Completions", "parse"),  # openai < 1.92
    ("openai.resources.beta.chat.completions", "AsyncCompletions", "parse"),
    ("openai.resources.completions", "Completions", "create"),
    ("openai.resources.completions", "AsyncCompletions", "create"),
    ("openai.resources.embeddings", "Embeddings", "create"),
    ("openai.resources.embeddings", "AsyncEmbeddings", "create"),
    ("openai.resources.responses", "Responses", "create"),  # openai >= 1.66
    ("openai.resources.responses", "Responses", "parse"),
    ("openai.resources.responses", "AsyncResponses", "create"),
    ("openai.resources.responses", "AsyncResponses", "parse"),
]


def _present() -> list[tuple[type, str]]:
    found = []
    for module_name, class_name, method in CANDIDATES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, class_name, None)
        if isinstance(cls, type) and method in cls.__dict__:
            found.append((cls, method))
    return found


METHODS = _present()


@pytest.fixture
def originals() -> Iterator[dict[tuple[type, str], Any]]:
    before = {(cls, name): cls.__dict__[name] for cls, name in METHODS}
    yield before
    lanterna.openai.autolog(disable=True)
    assert {(cls, name): cls.__dict__[name] for cls, name in METHODS} == before


def traced_calls(client: openai.OpenAI) -> int:
    """Make one chat call; returns how many spans its trace has (0 when none was recorded)."""
    before = lanterna.get_last_active_trace_id()
    client.chat.completions.create(model="m", messages=MESSAGES)
    after = lanterna.get_last_active_trace_id()
    if after is None or after == before:
        return 0
    trace = lanterna.get_trace(after)
    assert trace is not None
    return len(trace.data.spans)


def test_patches_the_public_methods_and_undo_restores_them(
    originals: dict[tuple[type, str], Any], client: openai.OpenAI
) -> None:
    handle = lanterna.openai.autolog()
    assert repr(handle) == "<lanterna.openai autolog on>"
    assert len(patched_methods()) == len(METHODS)
    for cls, name in METHODS:
        patched = cls.__dict__[name]
        original = originals[(cls, name)]
        assert patched is not original
        assert patched.__name__ == original.__name__
        assert patched.__doc__ == original.__doc__
        assert inspect.signature(patched) == inspect.signature(original)
    assert traced_calls(client) == 1
    handle.undo()
    assert patched_methods() == []
    assert {(cls, name): cls.__dict__[name] for cls, name in METHODS} == originals
    assert traced_calls(client) == 0
    assert repr(handle) == "<lanterna.openai autolog off>"


def test_a_second_call_patches_nothing_more(
    originals: dict[tuple[type, str], Any], client: openai.OpenAI
) -> None:
    lanterna.openai.autolog()
    first = {(cls, name): cls.__dict__[name] for cls, name in METHODS}
    lanterna.openai.autolog(exclusive=False, disable_for_unsupported_versions=True)
    assert {(cls, name): cls.__dict__[name] for cls, name in METHODS} == first
    assert traced_calls(client) == 1
    lanterna.openai.autolog(disable=True)
    lanterna.openai.autolog(disable=True)  # undoing twice is harmless


def test_log_traces_false_records_nothing(
    originals: dict[tuple[type, str], Any], client: openai.OpenAI
) -> None:
    lanterna.openai.autolog(log_traces=False)
    assert traced_calls(client) == 0
    lanterna.openai.autolog()
    assert traced_calls(client) == 1


def test_clients_made_before_autolog_are_traced(
    originals: dict[tuple[type, str], Any], openai_server: FakeOpenAIServer
) -> None:
    with openai.OpenAI(base_url=openai_server.base_url, api_key="t", max_retries=0) as early:
        with lanterna.openai.autolog():
            assert traced_calls(early) == 1
        assert traced_calls(early) == 0


def test_disabled_tracing_leaves_calls_and_streams_untouched(
    originals: dict[tuple[type, str], Any], client: openai.OpenAI
) -> None:
    lanterna.openai.autolog()
    lanterna.tracing.disable()
    try:
        assert traced_calls(client) == 0
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        assert type(stream) is openai.Stream
        stream.close()
    finally:
        lanterna.tracing.enable()
    assert traced_calls(client) == 1


def test_nested_patched_calls_make_one_span(
    originals: dict[tuple[type, str], Any],
    client: openai.OpenAI,
    last_trace: Callable[[], Trace],
) -> None:
    """A patched method that calls another patched one (older openai's beta ``parse`` calls
    ``create``) is one call for the user, so one span."""

    def outer(self: chat.Completions, **kwargs: Any) -> Any:
        return self.create(**kwargs)

    from lanterna.integrations.openai.extract import CHAT
    from lanterna.integrations.openai.wrappers import sync_wrapper

    wrapped = sync_wrapper(outer, "Completions", CHAT)
    chat.Completions.nested_for_test = wrapped  # type: ignore[attr-defined]
    try:
        lanterna.openai.autolog()
        client.chat.completions.nested_for_test(model="m", messages=MESSAGES)  # type: ignore[attr-defined]
    finally:
        del chat.Completions.nested_for_test  # type: ignore[attr-defined]
    (span,) = last_trace().data.spans
    assert span.outputs["choices"][0]["message"]["content"] == "Fake reply to: hi"


def test_a_library_patching_on_top_keeps_its_patch(
    originals: dict[tuple[type, str], Any], client: openai.OpenAI
) -> None:
    lanterna.openai.autolog()
    ours = chat.Completions.__dict__["create"]

    def theirs(self: Any, *args: Any, **kwargs: Any) -> Any:
        return ours(self, *args, **kwargs)

    chat.Completions.create = theirs  # type: ignore[method-assign]
    try:
        lanterna.openai.autolog(disable=True)
        assert chat.Completions.__dict__["create"] is theirs
        assert traced_calls(client) == 0  # our layer, still in their chain, records nothing
    finally:
        chat.Completions.create = originals[(chat.Completions, "create")]  # type: ignore[method-assign]


def test_without_openai_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)  # makes ``import openai`` fail
    with pytest.raises(ImportError, match=r"pip install 'lanterna\[openai\]'"):
        lanterna.openai.autolog()
    lanterna.openai.autolog(disable=True)  # nothing to undo, no error


def run_python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_lanterna_openai_does_not_import_openai_until_autolog() -> None:
    out = run_python(
        """
        import sys
        import lanterna
        lanterna.openai
        import lanterna.integrations.openai
        print("openai" in sys.modules)
        """
    )
    assert out.strip() == "False"


def test_openai_imported_after_autolog(openai_server: FakeOpenAIServer) -> None:
    out = run_python(
        """
        import os, sys
        import lanterna
        lanterna.openai.autolog()
        import openai
        with openai.OpenAI(
            base_url=os.environ["FAKE_URL"], api_key="t", max_retries=0
        ) as client:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        trace = lanterna.get_trace(lanterna.get_last_active_trace_id())
        print([s.name for s in trace.data.spans])
        """,
        FAKE_URL=openai_server.base_url,
        LANTERNA_TRACKING_URI="memory://",
    )
    assert out.strip() == "['Completions']"
