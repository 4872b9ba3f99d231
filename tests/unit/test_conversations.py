"""Conversations: create, title from the first question, rename, delete, search, replies."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import MessageRole

from chatapp.services import conversations as convs
from chatapp.services import personas
from chatapp.users import LOCAL_OWNER


@pytest.fixture()
def pirate(engine):
    return next(p for p in personas.list_personas(engine, owner=LOCAL_OWNER) if p.name == "Pirate")


def test_the_title_defaults_from_the_first_question(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    assert conv.title == "New chat"
    convs.add_user_message(
        engine, conv.id, "  How do   I bake bread?\nsecond line", owner=LOCAL_OWNER
    )
    convs.add_user_message(engine, conv.id, "And cake?", owner=LOCAL_OWNER)
    assert (
        convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER).title == "How do I bake bread?"
    )


def test_long_first_questions_make_a_shortened_title() -> None:
    title = convs.default_title("word " * 40)
    assert len(title) <= convs.TITLE_MAX and title.endswith("…")


def test_a_conversation_remembers_its_persona_and_its_prompt(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    again = convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER)
    assert again.persona_id == pirate.id
    assert again.system_prompt == "You are a pirate with a colorful personality"


def test_a_deleted_persona_leaves_its_prompt_with_the_conversation(engine) -> None:
    chef = personas.create_persona(engine, "Chef", "👩‍🍳", "You are a chef.", owner=LOCAL_OWNER)
    conv = convs.create_conversation(engine, chef, owner=LOCAL_OWNER)
    personas.delete_persona(engine, chef.id, owner=LOCAL_OWNER)
    again = convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER)
    assert again.persona_id is None
    assert (again.persona_name, again.system_prompt) == ("Chef", "You are a chef.")


def test_rename_sets_the_title_and_refuses_an_empty_one(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    assert (
        convs.rename_conversation(engine, conv.id, " Bread  notes ", owner=LOCAL_OWNER).title
        == "Bread notes"
    )
    with pytest.raises(convs.ConversationError, match="Type a title"):
        convs.rename_conversation(engine, conv.id, "   ", owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "a question", owner=LOCAL_OWNER)
    assert convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER).title == "Bread notes"


def test_delete_removes_the_conversation_and_its_messages(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "hello", owner=LOCAL_OWNER)
    convs.delete_conversation(engine, conv.id, owner=LOCAL_OWNER)
    assert convs.get_conversation(engine, conv.id, owner=LOCAL_OWNER) is None
    assert convs.list_messages(engine, conv.id, owner=LOCAL_OWNER) == []
    assert convs.list_conversations(engine, owner=LOCAL_OWNER) == []


def test_search_matches_titles_and_message_text_ignoring_case(engine, pirate) -> None:
    bread = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, bread.id, "Sourdough starter tips", owner=LOCAL_OWNER)
    rust = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, rust.id, "Explain borrowing", owner=LOCAL_OWNER)
    answer = convs.start_answer(engine, rust.id, {"label": "Model API · m"}, owner=LOCAL_OWNER)
    convs.finish_answer(
        engine,
        answer,
        text="The BORROW checker 100% rules",
        reasoning="",
        status="complete",
        owner=LOCAL_OWNER,
    )
    assert [c.id for c in convs.list_conversations(engine, "sourdough", owner=LOCAL_OWNER)] == [
        bread.id
    ]
    assert [
        c.id for c in convs.list_conversations(engine, "borrow checker", owner=LOCAL_OWNER)
    ] == [rust.id]
    assert [c.id for c in convs.list_conversations(engine, "100%", owner=LOCAL_OWNER)] == [rust.id]
    assert convs.list_conversations(engine, "nothing like this", owner=LOCAL_OWNER) == []
    assert {c.id for c in convs.list_conversations(engine, "", owner=LOCAL_OWNER)} == {
        bread.id,
        rust.id,
    }


def test_an_answer_is_saved_while_streaming_and_finished_with_metrics(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "hi", owner=LOCAL_OWNER)
    answer = convs.start_answer(engine, conv.id, {"label": "Model API · m"}, owner=LOCAL_OWNER)
    assert convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)[-1].status == "streaming"
    convs.save_partial(engine, answer, "Ahoy", "thinking", owner=LOCAL_OWNER)
    assert convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)[-1].content == "Ahoy"
    convs.finish_answer(
        engine,
        answer,
        text="Ahoy matey",
        reasoning="thinking",
        status="stopped",
        metrics={"total_s": 1.5, "tokens_out": 2},
        owner=LOCAL_OWNER,
    )
    last = convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)[-1]
    assert (last.content, last.status) == ("Ahoy matey", "stopped")
    assert last.reply_metrics.tokens_out == 2


def test_regenerate_drops_the_last_answer_and_keeps_the_question(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "hi", owner=LOCAL_OWNER)
    convs.start_answer(engine, conv.id, {}, owner=LOCAL_OWNER)
    assert convs.drop_last_answer(engine, conv.id, owner=LOCAL_OWNER) is True
    assert [m.role for m in convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)] == ["user"]


def test_editing_the_last_question_replaces_it_and_removes_its_answer(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "hi", owner=LOCAL_OWNER)
    convs.start_answer(engine, conv.id, {}, owner=LOCAL_OWNER)
    convs.edit_last_question(engine, conv.id, "hello instead", owner=LOCAL_OWNER)
    messages = convs.list_messages(engine, conv.id, owner=LOCAL_OWNER)
    assert [(m.role, m.content) for m in messages] == [("user", "hello instead")]


def test_request_history_skips_answers_that_produced_no_text(engine, pirate) -> None:
    conv = convs.create_conversation(engine, pirate, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conv.id, "first", owner=LOCAL_OWNER)
    failed = convs.start_answer(engine, conv.id, {}, owner=LOCAL_OWNER)
    convs.finish_answer(
        engine, failed, text="", reasoning="", status="error", error="401", owner=LOCAL_OWNER
    )
    convs.add_user_message(engine, conv.id, "second", owner=LOCAL_OWNER)
    history = convs.request_history(convs.list_messages(engine, conv.id, owner=LOCAL_OWNER))
    assert [(m.role, m.content) for m in history] == [
        (MessageRole.USER, "first"),
        (MessageRole.USER, "second"),
    ]
