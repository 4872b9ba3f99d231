"""Chat: talk to the selected target with the conversation's persona; answers stream in.

The open conversation is in the page's address (``?chat=ID``), so a reload, back/forward or a
bookmark returns to it; an address naming no conversation says so and starts a new chat.

Widget keys (tests address them): ``chat_input``, ``chat_stop`` (while streaming),
``chat_retry``, ``chat_regenerate``, ``chat_edit``, ``chat_edit_text``, ``chat_edit_send``,
``chat_edit_cancel``, ``chat_export_md``, ``chat_export_json``; prices ``chat_price_*``
(``chatapp.ui.pricing_ui``); ``chat_dedicated_images`` (a dedicated deployment takes images).
The chat input accepts image files when the target takes images (``chatapp.services.chat_images``).
"""

from __future__ import annotations

import streamlit as st

from chatapp import resources, state
from chatapp.services import avatars, chat_images, export, personas, reply
from chatapp.services import conversations as convs
from chatapp.ui import capabilities_ui, cost_ui, pricing_ui
from chatapp.ui import messages as ui
from chatapp.ui.safe_text import plain_text, safe_markdown

engine = resources.get_engine()
owner = state.current_user().id  # every read and write below is this user's
personas.ensure_builtins(engine)
convs.recover_interrupted_once(engine)  # answers a crashed or killed process left streaming

page = state.chat_page()
stopping = page.stopping
if stopping is not None:  # Stop was clicked: let the interrupted run save the partial answer
    page.stopping = None
    convs.settle_stopped_answer(engine, stopping, owner=owner)

bad_reference = state.take_url_problem()
conversation = convs.get_conversation(engine, state.conversation_id(), owner=owner)
if bad_reference or (conversation is None and state.conversation_id() is not None):
    # an address naming no conversation (mistyped, or deleted in another tab or session)
    st.warning(
        "The conversation this page's address points to was not found; it may have "
        "been deleted. Pick one in the sidebar, or ask something below to start a new "
        "chat.",
        icon="🔎",
    )
    state.set_conversation_id(None)
state.show_conversation_in_url(conversation.id if conversation else None)
history = convs.list_messages(engine, conversation.id, owner=owner) if conversation else []

# --- header: title, persona, exports ---------------------------------------------------------
if conversation:
    exported_images = chat_images.images_by_message(engine, [m.id for m in history], owner=owner)
    head, md_col, json_col = st.columns([6, 1, 1], vertical_alignment="bottom")
    head.subheader(f"{avatars.text(conversation.persona_avatar)} {plain_text(conversation.title)}")
    head.caption(f"Persona: {plain_text(conversation.persona_name) or 'none'}")
    md_col.download_button(
        "⬇ Markdown",
        export.to_markdown(conversation, history, images=exported_images),
        file_name=export.filename(conversation, "md"),
        mime="text/markdown",
        key="chat_export_md",
        on_click="ignore",
        disabled=not history,
    )
    json_col.download_button(
        "⬇ JSON",
        export.to_json(conversation, history, images=exported_images),
        file_name=export.filename(conversation, "json"),
        mime="application/json",
        key="chat_export_json",
        on_click="ignore",
        disabled=not history,
    )
else:
    chosen = personas.get_persona(
        engine, state.persona_id(), owner=owner
    ) or personas.default_persona(engine)
    st.subheader(f"{avatars.text(chosen.avatar)} New chat")
    st.caption(
        f"Persona: {plain_text(chosen.name)}. Ask anything below; pick another persona "
        "in the sidebar."
    )

# --- history ---------------------------------------------------------------------------------
if history:  # drawn before the answers, so a price changed here applies in the same run
    with st.expander("💲 Prices", expanded=False):
        pricing_ui.price_editor(state.target(), cost_ui.model_rows(), "chat_price")
attached = chat_images.images_by_message(
    engine, [m.id for m in history if m.role == "user"], owner=owner
)
answered_as = None  # the persona of the previous answer, to mark where it changed
for message in history:
    changed = (
        message.persona_key is not None
        and answered_as is not None
        and message.persona_key != answered_as
    )
    ui.render_stored(
        message,
        conversation.persona_avatar if conversation else "🤖",
        persona_changed=changed,
        images=attached.get(message.id),
    )
    answered_as = message.persona_key or answered_as
total = cost_ui.conversation_total(history) if history else None
if total:
    st.caption(f"💲 {total}")

# --- actions on the last exchange ------------------------------------------------------------
editing = bool(conversation and page.editing)
last = history[-1] if history else None
if conversation and last and editing:
    last_question = next((m.content for m in reversed(history) if m.role == "user"), "")
    edited = st.text_area("Edit your last question", value=last_question, key="chat_edit_text")
    send_col, cancel_col, _ = st.columns([1, 1, 4])
    if send_col.button("Send edited question", key="chat_edit_send", type="primary"):
        try:
            convs.edit_last_question(engine, conversation.id, edited, owner=owner)
        except convs.ConversationError as exc:
            st.warning(str(exc))
        else:
            page.editing, page.pending = False, conversation.id
            st.rerun()
    if cancel_col.button("Cancel", key="chat_edit_cancel"):
        page.editing = False
        st.rerun()
elif conversation and last:
    failed = last.role == "user" or last.status in ("error", "interrupted")
    actions = (["retry"] if failed else []) + (["regenerate"] if last.role == "assistant" else [])
    row = st.container(horizontal=True)
    if "retry" in actions and row.button("🔁 Retry", key="chat_retry", type="primary"):
        convs.drop_last_answer(engine, conversation.id, owner=owner)
        page.pending = conversation.id
        st.rerun()
    if "regenerate" in actions and row.button("♻️ Regenerate", key="chat_regenerate"):
        convs.drop_last_answer(engine, conversation.id, owner=owner)
        page.pending = conversation.id
        st.rerun()
    if row.button("✏️ Edit question", key="chat_edit"):
        page.editing = True
        st.rerun()

# --- a new question, or a queued resend ------------------------------------------------------
blocked = state.target_problem()  # e.g. a dedicated model id that is not valid yet
if blocked:
    st.caption(f"✋ Sending is off: {blocked}")
target = state.target()
if target.is_dedicated and target.model:
    takes = st.checkbox(
        "📷 This deployment takes images",
        key="chat_dedicated_images",
        value=capabilities_ui.dedicated_accepts_images(target.model),
    )
    capabilities_ui.set_dedicated_accepts_images(target.model, takes)
images_ok = capabilities_ui.accepts_images(target, cost_ui.model_rows())
submitted = st.chat_input(
    "Ask anything… (attach images with 📎)" if images_ok else "Ask anything…",
    key="chat_input",
    submit_mode="stop",
    disabled=bool(blocked),
    accept_file="multiple" if images_ok else False,
    file_type=chat_images.FILE_TYPES if images_ok else None,
)
prompt, files = chat_images.split_submission(submitted)
pending = None if blocked else page.pending
images: list[chat_images.ChatImage] = []
if submitted is not None:  # a new submission replaces the last refusal
    page.image_refusal = None
if files:
    try:
        images = chat_images.check_images([(f.name, f.getvalue()) for f in files])
    except chat_images.ImageRefused as exc:
        # kept until the next submission: a rerun (the sidebar, a reload) must not hide it
        page.image_refusal = f"Not sent: {exc}"
        prompt, files = None, []
refusal = page.image_refusal
if refusal:
    st.error(refusal, icon="🖼️")
if ((prompt and prompt.strip()) or images) and not blocked:
    started = conversation is None
    conversation = reply.add_question(
        engine, conversation, prompt or "", images, owner=owner, persona_id=state.persona_id()
    )
    if started:
        state.set_conversation_id(conversation.id)
        state.show_conversation_in_url(conversation.id)
    page.editing = False
    with st.chat_message("user", avatar=ui.USER_AVATAR):
        st.markdown(safe_markdown(prompt or ""))
        ui.render_images(images)
    ui.run_reply(engine, conversation)
    st.rerun()
elif conversation and pending == conversation.id:
    page.pending = None
    ui.run_reply(engine, conversation)
    st.rerun()
