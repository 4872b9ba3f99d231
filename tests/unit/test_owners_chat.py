"""Conversations, their messages and images, and custom personas belong to the user who made
them: another user cannot list, open, change, delete or export them; an id of theirs behaves
like a missing one. Built-in personas are shared and read-only for everyone."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import Engine

from chatapp.services import chat_images, export, personas
from chatapp.services import conversations as convs
from chatapp.storage import conversations as store
from chatapp.storage.db import session_scope

ANN = "ann@example.com"
BOB = "bob@example.com"
TARGET = {"kind": "model_apis", "model": "deepseek-ai/DeepSeek-V3.1"}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def anns_conversation(engine: Engine) -> tuple[convs.ConversationInfo, int]:
    """Ann's conversation with a question (and an attached image) and an answer."""
    conversation = convs.create_conversation(engine, None, owner=ANN)
    question = convs.add_user_message(engine, conversation.id, "Ann's secret plan", owner=ANN)
    chat_images.save_images(
        engine, question.id, [chat_images.check_image("a.png", png())], owner=ANN
    )
    answer = convs.start_answer(engine, conversation.id, TARGET, owner=ANN)
    convs.finish_answer(
        engine, answer, text="Keep it quiet.", reasoning="", status="complete", owner=ANN
    )
    return conversation, answer


def titles(engine: Engine, owner: str, query: str = "") -> list[str]:
    return [c.title for c in convs.list_conversations(engine, query, owner=owner)]


# --- conversations ---------------------------------------------------------------------------


def test_each_user_lists_only_their_own_conversations(engine: Engine) -> None:
    anns_conversation(engine)
    convs.add_user_message(
        engine,
        convs.create_conversation(engine, None, owner=BOB).id,
        "Bob's shopping list",
        owner=BOB,
    )
    assert titles(engine, ANN) == ["Ann's secret plan"]
    assert titles(engine, BOB) == ["Bob's shopping list"]
    assert titles(engine, BOB, "secret") == []  # search does not reach Ann's messages


def test_another_users_conversation_opens_like_a_missing_one(engine: Engine) -> None:
    conversation, _ = anns_conversation(engine)
    assert convs.get_conversation(engine, conversation.id, owner=BOB) is None
    assert convs.get_conversation(engine, 10_000, owner=BOB) is None
    assert convs.list_messages(engine, conversation.id, owner=BOB) == []
    assert convs.get_conversation(engine, conversation.id, owner=ANN).id == conversation.id


def test_another_user_cannot_rename_write_to_or_edit_a_conversation(engine: Engine) -> None:
    conversation, _ = anns_conversation(engine)
    missing = convs.ConversationError
    with pytest.raises(missing, match="no longer exists"):
        convs.rename_conversation(engine, conversation.id, "Mine now", owner=BOB)
    with pytest.raises(missing, match="no longer exists"):
        convs.add_user_message(engine, conversation.id, "injected", owner=BOB)
    with pytest.raises(missing, match="no longer exists"):
        convs.start_answer(engine, conversation.id, TARGET, owner=BOB)
    with pytest.raises(missing, match="no longer exists"):
        convs.edit_last_question(engine, conversation.id, "changed", owner=BOB)
    with pytest.raises(missing, match="no longer exists"):
        convs.set_persona(engine, conversation.id, personas.default_persona(engine), owner=BOB)
    assert convs.drop_last_answer(engine, conversation.id, owner=BOB) is False
    messages = convs.list_messages(engine, conversation.id, owner=ANN)
    assert [m.content for m in messages] == ["Ann's secret plan", "Keep it quiet."]
    assert convs.get_conversation(engine, conversation.id, owner=ANN).title == "Ann's secret plan"


def test_another_user_cannot_delete_a_conversation(engine: Engine) -> None:
    conversation, _ = anns_conversation(engine)
    convs.delete_conversation(engine, conversation.id, owner=BOB)
    assert convs.get_conversation(engine, conversation.id, owner=ANN) is not None
    convs.delete_conversation(engine, conversation.id, owner=ANN)
    assert convs.get_conversation(engine, conversation.id, owner=ANN) is None


def test_another_user_cannot_overwrite_an_answer_by_its_id(engine: Engine) -> None:
    conversation, answer = anns_conversation(engine)
    convs.save_partial(engine, answer, "overwritten", "", owner=BOB)
    convs.finish_answer(engine, answer, text="overwritten", reasoning="", status="error", owner=BOB)
    convs.touch_answer(engine, answer, owner=BOB)
    last = convs.list_messages(engine, conversation.id, owner=ANN)[-1]
    assert (last.content, last.status) == ("Keep it quiet.", "complete")


def test_another_users_images_and_export_are_out_of_reach(engine: Engine) -> None:
    conversation, _ = anns_conversation(engine)
    question_id = convs.list_messages(engine, conversation.id, owner=ANN)[0].id
    assert list(chat_images.images_by_message(engine, [question_id], owner=ANN)) == [question_id]
    assert chat_images.images_by_message(engine, [question_id], owner=BOB) == {}
    with pytest.raises(ValueError, match="no longer exists"):
        chat_images.save_images(
            engine, question_id, [chat_images.check_image("b.png", png())], owner=BOB
        )
    # what an export is built from, as Bob would get it: nothing of Ann's
    bobs_view = convs.list_messages(engine, conversation.id, owner=BOB)
    assert "secret" not in export.to_json(conversation, bobs_view)


# --- personas --------------------------------------------------------------------------------


def test_each_user_sees_the_built_ins_and_only_their_own_personas(engine: Engine) -> None:
    personas.create_persona(engine, "Ann's editor", "📝", "Edit like Ann.", owner=ANN)
    personas.create_persona(engine, "Bob's coach", "🏋️", "Coach like Bob.", owner=BOB)
    builtins = [b.name for b in personas.BUILTINS]
    assert [p.name for p in personas.list_personas(engine, owner=ANN)] == [
        *builtins,
        "Ann's editor",
    ]
    assert [p.name for p in personas.list_personas(engine, owner=BOB)] == [*builtins, "Bob's coach"]


def test_another_users_persona_behaves_like_a_missing_one(engine: Engine) -> None:
    mine = personas.create_persona(engine, "Ann's editor", "📝", "Edit like Ann.", owner=ANN)
    assert personas.get_persona(engine, mine.id, owner=BOB) is None
    for action in (
        lambda: personas.update_persona(engine, mine.id, "Stolen", "🙂", "x", owner=BOB),
        lambda: personas.delete_persona(engine, mine.id, owner=BOB),
        lambda: personas.duplicate_persona(engine, mine.id, owner=BOB),
    ):
        with pytest.raises(personas.PersonaError, match="no longer exists"):
            action()
    with pytest.raises(convs.ConversationError, match="no longer exists"):
        convs.create_conversation(engine, mine, owner=BOB)
    assert personas.get_persona(engine, mine.id, owner=ANN) == mine


def test_built_in_personas_are_shared_and_read_only_for_everyone(engine: Engine) -> None:
    pirate = next(p for p in personas.list_personas(engine, owner=ANN) if p.name == "Pirate")
    assert personas.get_persona(engine, pirate.id, owner=BOB) == pirate
    for user in (ANN, BOB):
        with pytest.raises(personas.PersonaError, match="cannot be edited"):
            personas.update_persona(engine, pirate.id, "Parrot", "🦜", "Squawk.", owner=user)
        with pytest.raises(personas.PersonaError, match="cannot be deleted"):
            personas.delete_persona(engine, pirate.id, owner=user)
    copy = personas.duplicate_persona(engine, pirate.id, owner=BOB)
    assert [p.name for p in personas.list_personas(engine, owner=BOB)][-1] == "Pirate (copy)"
    assert personas.get_persona(engine, copy.id, owner=ANN) is None
    conversation = convs.create_conversation(engine, pirate, owner=BOB)
    assert conversation.persona_name == "Pirate"


def test_an_import_adds_personas_to_the_importer_only(engine: Engine) -> None:
    mine = personas.create_persona(engine, "Ann's editor", "📝", "Edit like Ann.", owner=ANN)
    document = personas.export_personas([mine])
    result = personas.import_personas(engine, document, owner=BOB)
    assert [p.name for p in result.imported] == ["Ann's editor"]  # not a duplicate of Ann's
    assert (
        len([p for p in personas.list_personas(engine, owner=ANN) if p.name == "Ann's editor"]) == 1
    )


def test_every_stored_persona_and_conversation_names_its_owner(engine: Engine) -> None:
    anns_conversation(engine)
    personas.ensure_builtins(engine)
    personas.create_persona(engine, "Bob's coach", "🏋️", "Coach like Bob.", owner=BOB)
    with session_scope(engine) as session:
        owners = {(p.name, p.owner) for p in session.query(store.Persona)}
        conversation_owners = {c.owner for c in session.query(store.Conversation)}
    assert ("Bob's coach", BOB) in owners
    assert {owner for name, owner in owners if name != "Bob's coach"} == {""}  # built-ins
    assert conversation_owners == {ANN}
