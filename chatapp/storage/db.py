"""Database engine, declarative base and transaction scope.

SQLite in the data directory by default (WAL journal, so the UI and the webhook receiver
can write at the same time), PostgreSQL (``postgresql+psycopg://...``) for a team. Each
feature keeps its tables in its own module under ``chatapp.storage``; the schema itself is
made and upgraded by the Alembic revisions in :mod:`chatapp.storage.migrations`, which
:func:`init_db` runs.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

#: Storage modules whose tables the models (and Alembic's comparisons) consist of.
FEATURE_MODULES = (
    "chatapp.storage.conversations",
    "chatapp.storage.documents",
    "chatapp.storage.jobs",
    "chatapp.storage.images",
    "chatapp.storage.upload_queue",
    "chatapp.storage.originals",
)


#: Names for constraints and indexes, the same on every database (migrations refer to them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every table of the app."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys.

    A PostgreSQL URL without a driver (``postgresql://`` or ``postgres://``, as hosting
    providers print them) uses psycopg 3, the driver the app ships with.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(postgres_driver_url(url), pool_pre_ping=True)


def postgres_driver_url(url: str) -> str:
    """``url`` with the psycopg 3 driver named when it is a PostgreSQL URL without one."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _switch_to_wal(cursor: sqlite3.Cursor, wait_s: float = 30.0) -> None:
    """Turn on WAL, waiting while another connection writes to a file not in WAL yet.

    Changing the journal mode needs the file to itself and SQLite reports "locked" at once
    instead of waiting (two processes starting on a new database at the same moment).
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def import_feature_modules() -> None:
    """Import every storage module, so that ``Base.metadata`` holds every table."""
    for name in FEATURE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def init_db(engine: Engine) -> None:
    """Bring the database to the newest schema: create it when empty, upgrade it in place
    when an older version made it (see :mod:`chatapp.storage.migrations`)."""
    from chatapp.storage import migrations

    import_feature_modules()
    migrations.upgrade(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed when the block ends, rolled back on error."""
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rows_changed(session: Session, statement: Any) -> int:
    """Execute an UPDATE or DELETE and return the rows it matched.

    ``Session.execute`` is typed as returning a plain ``Result``; for these statements it is a
    ``CursorResult``, which carries the count.
    """
    return cast("CursorResult[Any]", session.execute(statement)).rowcount
