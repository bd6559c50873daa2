"""Nothing lost: a normal exit without flush, a SIGKILL mid-trace, and fork (issue 4,
acceptance 2, 3 and 5), on SQLite and PostgreSQL, each in real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from lanterna.testing.databases import database

SRC = Path(lanterna.__file__).resolve().parent.parent


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTERNA_")}
    env.update(PYTHONPATH=str(SRC), LANTERNA_TRACKING_URI=url)
    return env


def run(
    code: str, cwd: Path, url: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env_for(url),
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(params=[
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as found:
        yield found


COUNT = """
import json, lanterna
traces = lanterna.search_traces(return_type="list", include_spans=False)
children = lanterna.search_traces(filter_string="span.name IN ('child', 'achild')",
                                  return_type="list", include_spans=False)
print(json.dumps({"traces": len(traces), "ids": len({t.info.trace_id for t in traces}),
                  "ok": sum(t.info.state.value == "OK" for t in traces),
                  "with_child": len(children)}))
"""

MANY = """
import asyncio, threading
import lanterna

@lanterna.trace
def child(i):
    return i * 2

@lanterna.trace(name="threaded")
def threaded(i):
    return child(i)

@lanterna.trace
async def achild(i):
    return i * 2

@lanterna.trace(name="task")
async def task(i):
    return await achild(i)

def worker(start):
    for i in range(start, start + 1250):
        threaded(i)

async def tasks():
    async def fifty(base):
        for i in range(base, base + 50):
            await task(i)
            if i % 10 == 0:
                await asyncio.sleep(0)
    await asyncio.gather(*(fifty(k * 50) for k in range(200)))

def main():
    threads = [threading.Thread(target=worker, args=(k * 1250,)) for k in range(8)]
    for t in threads:
        t.start()
    asyncio.run(tasks())
    for t in threads:
        t.join()
    # returns without flush: exporting the rest is lanterna's job at exit

main()
"""


def test_twenty_thousand_traces_from_threads_and_tasks_survive_a_normal_exit(
    url: str, tmp_path: Path
) -> None:
    made = run(MANY, tmp_path, url)
    assert made.returncode == 0, made.stderr
    counted = run(COUNT, tmp_path, url)
    assert counted.returncode == 0, counted.stderr
    numbers = json.loads(counted.stdout)
    assert numbers["traces"] == 20_000 and numbers["ids"] == 20_000
    assert numbers["ok"] == 20_000 and numbers["with_child"] == 20_000


def test_sigkill_mid_trace_leaves_finished_spans_and_an_in_progress_trace(
    url: str, tmp_path: Path
) -> None:
    code = (
        "import sys, time, lanterna\n"
        "with lanterna.start_span('long-job') as root:\n"
        "    for i in range(5):\n"
        "        with lanterna.start_span(f'step-{i}') as step:\n"
        "            step.set_outputs({'done': i})\n"
        "    print(root.trace_id, flush=True)\n"
        "    time.sleep(120)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env_for(url),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        trace_id = child.stdout.readline().strip()
        assert trace_id.startswith("tr-"), child.stderr.read() if child.stderr else ""
        lanterna.set_tracking_uri(url)
        deadline = time.monotonic() + 30
        trace = None
        while time.monotonic() < deadline:  # the export thread writes spans as they end
            trace = lanterna.get_trace(trace_id, silent=True)
            if trace is not None and len(trace.data.spans) == 5:
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout:
            child.stdout.close()
        if child.stderr:
            child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    try:
        trace = lanterna.get_trace(trace_id)
        assert trace is not None
        assert trace.info.state.value == "IN_PROGRESS"
        assert trace.info.name == "long-job"
        assert sorted(s.name for s in trace.data.spans) == [f"step-{i}" for i in range(5)]
        assert [s.outputs for s in trace.data.spans] == [{"done": i} for i in range(5)]
        found = lanterna.search_traces(filter_string="trace.status = 'IN_PROGRESS'",
                                       return_type="list", experiment_ids=["0"])
        assert [t.info.trace_id for t in found] == [trace_id]
    finally:
        lanterna.set_tracking_uri(None)


FORK = """
import json, multiprocessing, os, sys
import lanterna

@lanterna.trace
def step(x):
    return x

@lanterna.trace(name="parent-work")
def parent_work():
    return step(1)

@lanterna.trace(name="child-work")
def child_work():
    return step(2) + step(3)

@lanterna.trace(name="mp-work")
def mp_work():
    return step(4)

parent_work()  # still queued at fork time: the children must not export it again
pid = os.fork()
if pid == 0:
    child_work()
    lanterna.flush_trace_async_logging()
    print(json.dumps({"who": "child", **lanterna.tracing.export_stats()}), flush=True)
    sys.exit(0)
os.waitpid(pid, 0)
process = multiprocessing.get_context("fork").Process(target=mp_work)
process.start()
process.join()
lanterna.flush_trace_async_logging()
print(json.dumps({"who": "parent", **lanterna.tracing.export_stats()}), flush=True)
"""


def test_forked_children_export_their_own_traces_and_never_the_parents(
    url: str, tmp_path: Path
) -> None:
    result = run(FORK, tmp_path, url)
    assert result.returncode == 0, result.stderr
    stats = {d["who"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert stats["child"]["spans_exported"] == 3  # child-work and its two steps, nothing else
    assert stats["parent"]["spans_exported"] == 2
    counted = run(
        "import json, lanterna\n"
        "ts = lanterna.search_traces(return_type='list')\n"
        "print(json.dumps(sorted([t.info.name, len(t.data.spans)] for t in ts)))\n",
        tmp_path, url,
    )
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout) == [["child-work", 3], ["mp-work", 2], ["parent-work", 2]]
