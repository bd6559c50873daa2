"""What happens to traces when the process exits, is sent SIGTERM, or forks.

- **Exit** (normal end, ``sys.exit``, an uncaught exception, SIGINT's ``KeyboardInterrupt``):
  traces still open are ended as ERROR, then the queue is flushed, bounded as every flush is.
  Spans ending after that (daemon threads, late exit handlers) are counted as dropped.
- **SIGTERM** (``docker stop``, Kubernetes): the same flush, then the signal does what it would
  have done: the handler installed before lanterna's is called, or the process dies of SIGTERM.
  (lanterna installs its handler at import, on the main thread, unless SIGTERM is ignored.)
- **Fork**: the child starts with an empty queue; it owns none of the parent's open traces
  (whatever the child does with them, the parent's traces are stored as the parent records
  them) and flushes its own at exit, including multiprocessing children that leave through
  ``os._exit`` (``fork`` and ``forkserver`` start methods, ``Pool`` workers).
"""

from __future__ import annotations

import atexit
import os
import signal as _signal
import sys
import threading

from lanterna import _errors
from lanterna._threads import (
    hold_signals_for_fork,
    release_signals_after_fork,
    start_thread,
)
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import LiveSpan
from lanterna.export import pipeline as _pipeline
from lanterna.export import setup
from lanterna.tracing import reaper, runtime
from lanterna.tracing.context import current_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

#: A flush at exit or on SIGTERM waits at most this long for a store that makes no progress.
EXIT_GIVE_UP_SECONDS = _pipeline.GIVE_UP_SECONDS
#: ... and at most this long in all, even while the store keeps accepting batches.
EXIT_TIMEOUT_SECONDS = 120.0
#: On SIGTERM, within Kubernetes' default 30 s grace period before SIGKILL.
SIGTERM_TIMEOUT_SECONDS = 25.0

_exited = [False]
_foreign: set[int] = set()  # ids of the LiveTraces a forked child inherited from its parent
_previous_sigterm: list[Any] = [None]
_deferred_sigterm: list[tuple[int, Any]] = []


# -- the sink: where ended spans go ------------------------------------------------------------
def _first_put(span: LiveSpan) -> None:
    from lanterna.store import uri

    uri.resolve()  # a relative SQLite path is fixed now, before any os.chdir
    pipeline = setup.pipeline()
    runtime.sink = _put_in_forked_child if _foreign else pipeline.put
    runtime.sink(span)


def _put_in_forked_child(span: LiveSpan) -> None:
    """In a forked child, spans of the parent's traces are the parent's: never exported here."""
    if id(span._trace) not in _foreign:
        setup.pipeline().put(span)


# -- exit ---------------------------------------------------------------------------------------
def _at_exit() -> None:
    if _exited[0]:
        return
    _exited[0] = True
    if setup.current() is None:
        return  # no span was ever recorded
    pipeline = setup.pipeline()
    exiting = threading.current_thread()

    def at_exit(span: LiveSpan) -> None:
        # Traces left open, ended here, go first; spans of daemon threads still running are
        # counted as dropped: they cannot hold the exit up.
        if threading.current_thread() is exiting and id(span._trace) not in _foreign:
            pipeline.put_first(span)
        else:
            pipeline.put_after_exit(span)

    runtime.sink = at_exit
    reaper.end_all_open_traces()
    runtime.sink = pipeline.put_after_exit
    pipeline.shutdown(EXIT_TIMEOUT_SECONDS)


def _at_multiprocessing_exit(*_args: Any) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _at_exit, exitpriority=10)


class _AfterForkToken:
    """multiprocessing keeps after-fork hooks in a weak dictionary: this keeps ours alive."""


_TOKEN = _AfterForkToken()


def _watch_multiprocessing_exit() -> None:
    """multiprocessing's ``fork``/``forkserver`` children leave through ``os._exit`` (no
    atexit); their bootstrap runs the after-fork hooks, which register our exit flush with
    multiprocessing's own exit handlers."""
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        try:
            mp_util.register_after_fork(_TOKEN, _at_multiprocessing_exit)
        except Exception as exc:
            _errors.report(exc, "fork setup")


# -- SIGTERM ------------------------------------------------------------------------------------
def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    current = setup.current()
    if current is not None and current.main_thread_flushing:
        # The signal interrupted a flush on this thread (at exit, say, as ``Pool.__exit__``
        # terminates workers that are already leaving): that flush holds the lock another
        # would wait for. It goes on; the signal is acted on as soon as it ends.
        _deferred_sigterm[:] = [(signum, frame)]
        return
    previous = _previous_sigterm[0]
    chained = callable(previous)
    _flush_bounded(end_open=not chained)
    if chained:
        previous(signum, frame)
        return
    _signal.signal(signum, _signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _after_main_thread_flush() -> None:
    if _deferred_sigterm:
        signum, frame = _deferred_sigterm.pop()
        _on_sigterm(signum, frame)


def _flush_bounded(end_open: bool) -> None:
    """Flush on a helper thread, waiting at most the exit bound: the signal may have
    interrupted this (main) thread inside lanterna, holding a lock the flush needs."""
    if setup.current() is None:
        return

    def work() -> None:
        try:
            if end_open:
                reaper.end_all_open_traces("the process received SIGTERM before this span "
                                           "was ended")
            pipeline = setup.pipeline()
            if not pipeline.flush(SIGTERM_TIMEOUT_SECONDS):
                from lanterna import _log

                left = pipeline.counters()
                _log.warning("lanterna could not export %d spans before SIGTERM (the store made "
                             "no progress for %g s).", left["queued"] + left["in_flight"],
                             EXIT_GIVE_UP_SECONDS)
        except Exception as exc:
            _errors.report(exc, "flush on SIGTERM")

    helper = threading.Thread(target=work, name="lanterna-sigterm", daemon=True)
    try:
        start_thread(helper)  # a second SIGTERM goes to the main thread, too
    except RuntimeError:
        return
    helper.join(SIGTERM_TIMEOUT_SECONDS + 1.0)


def _install_sigterm_handler() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        previous = _signal.getsignal(_signal.SIGTERM)
        if previous is _signal.SIG_IGN or previous is _on_sigterm:
            return
        _previous_sigterm[0] = previous if callable(previous) else None
        _signal.signal(_signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError, AttributeError):  # not the main interpreter, or no SIGTERM
        return


# -- fork ---------------------------------------------------------------------------------------
#: Modules the export thread imports lazily (the store and its drivers).
_LAZY_IMPORTS = ("lanterna.", "sqlalchemy", "alembic", "psycopg", "mako")


def _forget_half_imported_modules() -> None:
    """A fork during the export thread's first import of the store leaves the child with
    half-initialised modules that no thread will finish: drop them, so the child imports them
    afresh."""
    for name, module in list(sys.modules.items()):
        if not name.startswith(_LAZY_IMPORTS):
            continue
        spec = getattr(module, "__spec__", None)
        if spec is not None and getattr(spec, "_initializing", False):
            del sys.modules[name]


def _after_fork_in_child() -> None:
    _exited[0] = False
    _forget_half_imported_modules()
    inherited = list(runtime.live_traces.values())
    _foreign.update(id(trace) for trace in inherited)
    _keep_alive.extend(inherited)  # ids stay unique while the objects live
    runtime.live_traces.clear()
    current_span.set(None)  # new spans in the child start traces of its own
    if runtime.sink is not _first_put:
        runtime.sink = _put_in_forked_child if _foreign else setup.pipeline().put
    setup.after_fork_in_child()
    _watch_multiprocessing_exit()


_keep_alive: list[LiveTrace] = []


def install() -> None:
    runtime.sink = _first_put
    atexit.register(_at_exit)
    # "before" hooks run in reverse order of registration, the others in order: signals are
    # blocked just before the fork and released once lanterna's own after-fork work is done.
    os.register_at_fork(before=hold_signals_for_fork)
    os.register_at_fork(before=setup.before_fork, after_in_parent=setup.after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
    os.register_at_fork(after_in_parent=release_signals_after_fork,
                        after_in_child=release_signals_after_fork)
    _watch_multiprocessing_exit()
    _install_sigterm_handler()
    if _after_main_thread_flush not in _pipeline.MAIN_THREAD_FLUSH_ENDED:
        _pipeline.MAIN_THREAD_FLUSH_ENDED.append(_after_main_thread_flush)
