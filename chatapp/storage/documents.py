"""Document collections, their files and their Q&A history (tables + repository).

A collection's ``id`` is a random hex string, never reused, so that its index directory
(``<data_dir>/indexes/<id>``) and any cached index can never be confused with a collection
created later. A file is identified inside a collection by the SHA-256 of its content.
Vectors live in the collection's vector store, not here.

A collection carries its ``owner`` (a user id, see :mod:`chatapp.users`); its files and
questions belong to it. Lookups take the owner and treat another owner's collection exactly
like a missing one; names are unique per owner.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from chatapp.storage.conversations import OWNER_LENGTH
from chatapp.storage.db import Base


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Collection(Base):
    """A named set of indexed files sharing one embedding model and chunking."""

    __tablename__ = "doc_collections"
    __table_args__ = (UniqueConstraint("owner", "name"),)  # names are unique per owner

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid.uuid4().hex)
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    name: Mapped[str] = mapped_column(String(200))
    embed_kind: Mapped[str] = mapped_column(String(20), default="local")
    embed_model: Mapped[str] = mapped_column(String(300))
    chunk_size: Mapped[int] = mapped_column(Integer, default=512)
    chunk_overlap: Mapped[int] = mapped_column(Integer, default=64)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DocumentFile(Base):
    """One indexed file of a collection (only files that indexed successfully are stored)."""

    __tablename__ = "doc_files"
    __table_args__ = (UniqueConstraint("collection_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("doc_collections.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(500))
    file_type: Mapped[str] = mapped_column(String(20))
    size_bytes: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    warning: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


class DocumentQuestion(Base):
    """One question asked of a collection, its answer, sources and timings."""

    __tablename__ = "doc_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[str] = mapped_column(
        ForeignKey("doc_collections.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    standalone_question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    retrieval_s: Mapped[float] = mapped_column(Float, default=0.0)
    generation_s: Mapped[float] = mapped_column(Float, default=0.0)
    model: Mapped[str] = mapped_column(String(300), default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


# --- repository ---------------------------------------------------------------------------


def list_collections(session: Session, owner: str) -> list[Collection]:
    """``owner``'s collections, by name."""
    query = select(Collection).where(Collection.owner == owner).order_by(Collection.name)
    return list(session.scalars(query))


def get_collection(session: Session, collection_id: str, owner: str) -> Collection | None:
    """``owner``'s collection with this id; None for a missing one or someone else's."""
    query = select(Collection).where(Collection.id == collection_id, Collection.owner == owner)
    return session.scalars(query).first()


def find_collection_by_name(session: Session, name: str, owner: str) -> Collection | None:
    """``owner``'s collection with this exact name, or None."""
    query = select(Collection).where(Collection.name == name, Collection.owner == owner)
    return session.scalars(query).first()


def add_collection(session: Session, **fields: Any) -> Collection:
    """Insert a collection and return it (with its new id)."""
    row = Collection(**fields)
    session.add(row)
    session.flush()
    return row


def delete_collection(session: Session, collection_id: str) -> None:
    """Delete a collection with its files and questions (the caller checked its owner)."""
    for model in (DocumentQuestion, DocumentFile):
        for row in session.scalars(select(model).where(model.collection_id == collection_id)):
            session.delete(row)
    collection = session.get(Collection, collection_id)
    if collection is not None:
        session.delete(collection)


def list_files(session: Session, collection_id: str) -> list[DocumentFile]:
    """The files of a collection, oldest first."""
    query = select(DocumentFile).where(DocumentFile.collection_id == collection_id)
    return list(session.scalars(query.order_by(DocumentFile.id)))


def find_file(session: Session, collection_id: str, sha256: str) -> DocumentFile | None:
    """The file with this content hash in this collection, or None."""
    query = select(DocumentFile).where(
        DocumentFile.collection_id == collection_id, DocumentFile.sha256 == sha256
    )
    return session.scalars(query).first()


def add_file(session: Session, **fields: Any) -> DocumentFile:
    """Insert a file record and return it."""
    row = DocumentFile(**fields)
    session.add(row)
    session.flush()
    return row


def delete_file(session: Session, collection_id: str, sha256: str) -> None:
    """Delete the file record with this hash (its vectors are the caller's job)."""
    row = find_file(session, collection_id, sha256)
    if row is not None:
        session.delete(row)


def list_questions(
    session: Session, collection_id: str, limit: int = 200
) -> list[DocumentQuestion]:
    """The latest ``limit`` questions of a collection, oldest first."""
    query = (
        select(DocumentQuestion)
        .where(DocumentQuestion.collection_id == collection_id)
        .order_by(DocumentQuestion.id.desc())
        .limit(limit)
    )
    return list(reversed(list(session.scalars(query))))


def add_question(session: Session, **fields: Any) -> DocumentQuestion:
    """Insert a question record and return it."""
    row = DocumentQuestion(**fields)
    session.add(row)
    session.flush()
    return row


def clear_questions(session: Session, collection_id: str) -> None:
    """Delete a collection's Q&A history."""
    for row in session.scalars(
        select(DocumentQuestion).where(DocumentQuestion.collection_id == collection_id)
    ):
        session.delete(row)
