"""``lanterna experiments list``: the experiments of a store, with how many traces each holds."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from lanterna.cli.render import printable
from lanterna.cli.stores import add_uri_argument, answering, location, open_store


def add_parser(subparsers: Any) -> None:
    experiments = subparsers.add_parser("experiments", help="the experiments traces are kept in")
    commands = experiments.add_subparsers(dest="experiments_command", metavar="COMMAND",
                                          required=True)
    listing = commands.add_parser("list", help="id, name and trace count of each experiment")
    add_uri_argument(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per experiment")
    listing.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    store = open_store(args)
    with answering(store):
        found = store.list_experiments()
    if args.json:
        for experiment, count in found:
            print(json.dumps({"experiment_id": experiment.experiment_id, "name": experiment.name,
                              "creation_time": experiment.creation_time, "trace_count": count},
                             ensure_ascii=False))
        return 0
    rows = [("ID", "NAME", "TRACES", "CREATED (UTC)")]
    for experiment, count in found:
        created = "-" if not experiment.creation_time else datetime.fromtimestamp(
            experiment.creation_time / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        rows.append((printable(experiment.experiment_id), printable(experiment.name) or "-",
                     str(count), created))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.rjust(width) if i == 2 else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())
    print(f"{len(found)} experiment{'s' if len(found) != 1 else ''} in {location(store)}",
          file=sys.stderr)
    return 0
