"""Baseline: the schema as the app created it with ``create_all`` until 2026-12.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

A database made by an older version has no ``alembic_version`` table but may already hold
some of these tables (made by ``create_all``), and its ``chat_messages`` may lack the four
columns that the old ``upgrade_schema`` hook added at start. So this revision creates only
the tables that are missing and adds only the columns that are missing; on an empty database
it simply creates everything. Later revisions are ordinary: they run on a known schema.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Columns that databases made before 2026-12-01 lack (the old ``upgrade_schema`` list).
_LATE_MESSAGE_COLUMNS = (
    ("persona_name", sa.String(length=80)),
    ("persona_avatar", sa.String(length=16)),
    ("system_prompt", sa.Text()),
    ("writer", sa.String(length=120)),
)


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, columns, indexes in _tables():
        if name not in existing:
            op.create_table(name, *columns)
            for column, unique in indexes:
                op.create_index(f"ix_{name}_{column}", name, [column], unique=unique)
    if "chat_messages" in existing:
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("chat_messages")}
        for column, sql_type in _LATE_MESSAGE_COLUMNS:
            if column not in present:
                op.add_column("chat_messages", sa.Column(column, sql_type, nullable=True))


def downgrade() -> None:
    for name, _columns, _indexes in reversed(_tables()):
        op.drop_table(name)


def _tables() -> list[tuple[str, list[sa.SchemaItem], list[tuple[str, bool]]]]:
    """Each table (parents before children): its columns and constraints, and its indexes."""
    return [
        (
            "chat_avatar_images",
            [
                sa.Column("token", sa.String(length=16), nullable=False),
                sa.Column("png", sa.LargeBinary(), nullable=False),
                sa.Column("created_at", sa.DateTime(), nullable=False),
                sa.PrimaryKeyConstraint("token", name="pk_chat_avatar_images"),
            ],
            [],
        ),
        (
            "chat_personas",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("name", sa.String(length=80), nullable=False),
                sa.Column("avatar", sa.String(length=16), nullable=False),
                sa.Column("system_prompt", sa.Text(), nullable=False),
                sa.Column("temperature", sa.Float(), nullable=True),
                sa.Column("builtin_key", sa.String(length=40), nullable=True),
                sa.Column("created_at", sa.DateTime(), nullable=False),
                sa.Column("updated_at", sa.DateTime(), nullable=False),
                sa.PrimaryKeyConstraint("id", name="pk_chat_personas"),
                sa.UniqueConstraint("builtin_key", name="uq_chat_personas_builtin_key"),
            ],
            [],
        ),
        (
            "doc_collections",
            [
                sa.Column("id", sa.String(length=32), nullable=False),
                sa.Column("name", sa.String(length=200), nullable=False),
                sa.Column("embed_kind", sa.String(length=20), nullable=False),
                sa.Column("embed_model", sa.String(length=300), nullable=False),
                sa.Column("chunk_size", sa.Integer(), nullable=False),
                sa.Column("chunk_overlap", sa.Integer(), nullable=False),
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                sa.PrimaryKeyConstraint("id", name="pk_doc_collections"),
                sa.UniqueConstraint("name", name="uq_doc_collections_name"),
            ],
            [],
        ),
        (
            "jobs",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("request_id", sa.String(length=64), nullable=False),
                sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("target_label", sa.String(length=300), nullable=False),
                sa.Column("target_json", sa.Text(), nullable=False),
                sa.Column("model_input_json", sa.Text(), nullable=False),
                sa.Column("webhook_endpoint", sa.String(length=2000), nullable=True),
                sa.Column("priority", sa.Integer(), nullable=False),
                sa.Column("max_time_in_queue_s", sa.Integer(), nullable=False),
                sa.Column("retry_config_json", sa.Text(), nullable=True),
                sa.Column("batch_name", sa.String(length=300), nullable=True),
                sa.Column("status", sa.String(length=32), nullable=False),
                sa.Column("webhook_status", sa.String(length=32), nullable=False),
                sa.Column("status_checked_at", sa.DateTime(timezone=True), nullable=True),
                sa.Column("status_note", sa.Text(), nullable=True),
                sa.PrimaryKeyConstraint("id", name="pk_jobs"),
            ],
            [("request_id", True)],
        ),
        (
            "webhook_results",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("request_id", sa.String(length=64), nullable=False),
                sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
                sa.Column("model_id", sa.String(length=200), nullable=True),
                sa.Column("deployment_id", sa.String(length=200), nullable=True),
                sa.Column("sent_time", sa.String(length=64), nullable=True),
                sa.Column("data_json", sa.Text(), nullable=False),
                sa.Column("errors_json", sa.Text(), nullable=False),
                sa.Column("signed", sa.Integer(), nullable=False),
                sa.Column("raw_body", sa.Text(), nullable=False),
                sa.PrimaryKeyConstraint("id", name="pk_webhook_results"),
            ],
            [("request_id", True)],
        ),
        (
            "chat_conversations",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("title", sa.String(length=200), nullable=False),
                sa.Column("title_is_default", sa.Boolean(), nullable=False),
                sa.Column("persona_id", sa.Integer(), nullable=True),
                sa.Column("persona_name", sa.String(length=80), nullable=False),
                sa.Column("persona_avatar", sa.String(length=16), nullable=False),
                sa.Column("system_prompt", sa.Text(), nullable=False),
                sa.Column("created_at", sa.DateTime(), nullable=False),
                sa.Column("updated_at", sa.DateTime(), nullable=False),
                sa.ForeignKeyConstraint(
                    ["persona_id"],
                    ["chat_personas.id"],
                    ondelete="SET NULL",
                    name="fk_chat_conversations_persona_id_chat_personas",
                ),
                sa.PrimaryKeyConstraint("id", name="pk_chat_conversations"),
            ],
            [],
        ),
        (
            "doc_files",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("collection_id", sa.String(length=32), nullable=False),
                sa.Column("sha256", sa.String(length=64), nullable=False),
                sa.Column("filename", sa.String(length=500), nullable=False),
                sa.Column("file_type", sa.String(length=20), nullable=False),
                sa.Column("size_bytes", sa.Integer(), nullable=False),
                sa.Column("pages", sa.Integer(), nullable=False),
                sa.Column("chunks", sa.Integer(), nullable=False),
                sa.Column("warning", sa.Text(), nullable=True),
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                sa.ForeignKeyConstraint(
                    ["collection_id"],
                    ["doc_collections.id"],
                    ondelete="CASCADE",
                    name="fk_doc_files_collection_id_doc_collections",
                ),
                sa.PrimaryKeyConstraint("id", name="pk_doc_files"),
                sa.UniqueConstraint(
                    "collection_id", "sha256", name="uq_doc_files_collection_id_sha256"
                ),
            ],
            [("collection_id", False)],
        ),
        (
            "doc_questions",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("collection_id", sa.String(length=32), nullable=False),
                sa.Column("question", sa.Text(), nullable=False),
                sa.Column("standalone_question", sa.Text(), nullable=False),
                sa.Column("answer", sa.Text(), nullable=False),
                sa.Column("sources", sa.JSON(), nullable=False),
                sa.Column("retrieval_s", sa.Float(), nullable=False),
                sa.Column("generation_s", sa.Float(), nullable=False),
                sa.Column("model", sa.String(length=300), nullable=False),
                sa.Column("error", sa.Text(), nullable=True),
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                sa.ForeignKeyConstraint(
                    ["collection_id"],
                    ["doc_collections.id"],
                    ondelete="CASCADE",
                    name="fk_doc_questions_collection_id_doc_collections",
                ),
                sa.PrimaryKeyConstraint("id", name="pk_doc_questions"),
            ],
            [("collection_id", False)],
        ),
        (
            "chat_messages",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("conversation_id", sa.Integer(), nullable=False),
                sa.Column("position", sa.Integer(), nullable=False),
                sa.Column("role", sa.String(length=16), nullable=False),
                sa.Column("content", sa.Text(), nullable=False),
                sa.Column("reasoning", sa.Text(), nullable=False),
                sa.Column("status", sa.String(length=16), nullable=False),
                sa.Column("error", sa.Text(), nullable=True),
                sa.Column("metrics", sa.JSON(), nullable=True),
                sa.Column("target", sa.JSON(), nullable=True),
                sa.Column("created_at", sa.DateTime(), nullable=False),
                sa.Column("updated_at", sa.DateTime(), nullable=False),
                sa.Column("persona_name", sa.String(length=80), nullable=True),
                sa.Column("persona_avatar", sa.String(length=16), nullable=True),
                sa.Column("system_prompt", sa.Text(), nullable=True),
                sa.Column("writer", sa.String(length=120), nullable=True),
                sa.ForeignKeyConstraint(
                    ["conversation_id"],
                    ["chat_conversations.id"],
                    ondelete="CASCADE",
                    name="fk_chat_messages_conversation_id_chat_conversations",
                ),
                sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
            ],
            [("conversation_id", False)],
        ),
        (
            "chat_message_images",
            [
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("message_id", sa.Integer(), nullable=False),
                sa.Column("position", sa.Integer(), nullable=False),
                sa.Column("name", sa.String(length=255), nullable=False),
                sa.Column("mime", sa.String(length=32), nullable=False),
                sa.Column("width", sa.Integer(), nullable=False),
                sa.Column("height", sa.Integer(), nullable=False),
                sa.Column("data", sa.LargeBinary(), nullable=False),
                sa.Column("created_at", sa.DateTime(), nullable=False),
                sa.ForeignKeyConstraint(
                    ["message_id"],
                    ["chat_messages.id"],
                    ondelete="CASCADE",
                    name="fk_chat_message_images_message_id_chat_messages",
                ),
                sa.PrimaryKeyConstraint("id", name="pk_chat_message_images"),
            ],
            [("message_id", False)],
        ),
    ]
