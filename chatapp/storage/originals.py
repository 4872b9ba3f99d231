"""The original bytes of indexed PDFs, in the database so every replica can show their pages.

One row per (collection, file hash); a citation opens its page by rendering it from these
bytes. Rows go with their file (:func:`delete`) or collection (:func:`delete_for_collection`,
and the foreign key cascades). Callers check the collection's owner first.
"""

from __future__ import annotations

from sqlalchemy import Delete, ForeignKey, LargeBinary, String, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Mapped, Session, mapped_column

from chatapp.storage.db import Base
from chatapp.storage.documents import Collection

__all__ = ["DocOriginal", "delete", "delete_for_collection", "load", "save"]


class DocOriginal(Base):
    """The bytes of one indexed PDF of a collection."""

    __tablename__ = "doc_originals"

    collection_id: Mapped[str] = mapped_column(
        ForeignKey(Collection.id, ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


def save(session: Session, collection_id: str, sha256: str, data: bytes) -> None:
    """Keep (or replace) a file's original bytes."""
    row = session.get(DocOriginal, (collection_id, sha256))
    if row is None:
        session.add(DocOriginal(collection_id=collection_id, sha256=sha256, content=data))
    else:
        row.content = data


def load(session: Session, collection_id: str, sha256: str) -> bytes | None:
    """A file's original bytes (None when none is kept)."""
    return session.scalar(
        select(DocOriginal.content).where(
            DocOriginal.collection_id == collection_id, DocOriginal.sha256 == sha256
        )
    )


def delete(session: Session, collection_id: str, sha256: str) -> None:
    """Forget one file's original (nothing happens when there is none)."""
    session.execute(delete_statement(collection_id).where(DocOriginal.sha256 == sha256))


def delete_for_collection(session: Session, collection_id: str) -> None:
    """Forget every original of a collection."""
    session.execute(delete_statement(collection_id))


def delete_statement(collection_id: str) -> Delete:
    return sql_delete(DocOriginal).where(DocOriginal.collection_id == collection_id)
