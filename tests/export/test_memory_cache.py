"""The in-process cache of recent traces stays bounded, in traces and in spans."""

from __future__ import annotations

from lanterna.entities import Span, Trace, TraceData, TraceInfo
from lanterna.export.base import ExportBatch
from lanterna.export.memory import InMemoryExporter


def make_trace(index: int, spans: int) -> Trace:
    data = [
        Span.from_dict({"trace_id": "", "span_id": f"{i:016x}", "name": "s",
                        "start_time_unix_nano": i, "end_time_unix_nano": i + 1,
                        "attributes": {"mlflow.traceRequestId": f'"tr-{index:032x}"'}})
        for i in range(spans)
    ]
    return Trace(TraceInfo(trace_id=f"tr-{index:032x}"), TraceData(data))


def export(cache: InMemoryExporter, *traces: Trace) -> None:
    batch = ExportBatch()
    batch.finished.extend(traces)
    cache.export(batch)


def test_bounded_by_traces_and_spans() -> None:
    cache = InMemoryExporter(capacity=3, max_spans=10)
    export(cache, *(make_trace(i, 2) for i in range(4)))
    assert [t.trace_id for t in cache.traces()] == [f"tr-{i:032x}" for i in (1, 2, 3)]
    export(cache, make_trace(9, 8))  # 6 + 8 > 10: the oldest go until it fits
    assert [t.trace_id for t in cache.traces()] == [f"tr-{3:032x}", f"tr-{9:032x}"]
    export(cache, make_trace(10, 11))  # bigger than the cache: not kept at all
    assert cache.get(f"tr-{10:032x}") is None
    assert cache.delete({f"tr-{9:032x}"}) == 1
    export(cache, make_trace(11, 8))
    assert [t.trace_id for t in cache.traces()] == [f"tr-{3:032x}", f"tr-{11:032x}"]


def test_a_batch_bigger_than_the_cache_keeps_its_newest_traces_whole() -> None:
    cache = InMemoryExporter(capacity=3, max_spans=100)
    export(cache, make_trace(0, 2), make_trace(1, 2))
    first_part = make_trace(5, 2)
    second_part = make_trace(5, 3)  # the same trace finished twice (two local roots)
    export(cache, make_trace(1, 4), first_part, make_trace(6, 1), make_trace(7, 1),
           second_part)
    assert [t.trace_id for t in cache.traces()] == [f"tr-{i:032x}" for i in (6, 7, 5)]
    kept = cache.get(f"tr-{5:032x}")
    assert kept is not None and len(kept.data.spans) == 3  # both parts, merged by span id
    assert cache.get(f"tr-{1:032x}") is None  # its older copy is not left behind
    assert cache.get(f"tr-{0:032x}") is None


def test_traces_read_back_from_the_cache_hold_frozen_picklable_spans() -> None:
    """Ended live spans travel to the store as they are; what get_trace hands out from the
    in-process cache is frozen, as MLflow's spans are, including a span that ended late."""
    import pickle

    import lanterna
    from lanterna.entities.span import LiveSpan

    root = lanterna.start_span_no_context("root")
    child = lanterna.start_span_no_context("child", parent_span=root)
    root.end(outputs="done")
    lanterna.flush_trace_async_logging()
    child.end(outputs="late")  # after its trace was exported
    lanterna.flush_trace_async_logging()
    trace = lanterna.get_trace(root.trace_id)
    assert trace is not None
    assert [(s.name, s.outputs) for s in trace.data.spans] == [("root", "done"), ("child", "late")]
    assert all(not isinstance(span, LiveSpan) for span in trace.data.spans)
    again = pickle.loads(pickle.dumps(trace))
    assert [(s.name, s.outputs) for s in again.data.spans] == [("root", "done"), ("child", "late")]
