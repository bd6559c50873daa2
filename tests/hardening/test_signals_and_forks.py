"""Signals, pools, forks and exit (issue 9): nothing that ended is lost, nothing of the
parent's is changed by a child, and exit never waits past the bound. Real processes."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from lanterna.export.pipeline import GIVE_UP_SECONDS

from .conftest import read_back, run, slow_store, start

#: How late a waiting thread may be scheduled on a loaded 2-core machine.
LATE = 2.0

RECORD_THEN_WAIT = """
import signal, sys, time, lanterna
{before}
for i in range(30):
    with lanterna.start_span(name="ended") as span:
        span.set_inputs(i)
open_root = lanterna.start_span_no_context("still-open")
print("ready", flush=True)
time.sleep(120)
"""


def test_sigterm_flushes_then_dies_of_sigterm(tmp_path: Path, url: str) -> None:
    child = start(RECORD_THEN_WAIT.format(before=""), tmp_path, url)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGTERM  # the default action, re-raised
    traces = read_back(tmp_path, url)
    assert sum(t["spans"] == ["ended"] and t["state"] == "OK" for t in traces) == 30
    still_open = [t for t in traces if t["spans"] == ["still-open"]]
    assert [t["state"] for t in still_open] == ["ERROR"]


def test_sigterm_chains_to_the_users_handler(tmp_path: Path, url: str) -> None:
    before = """
def handler(signum, frame):
    print("user handler ran", flush=True)
    sys.exit(7)
signal.signal(signal.SIGTERM, handler)
"""
    # The user's handler installed before lanterna's first span and after its import.
    child = start(RECORD_THEN_WAIT.format(before=before), tmp_path, url)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=30)
    assert child.returncode == 7
    assert "user handler ran" in out
    traces = read_back(tmp_path, url)
    assert sum(t["spans"] == ["ended"] for t in traces) == 30
    assert [t["state"] for t in traces if t["spans"] == ["still-open"]] == ["ERROR"]


def test_a_handler_installed_before_import_is_chained(tmp_path: Path, sqlite_url: str) -> None:
    code = """
import signal, sys, time
def handler(signum, frame):
    print("first handler", flush=True)
    sys.exit(5)
signal.signal(signal.SIGTERM, handler)
import lanterna
with lanterna.start_span(name="ended"):
    pass
print("ready", flush=True)
time.sleep(120)
"""
    child = start(code, tmp_path, sqlite_url)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=30)
    assert child.returncode == 5
    assert [t["spans"] for t in read_back(tmp_path, sqlite_url)] == [["ended"]]


SIGTERM_DURING_A_FLUSH = slow_store(0.3) + """
import os, signal, sys, threading, time, lanterna
for i in range(30):
    with lanterna.start_span(name="ended") as span:
        span.set_inputs(i)

def terminate():
    time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGTERM)

threading.Thread(target=terminate, daemon=True).start()
if sys.argv[1] == "explicit":
    lanterna.flush_trace_async_logging()  # the signal arrives while this waits
    time.sleep(60)
# else: the signal arrives during the exit flush
"""


@pytest.mark.parametrize("during", ["explicit", "exit"])
def test_sigterm_during_a_flush_lets_it_finish_then_dies_of_sigterm(
    tmp_path: Path, url: str, during: str
) -> None:
    """The handler interrupts the flush on the main thread, which may hold the pipeline's
    lock: it must neither wait for that lock (a hang until the bound, then the batch lost, as
    ``Pool.__exit__`` terminating exiting workers did) nor cut the flush short."""
    began = time.monotonic()
    done = run(f"import sys; sys.argv = ['x', {during!r}]\n" + SIGTERM_DURING_A_FLUSH,
               tmp_path, url, timeout=60)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert time.monotonic() - began < 15
    traces = read_back(tmp_path, url)
    assert sum(t["spans"] == ["ended"] and t["state"] == "OK" for t in traces) == 30


POOL = """
import multiprocessing, lanterna

@lanterna.trace
def work(i):
    return i * 2

if __name__ == "__main__":
    context = multiprocessing.get_context("{method}")
    with context.Pool(2) as pool:  # __exit__ terminates the workers (SIGTERM)
        print(sum(pool.map(work, range(40))))
"""


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_pool_workers_keep_their_traces(tmp_path: Path, url: str, method: str) -> None:
    script = tmp_path / "pool_main.py"
    script.write_text(POOL.format(method=method))
    done = run(f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')",
               tmp_path, url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1560"
    traces = read_back(tmp_path, url)
    assert len(traces) == 40
    assert {t["state"] for t in traces} == {"OK"}


FORK_BEFORE_ANY_SPAN = """
import multiprocessing, sys, lanterna

def child():
    for i in range(5):
        with lanterna.start_span(name="child-span"):
            pass

if __name__ == "__main__":
    # The parent records nothing before forking, as pre-fork servers do.
    context = multiprocessing.get_context(sys.argv[1])
    process = context.Process(target=child)
    process.start()
    process.join()
    print(process.exitcode)
"""


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_a_child_keeps_its_traces_when_the_parent_recorded_nothing(
    tmp_path: Path, url: str, method: str
) -> None:
    script = tmp_path / "prefork.py"
    script.write_text(FORK_BEFORE_ANY_SPAN)
    done = run(f"import runpy, sys; sys.argv = ['x', {method!r}]; "
               f"runpy.run_path({str(script)!r}, run_name='__main__')", tmp_path, url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
    assert [t["spans"] for t in read_back(tmp_path, url)] == [["child-span"]] * 5


FORK_INSIDE_OPEN_SPANS = """
import os, sys, lanterna

with lanterna.start_span(name="parent-root") as root:
    with lanterna.start_span(name="parent-child"):
        pid = os.fork()
        if pid == 0:  # the child leaves through the parent's open blocks
            with lanterna.start_span(name="child-own"):
                pass
            {child_exit}
        else:
            os.waitpid(pid, 0)
    root.set_outputs("the parent's")
print("parent done", flush=True)
"""


@pytest.mark.parametrize("child_exit", ["sys.exit(3)", "raise RuntimeError('boom')", "pass"])
def test_a_forked_child_owns_none_of_the_parents_live_traces(
    tmp_path: Path, url: str, child_exit: str
) -> None:
    done = run(FORK_INSIDE_OPEN_SPANS.format(child_exit=child_exit), tmp_path, url)
    assert done.stdout.count("parent done") == (2 if child_exit == "pass" else 1)
    traces = read_back(tmp_path, url)
    parents = [t for t in traces if "parent-root" in t["spans"]]
    assert parents == [{
        "id": parents[0]["id"], "state": "OK", "spans": ["parent-child", "parent-root"],
        "statuses": ["OK", "OK"],
    }]
    children = [t for t in traces if t["spans"] == ["child-own"]]
    assert len(children) == 1 and children[0]["state"] == "OK"


def test_children_exit_promptly_while_the_parent_writes_continuously(
    tmp_path: Path, sqlite_url: str
) -> None:
    code = """
import os, threading, time, lanterna

stop = threading.Event()
def write():  # a batch to write every few milliseconds, each in its own transaction
    while not stop.is_set():
        for _ in range(20):
            with lanterna.start_span(name="parent-busy"):
                pass
        lanterna.flush_trace_async_logging()
writer = threading.Thread(target=write)
writer.start()
time.sleep(1.0)
durations = []
for _ in range(5):
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        with lanterna.start_span(name="from-child"):
            pass
        raise SystemExit(0)
    os.waitpid(pid, 0)
    durations.append(time.monotonic() - started)
stop.set()
writer.join()
print(max(durations), flush=True)
"""
    done = run(code, tmp_path, sqlite_url, timeout=120)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().splitlines()[-1]) < GIVE_UP_SECONDS + LATE + 3.0
    traces = read_back(tmp_path, sqlite_url)
    assert sum(t["spans"] == ["from-child"] for t in traces) == 5


def test_a_daemon_thread_cannot_hold_exit_past_the_bound(tmp_path: Path, url: str) -> None:
    code = """
import threading, time, lanterna

def forever():
    with lanterna.start_span(name="daemon-root"):
        while True:
            with lanterna.start_span(name="tick"):
                time.sleep(0.0005)

threading.Thread(target=forever, daemon=True).start()
time.sleep(0.3)
print(time.monotonic(), flush=True)
"""
    started = time.monotonic()
    done = run(code, tmp_path, url)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr
    assert took < GIVE_UP_SECONDS + 10.0  # interpreter start and the write of what ended
    roots = [t for t in read_back(tmp_path, url) if "daemon-root" in t["spans"]]
    assert [t["state"] for t in roots] == ["ERROR"]


def test_spans_during_interpreter_shutdown_are_handled_quietly(
    tmp_path: Path, sqlite_url: str
) -> None:
    code = """
import atexit, lanterna

def late():
    with lanterna.start_span(name="late"):
        pass

atexit.register(late)  # registered after lanterna's import: runs before its exit flush

class Finalised:
    def __del__(self):
        with lanterna.start_span(name="in-del"):
            pass

keep = Finalised()
with lanterna.start_span(name="main"):
    pass
"""
    done = run(code, tmp_path, sqlite_url, LANTERNA_RAISE_INTERNAL_ERRORS="false")
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    names = [t["spans"] for t in read_back(tmp_path, sqlite_url)]
    assert ["main"] in names and ["late"] in names


THREAD_MASKS = """
import signal, threading, lanterna
for i in range(500):  # a batch of several pieces: the SQLite encoder's helper thread starts
    with lanterna.start_span("root"):
        for j in range(9):
            with lanterna.start_span("step"):
                pass
lanterna.flush_trace_async_logging()

def blocked(thread):
    with open(f"/proc/self/task/{thread.native_id}/status") as status:
        mask = next(line for line in status if line.startswith("SigBlk:")).split()[1]
    return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)

found = {t.name.split("_")[0]: blocked(t) for t in threading.enumerate()}
print(sorted(found.items()))
"""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux thread masks")
def test_lanternas_threads_leave_sigterm_to_the_main_thread(
    tmp_path: Path, sqlite_url: str
) -> None:
    """A SIGTERM the kernel hands to one of lanterna's threads would only set Python's flag; a
    main thread blocked in a C wait (a Pool worker waiting for its task queue's lock) would
    never run the handler, and ``Pool.__exit__`` would wait for that worker forever."""
    done = run(THREAD_MASKS, tmp_path, sqlite_url, LANTERNA_TRACE_TIMEOUT_SECONDS="60")
    assert done.returncode == 0, done.stderr
    found = dict(eval(done.stdout))  # noqa: S307 - our own printed list
    assert found.pop("MainThread") is False
    assert found == {"lanterna-encode": True, "lanterna-export": True, "lanterna-timeout": True}


FORK_MASKS = """
import os, signal

def sigterm_blocked():
    return signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])

seen = {}
# Registered before lanterna: runs first in the child, right after CPython's own after-fork work.
os.register_at_fork(after_in_child=lambda: seen.setdefault("child, first hook", sigterm_blocked()))
import lanterna
with lanterna.start_span("before-fork"):
    pass
pid = os.fork()
if pid == 0:
    seen["child, after fork"] = sigterm_blocked()
    print(sorted(seen.items()), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print([("parent, after fork", sigterm_blocked())], flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="needs signal masks")
def test_a_sigterm_sent_to_a_child_as_it_forks_waits_for_its_handler(
    tmp_path: Path, sqlite_url: str
) -> None:
    """CPython forgets, right after ``fork``, the signals its C handler noted in the child but
    Python did not handle yet: with lanterna's SIGTERM handler inherited, a SIGTERM sent to a
    Pool worker that young would be lost and the worker would wait for tasks for ever. Blocked
    across the fork, such a signal waits, pending, until the child's after-fork hooks are
    done."""
    done = run(FORK_MASKS, tmp_path, sqlite_url)
    assert done.returncode == 0, done.stderr
    child, parent = (dict(eval(line)) for line in done.stdout.splitlines())  # noqa: S307
    assert child == {"child, first hook": True, "child, after fork": False}
    assert parent == {"parent, after fork": False}
