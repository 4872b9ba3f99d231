"""Database engine, declarative base and transaction scope.

SQLite in the data directory by default (WAL journal, so the UI and the webhook receiver
can write at the same time), any SQLAlchemy URL otherwise. Each feature keeps its tables in
its own module under ``chatapp.storage``; :func:`init_db` imports them all and creates
whatever is missing.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

#: Storage modules whose tables :func:`init_db` creates.
FEATURE_MODULES = (
    "chatapp.storage.conversations",
    "chatapp.storage.documents",
    "chatapp.storage.jobs",
    "chatapp.storage.images",
)


class Base(DeclarativeBase):
    """Declarative base shared by every table of the app."""


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_db(engine: Engine) -> None:
    """Create every feature's tables that do not exist yet, then let each feature module add
    the columns it gained since (its ``upgrade_schema(engine)``, when it has one)."""
    for name in FEATURE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    Base.metadata.create_all(engine)
    for name in FEATURE_MODULES:  # columns added since a table was first created
        module = sys.modules.get(name)
        upgrade = getattr(module, "upgrade_schema", None)
        if upgrade is not None:
            upgrade(engine)


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
