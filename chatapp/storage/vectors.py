"""Document vectors in PostgreSQL (pgvector): the table behind
:class:`chatapp.services.pg_vector_store.PgVectorStore`.

Only on PostgreSQL (revision ``0004`` creates it there; SQLite keeps vectors in the NumPy store
in the data directory). One table holds every collection's chunks: a row per node with its
payload (the node as LlamaIndex serialises it), the file it came from (``ref_doc_id``, the
file's SHA-256) and its unit-length embedding. ``collection_id`` references the collection
with ``ON DELETE CASCADE``, so deleting a collection (or everything a user owns) deletes its
vectors in the same transaction.

The column type is ``vector`` without a fixed dimension, because collections choose their
embedding model; ``dim`` records each row's dimension. An HNSW index (cosine) is built per
dimension in use, on the expression ``embedding::vector(<dim>)`` restricted to ``dim = <dim>``
(pgvector's way to index a column of mixed dimensions), when the first vector of that
dimension is stored (:func:`ensure_hnsw_index`).
"""

from __future__ import annotations

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from chatapp.storage.db import NAMING_CONVENTION
from chatapp.storage.documents import Collection

#: Tables that exist only on PostgreSQL (kept out of ``Base.metadata``, which SQLite gets).
POSTGRES_METADATA = MetaData(naming_convention=NAMING_CONVENTION)

doc_vectors = Table(
    "doc_vectors",
    POSTGRES_METADATA,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "collection_id",
        String(32),  # a column object: the table is in Base.metadata
        ForeignKey(Collection.__table__.c.id, ondelete="CASCADE"),
        nullable=False,
    ),
    Column("node_id", String(200), nullable=False),
    Column("ref_doc_id", String(200), nullable=True),
    Column("payload", Text, nullable=False),
    Column("dim", Integer, nullable=False),
    Column("embedding", Vector(), nullable=False),
    UniqueConstraint("collection_id", "node_id"),
    Index("ix_doc_vectors_collection_id_ref_doc_id", "collection_id", "ref_doc_id"),
)

#: Serialises index builds between processes (two replicas storing the first vectors of a
#: new dimension at once).
INDEX_LOCK_KEY = 0x62617365_74656F


def hnsw_index_name(dim: int) -> str:
    return f"ix_doc_vectors_hnsw_{int(dim)}"


def ensure_hnsw_index(connection: Connection, dim: int) -> None:
    """Create the cosine HNSW index for vectors of ``dim`` dimensions, if missing."""
    dim = int(dim)
    exists = text("SELECT 1 FROM pg_indexes WHERE tablename = 'doc_vectors' AND indexname = :n")
    if connection.execute(exists, {"n": hnsw_index_name(dim)}).first() is not None:
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INDEX_LOCK_KEY})
    connection.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(dim)} ON doc_vectors "
            f"USING hnsw ((embedding::vector({dim})) vector_cosine_ops) WHERE dim = {dim}"
        )
    )
