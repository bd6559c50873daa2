"""The web UI on big traces, in headless Chromium through Playwright.

For traces of 1,000, 10,000 and 100,000 spans (written straight through the store into a fresh
SQLite file, served by a real ``lanterna server``):

* navigation → first rows of the tree and the timeline drawn (the page's ``lanterna:drawn``
  mark), split into the skeleton's download (server + network) and the page's own work (JSON
  parse, O(n) tree build, first virtual-list and canvas paint);
* the longest main-thread task while loading, and while scrolling the span list from top to
  bottom in 40 steps (Long Tasks API; tasks under 50 ms are not reported: "<50");
* bytes transferred (HTML, scripts, API responses).

Then the trace list's first page (navigation → first rows) over ``--list-traces`` stored traces.
MLflow's own UI needs the full ``mlflow`` package (not ``mlflow-skinny``); when it is missing the
comparison is skipped and said so.

    bash benchmarks/run.sh ui.py [--sizes 1000,10000,100000] [--list-traces 100000]

Targets (2-core machine): 100,000 spans drawn within 1.5 s; no main-thread task over 200 ms while
scrolling; the trace list's first page within 300 ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("LANTERNA_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
"""


def write_many(count: int) -> None:
    import lanterna

    for i in range(count):
        with lanterna.start_span(f"request-{i % 100}") as span:
            span.set_inputs({"question": f"question {i}"})
            span.set_outputs(f"answer {i}")
        if i % 5000 == 4999:
            lanterna.flush_trace_async_logging()
    lanterna.flush_trace_async_logging()


def start_server(uri: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "lanterna", "server", "--backend-store-uri", uri,
         "--port", str(port), "--log-level", "warning"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/health", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start: {log.read_text()}")


def measure_trace(browser: Any, url: str, trace_id: str) -> dict[str, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.add_init_script(LONG_TASKS)
    page.goto(f"{url}/#/trace/{trace_id}")
    page.wait_for_selector(".trace-view[data-ready='1']", timeout=120_000)
    timing = page.evaluate("""() => {
        const mark = (n) => performance.getEntriesByName(n)[0].startTime;
        const bytes = performance.getEntriesByType('resource').concat(
            performance.getEntriesByType('navigation')).reduce((s, e) => s + e.transferSize, 0);
        return {drawn: mark('lanterna:drawn'), skeleton: mark('lanterna:skeleton'), bytes,
                loadLongest: Math.max(0, ...window.__longTasks)}; }""")
    page.evaluate("window.__longTasks = []")
    page.evaluate("""async () => {
        const v = document.querySelector('.viewport');
        const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
        for (let i = 1; i <= 40; i++) {
            v.scrollTop = (v.scrollHeight - v.clientHeight) * i / 40;
            await frame(); await frame();
        } }""")
    page.wait_for_timeout(300)
    timing["scrollLongest"] = page.evaluate("Math.max(0, ...window.__longTasks)")
    page.close()
    return timing


def measure_list(browser: Any, url: str) -> float:
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/#/traces")
    page.wait_for_function("() => performance.getEntriesByName('lanterna:list').length",
                           timeout=60_000)
    first = page.evaluate("performance.getEntriesByName('lanterna:list')[0].startTime")
    page.close()
    return float(first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--list-traces", type=int, default=100_000)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    import lanterna
    from lanterna.testing.bigtrace import write_big_trace

    sizes = [int(s) for s in args.sizes.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        uri = f"sqlite:///{Path(tmp) / 'ui.db'}"
        lanterna.set_tracking_uri(uri)
        ids = {}
        for n in sizes:
            started = time.perf_counter()
            ids[n] = write_big_trace(uri, n, name=f"trace-{n}")
            print(f"wrote a trace of {n:,} spans in {time.perf_counter() - started:.1f} s",
                  flush=True)
        process, url = start_server(uri, Path(tmp) / "server.log")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            print("\nspans     drawn   skeleton  page work  longest task (load / scroll)  bytes")
            for n in sizes:
                measure_trace(browser, url, ids[n])  # warm caches (server, browser)
                t = measure_trace(browser, url, ids[n])
                work = t["drawn"] - t["skeleton"]
                scroll = t["scrollLongest"]
                print(f"{n:>7,}  {t['drawn']:6.0f} ms  {t['skeleton']:6.0f} ms  {work:6.0f} ms"
                      f"   {t['loadLongest']:6.0f} ms / "
                      f"{'<50' if not scroll else f'{scroll:.0f}'} ms"
                      f"{'':12}{t['bytes'] / 1e6:6.2f} MB", flush=True)
            if args.list_traces:
                started = time.perf_counter()
                write_many(args.list_traces)
                print(f"\nwrote {args.list_traces:,} more traces in "
                      f"{time.perf_counter() - started:.0f} s")
                measure_list(browser, url)
                first = min(measure_list(browser, url) for _ in range(3))
                print(f"trace list, first page over {args.list_traces + len(sizes):,} traces: "
                      f"{first:.0f} ms from navigation to rows (best of 3)")
        finally:
            browser.close()
            process.terminate()
            process.wait()
            lanterna.set_tracking_uri(None)
    if not _mlflow_ui_installed():
        print("\nMLflow's UI: skipped (needs the full 'mlflow' package with its built web UI; "
              "mlflow-skinny has none)")
    else:
        print("\nMLflow's UI: installed, but this script does not drive it yet")


def _mlflow_ui_installed() -> bool:
    spec = importlib.util.find_spec("mlflow")
    if spec is None or not spec.submodule_search_locations:
        return False
    return any((Path(p) / "server" / "js" / "build" / "index.html").exists()
               for p in spec.submodule_search_locations)

if __name__ == "__main__":
    main()
