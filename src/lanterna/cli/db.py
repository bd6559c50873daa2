"""``lanterna db upgrade``: bring a trace database to this lanterna's schema."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lanterna.exceptions import MlflowException


def add_parser(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="manage the trace database")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = commands.add_parser(
        "upgrade", help="create or migrate the database to the newest schema (safe to repeat)"
    )
    upgrade.add_argument("--uri", help="tracking URI (default: the one in force)")
    upgrade.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    from lanterna.store import uri

    store = uri.get_store(args.uri)
    try:
        revision = store.upgrade()
        store.engine()
        store.maintain()  # a full-text index that fell behind catches up here
    except MlflowException as exc:
        print(f"lanterna: {exc}", file=sys.stderr)
        return 1
    print(f"{store.where}: schema at revision {revision} (the newest this lanterna knows).")
    return 0
