"""Who owns each row: the ``owner`` column of every table a person's data lives in.

Owned directly: personas, conversations, document collections, jobs and webhook results.
Everything else belongs to one of those (messages and their images to a conversation; files,
vectors and questions to a collection), so scoping the parent scopes it.

A database written before rows had owners is upgraded in place by :func:`upgrade_schema`
(:func:`chatapp.storage.db.init_db` calls it after the other feature modules' upgrades): each
table gains ``owner``, and every existing row becomes :data:`~chatapp.users.LOCAL_OWNER`'s,
the one user of an app without sign-in, except the built-in personas and results for
requests no job here has, which belong to nobody (:data:`~chatapp.users.NO_OWNER`).
Collection names become unique per owner instead of across the database.

When sign-in is turned on, :func:`claim_local_rows` hands every row of the single-user app to
the person named by ``BASETEN_CHAT_ADMIN_EMAIL`` (see :mod:`chatapp.settings`).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, Table, inspect, select, text, update
from sqlalchemy.schema import CreateTable

from chatapp.storage import conversations, documents, jobs
from chatapp.storage.conversations import OWNER_LENGTH
from chatapp.storage.db import Base
from chatapp.users import LOCAL_OWNER, NO_OWNER

logger = logging.getLogger(__name__)

#: The tables with an ``owner`` column, parents before the tables whose owner follows theirs.
OWNED_TABLES = ("chat_personas", "chat_conversations", "doc_collections", "jobs",
                "webhook_results")

#: After the column is added to an existing table: rows that are nobody's.
_BACKFILL = {
    "chat_personas": "UPDATE chat_personas SET owner = :nobody WHERE builtin_key IS NOT NULL",
    "webhook_results": (
        "UPDATE webhook_results SET owner = COALESCE((SELECT jobs.owner FROM jobs WHERE "
        "jobs.request_id = webhook_results.request_id), :nobody)"),
}


def upgrade_schema(engine: Engine) -> list[str]:
    """Give every owned table of an older database its ``owner``; what changed (idempotent)."""
    changed: list[str] = []
    if _collection_names_unique_across_owners(engine):
        _make_collection_names_unique_per_owner(engine)
        changed.append("doc_collections: names unique per owner")
    present = set(inspect(engine).get_table_names())
    for name in OWNED_TABLES:
        if name not in present:
            continue
        columns = {c["name"] for c in inspect(engine).get_columns(name)}
        if "owner" not in columns:
            _add_owner_column(engine, name)
            changed.append(f"{name}.owner")
    with engine.begin() as connection:
        for name in OWNED_TABLES:
            if name in present:
                for index in _table(name).indexes:
                    index.create(connection, checkfirst=True)
    return changed


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _add_owner_column(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            f"ALTER TABLE {name} ADD COLUMN owner VARCHAR({OWNER_LENGTH}) NOT NULL "
            f"DEFAULT '{LOCAL_OWNER}'"))
        if name in _BACKFILL:
            connection.execute(text(_BACKFILL[name]), {"nobody": NO_OWNER})
        if engine.dialect.name != "sqlite":  # new rows always name their owner
            connection.execute(text(f"ALTER TABLE {name} ALTER COLUMN owner DROP DEFAULT"))


def _collection_names_unique_across_owners(engine: Engine) -> bool:
    inspector = inspect(engine)
    if "doc_collections" not in inspector.get_table_names():
        return False
    return any(u["column_names"] == ["name"]
               for u in inspector.get_unique_constraints("doc_collections"))


def _make_collection_names_unique_per_owner(engine: Engine) -> None:
    """Replace the database-wide unique name by (owner, name), adding ``owner`` on the way."""
    if engine.dialect.name != "sqlite":
        inspector = inspect(engine)
        with engine.begin() as connection:
            for unique in inspector.get_unique_constraints("doc_collections"):
                if unique["column_names"] == ["name"]:
                    connection.execute(text(
                        f'ALTER TABLE doc_collections DROP CONSTRAINT "{unique["name"]}"'))
        _add_owner_column(engine, "doc_collections")
        with engine.begin() as connection:
            connection.execute(text(
                "ALTER TABLE doc_collections ADD CONSTRAINT uq_doc_collections_owner_name "
                "UNIQUE (owner, name)"))
        return
    # SQLite cannot drop a constraint: copy the rows into a table made the new way, in one
    # transaction with foreign keys off, so dropping the old table leaves files and questions.
    statements = _collections_rebuild(engine)
    raw = engine.raw_connection()
    try:
        sqlite = raw.driver_connection
        level = sqlite.isolation_level
        sqlite.isolation_level = None  # this code says where the transaction starts and ends
        cursor = sqlite.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            for statement in statements:
                cursor.execute(statement)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.execute("PRAGMA foreign_keys=ON")
            sqlite.isolation_level = level
    finally:
        raw.close()


def _collections_rebuild(engine: Engine) -> list[str]:
    old = [c["name"] for c in inspect(engine).get_columns("doc_collections")]
    create = str(CreateTable(_table("doc_collections")).compile(dialect=engine.dialect)).replace(
        "CREATE TABLE doc_collections", "CREATE TABLE doc_collections_owned", 1)
    kept = ", ".join(c for c in old if c != "owner")
    owner = "owner" if "owner" in old else f"'{LOCAL_OWNER}'"
    return [
        create,
        f"INSERT INTO doc_collections_owned ({kept}, owner) SELECT {kept}, {owner} "
        "FROM doc_collections",
        "DROP TABLE doc_collections",
        "ALTER TABLE doc_collections_owned RENAME TO doc_collections",
    ]


# --- when sign-in is turned on -------------------------------------------------------------


def claim_local_data(engine: Engine, new_owner: str) -> dict[str, int]:
    """:func:`claim_local_rows` in one transaction; logs what moved."""
    with engine.begin() as connection:
        moved = claim_local_rows(connection, new_owner)
    if moved:
        logger.info("Data made without sign-in now belongs to %s: %s", new_owner,
                    ", ".join(f"{count} {table}" for table, count in sorted(moved.items())))
    return moved


def claim_local_rows(connection: Connection, new_owner: str) -> dict[str, int]:
    """Give every row of the single-user app (owner :data:`~chatapp.users.LOCAL_OWNER`) to
    ``new_owner``; how many rows of each table moved. A collection whose name ``new_owner``
    already uses gets " (from before sign-in)" added to its name."""
    if not new_owner or new_owner in (LOCAL_OWNER, NO_OWNER):
        return {}
    _rename_clashing_collections(connection, new_owner)
    moved: dict[str, int] = {}
    for model in (conversations.Persona, conversations.Conversation, documents.Collection,
                  jobs.Job, jobs.WebhookResult):
        result = connection.execute(update(model).where(model.owner == LOCAL_OWNER)
                                    .values(owner=new_owner))
        if result.rowcount:
            moved[model.__tablename__] = result.rowcount
    return moved


def _rename_clashing_collections(connection: Connection, new_owner: str) -> None:
    collection = documents.Collection
    taken = set(connection.scalars(select(collection.name)
                                   .where(collection.owner == new_owner)))
    local = connection.execute(select(collection.id, collection.name)
                               .where(collection.owner == LOCAL_OWNER)).all()
    for collection_id, name in local:
        if name in taken:
            renamed = f"{name[:170]} (from before sign-in)"
            connection.execute(update(collection).where(collection.id == collection_id)
                               .values(name=renamed))
            taken.add(renamed)
