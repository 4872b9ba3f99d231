"""The chat page in a real browser, against the Baseten emulator (see conftest.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import sidebar, wait_for_app_idle

pytestmark = pytest.mark.e2e


def chat_requests(emulator: EmulatorServer) -> list[dict]:
    return [r for r in emulator.requests() if r["path"].endswith("/chat/completions")]


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def last_bubble(page: Page):
    return page.get_by_test_id("stChatMessage").last


def persona_picker(page: Page):
    return sidebar(page).get_by_role("combobox", name="Persona")


def pick_persona(page: Page, name: str) -> None:
    """Choose ``name`` in the sidebar's persona picker (key ``chat_persona``) by typing it."""
    box = persona_picker(page)
    box.click()
    box.fill(name)
    page.get_by_role("option", name=re.compile(name)).click()
    wait_for_app_idle(page)
    expect(box).to_have_value(re.compile(name))


def test_a_message_streams_in_with_the_personas_prompt_and_survives_a_reload(
    page: Page, e2e_emulator: EmulatorServer, artifacts_dir
) -> None:
    e2e_emulator.configure(tokens_per_second=15)
    pick_persona(page, "Pirate")
    send(page, "Where is the treasure?")
    bubble = last_bubble(page)
    # streaming: some words are visible before the answer is complete
    expect(bubble).to_contain_text("You said: Where")
    expect(bubble).not_to_contain_text("a test double")
    wait_for_app_idle(page)
    expect(last_bubble(page)).to_contain_text("a test double")
    expect(last_bubble(page)).to_contain_text("tokens/s")
    sent = chat_requests(e2e_emulator)[-1]["body"]
    assert sent["messages"][0] == {
        "role": "system",
        "content": "You are a pirate with a colorful personality",
    }
    page.screenshot(path=str(artifacts_dir / "chat_page_answer.png"), full_page=True)

    page.reload()
    wait_for_app_idle(page)
    sidebar(page).get_by_role("button", name=re.compile("Where is the treasure")).first.click()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2)
    expect(last_bubble(page)).to_contain_text("a test double")


def test_the_persona_picker_shows_the_persona_of_each_opened_conversation(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    def ask(text: str) -> dict:
        send(page, text)
        expect(last_bubble(page)).to_contain_text(f"You said: {text}")
        wait_for_app_idle(page)
        return next(
            r["body"]
            for r in reversed(chat_requests(e2e_emulator))
            if r["body"]["messages"][-1]["content"] == text
        )

    pick_persona(page, "Pirate")
    ask("Ahoy matey")
    sidebar(page).locator(".st-key-chat_new button").click()
    expect(page.get_by_test_id("stHeading").first).to_contain_text("New chat")
    wait_for_app_idle(page)
    pick_persona(page, "Helpful assistant")
    ask("Hello there")
    for title, persona in (
        ("Ahoy matey", "Pirate"),
        ("Hello there", "Helpful assistant"),
        ("Ahoy matey", "Pirate"),
    ):
        sidebar(page).get_by_role("button", name=re.compile(title)).first.click()
        wait_for_app_idle(page)
        expect(page.get_by_test_id("stHeading").first).to_contain_text(title)
        expect(persona_picker(page)).to_have_value(re.compile(persona))
    pick_persona(page, "Socratic tutor")
    sent = ask("Why is the sea salty?")
    assert sent["messages"][0]["content"].startswith("You are a patient tutor.")


def test_switching_to_a_dedicated_deployment_sends_the_next_request_there(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    sidebar(page).locator(".st-key-sb_kind").get_by_text("Dedicated deployment").click()
    wait_for_app_idle(page)
    model_id = sidebar(page).locator(".st-key-sb_model_id input")
    model_id.fill("abcd1234")
    model_id.press("Enter")
    wait_for_app_idle(page)
    send(page, "hello dedicated")
    wait_for_app_idle(page)
    expect(last_bubble(page)).to_contain_text("You said: hello dedicated")
    expect(last_bubble(page)).to_contain_text("Dedicated · abcd1234 · production")
    path = chat_requests(e2e_emulator)[-1]["path"]
    assert path == "/model-abcd1234/environments/production/sync/v1/chat/completions"


def test_stop_keeps_the_partial_answer_and_closes_the_stream(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.configure(tokens_per_second=4, reply_tokens=60)
    send(page, "Tell me a long story")
    expect(last_bubble(page)).to_contain_text("You said: Tell me a long")
    page.locator('.st-key-chat_stop[data-stale="false"] button').first.click()
    wait_for_app_idle(page)
    bubble = last_bubble(page)
    expect(bubble).to_contain_text("Stopped before the end")
    expect(bubble).to_contain_text("You said: Tell me a long")
    expect(bubble).not_to_contain_text("a test double")
    log = chat_requests(e2e_emulator)
    assert log[-1]["stream_closed_early"] is True


def test_a_wrong_key_and_a_rate_limit_show_clear_messages_and_retry_works(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.fault(status=401, path_contains="/chat")
    send(page, "first try")
    wait_for_app_idle(page)
    error = last_bubble(page).get_by_test_id("stAlertContentError")
    expect(error).to_contain_text(re.compile("key", re.IGNORECASE))
    expect(page.get_by_text("Traceback")).to_have_count(0)

    e2e_emulator.fault(status=429, times=10, retry_after=1, path_contains="/chat")
    page.locator(".st-key-chat_retry button").click()
    wait_for_app_idle(page)
    expect(last_bubble(page).get_by_test_id("stAlertContentError")).to_contain_text(
        "Wait about 1 second, then press Retry"
    )

    e2e_emulator.reset()
    page.locator(".st-key-chat_retry button").click()
    wait_for_app_idle(page)
    expect(last_bubble(page)).to_contain_text("You said: first try")
    expect(last_bubble(page).get_by_test_id("stAlertContentError")).to_have_count(0)
