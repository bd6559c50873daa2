"""``autolog()``: patching and unpatching the ``openai`` client's public resource methods.

The methods are replaced on the resource classes (not on client instances), so clients made
before or after ``autolog()`` are traced alike. Only public methods are touched, and only
where a class defines them itself; a method missing from the installed ``openai`` version is
skipped. ``openai`` is imported inside ``autolog()``, never when lanterna is imported.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
import warnings
from types import TracebackType
from typing import Any

from lanterna.integrations.openai.extract import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES, Kind
from lanterna.integrations.openai.recording import report, settings

logger = logging.getLogger("lanterna")

INSTALL_HINT = "pip install 'lanterna[openai]'"
TESTED_OPENAI = ">=1.40"

# (module, classes, methods, kind). Chat ``stream()`` helpers call ``create`` and are traced
# through it; ``beta.chat.completions`` holds ``parse`` in openai < 1.92 only.
_TARGETS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], Kind], ...] = (
    (
        "openai.resources.chat.completions",
        ("Completions", "AsyncCompletions"),
        ("create", "parse"),
        CHAT,
    ),
    (
        "openai.resources.beta.chat.completions",
        ("Completions", "AsyncCompletions"),
        ("parse",),
        CHAT,
    ),
    ("openai.resources.completions", ("Completions", "AsyncCompletions"), ("create",), COMPLETIONS),
    ("openai.resources.embeddings", ("Embeddings", "AsyncEmbeddings"), ("create",), EMBEDDINGS),
    ("openai.resources.responses", ("Responses", "AsyncResponses"), ("create", "parse"), RESPONSES),
)

_lock = threading.Lock()
_patched: dict[tuple[type, str], Any] = {}  # (class, method name) → the original function


class AutologHandle:
    """What ``autolog()`` returns: ``undo()`` (or leaving a ``with`` block) turns it off."""

    def undo(self) -> None:
        autolog(disable=True)

    @property
    def active(self) -> bool:
        return bool(_patched) and settings.log_traces

    def __enter__(self) -> AutologHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.undo()

    def __repr__(self) -> str:
        return f"<lanterna.openai autolog {'on' if self.active else 'off'}>"


def autolog(
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    log_traces: bool = True,
    disable_openai_agent_tracer: bool = True,
) -> AutologHandle:
    """Trace every OpenAI call: chat completions (``create``, ``parse``, streaming), legacy
    completions, embeddings and responses, sync and async.

    Each call becomes a span (named after the resource class, e.g. ``Completions``) under the
    current span. Calling it again changes the settings without patching twice;
    ``disable=True`` restores the original methods. ``log_traces=False`` keeps the patches but
    records nothing; ``silent=True`` keeps lanterna's own warnings out of the log. The other
    parameters exist for MLflow compatibility and change nothing.
    """
    handle = AutologHandle()
    if disable:
        with _lock:
            _unpatch()
        return handle
    try:
        import openai
    except ImportError as error:
        raise ImportError(
            "lanterna.openai.autolog() traces the 'openai' package, which is not installed; "
            f"install it with: {INSTALL_HINT}"
        ) from error
    settings.log_traces = log_traces
    settings.silent = silent
    with _lock:
        count = _patch()
    if count == 0 and not _patched and not silent:
        logger.warning(
            "lanterna.openai.autolog(): found nothing to trace in openai %s; lanterna supports "
            "openai%s (%s).",
            getattr(openai, "__version__", "?"),
            TESTED_OPENAI,
            INSTALL_HINT,
        )
    return handle


def _patch() -> int:
    """Patch every target not patched yet; returns how many methods were patched now."""
    from lanterna.integrations.openai.wrappers import ORIGINAL, async_wrapper, sync_wrapper

    count = 0
    for module_name, class_names, methods, kind in _TARGETS:
        module = _import(module_name)
        for class_name in class_names:
            cls = getattr(module, class_name, None)
            if not isinstance(cls, type):
                continue
            for method in methods:
                current = cls.__dict__.get(method)
                if not inspect.isfunction(current) or hasattr(current, ORIGINAL):
                    continue
                wrap = async_wrapper if class_name.startswith("Async") else sync_wrapper
                setattr(cls, method, wrap(current, class_name, kind))
                _patched[(cls, method)] = current
                count += 1
    return count


def _unpatch() -> None:
    from lanterna.integrations.openai.wrappers import ORIGINAL

    for (cls, method), original in list(_patched.items()):
        current = cls.__dict__.get(method)
        if getattr(current, ORIGINAL, None) is original:
            setattr(cls, method, original)
        else:
            # Someone patched on top of us; removing our layer would remove theirs too.
            # Our wrapper stays in their chain but records nothing from now on.
            settings.log_traces = False
            logger.debug(
                "lanterna.openai: %s.%s was re-patched by another library; left as is",
                cls.__qualname__,
                method,
            )
        del _patched[(cls, method)]


def _import(name: str) -> Any:
    """The module, or None when this openai version lacks it (or fails to import it)."""
    try:
        with warnings.catch_warnings():  # some openai versions deprecate modules on import
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except ImportError:
        return None
    except Exception as error:  # a broken install must not break the caller's autolog()
        report(error, f"importing {name}")
        return None


def patched_methods() -> list[str]:
    """``module.Class.method`` of every method currently patched (for tests and debugging)."""
    return sorted(f"{cls.__module__}.{cls.__qualname__}.{m}" for cls, m in _patched)
