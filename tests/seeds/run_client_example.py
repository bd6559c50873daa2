"""Runs one client seed example unchanged, then prints every trace it stored, one JSON a line."""

import runpy
import sys
import warnings

warnings.simplefilter("ignore", FutureWarning)  # the seed passes request_id= everywhere
try:
    runpy.run_path(sys.argv[1], run_name="__main__")
finally:
    import lanterna
    from lanterna.tracing import reaper

    reaper.end_all_open_traces()  # what happens at exit, done here so we can print the result
    lanterna.flush_trace_async_logging()
    print("=====TRACES=====")
    for trace in lanterna.search_traces(return_type="list", order_by=["timestamp_ms ASC"]):
        print(trace.to_json())
