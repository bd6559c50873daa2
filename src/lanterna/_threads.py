"""lanterna's background threads leave process signals to the main thread.

A signal sent to the process (SIGTERM from ``Pool.terminate``, a service manager, ``kill``) is
delivered by the kernel to any one thread that does not block it. Python runs its handler on the
main thread only; when the kernel picked a background thread, it just sets a flag, and a main
thread blocked in a C-level wait that nothing else interrupts (a ``multiprocessing`` queue's
lock, say) never looks at it. Seen: a ``Pool`` worker kept alive after ``terminate`` this way,
so ``Pool.__exit__`` waited for it forever. With lanterna's threads blocking these signals, the
kernel hands them to the main thread (or to one of the program's own threads), as it would
without lanterna. Synchronous signals (SIGSEGV, SIGPIPE, …) are left alone.

A thread that blocked them as its first step still had a window, from its creation to that
step, in which the kernel could pick it (on a loaded machine a new thread may wait
milliseconds before its first step), and a ``Pool`` worker could then hang as above. A new
thread inherits its creator's
signal mask, so ``start_thread`` blocks them in the creator for the moment of the start:
blocked from the new thread's first instruction, and in the creator a signal arriving then
waits, pending, until the mask is restored a few microseconds later.

Forking has a window of the same kind. A child starts with its parent's signal handlers, and
CPython, right after ``fork``, forgets every signal its C handler has noted but Python has not
yet handled. With lanterna's SIGTERM handler inherited, a SIGTERM sent to a child that young
(``Pool.terminate`` reaching a worker still starting, on a loaded machine) would be noted,
forgotten, and the worker would wait for tasks for ever; without a Python handler the kernel
would have ended it. So the process signals are blocked around ``fork``
(``hold_signals_for_fork`` / ``release_signals_after_fork``): one sent to the child in that
window waits, pending, until the child's after-fork hooks are done, and is then handled.

One window is CPython's own and stays open: a signal its C handler notes just before the main
thread blocks in a C wait that checks for signals only when interrupted (a ``multiprocessing``
lock) is acted on only when that wait ends. Under two busy processes, ``with Pool() as p:``
still hung on such a worker in about one run in 20 to 150, before and after the two fixes
above.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_PROCESS_SIGNALS = tuple(
    getattr(signal, name) for name in (
        "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGCHLD",
    ) if hasattr(signal, name)
)


def leave_signals_to_main_thread() -> None:
    """Blocks the process-directed signals in the calling thread (call it first thing in a
    background thread; a no-op where threads have no signal masks)."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_BLOCK, _PROCESS_SIGNALS)


_fork_masks = threading.local()  # per forking thread: the mask to restore after ``fork``


def hold_signals_for_fork() -> None:
    """Before ``fork``: blocks the process signals in the forking thread (the child inherits
    its mask)."""
    try:
        _fork_masks.previous = signal.pthread_sigmask(signal.SIG_BLOCK, _PROCESS_SIGNALS)
    except (AttributeError, OSError, ValueError):
        _fork_masks.previous = None


def release_signals_after_fork() -> None:
    """After ``fork``, in the parent and in the child: the mask as it was; a signal that
    arrived meanwhile is delivered now."""
    previous = getattr(_fork_masks, "previous", None)
    _fork_masks.previous = None
    if previous is not None:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_thread(thread: threading.Thread) -> None:
    """Starts ``thread`` with the process-directed signals blocked from its first instruction
    (it inherits the mask the calling thread has for the moment of the start)."""
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _PROCESS_SIGNALS)
    except (AttributeError, OSError, ValueError):  # no signal masks here
        thread.start()
        return
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
