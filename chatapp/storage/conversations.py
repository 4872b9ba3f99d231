"""Chat storage: personas, conversations and their messages (with each answer's metrics).

Tables are defined on :class:`chatapp.storage.db.Base`; the functions below are the only way
the chat services read and write them. Every function takes an open ``Session`` (see
``chatapp.storage.db.session_scope``) so that callers choose the transaction. The API key is
never a column here.

Schema changes are Alembic revisions (:mod:`chatapp.storage.migrations`), so that a database
written by an earlier version upgrades in place.

Every persona a person made and every conversation carries its ``owner`` (a user id, see
:mod:`chatapp.users`); messages belong to their conversation's owner. Built-in personas are
owned by nobody (:data:`~chatapp.users.NO_OWNER`) and shown to everyone. Functions that look
rows up take the owner and treat another owner's row exactly like a missing one.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from chatapp.storage.db import Base

#: Room for an owner id: an e-mail address, or an OpenID issuer and subject.
OWNER_LENGTH = 512

#: Message statuses: still arriving, finished, cut short by the user, or failed.
STATUS_STREAMING = "streaming"
STATUS_COMPLETE = "complete"
STATUS_STOPPED = "stopped"
STATUS_ERROR = "error"
#: Left ``streaming`` by a process that is gone (a crash, kill -9, a restart).
STATUS_INTERRUPTED = "interrupted"


def utcnow() -> datetime:
    """The current time in UTC (naive, as SQLite stores it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Persona(Base):
    """A named system prompt with an avatar and an optional default temperature."""

    __tablename__ = "chat_personas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Who made it; :data:`~chatapp.users.NO_OWNER` for the built-ins everyone shares.
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    name: Mapped[str] = mapped_column(String(80))
    avatar: Mapped[str] = mapped_column(String(16), default="🤖")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    builtin_key: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_builtin(self) -> bool:
        """Built-in personas ship with the app: they can be duplicated, not deleted."""
        return self.builtin_key is not None


class Conversation(Base):
    """A chat thread. ``system_prompt`` etc. snapshot the persona in case it is deleted."""

    __tablename__ = "chat_conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(OWNER_LENGTH), index=True)
    title: Mapped[str] = mapped_column(String(200), default="New chat")
    title_is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    persona_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_personas.id", ondelete="SET NULL"), nullable=True
    )
    persona_name: Mapped[str] = mapped_column(String(80), default="")
    persona_avatar: Mapped[str] = mapped_column(String(16), default="🤖")
    system_prompt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    persona: Mapped[Persona | None] = relationship(lazy="joined")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation",
        cascade="all, delete-orphan",
        order_by="Message.position",
        passive_deletes=True,
    )


class Message(Base):
    """One user question or assistant answer; answers carry metrics, target and status."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    reasoning: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=STATUS_COMPLETE)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    target: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    # The persona an answer was made with (None on questions, and on answers stored before
    # this was recorded: those show the conversation's persona).
    persona_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    persona_avatar: Mapped[str | None] = mapped_column(String(16), nullable=True)
    system_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Which process is writing a ``streaming`` answer: ``host:pid:token``.
    writer: Mapped[str | None] = mapped_column(String(120), nullable=True)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class AvatarImage(Base):
    """An uploaded avatar, re-encoded as a small PNG; ``token`` is the avatar value."""

    __tablename__ = "chat_avatar_images"

    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- personas ------------------------------------------------------------------------------


def _visible_persona(owner: str) -> Any:
    """Personas ``owner`` may see: the shared built-ins and their own."""
    return or_(Persona.builtin_key.is_not(None), Persona.owner == owner)


def list_personas(session: Session, owner: str) -> list[Persona]:
    """Built-ins first (in shipping order), then ``owner``'s own by name."""
    rows = session.scalars(select(Persona).where(_visible_persona(owner))).all()
    return sorted(
        rows, key=lambda p: (p.builtin_key is None, p.id if p.builtin_key else 0, p.name.lower())
    )


def get_persona(session: Session, persona_id: int, owner: str) -> Persona | None:
    """A built-in or one of ``owner``'s personas; None for a missing one or someone else's."""
    query = select(Persona).where(Persona.id == persona_id, _visible_persona(owner))
    return session.scalars(query).first()


def get_persona_by_builtin_key(session: Session, key: str) -> Persona | None:
    return session.scalars(select(Persona).where(Persona.builtin_key == key)).first()


def add_persona(session: Session, **fields: Any) -> Persona:
    """Insert a persona (``owner`` among the fields) and return it with its id."""
    persona = Persona(**fields)
    session.add(persona)
    session.flush()
    return persona


# --- conversations -------------------------------------------------------------------------


def add_conversation(session: Session, **fields: Any) -> Conversation:
    """Insert a conversation (``owner`` among the fields) and return it with its id."""
    conversation = Conversation(**fields)
    session.add(conversation)
    session.flush()
    return conversation


def get_conversation(session: Session, conversation_id: int, owner: str) -> Conversation | None:
    """``owner``'s conversation with this id; None for a missing one or someone else's."""
    query = select(Conversation).where(
        Conversation.id == conversation_id, Conversation.owner == owner
    )
    return session.scalars(query).unique().first()


def list_conversations(session: Session, owner: str, query: str = "") -> list[Conversation]:
    """``owner``'s conversations, newest first; ``query`` (case-insensitive) matches titles and
    message text."""
    stmt = (
        select(Conversation)
        .where(Conversation.owner == owner)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    needle = query.strip().lower()
    if needle:
        pattern = f"%{_escape_like(needle)}%"
        in_messages = (
            select(Message.conversation_id)
            .where(func.lower(Message.content).like(pattern, escape="\\"))
            .scalar_subquery()
        )
        stmt = stmt.where(
            or_(
                func.lower(Conversation.title).like(pattern, escape="\\"),
                Conversation.id.in_(in_messages),
            )
        )
    return list(session.scalars(stmt).unique().all())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- messages ------------------------------------------------------------------------------


def list_messages(session: Session, conversation_id: int) -> list[Message]:
    stmt = (
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.position)
    )
    return list(session.scalars(stmt).all())


def add_message(session: Session, conversation_id: int, **fields: Any) -> Message:
    """Append a message at the end of the conversation and touch the conversation."""
    last = session.scalar(
        select(func.max(Message.position)).where(Message.conversation_id == conversation_id)
    )
    message = Message(conversation_id=conversation_id, position=(last or 0) + 1, **fields)
    session.add(message)
    conversation = session.get(Conversation, conversation_id)
    if conversation is not None:
        conversation.updated_at = utcnow()
    session.flush()
    return message


def get_message(session: Session, message_id: int, owner: str) -> Message | None:
    """A message of one of ``owner``'s conversations; None for a missing one or another's."""
    query = (
        select(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Message.id == message_id, Conversation.owner == owner)
    )
    return session.scalars(query).first()


def mark_dead_writers_interrupted(session: Session, is_alive: Any) -> int:
    """Mark answers left ``streaming`` whose ``is_alive(writer, updated_at)`` is false."""
    rows = session.scalars(select(Message).where(Message.status == STATUS_STREAMING)).all()
    dead = [row.id for row in rows if not is_alive(row.writer, row.updated_at)]
    if dead:
        session.execute(
            update(Message).where(Message.id.in_(dead)).values(status=STATUS_INTERRUPTED)
        )
    return len(dead)


# --- avatar images ---------------------------------------------------------------------------


def put_avatar_image(session: Session, token: str, png: bytes) -> None:
    if session.get(AvatarImage, token) is None:
        session.add(AvatarImage(token=token, png=png))
        session.flush()


def get_avatar_image(session: Session, token: str) -> bytes | None:
    row = session.get(AvatarImage, token)
    return bytes(row.png) if row is not None else None
