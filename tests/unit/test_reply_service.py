"""The reply use case without a page: begin an answer, stream it from the emulator, store it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from baseten_llm import errors
from chatapp.services import chat, personas, reply
from chatapp.services import conversations as convs
from chatapp.settings import AppConfig
from chatapp.targets import GenerationSettings, Target, make_llm
from chatapp.users import LOCAL_OWNER
from tests.plain_words import assert_plain


def client(emulator: Any, settings: GenerationSettings) -> Any:
    config = AppConfig(Path("."), "sqlite://", model_apis_url=emulator.model_apis_url)
    return make_llm(Target(), emulator.api_key, config, settings, max_retries=0)


def chat_requests(emulator: Any) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


@pytest.fixture()
def chef_chat(engine: Engine) -> convs.ConversationInfo:
    chef = personas.create_persona(
        engine, "Chef", "👩‍🍳", "You are a chef.", 0.35, owner=LOCAL_OWNER
    )
    conversation = convs.create_conversation(engine, chef, owner=LOCAL_OWNER)
    convs.add_user_message(engine, conversation.id, "How long do I knead bread?", owner=LOCAL_OWNER)
    return conversation


def begin(engine: Engine, conversation: convs.ConversationInfo, **settings: Any) -> Any:
    return reply.begin_reply(
        engine,
        conversation,
        target=Target(),
        generation=GenerationSettings(**settings),
        send_images=False,
        owner=LOCAL_OWNER,
    )


def test_an_answer_streams_from_the_model_and_is_stored_complete_with_its_figures(
    engine: Engine, emulator: Any, chef_chat: convs.ConversationInfo
) -> None:
    plan = begin(engine, chef_chat, max_tokens=200)
    assert convs.list_messages(engine, chef_chat.id, owner=LOCAL_OWNER)[-1].status == "streaming"
    stream = plan.stream(client(emulator, plan.generation))
    try:
        events = list(stream)
    finally:
        stream.close()
    done = events[-1]
    assert isinstance(done, chat.ReplyDone) and done.text
    stored = convs.list_messages(engine, chef_chat.id, owner=LOCAL_OWNER)[-1]
    assert (stored.status, stored.content) == ("complete", done.text)
    assert stored.reply_metrics is not None and stored.reply_metrics.tokens_out > 0
    assert stored.target is not None and stored.target["label"] == Target().label
    body = chat_requests(emulator)[-1]["body"]
    assert body["temperature"] == pytest.approx(0.35), "the persona's default temperature"
    assert body["messages"][0] == {"role": "system", "content": "You are a chef."}
    assert body["messages"][-1]["content"] == "How long do I knead bread?"


def test_the_sidebars_temperature_wins_over_the_personas(
    engine: Engine, emulator: Any, chef_chat: convs.ConversationInfo
) -> None:
    plan = begin(engine, chef_chat, temperature=1.1)
    assert plan.generation.temperature == 1.1


def test_a_long_conversation_leaves_out_the_oldest_turns_and_records_how_many(
    engine: Engine, emulator: Any, chef_chat: convs.ConversationInfo, monkeypatch: Any
) -> None:
    for number in range(4):
        convs.add_user_message(
            engine, chef_chat.id, f"question {number} " + "words " * 60, owner=LOCAL_OWNER
        )
    monkeypatch.setattr(reply, "context_window", lambda llm: 400)
    plan = begin(engine, chef_chat)
    stream = plan.stream(client(emulator, plan.generation))
    try:
        list(stream)
    finally:
        stream.close()
    assert stream.dropped > 0
    sent = chat_requests(emulator)[-1]["body"]["messages"]
    assert sent[-1]["content"].startswith("question 3")
    assert convs.list_messages(engine, chef_chat.id, owner=LOCAL_OWNER)[-1].metrics[
        "context_dropped"
    ] == (stream.dropped)


def test_an_answer_stopped_part_way_keeps_its_text_marked_stopped(
    engine: Engine, emulator: Any, chef_chat: convs.ConversationInfo
) -> None:
    emulator.configure(reply_tokens=40)
    plan = begin(engine, chef_chat)
    stream = plan.stream(client(emulator, plan.generation))
    shown = ""
    for event in stream:
        if isinstance(event, chat.AnswerDelta):
            shown = event.so_far.text
            break
    stream.close()
    stored = convs.list_messages(engine, chef_chat.id, owner=LOCAL_OWNER)[-1]
    assert (stored.status, stored.content) == ("stopped", shown)
    assert stored.reply_metrics is not None and stored.reply_metrics.finish_reason == "stopped"


def test_a_client_that_cannot_be_built_leaves_a_stored_failure_in_plain_words(
    engine: Engine, chef_chat: convs.ConversationInfo
) -> None:
    plan = begin(engine, chef_chat)
    words = plan.fail(errors.ConfigurationError("No Baseten API key: set BASETEN_API_KEY."))
    assert_plain(words)
    stored = convs.list_messages(engine, chef_chat.id, owner=LOCAL_OWNER)[-1]
    assert stored.status == "error" and stored.error


def test_a_first_question_starts_a_conversation_with_the_chosen_persona_and_its_images(
    engine: Engine,
) -> None:
    import io

    from PIL import Image

    from chatapp.services import chat_images

    chef = personas.create_persona(engine, "Chef", "👩‍🍳", "You are a chef.", owner=LOCAL_OWNER)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="PNG")
    image = chat_images.check_images([("tomato.png", buffer.getvalue())])
    started = reply.add_question(
        engine, None, "Is this ripe?", image, owner=LOCAL_OWNER, persona_id=chef.id
    )
    assert started.persona_name == "Chef"
    assert convs.get_conversation(engine, started.id, owner=LOCAL_OWNER).title == "Is this ripe?"
    again = reply.add_question(engine, started, "And this one?", owner=LOCAL_OWNER)
    assert again.id == started.id
    questions = convs.list_messages(engine, started.id, owner=LOCAL_OWNER)
    assert [m.content for m in questions] == ["Is this ripe?", "And this one?"]
    stored = chat_images.images_by_message(engine, [questions[0].id], owner=LOCAL_OWNER)[
        questions[0].id
    ]
    assert [i.name for i in stored] == ["tomato.png"]
    unknown = reply.add_question(engine, None, "Hello", owner=LOCAL_OWNER)
    assert unknown.persona_name == personas.default_persona(engine).name
