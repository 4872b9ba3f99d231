"""Schema migrations (Alembic), shipped with the package and run by ``init_db`` at start.

:func:`upgrade` brings any database to the newest revision in ``versions/``: an empty one,
one made by an older version of the app (before Alembic: no ``alembic_version`` table; the
baseline revision ``0001`` adopts its tables as they are), or one already under Alembic. No
``alembic.ini`` is needed: the configuration is built here.

Two processes starting at once (two replicas on one PostgreSQL, or the app and the webhook
receiver on one SQLite file) never migrate together: on PostgreSQL the upgrade runs in one
transaction holding a transaction-level advisory lock (:data:`LOCK_KEY`); on SQLite it runs
in one ``BEGIN IMMEDIATE`` transaction (the database's write lock). The second process waits,
then finds the schema at the newest revision and does nothing.

How to change the schema
------------------------
1. Change the model in its ``chatapp/storage/<feature>.py`` module.
2. Write a revision: ``python -m chatapp.storage.migrations new "owner on every row"``
   (from the repository root). It migrates a scratch SQLite database to the current head, lets
   Alembic compare it with the models, and writes ``versions/<NNNN>_<slug>.py`` with the
   differences and ``down_revision`` set to the current head. Read and finish it by hand:
   autogenerate does not fill existing rows, rename columns or know about data.
3. Rules for a revision:
   - Use ``op.*`` with explicit types, never the app's models (they move on; a revision must
     keep meaning what it meant on the day it was written).
   - A new column on an existing table is nullable or has a ``server_default``, then is
     filled with ``op.execute(sa.text("UPDATE ..."))`` if old rows need a value.
   - Changing or dropping a column or constraint on SQLite: use
     ``with op.batch_alter_table("t", naming_convention=NAMING_CONVENTION) as batch:``;
     Alembic copies the table. Databases made before Alembic have unnamed constraints; the
     naming convention gives them the names used here (e.g. ``uq_doc_collections_name``).
     Foreign keys are off during the upgrade, so copying a parent table never cascades a
     delete into its children; they are checked again before the commit.
   - PostgreSQL-only objects (pgvector) go behind ``if op.get_bind().dialect.name ==
     "postgresql":``.
4. ``python -m pytest tests/unit/test_migrations.py -q``: it checks there is one head, that
   the models and the migrated schema agree on SQLite and PostgreSQL, and that old databases
   still upgrade.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from chatapp.storage.db import NAMING_CONVENTION

__all__ = [
    "LOCK_KEY",
    "NAMING_CONVENTION",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
]

#: The PostgreSQL advisory lock held while migrating (any constant the app alone uses).
LOCK_KEY = 0x62617365_74656E  # "baseten" in ASCII, fits a bigint

HERE = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_path_separator", "os")
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The newest revision shipped with this version of the app."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: empty, or made before Alembic)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Migrate the database to :func:`head_revision`, under a lock; no-op when it is there."""
    with engine.connect() as connection:
        if current_revision(connection) == head_revision():
            return
        connection.rollback()
        if engine.dialect.name == "sqlite":
            _upgrade_sqlite(connection)
        else:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY}
                    )
                _run(connection)


def _run(connection: Connection) -> None:
    if current_revision(connection) != head_revision():  # another process may have done it
        command.upgrade(alembic_config(connection), "head")


def _upgrade_sqlite(connection: Connection) -> None:
    """Upgrade in one write transaction with foreign keys off (see the how-to above)."""
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only outside a transaction
    connection.commit()
    try:
        with connection.begin():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            _run(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(
                    f"The schema upgrade would break {len(broken)} references "
                    "between rows; nothing was changed."
                )
    finally:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
