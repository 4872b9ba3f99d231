"""Developer commands for the schema migrations (see the package docstring).

``python -m chatapp.storage.migrations new "message"``: write a new revision from the
difference between the models and a scratch database at the current head.
``python -m chatapp.storage.migrations heads``: the newest revision(s).
``python -m chatapp.storage.migrations upgrade URL``: migrate the database at ``URL``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command

from chatapp.storage import migrations
from chatapp.storage.db import make_engine


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chatapp.storage.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="write a new revision from the models' changes")
    new.add_argument("message")
    sub.add_parser("heads", help="print the newest revision(s)")
    up = sub.add_parser("upgrade", help="migrate a database to the newest revision")
    up.add_argument("url")
    args = parser.parse_args(argv)
    if args.command == "heads":
        command.heads(migrations.alembic_config())
    elif args.command == "upgrade":
        migrations.upgrade(make_engine(args.url))
    else:
        _new_revision(args.message)


def _new_revision(message: str) -> None:
    scripts = migrations._scripts()
    number = len(list(scripts.walk_revisions())) + 1
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        migrations.upgrade(engine)
        with engine.begin() as connection:
            command.revision(
                migrations.alembic_config(connection),
                message=message,
                autogenerate=True,
                rev_id=f"{number:04d}",
            )
        engine.dispose()


if __name__ == "__main__":
    main()
