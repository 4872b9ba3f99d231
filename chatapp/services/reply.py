"""A question and the next answer in a conversation, as the use case the chat page runs and
only draws.

:func:`add_question` stores what the person asked (starting a conversation when none is open).

:func:`begin_reply` writes the answer's row (status ``streaming``, with the target that makes
it) and gathers what the request is made of: the conversation's persona and its default
temperature (:meth:`~chatapp.targets.GenerationSettings.with_persona_default`), and the stored
history, with the images a question carried when the target takes images. It returns a
:class:`ReplyPlan`. :meth:`ReplyPlan.stream` then fits the history to the model's context
window (oldest turns first; :attr:`ReplyStream.dropped` says how many) and streams the answer
(:func:`chatapp.services.chat.stream_reply`), each event recorded before it is handed on. When
the client cannot even be built (no API key ...), :meth:`ReplyPlan.fail` stores the failure
and returns the words to show. Everything is read and written as ``owner``'s (the current user),
so another user's conversation cannot be answered into.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from sqlalchemy import Engine

from chatapp.services import (
    avatars,
    chat,
    chat_images,
    personas,
    session_affinity,
    user_errors,
)
from chatapp.services import conversations as convs
from chatapp.services.chat_images import ChatImage
from chatapp.services.conversations import AnswerRecorder, ConversationInfo
from chatapp.targets import GenerationSettings, Target

DEMO_LABEL = "offline demo"


@dataclass(frozen=True)
class ReplyPlan:
    """An answer that has begun: its row exists, and what the request is made of is known."""

    engine: Engine
    conversation: ConversationInfo
    #: The user the conversation belongs to.
    owner: str
    message_id: int
    target: Target
    #: The sidebar's settings with the persona's default temperature applied.
    generation: GenerationSettings
    history: list[ChatMessage]
    #: The persona's avatar as a chat bubble shows it (an emoji, or the stored image).
    avatar: str | bytes

    def fail(self, exc: BaseException) -> str:
        """Store a failure that came before any request (e.g. no API key); the words to show."""
        AnswerRecorder(self.engine, self.message_id, owner=self.owner).fail(exc)
        return user_errors.describe(exc)

    def stream(self, llm: Any) -> ReplyStream:
        """Fit the history to ``llm``'s context window and start streaming the answer."""
        window = context_window(llm)
        fitted = chat.fit_to_context(
            self.conversation.system_prompt, self.history, window, self.generation.max_tokens
        )
        recorder = AnswerRecorder(
            self.engine,
            self.message_id,
            owner=self.owner,
            extra_metrics={"context_dropped": fitted.dropped} if fitted.dropped else None,
            tokens_in_estimate=chat.estimate_message_tokens(fitted.messages),
        )
        affinity = session_affinity.headers_for(self.conversation.id)
        events = chat.stream_reply(llm, fitted.messages, extra_headers=affinity)
        return ReplyStream(fitted.dropped, recorder, events)


class ReplyStream:
    """The answer's events (:data:`chatapp.services.chat.StreamEvent`), each stored as it
    passes. :meth:`close` (call it in a ``finally``) ends the request and, when no final event
    came (the person pressed Stop), finishes the answer as ``stopped`` with its partial text.
    """

    def __init__(
        self,
        dropped: int,
        recorder: AnswerRecorder,
        events: Generator[chat.StreamEvent, None, None],
    ) -> None:
        #: How many earlier messages were left out to fit the context window.
        self.dropped = dropped
        self.recorder = recorder
        self._events = events

    @property
    def message_id(self) -> int:
        return self.recorder.message_id

    def __iter__(self) -> Iterator[chat.StreamEvent]:
        for event in self._events:
            self.recorder.record(event)
            yield event

    def close(self) -> None:
        self._events.close()
        self.recorder.close()


def add_question(
    engine: Engine,
    conversation: ConversationInfo | None,
    text: str,
    images: Sequence[ChatImage] = (),
    *,
    owner: str,
    persona_id: int | None = None,
) -> ConversationInfo:
    """Store a question and the images it carries; the conversation it went to.

    With no ``conversation``, a new one of ``owner``'s starts with persona ``persona_id`` (the
    default persona when none is chosen, or it is not one ``owner`` may use); its first
    question names it.
    """
    if conversation is None:
        persona = personas.get_persona(engine, persona_id, owner=owner) or personas.default_persona(
            engine
        )
        conversation = convs.create_conversation(engine, persona, owner=owner)
    question = convs.add_user_message(engine, conversation.id, text, owner=owner)
    chat_images.save_images(engine, question.id, images, owner=owner)
    return conversation


def begin_reply(
    engine: Engine,
    conversation: ConversationInfo,
    *,
    target: Target,
    generation: GenerationSettings,
    send_images: bool,
    owner: str,
    demo: bool = False,
) -> ReplyPlan:
    """Start the next answer in ``conversation`` from ``target`` (see the module docstring).

    ``send_images``: the target takes images, so questions go with the images they carried.
    ``demo``: the offline demo answers, which the stored target says.
    """
    persona = personas.get_persona(engine, conversation.persona_id, owner=owner)
    settings = generation.with_persona_default(persona.temperature if persona else None)
    stored = convs.list_messages(engine, conversation.id, owner=owner)
    attached = chat_images.images_by_message(
        engine, [m.id for m in stored if m.role == "user"], owner=owner
    )
    history = chat_images.request_history(stored, attached, send_images=send_images)
    record: dict[str, Any] = {**target.to_dict(), "label": target.label}
    if demo:
        record.update(label=f"{target.label} · {DEMO_LABEL}", demo=True)
    message_id = convs.start_answer(engine, conversation.id, record, owner=owner)
    avatar = avatars.for_display(engine, conversation.persona_avatar)
    return ReplyPlan(engine, conversation, owner, message_id, target, settings, history, avatar)


def context_window(llm: Any) -> int | None:
    """The model's context window; None (a safe default applies) if it cannot be learned."""
    try:
        return int(llm.metadata.context_window)
    except Exception:  # noqa: BLE001 - the request itself will report a real problem
        return None
