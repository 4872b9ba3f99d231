"""Conversations and their messages: create, rename, delete, search, and the reply lifecycle.

An assistant message is written as soon as a reply starts (status ``streaming``), saved again
as text arrives, and finished as ``complete``, ``stopped`` or ``error`` with its metrics, so a
refresh, a second tab or a restart shows what happened. Functions return plain snapshots
(:class:`ConversationInfo`, :class:`MessageInfo`); no caller holds a database session.

Every function takes the current user's id as ``owner`` and only ever reads or changes that
user's conversations: another user's conversation id behaves exactly like a missing one.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from sqlalchemy import Engine

from chatapp.services import avatars, chat, user_errors
from chatapp.services.chat import ReplyMetrics
from chatapp.services.personas import PersonaInfo
from chatapp.storage import conversations as store
from chatapp.storage.db import session_scope

TITLE_MAX = 60
DEFAULT_TITLE = "New chat"
#: Who writes answers in this process: host, process id and a token unique to this start.
WRITER = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
#: A streaming answer from another host (or an unknown process) whose row has not been
#: touched for this long is taken as interrupted. Writers touch their row while waiting.
STALE_WRITER_S = 600


class ConversationError(ValueError):
    """A conversation operation that cannot be done; the message says what to do."""


@dataclass(frozen=True)
class ConversationInfo:
    """A conversation header: title, persona (snapshot) and when it last changed."""

    id: int
    title: str
    persona_id: int | None
    persona_name: str
    persona_avatar: str
    system_prompt: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MessageInfo:
    """One stored message, with the metrics and target of an answer."""

    id: int
    role: str
    content: str
    reasoning: str
    status: str
    error: str | None
    metrics: dict[str, Any] | None
    target: dict[str, Any] | None
    updated_at: datetime
    #: The persona an answer was made with; None for questions and for answers stored
    #: before personas were recorded per answer (they belong to the conversation's).
    persona_name: str | None = None
    persona_avatar: str | None = None
    system_prompt: str | None = None

    @property
    def reply_metrics(self) -> ReplyMetrics | None:
        return ReplyMetrics.from_dict(self.metrics) if self.metrics else None

    @property
    def persona_key(self) -> tuple[str, str, str] | None:
        """(name, avatar, system prompt) of an answer's persona, when it was recorded."""
        if self.persona_name is None:
            return None
        return (
            self.persona_name,
            self.persona_avatar or avatars.DEFAULT_AVATAR,
            self.system_prompt or "",
        )


def _conversation_info(row: store.Conversation) -> ConversationInfo:
    persona = row.persona
    return ConversationInfo(
        id=row.id,
        title=row.title,
        persona_id=row.persona_id,
        # a live persona wins (edits apply), the snapshot covers a deleted one
        persona_name=persona.name if persona else row.persona_name,
        persona_avatar=avatars.safe_value(persona.avatar if persona else row.persona_avatar),
        system_prompt=persona.system_prompt if persona else row.system_prompt,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _message_info(row: store.Message) -> MessageInfo:
    return MessageInfo(
        id=row.id,
        role=row.role,
        content=row.content,
        reasoning=row.reasoning,
        status=row.status,
        error=row.error,
        metrics=row.metrics,
        target=row.target,
        updated_at=row.updated_at,
        persona_name=row.persona_name,
        persona_avatar=None
        if row.persona_avatar is None
        else avatars.safe_value(row.persona_avatar),
        system_prompt=row.system_prompt,
    )


def default_title(question: str) -> str:
    """A title from the first question: its first line, whitespace collapsed, shortened."""
    line = next((ln for ln in question.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"\s+", " ", line).strip()
    if not line:
        return DEFAULT_TITLE
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 1].rstrip() + "…"


# --- conversations -------------------------------------------------------------------------


def create_conversation(
    engine: Engine, persona: PersonaInfo | None, *, owner: str
) -> ConversationInfo:
    """Start an empty conversation of ``owner`` with ``persona`` (a built-in or one of theirs);
    its title comes from the first question."""
    with session_scope(engine) as session:
        row = store.add_conversation(
            session, owner=owner, title=DEFAULT_TITLE, title_is_default=True
        )
        _apply_persona(session, row, persona)
        session.flush()
        return _conversation_info(row)


def _apply_persona(session: Any, row: store.Conversation, persona: PersonaInfo | None) -> None:
    if persona is not None and store.get_persona(session, persona.id, row.owner) is None:
        raise ConversationError("That persona no longer exists; pick another one.")
    row.persona_id = persona.id if persona else None
    row.persona_name = persona.name if persona else ""
    row.persona_avatar = persona.avatar if persona else avatars.DEFAULT_AVATAR
    row.system_prompt = persona.system_prompt if persona else ""


def set_persona(
    engine: Engine, conversation_id: int, persona: PersonaInfo, *, owner: str
) -> ConversationInfo:
    """Switch a conversation's persona; the next request carries its system prompt."""
    with session_scope(engine) as session:
        row = _conversation(session, conversation_id, owner)
        _apply_persona(session, row, persona)
        session.flush()
        return _conversation_info(row)


def get_conversation(
    engine: Engine, conversation_id: int | None, *, owner: str
) -> ConversationInfo | None:
    """``owner``'s conversation, or None (no id, a missing one, or someone else's)."""
    if conversation_id is None:
        return None
    with session_scope(engine) as session:
        row = store.get_conversation(session, conversation_id, owner)
        return _conversation_info(row) if row else None


def list_conversations(engine: Engine, query: str = "", *, owner: str) -> list[ConversationInfo]:
    """``owner``'s conversations, newest first; ``query`` matches titles and message text,
    ignoring case."""
    with session_scope(engine) as session:
        return [_conversation_info(c) for c in store.list_conversations(session, owner, query)]


def rename_conversation(
    engine: Engine, conversation_id: int, title: str, *, owner: str
) -> ConversationInfo:
    clean = re.sub(r"\s+", " ", title or "").strip()
    if not clean:
        raise ConversationError("Type a title first; a conversation needs a name.")
    if len(clean) > 200:
        raise ConversationError("That title is too long; keep it under 200 characters.")
    with session_scope(engine) as session:
        row = _conversation(session, conversation_id, owner)
        row.title = clean
        row.title_is_default = False
        session.flush()
        return _conversation_info(row)


def delete_conversation(engine: Engine, conversation_id: int, *, owner: str) -> None:
    """Delete one of ``owner``'s conversations and all its messages (nothing otherwise)."""
    with session_scope(engine) as session:
        row = store.get_conversation(session, conversation_id, owner)
        if row is not None:
            session.delete(row)


def _conversation(session: Any, conversation_id: int, owner: str) -> store.Conversation:
    row = store.get_conversation(session, conversation_id, owner)
    if row is None:
        raise ConversationError("That conversation no longer exists; start a new one.")
    return row


# --- messages ------------------------------------------------------------------------------


def list_messages(engine: Engine, conversation_id: int, *, owner: str) -> list[MessageInfo]:
    """The messages of ``owner``'s conversation (none for a missing one or someone else's); an
    answer whose writer is gone is marked interrupted."""
    with session_scope(engine) as session:
        if store.get_conversation(session, conversation_id, owner) is None:
            return []
        rows = store.list_messages(session, conversation_id)
        for row in rows:
            if row.status == store.STATUS_STREAMING and not writer_alive(
                row.writer, row.updated_at
            ):
                row.status = store.STATUS_INTERRUPTED
        return [_message_info(m) for m in rows]


def add_user_message(engine: Engine, conversation_id: int, text: str, *, owner: str) -> MessageInfo:
    """Store a question; the first one names a conversation that still has its default title."""
    with session_scope(engine) as session:
        row = _conversation(session, conversation_id, owner)
        if row.title_is_default:
            row.title = default_title(text)
            row.title_is_default = False
        return _message_info(store.add_message(session, conversation_id, role="user", content=text))


def start_answer(
    engine: Engine, conversation_id: int, target: dict[str, Any], *, owner: str
) -> int:
    """Create the (empty, streaming) assistant message a reply is written into; its id.

    The answer keeps the conversation's persona as it is now (name, avatar, system prompt),
    so a later persona change applies to the next answer and leaves this one as it was.
    """
    with session_scope(engine) as session:
        persona = _conversation_info(_conversation(session, conversation_id, owner))
        row = store.add_message(
            session,
            conversation_id,
            role="assistant",
            content="",
            status=store.STATUS_STREAMING,
            target=target,
            writer=WRITER,
            persona_name=persona.persona_name,
            persona_avatar=persona.persona_avatar,
            system_prompt=persona.system_prompt,
        )
        return row.id


def touch_answer(engine: Engine, message_id: int, *, owner: str) -> None:
    """Mark a streaming answer as still being written (e.g. while waiting to retry)."""
    with session_scope(engine) as session:
        row = store.get_message(session, message_id, owner)
        if row is not None:
            row.updated_at = store.utcnow()


def writer_alive(
    writer: str | None, updated_at: datetime | None = None, *, now: datetime | None = None
) -> bool:
    """Whether the process that wrote ``writer`` (``host:pid:token``) may still be writing.

    This process: yes. Same host: yes while that process id runs and is not this process
    under an earlier start's token (containers reuse process ids). No writer (stored before
    writers were recorded): no. Another host: yes until the row has not been touched for
    :data:`STALE_WRITER_S`.
    """
    if writer is None:
        return False
    if writer == WRITER:
        return True
    host, _, rest = writer.partition(":")
    pid = rest.partition(":")[0]
    if host == WRITER.partition(":")[0] and pid.isdigit():
        return int(pid) != os.getpid() and _process_running(int(pid))
    moment = now or store.utcnow()
    return updated_at is not None and moment - updated_at < timedelta(seconds=STALE_WRITER_S)


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_RECOVERED: set[str] = set()


def recover_interrupted_once(engine: Engine) -> int:
    """:func:`recover_interrupted`, once per database in this process (at its start)."""
    key = str(engine.url)
    if key in _RECOVERED:
        return 0
    _RECOVERED.add(key)
    return recover_interrupted(engine)


def recover_interrupted(engine: Engine) -> int:
    """Mark every answer left ``streaming`` by a process that is gone; how many were."""
    with session_scope(engine) as session:
        return store.mark_dead_writers_interrupted(session, writer_alive)


def save_partial(engine: Engine, message_id: int, text: str, reasoning: str, *, owner: str) -> None:
    """Persist the answer so far, so a stop, a crash or a refresh loses nothing."""
    with session_scope(engine) as session:
        row = store.get_message(session, message_id, owner)
        if row is not None:
            row.content = text
            row.reasoning = reasoning


def finish_answer(
    engine: Engine,
    message_id: int,
    *,
    text: str,
    reasoning: str,
    status: str,
    metrics: dict[str, Any] | None = None,
    error: str | None = None,
    owner: str,
) -> None:
    """Write the final text, status (complete/stopped/error), metrics and error message."""
    with session_scope(engine) as session:
        row = store.get_message(session, message_id, owner)
        if row is None:
            return
        row.content = text
        row.reasoning = reasoning
        row.status = status
        row.metrics = metrics
        row.error = error


def settle_stopped_answer(
    engine: Engine,
    message_id: int,
    *,
    owner: str,
    timeout_s: float = 3.0,
    poll_s: float = 0.05,
    clock: Any = time.monotonic,
    sleep: Any = time.sleep,
) -> None:
    """After a Stop, wait for the interrupted run to finish the answer, else mark it stopped.

    Streamlit starts the next run at once while the interrupted one ends at its next
    ``st`` call (when the next token arrives), so the answer may still say ``streaming``.
    """
    deadline = clock() + timeout_s
    while True:
        with session_scope(engine) as session:
            row = store.get_message(session, message_id, owner)
            if row is None or row.status != store.STATUS_STREAMING:
                return
            if clock() >= deadline:
                row.status = store.STATUS_STOPPED
                return
        sleep(poll_s)


def drop_last_answer(engine: Engine, conversation_id: int, *, owner: str) -> bool:
    """Remove the trailing answer (for Regenerate/Retry); true when the last message is a question."""
    with session_scope(engine) as session:
        if store.get_conversation(session, conversation_id, owner) is None:
            return False
        rows = store.list_messages(session, conversation_id)
        while rows and rows[-1].role == "assistant":
            session.delete(rows.pop())
        return bool(rows) and rows[-1].role == "user"


def edit_last_question(
    engine: Engine, conversation_id: int, text: str, *, owner: str
) -> MessageInfo:
    """Replace the last question's text and remove the answer to it, ready to resend."""
    if not (text or "").strip():
        raise ConversationError("The question is empty; type something to send.")
    with session_scope(engine) as session:
        _conversation(session, conversation_id, owner)
        rows = store.list_messages(session, conversation_id)
        while rows and rows[-1].role == "assistant":
            session.delete(rows.pop())
        if not rows:
            raise ConversationError("There is no question to edit yet.")
        rows[-1].content = text
        session.flush()
        return _message_info(rows[-1])


def request_history(messages: list[MessageInfo]) -> list[ChatMessage]:
    """The conversation as LlamaIndex messages, without answers that produced no text."""
    history: list[ChatMessage] = []
    for message in messages:
        if message.role == "user":
            history.append(ChatMessage(role=MessageRole.USER, content=message.content))
        elif message.role == "assistant" and message.content.strip():
            history.append(ChatMessage(role=MessageRole.ASSISTANT, content=message.content))
    return history


def describe_failure(exc: BaseException) -> str:
    """The message stored with a failed answer; says when retries stopped at the wait cap."""
    text = user_errors.describe(exc)
    waited = getattr(exc, "gave_up_after_s", None)
    if waited is not None:
        text += (
            f" The app stopped retrying after waiting {waited:g} s in all, the most it "
            "waits for one answer."
        )
    return text


class AnswerRecorder:
    """Writes a streaming answer to the database as it arrives, and finishes it exactly once.

    Feed it every event of :func:`chatapp.services.chat.stream_reply`; it reads the reply so
    far from each delta (it adds nothing up itself). The text so far is saved every
    ``save_every_s`` seconds; :meth:`close` (call it in a ``finally``) finishes an answer that
    got no final event as ``stopped``, keeping the partial text.
    """

    def __init__(
        self,
        engine: Engine,
        message_id: int,
        *,
        owner: str,
        extra_metrics: dict[str, Any] | None = None,
        tokens_in_estimate: int = 0,
        clock: Any = None,
        save_every_s: float = 0.5,
    ) -> None:
        self.engine = engine
        self.message_id = message_id
        self.owner = owner
        self.extra = dict(extra_metrics or {})
        self.tokens_in_estimate = tokens_in_estimate
        self.clock = clock or time.monotonic
        self.save_every_s = save_every_s
        self.finished = False
        self.progress = chat.ReplyProgress.starting(self.clock)
        self._last_save = self.progress.started_at

    def record(self, event: Any) -> None:
        """Take one stream event: keep the reply so far, finish on done or error."""
        if isinstance(event, (chat.AnswerDelta, chat.ReasoningDelta)):
            self._take_delta(event.so_far)
        elif isinstance(event, chat.ReplyDone):
            self._finish(
                event.text, event.reasoning, store.STATUS_COMPLETE, event.metrics.to_dict()
            )
        elif isinstance(event, chat.ReplyError):
            self._finish(
                event.partial_text,
                event.reasoning,
                store.STATUS_ERROR,
                event.metrics.to_dict(),
                describe_failure(event.error),
            )

    def fail(self, exc: BaseException) -> None:
        """Finish as an error raised before streaming could start (e.g. no API key)."""
        self._finish(
            self.progress.text,
            self.progress.reasoning,
            store.STATUS_ERROR,
            None,
            describe_failure(exc),
        )

    def close(self) -> None:
        """Finish as ``stopped`` unless already finished (the consumer stopped early)."""
        if not self.finished:
            metrics = self.progress.stopped_metrics(self.tokens_in_estimate)
            so_far = self.progress
            self._finish(so_far.text, so_far.reasoning, store.STATUS_STOPPED, metrics.to_dict())

    def _take_delta(self, so_far: chat.ReplyProgress) -> None:
        self.progress = so_far
        now = self.clock()
        if now - self._last_save >= self.save_every_s:
            save_partial(
                self.engine, self.message_id, so_far.text, so_far.reasoning, owner=self.owner
            )
            self._last_save = now

    def _finish(
        self,
        text: str,
        reasoning: str,
        status: str,
        metrics: dict[str, Any] | None,
        error: str | None = None,
    ) -> None:
        if self.finished:
            return
        self.finished = True
        self.progress = replace(self.progress, text=text, reasoning=reasoning)
        if metrics is not None:
            metrics = {**metrics, **self.extra}
        finish_answer(
            self.engine,
            self.message_id,
            text=text,
            reasoning=reasoning,
            status=status,
            metrics=metrics,
            error=error,
            owner=self.owner,
        )
