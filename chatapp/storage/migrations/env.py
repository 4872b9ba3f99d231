"""Alembic's entry point, run by :func:`chatapp.storage.migrations.upgrade` (and the
``python -m chatapp.storage.migrations`` commands) on a connection they have already opened,
locked and begun a transaction on."""

from __future__ import annotations

from alembic import context

from chatapp.storage.db import Base, import_feature_modules

import_feature_modules()

connection = context.config.attributes["connection"]
models = [Base.metadata]
if connection.dialect.name == "postgresql":
    from chatapp.storage.vectors import POSTGRES_METADATA

    models.append(POSTGRES_METADATA)
context.configure(
    connection=connection,
    target_metadata=models,
    render_as_batch=True,  # SQLite cannot ALTER most things: Alembic copies the table instead
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
