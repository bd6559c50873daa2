"""``lanterna traces list | show | export``: stored traces from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from lanterna.entities.trace import Trace
from lanterna.exceptions import InvalidFilterError, MlflowException

LIST_DEFAULT = 25
PREVIEW_CHARS = 48


def add_parser(subparsers: Any) -> None:
    traces = subparsers.add_parser("traces", help="list, show and export stored traces")
    commands = traces.add_subparsers(dest="traces_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="the newest traces, or those matching a filter")
    _common(listing)
    listing.add_argument("--max-results", type=_positive, default=LIST_DEFAULT,
                         help=f"how many traces (default {LIST_DEFAULT})")
    listing.add_argument("--order-by", action="append", metavar="KEY [ASC|DESC]",
                         help="sort key, e.g. 'execution_time_ms DESC' (repeatable)")
    listing.add_argument("--json", action="store_true", help="one JSON object per trace info")
    listing.set_defaults(func=run_list)

    show = commands.add_parser("show", help="one trace as a tree of spans")
    show.add_argument("trace_id")
    show.add_argument("--uri", help="tracking URI (default: the one in force)")
    show.add_argument("--json", action="store_true", help="the trace as JSON instead")
    show.set_defaults(func=run_show)

    export = commands.add_parser("export", help="traces as JSON (by id or filter)")
    _common(export)
    export.add_argument("trace_ids", nargs="*", metavar="ID", help="trace ids to export")
    export.add_argument("--format", choices=("json", "jsonl"), default="json",
                        help="json: one trace (or a list); jsonl: one trace per line")
    export.add_argument("--max-results", type=_positive, default=None,
                        help="at most this many traces (default: all that match)")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(func=run_export)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--filter", dest="filter_string", metavar="FILTER",
                        help="e.g. \"trace.status = 'ERROR' AND tag.env = 'prod'\"")
    parser.add_argument("--experiment-id", action="append", dest="experiment_ids",
                        metavar="ID", help="only this experiment (repeatable; default: all)")
    parser.add_argument("--uri", help="tracking URI (default: the one in force)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _store(args: argparse.Namespace) -> Any:
    from lanterna.store import uri

    return uri.get_store(args.uri)


def _fail(message: str, code: int = 1) -> int:
    print(f"lanterna: {message}", file=sys.stderr)
    return code


def _search(args: argparse.Namespace, limit: int | None, include_spans: bool) -> list[Trace]:
    store = _store(args)
    found: list[Trace] = []
    token: str | None = None
    while True:
        wanted = 1000 if limit is None else min(limit - len(found), 1000)
        page, token = store.search_traces(
            experiment_ids=args.experiment_ids, filter_string=args.filter_string,
            max_results=wanted, order_by=getattr(args, "order_by", None), page_token=token,
            include_spans=include_spans,
        )
        found.extend(page)
        if token is None or (limit is not None and len(found) >= limit):
            return found


def run_list(args: argparse.Namespace) -> int:
    try:
        traces = _search(args, args.max_results, include_spans=False)
    except InvalidFilterError as exc:
        return _fail(str(exc), 2)
    except MlflowException as exc:
        return _fail(str(exc))
    if args.json:
        for trace in traces:
            print(json.dumps(trace.info.to_dict(), ensure_ascii=False))
        return 0
    if not traces:
        print("No traces found.")
        return 0
    rows = [("TRACE ID", "STARTED (UTC)", "STATE", "DURATION", "NAME", "REQUEST")]
    for trace in traces:
        info = trace.info
        rows.append((
            info.trace_id,
            datetime.fromtimestamp(info.request_time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            info.state.value,
            "-" if info.execution_duration is None else f"{info.execution_duration} ms",
            info.name or "",
            _one_line(info.request_preview or "", PREVIEW_CHARS),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    return 0


def _one_line(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def run_show(args: argparse.Namespace) -> int:
    try:
        trace = _store(args).get_trace(args.trace_id)
    except MlflowException as exc:
        return _fail(str(exc))
    if trace is None:
        return _fail(f"no trace {args.trace_id!r} in {_where(args)}; "
                     "`lanterna traces list` shows the stored ones.")
    if args.json:
        print(trace.to_json(pretty=True))
        return 0
    from lanterna.cli.render import render_tree

    print(render_tree(trace))
    return 0


def _where(args: argparse.Namespace) -> str:
    from lanterna.store import uri

    return args.uri or uri.get_tracking_uri()


def run_export(args: argparse.Namespace) -> int:
    if args.trace_ids and args.filter_string:
        return _fail("give trace ids or --filter, not both.", 2)
    try:
        if args.trace_ids:
            store = _store(args)
            traces = []
            for trace_id in args.trace_ids:
                trace = store.get_trace(trace_id)
                if trace is None:
                    return _fail(f"no trace {trace_id!r} in {_where(args)}.")
                traces.append(trace)
        else:
            traces = _search(args, args.max_results, include_spans=True)
    except InvalidFilterError as exc:
        return _fail(str(exc), 2)
    except MlflowException as exc:
        return _fail(str(exc))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            _write(traces, args, out)
        print(f"Exported {len(traces)} trace(s) to {args.output}.", file=sys.stderr)
    else:
        _write(traces, args, sys.stdout)
    return 0


def _write(traces: list[Trace], args: argparse.Namespace, out: TextIO) -> None:
    if args.format == "jsonl":
        for trace in traces:
            out.write(trace.to_json() + "\n")
    elif len(args.trace_ids) == 1:
        out.write(traces[0].to_json(pretty=True) + "\n")
    else:
        out.write(json.dumps([t.to_dict() for t in traces], ensure_ascii=False, indent=2) + "\n")
