"""Drawing chat messages: stored ones with their metrics, and a reply while it streams.

Model output and questions are untrusted Markdown: they go through
:func:`chatapp.ui.safe_text.safe_markdown`, so raw HTML shows as text and an image shows as
its alt text and address, never fetched. Names and titles go through ``plain_text``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from chatapp import resources, state
from chatapp.services import avatars, chat
from chatapp.services import reply as reply_service
from chatapp.services.chat_images import ChatImage
from chatapp.services.conversations import ConversationInfo, MessageInfo
from chatapp.services.export import metrics_line
from chatapp.services.reply import ReplyStream
from chatapp.ui import capabilities_ui, cost_ui
from chatapp.ui.retry_wait import RetryWait
from chatapp.ui.safe_text import plain_text, safe_markdown

#: Kept for callers written before :mod:`chatapp.ui.safe_text`; prefer ``safe_markdown``.
escape_html = safe_markdown

USER_AVATAR = "🧑"


def _status_note(message: MessageInfo) -> str | None:
    if message.status == "stopped":
        return "⏹️ Stopped before the end: the text above is what had arrived."
    if message.status == "interrupted":
        return (
            "⏹️ This answer was interrupted before it finished (the app stopped while "
            "writing it): the text above is what had arrived. Press Retry to ask again."
        )
    if message.status == "streaming":
        return "⏳ Still being written (in another tab or run); refresh to see more."
    return None


def avatar_image(value: str | None) -> str | bytes:
    """What a chat bubble shows for a stored avatar value: an emoji or the stored image."""
    return avatars.for_display(resources.get_engine(), value)


def render_stored(
    message: MessageInfo,
    assistant_avatar: str,
    *,
    persona_changed: bool = False,
    images: list[ChatImage] | None = None,
) -> None:
    """One stored message in a chat bubble: thinking, answer, images, status, error, metrics.

    An answer shows the avatar of the persona it was made with (``assistant_avatar``, the
    conversation's, for answers stored before that was recorded); ``persona_changed`` adds
    a line naming that persona, for the first answer after a change.
    """
    is_user = message.role == "user"
    avatar = USER_AVATAR if is_user else avatar_image(message.persona_avatar or assistant_avatar)
    with st.chat_message(message.role, avatar=avatar):
        if persona_changed and message.persona_name is not None:
            st.caption(
                f"Persona changed: answered as {avatars.text(message.persona_avatar)} "
                f"{plain_text(message.persona_name)}"
            )
        if message.reasoning:
            with st.expander("Thinking", expanded=False):
                st.markdown(safe_markdown(message.reasoning))
        if message.content:
            st.markdown(safe_markdown(message.content))
        render_images(images or [])
        if is_user:
            return
        note = _status_note(message)
        if note:
            st.caption(note)
        if message.error:
            st.error(message.error, icon="⚠️")
        render_metrics(message)


def render_metrics(message: MessageInfo) -> None:
    """The line under an answer: target, first-token time, tokens/s, tokens, total time."""
    summary = metrics_line(message.reply_metrics, message.target)
    dropped = (message.metrics or {}).get("context_dropped")
    if dropped:
        summary += f" · {dropped} earlier messages left out to fit the context window"
    cost = cost_ui.cost_line(message)
    if cost and summary:
        summary += f" · {cost}"
    if summary:
        st.caption(summary)


def render_images(images: list[ChatImage]) -> None:
    """Images the person attached: bytes the app stored, never a remote address."""
    for image in images:
        st.image(image.data, width=240)
        st.caption(plain_text(image.caption))


class StreamView:
    """The placeholders a streaming reply is drawn into: thinking above, answer below.

    It draws the reply so far that each event carries; it keeps no text of its own.
    """

    def __init__(self) -> None:
        self._thinking_slot = st.empty()
        self._answer_slot = st.empty()
        self._thinking_box: Any = None

    def show(self, event: chat.StreamEvent) -> None:
        """Draw one event: a delta redraws its placeholder with the reply so far."""
        if isinstance(event, chat.ReasoningDelta):
            if self._thinking_box is None:
                self._thinking_box = self._thinking_slot.expander("Thinking", expanded=False)
                self._thinking_box = self._thinking_box.empty()
            self._thinking_box.markdown(safe_markdown(event.so_far.reasoning))
        elif isinstance(event, chat.AnswerDelta):
            self._answer_slot.markdown(safe_markdown(event.so_far.text) + " ▌")
        elif isinstance(event, chat.ReplyDone):
            self._answer_slot.markdown(safe_markdown(event.text))
        elif isinstance(event, chat.ReplyError):
            self._answer_slot.markdown(safe_markdown(event.partial_text))


def _stop(message_id: int) -> None:
    """The Stop button's callback: the next run settles this answer (see the chat page)."""
    state.chat_page().stopping = message_id


def stream_into_page(reply: ReplyStream, stop_slot: Any) -> None:
    """Show the answer as it arrives (the service stores it); a Stop click keeps the partial
    text.

    A Stop click makes Streamlit rerun the script, which raises out of the next ``st`` call
    here: the ``finally`` closes the stream (so the HTTP request ends) and the answer is
    finished as stopped.
    """
    view = StreamView()
    stop_slot.button(
        "⏹ Stop",
        key="chat_stop",
        help="Stop this answer and keep what arrived",
        on_click=_stop,
        args=(reply.message_id,),
    )
    try:
        for event in reply:
            view.show(event)
    finally:
        reply.close()
    stop_slot.empty()


def run_reply(engine: Any, conversation: ConversationInfo) -> None:
    """Draw the next answer in ``conversation`` while :mod:`chatapp.services.reply` makes it.

    The page says so when the oldest turns were left out to fit the model's context window.
    """
    target = state.target()
    plan = reply_service.begin_reply(
        engine,
        conversation,
        target=target,
        generation=state.generation(),
        send_images=capabilities_ui.accepts_images(target, cost_ui.model_rows()),
        owner=state.current_user().id,
        demo=state.demo_active(),
    )
    bubble = st.chat_message("assistant", avatar=plan.avatar)
    stop_slot = st.empty()
    with bubble:
        waiter = RetryWait(st.empty(), engine, plan.message_id, owner=plan.owner)
        try:
            llm = state.llm(target, generation_override=plan.generation, **waiter.llm_overrides())
        except Exception as exc:  # noqa: BLE001 - e.g. no API key: stored and shown, not raised
            st.error(plan.fail(exc), icon="⚠️")
            return
        reply = plan.stream(llm)
        if reply.dropped:
            st.info(
                f"This conversation is longer than the model's context window: the oldest "
                f"{reply.dropped} messages were left out of this request.",
                icon="✂️",
            )
        stream_into_page(reply, stop_slot)
