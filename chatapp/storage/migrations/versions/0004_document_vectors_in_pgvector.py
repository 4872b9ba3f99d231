"""Document vectors in pgvector (PostgreSQL only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Creates the ``vector`` extension (when the database user may; a managed PostgreSQL usually
has it enabled by an administrator) and the ``doc_vectors`` table of
:mod:`chatapp.storage.vectors`. Nothing happens on SQLite, whose vectors stay in the NumPy
store. The HNSW indexes are made per embedding dimension when first needed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "doc_vectors",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=False),
        sa.Column("ref_doc_id", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["doc_collections.id"],
            ondelete="CASCADE",
            name="fk_doc_vectors_collection_id_doc_collections",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_doc_vectors"),
        sa.UniqueConstraint(
            "collection_id", "node_id", name="uq_doc_vectors_collection_id_node_id"
        ),
    )
    op.create_index(
        "ix_doc_vectors_collection_id_ref_doc_id", "doc_vectors", ["collection_id", "ref_doc_id"]
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_table("doc_vectors")
