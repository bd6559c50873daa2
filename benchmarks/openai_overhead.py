"""Latency that OpenAI auto-tracing adds to each chat completion: lanterna against MLflow.

The real ``openai`` client calls the fake OpenAI server (``lanterna.testing.openai_server``,
run in a subprocess so it does not share this interpreter's GIL). Each round measures, one after
the other, the same calls unpatched, under ``lanterna.openai.autolog()`` and under
``mlflow.openai.autolog()`` (when MLflow is importable), switching autolog on and off between
them; the figures are medians over rounds, so drift of the machine hits every case alike.

- "µs/call" is what the caller waits for, per call (traces are flushed after the timed loop);
- "added" is that minus the unpatched call;
- "CPU added" is this process's CPU time per call (all threads, so background export counts
  too, flush included) minus the unpatched one.

    bash benchmarks/run.sh openai_overhead.py [--calls 300] [--rounds 7] [--skip-mlflow]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MESSAGES = [
    {"role": "system", "content": "You are a friendly chat bot"},
    {"role": "user", "content": "What is your favorite color?"},
]


@contextmanager
def fake_server() -> Iterator[str]:
    """The fake OpenAI server in its own process; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lanterna.testing.openai_server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Fake OpenAI server at http://…/v1 (Ctrl-C stops it)"
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


def chat_call(client: Any) -> Callable[[], None]:
    def call() -> None:
        client.chat.completions.create(model="gpt-test", messages=MESSAGES, max_tokens=100)

    return call


def stream_call(client: Any) -> Callable[[], None]:
    def call() -> None:
        stream = client.chat.completions.create(
            model="gpt-test",
            messages=MESSAGES,
            max_tokens=100,
            stream=True,
            stream_options={"include_usage": True},
        )
        for _ in stream:
            pass

    return call


class Case:
    """One way of running the calls: how to switch it on and off, and how to flush it."""

    def __init__(
        self, label: str, on: Callable[[], None], off: Callable[[], None], flush: Callable[[], None]
    ) -> None:
        self.label = label
        self.on, self.off, self.flush = on, off, flush
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def measure(self, call: Callable[[], None], calls: int) -> None:
        self.on()
        try:
            for _ in range(max(calls // 10, 5)):  # warm up (connection pool, first traces)
                call()
            self.flush()
            cpu_start = time.process_time()
            start = time.perf_counter()
            for _ in range(calls):
                call()
            wall = time.perf_counter() - start
            self.flush()
            cpu = time.process_time() - cpu_start
        finally:
            self.off()
        self.wall.append(wall / calls * 1e6)
        self.cpu.append(cpu / calls * 1e6)


def cases(skip_mlflow: bool) -> list[Case]:
    import lanterna

    def nothing() -> None:
        return None

    def lanterna_on() -> None:
        lanterna.openai.autolog()

    def lanterna_off() -> None:
        lanterna.openai.autolog(disable=True)

    found = [
        Case("unpatched", nothing, nothing, nothing),
        Case("lanterna autolog", lanterna_on, lanterna_off, lanterna.flush_trace_async_logging),
    ]
    if skip_mlflow:
        return found
    try:
        import mlflow
        import mlflow.openai
    except ImportError as error:
        print(f"(MLflow not measured: {error}; pip install -r benchmarks/requirements.txt)")
        return found
    mlflow.set_tracking_uri(f"sqlite:///{os.getcwd()}/mlflow.db")

    def mlflow_on() -> None:
        mlflow.openai.autolog()

    def mlflow_off() -> None:
        mlflow.openai.autolog(disable=True)

    found.append(
        Case(
            f"MLflow {mlflow.__version__} autolog",
            mlflow_on,
            mlflow_off,
            mlflow.flush_trace_async_logging,
        )
    )
    return found


def report(title: str, measured: list[Case], calls: int, rounds: int) -> None:
    base_wall = statistics.median(measured[0].wall)
    base_cpu = statistics.median(measured[0].cpu)
    print(f"\n{title} — median of {rounds} rounds × {calls} calls, µs per call")
    print(f"{'':28} {'µs/call':>9} {'added':>9} {'CPU added':>10}")
    added: dict[str, float] = {}
    for case in measured:
        wall = statistics.median(case.wall)
        cpu = statistics.median(case.cpu)
        if case is measured[0]:
            print(f"{case.label:28} {wall:9.1f} {'':>9} {'':>10}")
            continue
        added[case.label] = wall - base_wall
        print(f"{case.label:28} {wall:9.1f} {wall - base_wall:9.1f} {cpu - base_cpu:10.1f}")
    ours = added.get("lanterna autolog")
    theirs = [v for k, v in added.items() if k.startswith("MLflow")]
    if ours is not None and theirs:
        if ours > 0:
            print(
                f"lanterna adds {ours / theirs[0]:.3f}× MLflow's added latency "
                f"(1/{theirs[0] / ours:.0f})"
            )
        else:
            print("lanterna's added latency is below the measurement noise")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="lanterna-openai-bench-")
    os.chdir(workdir)  # both write their default SQLite store here

    import openai

    with (
        fake_server() as base_url,
        openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0) as client,
    ):
        measured = {"chat completion": cases(args.skip_mlflow)}
        measured["streamed chat completion (include_usage)"] = cases(args.skip_mlflow)
        calls = {
            "chat completion": chat_call(client),
            "streamed chat completion (include_usage)": stream_call(client),
        }
        for _ in range(args.rounds):
            for title, case_list in measured.items():
                for case in case_list:
                    case.measure(calls[title], args.calls)
        print(
            f"openai {openai.__version__}, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs; fake server in a subprocess"
        )
        for title, case_list in measured.items():
            report(title, case_list, args.calls, args.rounds)


if __name__ == "__main__":
    main()
