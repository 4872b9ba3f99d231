"""Images in chat, in a real browser: attach a PNG for a vision model, see the answer about it
and the image in the history; an unsupported file gets a clear message and nothing is sent."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from baseten_llm.emulator import EmulatorServer
from tests.e2e.conftest import sidebar, wait_for_app_idle

pytestmark = pytest.mark.e2e


def choose_vision_model(page: Page) -> None:
    picker = sidebar(page).locator(".st-key-sb_model_api input")
    picker.click()
    picker.fill("Kimi-K2.5")
    page.get_by_role("option").filter(has_text="moonshotai/Kimi-K2.5 · ").click()
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stChatInput").locator('input[type="file"]')).to_have_count(1)


def attach_and_send(page: Page, name: str, data: bytes, mime: str, text: str) -> None:
    page.get_by_test_id("stChatInput").locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )
    expect(page.get_by_text(name)).to_be_visible()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    # send once the attachment has finished uploading (Enter before that is ignored)
    send = page.get_by_test_id("stChatInputSubmitButton")
    expect(send).to_be_enabled()
    send.click()
    expect(box).to_have_value("")


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_goes_to_a_vision_model_and_stays_in_the_history(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    choose_vision_model(page)
    attach_and_send(page, "red.png", png(8, 6), "image/png", "What is in this picture?")
    expect(page.get_by_text("I see 1 image: PNG 8x6.")).to_be_visible(timeout=60_000)
    wait_for_app_idle(page)
    expect(page.get_by_test_id("stImage")).to_have_count(1)
    expect(page.get_by_text("red.png · 8×6")).to_be_visible()
    sent = [r for r in e2e_emulator.requests() if r["path"].endswith("/chat/completions")]
    parts = sent[-1]["body"]["messages"][-1]["content"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")


def test_a_file_that_is_not_an_image_gets_a_message_and_is_not_sent(
    page: Page, e2e_emulator: EmulatorServer
) -> None:
    choose_vision_model(page)
    attach_and_send(page, "fake.png", b"not really a picture", "image/png", "Look at this")
    expect(page.get_by_text("Not sent: fake.png is not an image this app can send")).to_be_visible(
        timeout=30_000
    )
    assert not [r for r in e2e_emulator.requests() if r["path"].endswith("/chat/completions")]
