"""``lanterna db upgrade``: bring a trace database to this lanterna's schema."""

from __future__ import annotations

import argparse
from typing import Any

from lanterna.cli.stores import add_uri_argument, answering, location, open_store


def add_parser(subparsers: Any) -> None:
    db = subparsers.add_parser("db", help="manage the trace database")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    upgrade = commands.add_parser(
        "upgrade", help="create or migrate the database to the newest schema (safe to repeat)"
    )
    add_uri_argument(upgrade)
    upgrade.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    store = open_store(args, must_exist=False)
    with answering(store):
        revision = store.upgrade()
        store.engine()
        store.maintain()  # a full-text index that fell behind catches up here
    print(f"{location(store)}: schema at revision {revision} (the newest this lanterna knows).")
    return 0
