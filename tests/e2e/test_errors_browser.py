"""What a person sees in a real browser when a reply fails, and while a model id is typed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import sidebar, wait_for_app_idle
from tests.plain_words import assert_plain

pytestmark = pytest.mark.e2e


def send(page: Page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def answer_alert(page: Page):
    return page.get_by_test_id("stChatMessage").last.get_by_test_id("stAlert")


def test_a_rejected_key_is_explained_in_plain_words_with_the_host(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.fault(status=401, path_contains="/chat")
    send(page, "hello")
    alert = answer_alert(page)
    expect(alert).to_contain_text("refused the API key")
    wait_for_app_idle(page)
    text = alert.inner_text()
    assert e2e_emulator.base_url.split("://", 1)[1] in text and "sidebar" in text
    assert_plain(text)
    expect(page.get_by_test_id("stChatMessage").last).not_to_contain_text("tokens in")


def test_a_stream_cut_mid_way_keeps_the_partial_answer_and_says_what_to_do(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    e2e_emulator.fault(cut_after_chunks=12, path_contains="/chat")
    send(page, "tell me a story")
    alert = answer_alert(page)
    expect(alert).to_contain_text("cut off")
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text("You said: tell")
    assert "Retry" in alert.inner_text()
    assert e2e_emulator.base_url.split("://", 1)[1] in alert.inner_text()
    assert_plain(alert.inner_text())
    expect(page.get_by_role("button", name=re.compile("Retry"))).to_be_visible()


def test_a_model_id_is_checked_as_it_is_typed_and_sending_waits_for_a_valid_one(
    page: Page, e2e_emulator: EmulatorServer, artifacts_dir: Path
) -> None:
    bar = sidebar(page)
    bar.get_by_text("Dedicated deployment", exact=True).click()
    wait_for_app_idle(page)
    chat_box = page.get_by_test_id("stChatInputTextArea")
    expect(chat_box).to_be_disabled()
    expect(page.get_by_text(re.compile("No target yet"))).to_be_visible()

    model_id = bar.get_by_role("textbox", name="Model id")
    model_id.press_sequentially("xyz!", delay=40)  # no Enter, and the field keeps the focus
    expect(bar.get_by_text(re.compile("“xyz!” is not a valid model id"))).to_be_visible()
    expect(model_id).to_be_focused()
    expect(chat_box).to_be_disabled()
    expect(page.get_by_text(re.compile("Sending is off: “xyz!” is not"))).to_be_visible()
    wait_for_app_idle(page)
    expect(page.get_by_text(re.compile(r"Dedicated · xyz!"))).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "model_id_invalid.png"), full_page=True)

    model_id.fill("")
    model_id.press_sequentially("abcd1234", delay=40)
    expect(page.get_by_text("🎯 Dedicated · abcd1234 · production")).to_be_visible()
    expect(chat_box).to_be_enabled()
    wait_for_app_idle(page)
    send(page, "hello deployment")
    expect(page.get_by_test_id("stChatMessage").last).to_contain_text("You said: hello")
    paths = [r["path"] for r in e2e_emulator.requests() if r["path"].endswith("/completions")]
    assert paths[-1] == "/model-abcd1234/environments/production/sync/v1/chat/completions"
    wait_for_app_idle(page)
