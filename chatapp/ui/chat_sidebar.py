"""The chat part of the sidebar: persona picker and manager, and the conversation list.

Widget keys (tests address them): ``chat_persona`` (the picker; its value is moved to the
open conversation's persona whenever another conversation opens), ``chat_new``,
``chat_search``, ``chat_open_<id>``, ``chat_rename_<id>``, ``chat_rename_save``,
``chat_delete``, ``chat_delete_confirm``, ``chat_delete_cancel``; persona manager:
``chat_persona_duplicate``, ``chat_persona_delete``, ``chat_persona_edit_{name,avatar,
avatar_image,prompt,temperature}_<id>``, ``chat_persona_save``, ``chat_persona_create_{name,
avatar,avatar_image,prompt,temperature}``, ``chat_persona_create``, ``chat_persona_import``, ``chat_persona_import_go``,
``chat_persona_export``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from chatapp import resources, state
from chatapp.services import avatars, personas
from chatapp.services import conversations as convs
from chatapp.services.personas import PersonaInfo
from chatapp.ui.safe_text import plain_text

LIST_LIMIT = 50
PICKER = "chat_persona"
NEW_CHAT = "new"  # what the picker is showing when no conversation is open


def render_chat_sidebar() -> None:
    """Draw the persona section and the conversation list, and store the choices."""
    engine = resources.get_engine()
    owner = state.current_user().id
    catalog = personas.list_personas(engine, owner=owner)
    conversation = convs.get_conversation(engine, state.conversation_id(), owner=owner)
    persona = _persona_picker(engine, catalog, conversation)
    with st.expander("Manage personas", expanded=False):
        _persona_manager(engine, catalog, persona)
    st.divider()
    _conversation_list(engine, conversation)


# --- personas --------------------------------------------------------------------------------


def _persona_picker(
    engine: Any, catalog: list[PersonaInfo], conversation: convs.ConversationInfo | None
) -> PersonaInfo:
    by_id = {p.id: p for p in catalog}
    current_id = conversation.persona_id if conversation else state.persona_id()
    if current_id not in by_id:
        current_id = catalog[0].id
    ids = list(by_id)
    moved = _move_picker_if_stale(conversation, by_id, current_id)
    chosen_id = st.selectbox(
        "Persona",
        ids,
        # Only used when the picker has no value yet; a moved value wins (and passing both
        # makes Streamlit warn).
        index=0 if moved else ids.index(current_id),
        format_func=lambda pid: by_id[pid].label,
        key=PICKER,
        help="Its system prompt goes with every request of this conversation.",
    )
    chosen = by_id.get(chosen_id, by_id[current_id])
    if conversation and chosen.id != conversation.persona_id:
        convs.set_persona(engine, conversation.id, chosen, owner=state.current_user().id)
    state.set_persona_id(chosen.id)
    temperature = (
        f" · default temperature {chosen.temperature:g}" if chosen.temperature is not None else ""
    )
    st.caption(f"“{plain_text(_shorten(chosen.system_prompt, 140))}”{temperature}")
    return chosen


def _move_picker_if_stale(
    conversation: convs.ConversationInfo | None, by_id: dict[int, PersonaInfo], current_id: int
) -> bool:
    """Point the picker at ``current_id`` if another conversation is open than last run.

    A keyed selectbox keeps its value and ignores a changed ``index``, so the value itself is
    moved (before the picker is drawn). Also moved when the persona it showed was deleted.
    Returns whether it was moved.
    """
    showing_for = conversation.id if conversation else NEW_CHAT
    if state.chat_page().persona_picker_for == showing_for and state.persona_id() in by_id:
        return False
    state.set_widget_value(PICKER, current_id)
    state.chat_page().persona_picker_for = showing_for
    return True


def _persona_manager(engine: Any, catalog: list[PersonaInfo], persona: PersonaInfo) -> None:
    left, right = st.columns(2)
    if left.button("Duplicate", key="chat_persona_duplicate", width="stretch"):
        copy = personas.duplicate_persona(engine, persona.id, owner=state.current_user().id)
        state.set_persona_id(copy.id)
        st.toast(f"Created “{plain_text(copy.name)}”; select it to use it.")
        st.rerun()
    if right.button(
        "Delete",
        key="chat_persona_delete",
        width="stretch",
        disabled=persona.builtin,
        help="Built-in personas cannot be deleted." if persona.builtin else None,
    ):
        _run(
            lambda: personas.delete_persona(engine, persona.id, owner=state.current_user().id),
            f"Deleted “{plain_text(persona.name)}”.",
        )
    if persona.builtin:
        st.caption("Built-in: duplicate it to make an editable copy.")
    else:
        _persona_form(engine, persona)
    st.markdown("**New persona**")
    _persona_form(engine, None)
    _persona_import_export(engine, catalog)


def _persona_form(engine: Any, persona: PersonaInfo | None) -> None:
    """Edit ``persona`` (keys end in its id) or create a new one (``chat_persona_create_*``)."""
    prefix = f"chat_persona_edit_{{}}_{persona.id}" if persona else "chat_persona_create_{}"
    name = st.text_input("Name", value=persona.name if persona else "", key=prefix.format("name"))
    current = persona.avatar if persona else "🙂"
    avatar = st.text_input(
        "Avatar: one emoji",
        key=prefix.format("avatar"),
        value="" if avatars.is_image_token(current) else current,
        help="Or upload an image below; an uploaded image wins.",
    )
    image = st.file_uploader(
        f"…or an avatar image (PNG, JPEG, GIF or WebP, up to "
        f"{avatars.MAX_UPLOAD_BYTES // 1024} KB)",
        type=["png", "jpg", "jpeg", "gif", "webp"],
        key=prefix.format("avatar_image"),
    )
    image_bytes = image.getvalue() if image is not None else None
    if image_bytes is None and persona and avatars.is_image_token(current) and not avatar:
        avatar = current  # keep the uploaded image unless an emoji replaces it
    prompt = st.text_area(
        "System prompt", value=persona.system_prompt if persona else "", key=prefix.format("prompt")
    )
    temperature = st.number_input(
        "Default temperature (empty: the sidebar's or the model's)",
        min_value=0.0,
        max_value=2.0,
        step=0.1,
        value=persona.temperature if persona else None,
        key=prefix.format("temperature"),
    )
    if persona and st.button("Save changes", key="chat_persona_save", width="stretch"):
        _run(
            lambda: personas.update_persona(
                engine,
                persona.id,
                name,
                avatar,
                prompt,
                temperature,
                owner=state.current_user().id,
                avatar_image=image_bytes,
            ),
            "Saved.",
        )
    if persona is None and st.button("Create persona", key="chat_persona_create", width="stretch"):
        _run(
            lambda: state.set_persona_id(
                personas.create_persona(
                    engine,
                    name,
                    avatar,
                    prompt,
                    temperature,
                    owner=state.current_user().id,
                    avatar_image=image_bytes,
                ).id
            ),
            f"Created “{plain_text(name)}”.",
        )


def _persona_import_export(engine: Any, catalog: list[PersonaInfo]) -> None:
    st.markdown("**Import / export**")
    st.download_button(
        "Export personas (JSON)",
        personas.export_personas(catalog, engine),
        file_name="personas.json",
        mime="application/json",
        key="chat_persona_export",
        on_click="ignore",
        width="stretch",
    )
    upload = st.file_uploader("Import personas (JSON)", type=["json"], key="chat_persona_import")
    if upload is not None and st.button("Import", key="chat_persona_import_go", width="stretch"):
        result = personas.import_personas(engine, upload.getvalue(), owner=state.current_user().id)
        # shown after a rerun, so the picker above already lists the imported personas
        state.chat_page().import_report = (
            [p.label for p in result.imported],
            list(result.problems),
        )
        st.rerun()
    imported, problems = state.chat_page().import_report or ([], [])
    state.chat_page().import_report = None
    if imported:
        st.success(f"Imported {len(imported)}: " + ", ".join(plain_text(p) for p in imported))
    for problem in problems:
        st.warning(plain_text(problem))


def _run(action: Any, success: str) -> None:
    """Do ``action``; show its error as a warning, or toast ``success`` and redraw."""
    try:
        action()
    except personas.PersonaError as exc:
        st.warning(plain_text(str(exc)))
        return
    st.toast(success)
    st.rerun()


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- conversations ---------------------------------------------------------------------------


def _conversation_list(engine: Any, conversation: convs.ConversationInfo | None) -> None:
    st.markdown("**Conversations**")
    if st.button("➕ New chat", key="chat_new", width="stretch"):
        state.set_conversation_id(None)
        state.chat_page().editing = False
        _go_to_chat()
    query = st.text_input(
        "Search",
        key="chat_search",
        placeholder="Search titles and messages",
        label_visibility="collapsed",
    )
    found = convs.list_conversations(engine, query, owner=state.current_user().id)
    if not found:
        st.caption("No conversation matches." if query.strip() else "No conversations yet.")
    for item in found[:LIST_LIMIT]:
        current = conversation is not None and item.id == conversation.id
        if st.button(
            f"{avatars.text(item.persona_avatar)} {plain_text(item.title)}",
            key=f"chat_open_{item.id}",
            type="primary" if current else "secondary",
            width="stretch",
        ):
            state.set_conversation_id(item.id)
            state.chat_page().editing = False
            _go_to_chat()
    if len(found) > LIST_LIMIT:
        st.caption(f"Showing the newest {LIST_LIMIT}; search to find older ones.")
    if conversation:
        _manage_conversation(engine, conversation)


def _manage_conversation(engine: Any, conversation: convs.ConversationInfo) -> None:
    with st.expander("Rename or delete this conversation", expanded=False):
        title = st.text_input(
            "Title", value=conversation.title, key=f"chat_rename_{conversation.id}"
        )
        if st.button("Rename", key="chat_rename_save", width="stretch"):
            try:
                convs.rename_conversation(
                    engine, conversation.id, title, owner=state.current_user().id
                )
            except convs.ConversationError as exc:
                st.warning(str(exc))
            else:
                st.rerun()
        if state.chat_page().confirm_delete != conversation.id:
            if st.button("🗑 Delete conversation", key="chat_delete", width="stretch"):
                state.chat_page().confirm_delete = conversation.id
                st.rerun()
            return
        st.warning(
            f"Delete “{plain_text(conversation.title)}” and all its messages? "
            "This cannot be undone."
        )
        yes, no = st.columns(2)
        if yes.button("Yes, delete", key="chat_delete_confirm", type="primary"):
            convs.delete_conversation(engine, conversation.id, owner=state.current_user().id)
            state.chat_page().confirm_delete = None
            state.set_conversation_id(None)
            st.rerun()
        if no.button("Cancel", key="chat_delete_cancel"):
            state.chat_page().confirm_delete = None
            st.rerun()


def _go_to_chat() -> None:
    """Show the chat page (a rerun when already there)."""
    try:
        st.switch_page("app_pages/chat.py")
    except st.errors.StreamlitAPIException:
        st.rerun()  # not inside st.navigation (e.g. a test harness)
