"""Indexed PDFs' original bytes in the database (``doc_originals``), for every replica.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The citation viewer renders a cited page from these bytes. Originals an older version kept
under ``<data_dir>/originals/`` are moved in by the app when first needed or at start, not
here (they live in the data directory, not the database).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "doc_originals",
        sa.Column("collection_id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["doc_collections.id"],
            name="fk_doc_originals_collection_id_doc_collections",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", "sha256", name="pk_doc_originals"),
    )


def downgrade() -> None:
    op.drop_table("doc_originals")
