"""``lanterna server`` as a real subprocess on a free loopback port, for tests and benchmarks.

::

    with running_server("sqlite:////tmp/t.db", token="s3cret") as server:
        urllib.request.urlopen(server.url + "/health")

The server's output goes to a log file (``server.log_path``) shown when it fails to start.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["RunningServer", "free_port", "running_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningServer:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def running_server(
    store_uri: str,
    *,
    token: str | None = None,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    port: int | None = None,
    startup_timeout: float = 60.0,
) -> Iterator[RunningServer]:
    """Starts ``python -m lanterna server`` on ``store_uri`` and waits until ``/health`` answers;
    stops it afterwards."""
    port = port or free_port()
    command = [sys.executable, "-m", "lanterna", "server", "--host", "127.0.0.1",
               "--port", str(port), "--backend-store-uri", store_uri, "--log-level", "warning",
               *args]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("LANTERNA_SERVER_TOKEN", None)
    if token:
        command += ["--token", token]
    descriptor, name = tempfile.mkstemp(prefix="lanterna-server-", suffix=".log")
    log_path = Path(name)
    with open(descriptor, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    server = RunningServer(process, port, log_path)
    try:
        _wait_healthy(server, startup_timeout)
        yield server
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            log_path.unlink()


def _wait_healthy(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"lanterna server exited with {server.process.returncode}:\n"
                               f"{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"lanterna server did not answer /health in {timeout} s:\n{server.log()}")
