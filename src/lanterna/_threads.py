"""lanterna's background threads leave process signals to the main thread.

A signal sent to the process (SIGTERM from ``Pool.terminate``, a service manager, ``kill``) is
delivered by the kernel to any one thread that does not block it. Python runs its handler on the
main thread only; when the kernel picked a background thread, it just sets a flag, and a main
thread blocked in a C-level wait that nothing else interrupts (a ``multiprocessing`` queue's
lock, say) never looks at it. Seen: a ``Pool`` worker kept alive after ``terminate`` this way,
so ``Pool.__exit__`` waited for it forever. With lanterna's threads blocking these signals, the
kernel hands them to the main thread (or to one of the program's own threads), as it would
without lanterna. Synchronous signals (SIGSEGV, SIGPIPE, …) are left alone.
"""

from __future__ import annotations

import contextlib
import signal

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
