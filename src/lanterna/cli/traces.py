"""``lanterna traces list | show | export``: stored traces from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from lanterna.cli.errors import CliError
from lanterna.cli.stores import add_uri_argument, answering, location, open_store
from lanterna.entities.trace import Trace

LIST_DEFAULT = 25
PREVIEW_CHARS = 48
PAGE = 1000


def add_parser(subparsers: Any) -> None:
    traces = subparsers.add_parser("traces", help="list, show and export stored traces")
    commands = traces.add_subparsers(dest="traces_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the newest traces, or those matching a filter")
    _selection(listing)
    listing.add_argument("--max-results", type=_positive, default=LIST_DEFAULT,
                         help=f"how many traces (default {LIST_DEFAULT})")
    listing.add_argument("--order-by", action="append", metavar="KEY [ASC|DESC]",
                         help="sort key, e.g. 'execution_time_ms DESC' (repeatable)")
    listing.add_argument("--json", action="store_true", help="one JSON object per trace info")
    listing.set_defaults(func=run_list)

    show = commands.add_parser("show", help="one trace as a tree of spans")
    show.add_argument("trace_id", metavar="TRACE_ID")
    add_uri_argument(show)
    show.add_argument("--json", action="store_true", help="the trace as JSON instead")
    show.set_defaults(func=run_show)

    export = commands.add_parser("export", help="traces as JSON (by id or filter)")
    _selection(export)
    export.add_argument("trace_ids", nargs="*", metavar="TRACE_ID", help="trace ids to export")
    export.add_argument("--format", choices=("json", "jsonl"), default="json",
                        help="json: a JSON list of traces (default); jsonl: one trace per line")
    export.add_argument("--max-results", type=_positive, default=None,
                        help="at most this many traces (default: all that match)")
    export.add_argument("--output", "-o", metavar="FILE",
                        help="write to this file instead of stdout")
    export.set_defaults(func=run_export)


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--filter", dest="filter_string", metavar="FILTER",
                        help="e.g. \"trace.status = 'ERROR' AND tag.env = 'prod'\"")
    parser.add_argument("--experiment-id", action="append", dest="experiment_ids",
                        metavar="ID", help="only this experiment (repeatable; default: all)")
    add_uri_argument(parser)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _search(args: argparse.Namespace, limit: int | None, include_spans: bool) -> list[Trace]:
    store = open_store(args)
    found: list[Trace] = []
    token: str | None = None
    with answering(store):
        while True:
            wanted = PAGE if limit is None else min(limit - len(found), PAGE)
            page, token = store.search_traces(
                experiment_ids=args.experiment_ids, filter_string=args.filter_string,
                max_results=wanted, order_by=getattr(args, "order_by", None), page_token=token,
                include_spans=include_spans,
            )
            found.extend(page)
            if token is None or (limit is not None and len(found) >= limit):
                break
        unknown = [e for e in args.experiment_ids or () if store.get_experiment(e) is None]
    if unknown and not found:
        raise CliError(f"no experiment {unknown[0]!r} in {location(store)} "
                       "(lanterna experiments list shows them)")
    return found


def run_list(args: argparse.Namespace) -> int:
    traces = _search(args, args.max_results, include_spans=False)
    if args.json:
        for trace in traces:
            print(json.dumps(trace.info.to_dict(), ensure_ascii=False))
        return 0
    where = location(open_store(args))
    if not traces:
        print(f"No traces found in {where}.")
        return 0
    rows = [("TRACE ID", "STARTED (UTC)", "STATE", "DURATION", "NAME", "REQUEST")]
    for trace in traces:
        info = trace.info
        rows.append((
            info.trace_id,
            datetime.fromtimestamp(info.request_time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            info.state.value,
            "-" if info.execution_duration is None else f"{info.execution_duration} ms",
            _one_line(info.name or "", PREVIEW_CHARS),
            _one_line(info.request_preview or "", PREVIEW_CHARS),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    # The table alone goes to stdout (for pipes); where it came from is said on stderr.
    print(f"{len(traces)} trace{'s' if len(traces) != 1 else ''} from {where}", file=sys.stderr)
    return 0


def _one_line(text: str, width: int) -> str:
    from lanterna.cli.render import printable

    text = printable(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def run_show(args: argparse.Namespace) -> int:
    store = open_store(args)
    with answering(store):
        trace = store.get_trace(args.trace_id)
    if trace is None:
        raise CliError(f"no trace {args.trace_id!r} in {location(store)} "
                       "(lanterna traces list shows the stored ones)")
    if args.json:
        print(trace.to_json(pretty=True))
        return 0
    from lanterna.cli.render import render_tree

    print(render_tree(trace))
    return 0


def run_export(args: argparse.Namespace) -> int:
    if args.trace_ids and args.filter_string:
        raise CliError("give trace ids or --filter, not both")
    if args.trace_ids:
        store = open_store(args)
        traces = []
        with answering(store):
            for trace_id in args.trace_ids:
                trace = store.get_trace(trace_id)
                if trace is None:
                    raise CliError(f"no trace {trace_id!r} in {location(store)}")
                traces.append(trace)
    else:
        traces = _search(args, args.max_results, include_spans=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            _write(traces, args.format, out)
        print(f"Exported {len(traces)} trace(s) to {args.output}.", file=sys.stderr)
    else:
        _write(traces, args.format, sys.stdout)
    return 0


def _write(traces: list[Trace], form: str, out: TextIO) -> None:
    """``jsonl``: one trace per line; ``json``: a list of traces, whatever their number.
    Each trace is MLflow 3's exchange format, which ``Trace.from_json`` reads back."""
    if form == "jsonl":
        for trace in traces:
            out.write(trace.to_json() + "\n")
    else:
        out.write(json.dumps([t.to_dict() for t in traces], ensure_ascii=False, indent=2) + "\n")
