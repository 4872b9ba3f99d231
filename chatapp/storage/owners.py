"""Who owns each row: the ``owner`` column of every table a person's data lives in.

Owned directly: personas, conversations, document collections, jobs and webhook results.
Everything else belongs to one of those (messages and their images to a conversation; files,
vectors and questions to a collection), so scoping the parent scopes it.

A database written before rows had owners is upgraded in place by the migration
``0002_owner_on_every_row`` (:mod:`chatapp.storage.migrations`): each table gains ``owner``,
and every existing row becomes :data:`~chatapp.users.LOCAL_OWNER`'s, the one user of an app
without sign-in, except the built-in personas and results for requests no job here has, which
belong to nobody (:data:`~chatapp.users.NO_OWNER`). Collection names become unique per owner
instead of across the database.

When sign-in is turned on, :func:`claim_local_rows` hands every row of the single-user app to
the person named by ``BASETEN_CHAT_ADMIN_EMAIL`` (see :mod:`chatapp.settings`).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, select, update

from chatapp.storage import conversations, documents, jobs
from chatapp.users import LOCAL_OWNER, NO_OWNER

logger = logging.getLogger(__name__)

#: The tables with an ``owner`` column.
OWNED_TABLES = ("chat_personas", "chat_conversations", "doc_collections", "jobs", "webhook_results")


# --- when sign-in is turned on -------------------------------------------------------------


def claim_local_data(engine: Engine, new_owner: str) -> dict[str, int]:
    """:func:`claim_local_rows` in one transaction; logs what moved."""
    with engine.begin() as connection:
        moved = claim_local_rows(connection, new_owner)
    if moved:
        logger.info(
            "Data made without sign-in now belongs to %s: %s",
            new_owner,
            ", ".join(f"{count} {table}" for table, count in sorted(moved.items())),
        )
    return moved


def claim_local_rows(connection: Connection, new_owner: str) -> dict[str, int]:
    """Give every row of the single-user app (owner :data:`~chatapp.users.LOCAL_OWNER`) to
    ``new_owner``; how many rows of each table moved. A collection whose name ``new_owner``
    already uses gets " (from before sign-in)" added to its name."""
    if not new_owner or new_owner in (LOCAL_OWNER, NO_OWNER):
        return {}
    _rename_clashing_collections(connection, new_owner)
    moved: dict[str, int] = {}
    for model in (
        conversations.Persona,
        conversations.Conversation,
        documents.Collection,
        jobs.Job,
        jobs.WebhookResult,
    ):
        result = connection.execute(
            update(model).where(model.owner == LOCAL_OWNER).values(owner=new_owner)
        )
        if result.rowcount:
            moved[model.__tablename__] = result.rowcount
    return moved


def _rename_clashing_collections(connection: Connection, new_owner: str) -> None:
    collection = documents.Collection
    taken = set(connection.scalars(select(collection.name).where(collection.owner == new_owner)))
    local = connection.execute(
        select(collection.id, collection.name).where(collection.owner == LOCAL_OWNER)
    ).all()
    for collection_id, name in local:
        if name in taken:
            renamed = f"{name[:170]} (from before sign-in)"
            connection.execute(
                update(collection).where(collection.id == collection_id).values(name=renamed)
            )
            taken.add(renamed)
