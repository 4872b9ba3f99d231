"""Owner on every row: personas, conversations, collections, jobs and webhook results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Each table a person's data lives in gains ``owner`` (indexed, not null). Rows made before
belong to the one user of an app without sign-in, ``local``; the built-in personas and webhook
results for a request no job has belong to nobody (``''``); a result for a job belongs to the
job's owner. Collection names become unique per owner instead of across the database. The
column keeps no default afterwards: the app always names the owner of a row it writes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chatapp.storage.db import NAMING_CONVENTION

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The owner of every row made before this revision (``chatapp.users.LOCAL_OWNER`` today).
LOCAL = "local"
#: The owner of rows that are nobody's (``chatapp.users.NO_OWNER`` today).
NOBODY = ""
TABLES = ("chat_personas", "chat_conversations", "doc_collections", "jobs", "webhook_results")
#: Rows that are nobody's or someone else's than ``local``'s, set once the column exists.
BACKFILL = (
    "UPDATE chat_personas SET owner = :nobody WHERE builtin_key IS NOT NULL",
    "UPDATE webhook_results SET owner = COALESCE((SELECT jobs.owner FROM jobs "
    "WHERE jobs.request_id = webhook_results.request_id), :nobody)",
)


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMING_CONVENTION) as batch:
            batch.add_column(
                sa.Column("owner", sa.String(length=512), nullable=False, server_default=LOCAL)
            )
            batch.create_index(f"ix_{table}_owner", ["owner"], unique=False)
            if table == "doc_collections":
                batch.drop_constraint("uq_doc_collections_name", type_="unique")
                batch.create_unique_constraint("uq_doc_collections_owner_name", ["owner", "name"])
    for statement in BACKFILL:
        op.execute(sa.text(statement).bindparams(nobody=NOBODY))
    for table in TABLES:
        with op.batch_alter_table(table, naming_convention=NAMING_CONVENTION) as batch:
            batch.alter_column(
                "owner",
                existing_type=sa.String(length=512),
                existing_nullable=False,
                server_default=None,
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, naming_convention=NAMING_CONVENTION) as batch:
            if table == "doc_collections":
                batch.drop_constraint("uq_doc_collections_owner_name", type_="unique")
                batch.create_unique_constraint("uq_doc_collections_name", ["name"])
            batch.drop_index(f"ix_{table}_owner")
            batch.drop_column("owner")
