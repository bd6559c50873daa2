"""Runs one seed example file unchanged, then prints the last trace as JSON after a marker."""

import runpy
import sys

runpy.run_path(sys.argv[1], run_name="__main__")

import lanterna  # noqa: E402

trace_id = lanterna.get_last_active_trace_id()
print("=====TRACE=====")
print(lanterna.get_trace(trace_id).to_json() if trace_id else "null")
