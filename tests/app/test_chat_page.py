"""The chat page and its sidebar section, run by AppTest against the Baseten emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from baseten_llm.emulator import EmulatorServer
from chatapp.targets import Target
from chatapp.ui.safe_text import has_remote_content
from chatapp.users import LOCAL_OWNER

REPO = Path(__file__).resolve().parents[2]
# The page as app.py shows it: the chat sidebar section, then app_pages/chat.py.
HARNESS = f"""
import runpy
import streamlit as st
from chatapp.ui.chat_sidebar import render_chat_sidebar
with st.sidebar:
    render_chat_sidebar()
runpy.run_path({str(REPO / "app_pages" / "chat.py")!r}, run_name="__main__")
"""


def open_app() -> AppTest:
    return AppTest.from_string(HARNESS, default_timeout=60).run()


def ask(at: AppTest, text: str) -> AppTest:
    return at.chat_input(key="chat_input").set_value(text).run()


def bubbles(at: AppTest) -> list[tuple[str, str]]:
    """(role, answer text) per bubble; the answer is drawn after any Thinking expander."""
    return [(m.name, m.markdown[-1].value if m.markdown else "") for m in at.chat_message]


def chat_requests(emulator: EmulatorServer) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


def no_traceback(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_a_question_streams_an_answer_with_its_metrics(data_dir, emulator) -> None:
    at = ask(open_app(), "What is Baseten?")
    no_traceback(at)
    assert bubbles(at)[0] == ("user", "What is Baseten?")
    role, answer = bubbles(at)[1]
    assert role == "assistant" and answer.startswith("You said: What is Baseten?")
    thinking = at.chat_message[1].expander[0]
    assert thinking.label == "Thinking"
    assert thinking.markdown[0].value.startswith("Thinking about: What is Baseten?")
    caption = at.chat_message[1].caption[0].value
    assert caption.startswith("Model API · deepseek-ai/DeepSeek-V3.1")
    for part in ("first token", "tokens/s", "tokens in", "tokens out", "total"):
        assert part in caption


def test_the_conversation_survives_a_new_session(data_dir, emulator) -> None:
    ask(open_app(), "Remember me")
    fresh = open_app()
    assert [b.key for b in fresh.sidebar.button if b.key.startswith("chat_open_")] == [
        "chat_open_1"
    ]
    fresh.button(key="chat_open_1").click().run()
    assert [role for role, _ in bubbles(fresh)] == ["user", "assistant"]
    assert bubbles(fresh)[1][1].startswith("You said: Remember me")
    assert "Remember me" in fresh.subheader[0].value


def test_the_chosen_personas_prompt_and_temperature_reach_the_model(data_dir, emulator) -> None:
    at = open_app()
    at = at.selectbox(key="chat_persona").set_value(_persona_id(at, "Pirate")).run()
    ask(at, "Ahoy?")
    body = chat_requests(emulator)[-1]["body"]
    assert body["messages"][0] == {
        "role": "system",
        "content": "You are a pirate with a colorful personality",
    }
    assert body["temperature"] == pytest.approx(0.9)
    assert at.chat_message[1].avatar == "🏴‍☠️"


def test_the_picker_follows_the_open_conversation_and_changes_its_persona(
    data_dir, emulator
) -> None:
    at = open_app()
    pirate, helpful, tutor = (
        _persona_id(at, n) for n in ("Pirate", "Helpful assistant", "Socratic tutor")
    )
    at = ask(at.selectbox(key="chat_persona").set_value(pirate).run(), "Ahoy?")  # A: 1
    at.button(key="chat_new").click().run()
    at = ask(at.selectbox(key="chat_persona").set_value(helpful).run(), "Hello?")  # B: 2
    at.button(key="chat_open_1").click().run()
    assert at.selectbox(key="chat_persona").value == pirate
    at.button(key="chat_open_2").click().run()
    assert at.selectbox(key="chat_persona").value == helpful
    at.button(key="chat_open_1").click().run()
    assert at.selectbox(key="chat_persona").value == pirate
    assert at.caption[0].value == "Persona: Pirate"

    at.selectbox(key="chat_persona").set_value(tutor).run()
    no_traceback(at)
    assert at.caption[0].value == "Persona: Socratic tutor"
    ask(at, "Why?")
    body = chat_requests(emulator)[-1]["body"]
    assert body["messages"][0]["content"].startswith("You are a patient tutor.")
    assert [m["content"] for m in body["messages"] if m["role"] == "user"][-1] == "Why?"
    at.button(key="chat_open_2").click().run()
    assert at.selectbox(key="chat_persona").value == helpful
    at.button(key="chat_open_1").click().run()
    assert at.selectbox(key="chat_persona").value == tutor


def test_new_chat_and_delete_keep_the_picker_on_a_persona_that_exists(data_dir, emulator) -> None:
    at = open_app()
    pirate = _persona_id(at, "Pirate")
    at = ask(at.selectbox(key="chat_persona").set_value(pirate).run(), "Ahoy?")
    at.button(key="chat_new").click().run()
    assert at.selectbox(key="chat_persona").value == pirate
    at.button(key="chat_open_1").click().run()
    at.button(key="chat_delete").click().run()
    at.button(key="chat_delete_confirm").click().run()
    no_traceback(at)
    assert at.subheader[0].value.endswith("New chat")
    assert at.selectbox(key="chat_persona").value == pirate


def test_deleting_the_picked_persona_moves_the_picker_to_one_that_exists(
    data_dir, emulator
) -> None:
    at = open_app()
    at.button(key="chat_persona_duplicate").click().run()
    copy = _persona_id(at, "Helpful assistant (copy)")
    at = ask(at.selectbox(key="chat_persona").set_value(copy).run(), "Hi?")
    at.button(key="chat_persona_delete").click().run()
    no_traceback(at)
    assert at.selectbox(key="chat_persona").value == _persona_id(at, "Helpful assistant")
    assert at.caption[0].value == "Persona: Helpful assistant"


def _persona_id(at: AppTest, name: str) -> int:
    from chatapp import resources
    from chatapp.services import personas

    return next(
        p.id
        for p in personas.list_personas(resources.get_engine(), owner=LOCAL_OWNER)
        if p.name == name
    )


def test_html_in_an_answer_is_shown_as_text_not_executed(data_dir, emulator) -> None:
    at = ask(open_app(), "<script>alert('x')</script> and <b>bold</b>")
    answer = bubbles(at)[1][1]
    assert not has_remote_content(answer)  # no tag a Markdown renderer would act on
    assert "\\<script>alert('x')\\</script>" in answer  # shown as text instead


def test_a_wrong_key_shows_a_clear_error_in_the_conversation_and_retry(
    data_dir, emulator, monkeypatch
) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", "wrong-key")
    st.cache_resource.clear()
    at = ask(open_app(), "hello")
    no_traceback(at)
    errors = [e.value for e in at.chat_message[1].error]
    assert errors and "key" in errors[0].lower() and "wrong-key" not in errors[0]
    assert at.button(key="chat_retry")
    monkeypatch.setenv("BASETEN_API_KEY", emulator.api_key)
    st.cache_resource.clear()
    at.button(key="chat_retry").click().run()
    no_traceback(at)
    assert bubbles(at)[1][1].startswith("You said: hello")
    assert not at.chat_message[1].error


def test_rate_limits_after_retries_say_when_to_try_again(data_dir, emulator) -> None:
    emulator.fault(status=429, times=10, retry_after=1, path_contains="/chat")
    at = ask(open_app(), "hello")
    no_traceback(at)
    message = at.chat_message[1].error[0].value
    assert "Wait about 1 second, then press Retry" in message


def test_a_stream_cut_midway_keeps_the_partial_text_and_says_so(data_dir, emulator) -> None:
    emulator.fault(cut_after_chunks=12)  # the reasoning, then a few words of the answer
    at = ask(open_app(), "tell me more")
    no_traceback(at)
    partial = bubbles(at)[1][1]
    assert partial.startswith("You said: tell") and "emulator" not in partial
    assert at.chat_message[1].error and at.button(key="chat_retry")


def test_regenerate_replaces_the_last_answer(data_dir, emulator) -> None:
    at = ask(open_app(), "first")
    at.button(key="chat_regenerate").click().run()
    no_traceback(at)
    assert [role for role, _ in bubbles(at)] == ["user", "assistant"]
    assert len(chat_requests(emulator)) == 2


def test_editing_the_last_question_resends_it(data_dir, emulator) -> None:
    at = ask(open_app(), "frist question")
    at.button(key="chat_edit").click().run()
    at.text_area(key="chat_edit_text").input("first question").run()
    at.button(key="chat_edit_send").click().run()
    no_traceback(at)
    assert bubbles(at)[0] == ("user", "first question")
    assert bubbles(at)[1][1].startswith("You said: first question")


def test_conversations_can_be_searched_renamed_and_deleted_after_confirming(
    data_dir, emulator
) -> None:
    at = ask(open_app(), "sourdough bread")
    at.button(key="chat_new").click().run()
    at = ask(at, "rust lifetimes")
    at.text_input(key="chat_search").input("SOURDOUGH").run()
    assert [b.label for b in at.sidebar.button if b.key.startswith("chat_open_")] == [
        "🤖 sourdough bread"
    ]
    at.text_input(key="chat_search").input("").run()
    at.text_input(key="chat_rename_2").input("Rust notes").run()
    at.button(key="chat_rename_save").click().run()
    assert "🤖 Rust notes" in [b.label for b in at.sidebar.button]
    at.button(key="chat_delete").click().run()
    assert "cannot be undone" in at.sidebar.warning[0].value
    at.button(key="chat_delete_confirm").click().run()
    labels = [b.label for b in at.sidebar.button if b.key.startswith("chat_open_")]
    assert labels == ["🤖 sourdough bread"]
    assert at.subheader[0].value.endswith("New chat")


def test_a_long_conversation_leaves_out_the_oldest_turns_and_says_so(
    data_dir, emulator, monkeypatch
) -> None:
    from chatapp.services import reply

    monkeypatch.setattr(reply, "context_window", lambda llm: 400)
    at = open_app()
    for number in range(4):
        at = ask(at, f"question {number} " + "words " * 60)
    no_traceback(at)
    sent = chat_requests(emulator)[-1]["body"]["messages"]
    assert sent[0]["role"] == "system"
    assert sent[-1]["content"].startswith("question 3")
    assert not any(m["content"].startswith("question 0") for m in sent)
    assert "earlier messages left out" in at.chat_message[-1].caption[0].value


def test_a_dedicated_target_gets_the_request_and_labels_the_answer(data_dir, emulator) -> None:
    at = open_app()
    at.session_state["bc_target"] = Target(kind="dedicated", model="abcd1234")
    at = ask(at, "hi dedicated")
    no_traceback(at)
    assert chat_requests(emulator)[-1]["path"].startswith(
        "/model-abcd1234/environments/production/sync/v1/chat/completions"
    )
    assert at.chat_message[1].caption[0].value.startswith("Dedicated · abcd1234 · production")


def test_builtin_personas_can_be_duplicated_but_not_deleted(data_dir, emulator) -> None:
    at = open_app()
    assert at.button(key="chat_persona_delete").disabled
    at.button(key="chat_persona_duplicate").click().run()
    picker = at.selectbox(key="chat_persona")
    assert any("Helpful assistant (copy)" in option for option in picker.options)


def test_a_new_persona_with_a_bad_temperature_gets_a_clear_message(data_dir, emulator) -> None:
    at = open_app()
    at.text_input(key="chat_persona_create_name").input("Chef").run()
    at.text_area(key="chat_persona_create_prompt").input("").run()
    at.button(key="chat_persona_create").click().run()
    assert "system prompt is required" in at.sidebar.warning[0].value
    no_traceback(at)
